"""The `jaxinfo` command refuses bad input with one `error:` line and exit status 2."""

import json

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


def _paired(n=60):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, :2] + 0.5 * rng.normal(size=(n, 2))).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int32) + 2 * (x[:, 1] > 0).astype(np.int32)
    return x, y, labels


def test_measure_reports_the_library_values_for_x_y_and_labels(saved, capsys):
    import jax

    import jaxinfo
    from jaxinfo import kernels

    x, y, labels = _paired()
    argv = ["measure", saved(x), "--y", saved(y, "y.npy"), "--labels", saved(labels, "l.npy")]
    assert cli.main([*argv, "--json", "--base", "2"]) == 0
    out, err = capsys.readouterr()
    got = json.loads(out)
    assert len(err.splitlines()) == 10 and err.splitlines()[-1].startswith("[" + "#" * 28)
    g = kernels.Gaussian(bandwidth="median")
    expected = {
        "matrix_renyi_entropy(alpha=1.01)": jaxinfo.matrix_renyi_entropy(x, kernel=g, base=2),
        "diffusion_spectral_entropy(sigma=10)": jaxinfo.diffusion_spectral_entropy(x, base=2),
        "ksg_mutual_information(k=3)": jaxinfo.ksg_mutual_information(x, y, base=2),
        "gaussian_mutual_information": jaxinfo.gaussian_mutual_information(x, y, base=2),
        "matrix_mutual_information(alpha=1.01)": jaxinfo.matrix_mutual_information(
            x, y, kernel_x=g, kernel_y=g, base=2
        ),
        "cauchy_schwarz_mutual_information": jaxinfo.cauchy_schwarz_mutual_information(
            x, y, kernel_x=g, kernel_y=g, base=2
        ),
        "diffusion_spectral_mutual_information(sigma=10)": (
            jaxinfo.diffusion_spectral_mutual_information(
                x, labels, num_classes=4, key=jax.random.key(0), base=2
            )
        ),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(float(value), rel=1e-6, abs=1e-7), name
    assert got["n"] == 60 and got["d_y"] == 2 and got["units"] == "log base 2.0"
    assert got["ksg_mutual_information(k=3)"] > 0.3  # y carries x's first two columns


def test_measure_quiet_prints_no_progress(saved, capsys):
    assert cli.main(["measure", saved(_points()), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "von_neumann_entropy" in out and "ksg" not in out


def test_measure_refuses_unpaired_or_malformed_second_inputs(saved, capsys):
    x, y, labels = _paired()
    path = saved(x)
    _refused([path, "--y", saved(y[:50], "y.npy")], capsys, "y has 50 rows but x has 60")
    _refused([path, "--y", saved(y[:, 0], "y1.npy")], capsys, "`y` must have shape [n, d]")
    _refused([path, "--labels", saved(labels[:59], "l.npy")], capsys, "59 entries but x has 60")
    _refused([path, "--labels", saved(labels * 1.0, "lf.npy")], capsys, "1-D integer array")
    _refused([path, "--labels", saved(labels - 1, "ln.npy")], capsys, "must be >= 0")
    single = labels.copy()
    single[0] = 7  # class 7 has one member: the library's rule, as one line
    _refused([path, "--labels", saved(single, "ls.npy"), "--quiet"], capsys, "have 1")
