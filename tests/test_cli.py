"""The `jaxinfo` command refuses bad input with one `error:` line and exit status 2."""

import numpy as np
import pytest

from jaxinfo import cli


@pytest.fixture
def saved(tmp_path):
    """Saves an array under tmp_path and returns the path as a string."""

    def save(array, name="x.npy"):
        path = tmp_path / name
        np.save(path, array)
        return str(path)

    return save


def _points():
    return np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)


def _refused(argv, capsys, *fragments):
    status = cli.main(["measure", *argv])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_non_finite_cells_are_refused(saved, capsys):
    x = _points()
    x[3, 1] = np.nan
    x[5, 0] = x[5, 2] = np.inf
    # before: entropies -0.000000, Vendi 1.000000 and exit status 0
    _refused([saved(x)], capsys, "3 non-finite cells", "2 of 20 rows")


def test_one_dimensional_and_integer_arrays_are_refused(saved, capsys):
    # before: reshaped to [n, 1] and cast to float, though the library refuses both
    _refused([saved(_points()[:, 0])], capsys, "must have shape [n, d]", "`x[:, None]`")
    _refused([saved(np.arange(40).reshape(20, 2))], capsys, "floating-point", "int64")
    _refused([saved(np.ones((20, 2), bool))], capsys, "floating-point", "bool")
    _refused([saved(_points()[:1])], capsys, "at least 2 samples")


def test_values_beyond_float32_are_refused(saved, capsys):
    _refused([saved(np.full((20, 2), 1e300))], capsys, "float32 range", "--x64")


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--bandwidth", "0"], "`bandwidth` must be a finite positive number"),
        (["--bandwidth", "nan"], "`bandwidth` must be a finite positive number"),
        (["--bandwidth", "foo"], "`bandwidth` rule must be one of"),
        (["--kernel", "linear", "--bandwidth", "1"], "`--bandwidth` applies to"),
        (["--alpha", "0"], "`alpha` must be"),
        (["--base", "1"], "`base` must be"),
    ],
)
def test_bad_options_print_the_library_message(options, fragment, saved, capsys):
    _refused([saved(_points()), *options], capsys, fragment)


def test_unreadable_files_are_refused(tmp_path, capsys):
    _refused([str(tmp_path / "missing.npy")], capsys, "cannot read", "missing.npy")
    (tmp_path / "text.npy").write_text("not an array")
    _refused([str(tmp_path / "text.npy")], capsys, "cannot read")
    np.savez(tmp_path / "two.npz", a=_points(), b=_points())
    _refused([str(tmp_path / "two.npz")], capsys, "not a single .npy array")
