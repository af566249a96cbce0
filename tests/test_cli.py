"""The `jaxinfo` command refuses bad input with one `error:` line and exit status 2."""

import json
import os
import pathlib

import numpy as np
import pytest

import jaxinfo
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


def _bad_command_line(argv, capsys, command, *fragments):
    """argparse's refusal: the subcommand's usage, then one error line; status 2, no output."""
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and out == "", err
    assert err.startswith(f"usage: jaxinfo {command} "), err
    last = err.splitlines()[-1]
    assert last.startswith(f"jaxinfo {command}: error: "), err
    for fragment in fragments:
        assert fragment in last, err
    return last


@pytest.mark.parametrize(
    "options, fragment",
    [
        # before: "`bandwidth` must be a finite positive number" for the DSE flag too
        (["--dse-bandwidth", "0"], "argument --dse-bandwidth: must be a finite number > 0"),
        (["--dse-bandwidth", "-1"], "argument --dse-bandwidth: must be a finite number > 0"),
        (["--dse-bandwidth", "mean"], "argument --dse-bandwidth: must be a finite number > 0"),
        (["--bandwidth", "0"], "argument --bandwidth: must be a finite number > 0"),
        (["--bandwidth", "nan"], "argument --bandwidth: must be a finite number > 0"),
        (["--bandwidth", "foo"], "or a rule (median, silverman, scott); got 'foo'"),
        (["--alpha", "0"], "argument --alpha: must be a number > 0"),
        (["--alpha", "two"], "argument --alpha: must be a number; got 'two'"),
        (["--base", "1"], "argument --base: must be a positive number other than 1"),
        (["--base", "inf"], "argument --base: must be a positive number other than 1"),
    ],
)
def test_bad_flag_values_name_the_flag(options, fragment, saved, capsys):
    _bad_command_line(["measure", saved(_points()), *options], capsys, "measure", fragment)


def test_bandwidth_with_a_linear_kernel_is_refused(saved, capsys):
    options = ["--kernel", "linear", "--bandwidth", "1"]
    _refused([saved(_points()), *options], capsys, "`--bandwidth` applies to")


def test_unknown_flags_print_the_subcommand_usage(saved, capsys):
    # before: the top-level usage ("usage: jaxinfo [-h] {info,measure,bench} ...")
    _bad_command_line(
        ["measure", saved(_points()), "--bogus"],
        capsys,
        "measure",
        "unrecognized arguments: --bogus",
    )
    _bad_command_line(["bench", "--bogus", "1"], capsys, "bench", "unrecognized arguments")
    _bad_command_line(["bench", "--max-n", "1"], capsys, "bench", "argument --max-n: must be")
    _bad_command_line(["bench", "--repeats", "0"], capsys, "bench", "argument --repeats: must be")


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out == f"jaxinfo {jaxinfo.__version__}\n" and err == ""


def test_unreadable_files_are_refused(tmp_path, capsys):
    _refused([str(tmp_path / "missing.npy")], capsys, "cannot read", "missing.npy")
    (tmp_path / "text.npy").write_text("not an array")
    _refused([str(tmp_path / "text.npy")], capsys, "cannot read", ".npz (one array), .csv")
    (tmp_path / "x.xyz").write_text("1 2\n3 4\n")
    _refused([str(tmp_path / "x.xyz")], capsys, "as .xyz", ".csv, .tsv")
    np.savez(tmp_path / "two.npz", a=_points(), b=_points())
    _refused([str(tmp_path / "two.npz")], capsys, "holds 2 arrays (a, b)", "one array per file")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    _refused([str(tmp_path / "ragged.csv")], capsys, "as comma-separated numbers")
    (tmp_path / "words.tsv").write_text("a\tb\nc\td\n")  # a header, then a row of words
    _refused([str(tmp_path / "words.tsv")], capsys, "as tab-separated numbers")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    _refused([str(tmp_path / "empty.txt")], capsys, "holds no numbers")


def _save_as(x, path: pathlib.Path) -> str:
    """``x`` in the format ``path``'s extension names (text with 9 digits: float32 exact)."""
    if path.suffix == ".npy":
        np.save(path, x)
    elif path.suffix == ".npz":
        np.savez(path, activations=x)
    else:
        delimiter = {".csv": ",", ".tsv": "\t", ".txt": " "}[path.suffix]
        header = delimiter.join(f"c{j}" for j in range(x.shape[1])) if path.suffix == ".csv" else ""
        np.savetxt(path, x, fmt="%.9g", delimiter=delimiter, header=header, comments="")
    return str(path)


def test_measure_reads_each_format_to_the_same_values(tmp_path, capsys):
    # before: x.csv gave "cannot read ...: This file contains pickled (object) data"
    x, _, labels = _paired(30)
    (tmp_path / "labels.txt").write_text("\n".join(str(v) for v in labels) + "\n")
    reports = {}
    for name in ("x.npy", "x.npz", "x.csv", "x.tsv", "x.txt"):
        path = _save_as(x, tmp_path / name)
        argv = ["measure", path, "--labels", str(tmp_path / "labels.txt"), "--json", "--quiet"]
        assert cli.main(argv) == 0, name
        out, _ = capsys.readouterr()
        reports[name] = json.loads(out)
    assert reports["x.npy"]["n"] == 30 and reports["x.npy"]["d"] == 3
    assert "diffusion_spectral_mutual_information(sigma=10)" in reports["x.npy"]
    for name, report in reports.items():
        assert report == reports["x.npy"], name


def test_text_labels_must_be_whole_numbers(saved, tmp_path, capsys):
    path = tmp_path / "labels.csv"
    path.write_text("0\n1.5\n" * 10)
    _refused([saved(_points()), "--labels", str(path)], capsys, "1-D integer array")


def test_bandwidth_flags_reach_the_library(saved, capsys):
    from jaxinfo import kernels

    x = _points()
    argv = ["measure", saved(x), "--dse-bandwidth", "2.5", "--bandwidth", "1.5"]
    assert cli.main([*argv, "--json", "--quiet"]) == 0
    got = json.loads(capsys.readouterr().out)
    renyi = jaxinfo.matrix_renyi_entropy(x, kernel=kernels.Gaussian(bandwidth=1.5))
    dse = jaxinfo.diffusion_spectral_entropy(x, bandwidth=2.5)
    assert got["matrix_renyi_entropy(alpha=1.01)"] == pytest.approx(float(renyi), rel=1e-6)
    assert got["diffusion_spectral_entropy(sigma=2.5)"] == pytest.approx(float(dse), rel=1e-6)
    assert got["kernel"] == repr(kernels.Gaussian(bandwidth=1.5))


def _bench_refused(output, capsys, *fragments):
    argv = ["bench", "--quick", "--families", "gaussian_mutual", "--max-n", "64"]
    status = cli.main([*argv, "--output", output])
    out, err = capsys.readouterr()
    # One error line and nothing else: no progress bar, so nothing of the bench ran.
    assert status == 2 and out == "", err
    assert err.startswith("error: `--output ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_bench_checks_the_output_folder_before_running(tmp_path, capsys):
    # before: the whole bench ran, then a traceback (FileExistsError / PermissionError)
    file = tmp_path / "results.json"
    file.write_text("{}")
    _bench_refused(str(file), capsys, "is a file", "Pass a folder")
    _bench_refused(str(file / "sub"), capsys, "cannot write there")
    assert file.read_text() == "{}"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_bench_refuses_a_read_only_folder(tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    try:
        _bench_refused(str(folder / "bench"), capsys, "cannot write there")
    finally:
        folder.chmod(0o700)


def test_default_bench_folder_is_git_ignored():
    default = cli._parser().parse_args(["bench"]).output
    ignored = (pathlib.Path(__file__).parents[1] / ".gitignore").read_text().splitlines()
    assert f"{default}/" in ignored


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
    single[0] = 7  # class 7 has one member: DSMI refuses (the library's rule, as one line)
    status = cli.main(["measure", path, "--labels", saved(single, "ls.npy"), "--quiet"])
    out, err = capsys.readouterr()
    assert status == 0 and "diffusion_spectral_mutual_information" in out  # shown as nan
    assert err.startswith("warning: no value for diffusion_spectral_mutual_information")
    assert "have 1" in err and err.count("\n") == 1, err
