"""`jaxinfo bench`: the numbers it writes are the library's, the truth, and the peers'."""

import io
import json

import jax
import numpy as np
import pytest

import jaxinfo
from jaxinfo import _bench, cli
from jaxinfo._progress import Progress


def test_growth_exponent_recovers_a_power_law():
    sizes = [1000, 4000, 16000]
    assert _bench.growth_exponent(sizes, [3e-9 * n**2 for n in sizes]) == pytest.approx(2.0)
    assert _bench.growth_exponent([1000], [0.1]) is None


def test_progress_writes_one_line_per_step_off_a_terminal():
    stream = io.StringIO()
    progress = Progress(3, stream)
    for label in ("a", "b", "c"):
        progress.step(label)
    lines = stream.getvalue().splitlines()
    assert [line.split("]")[1].split()[0] for line in lines] == ["1/3", "2/3", "3/3"]
    assert lines[-1].startswith("[" + "#" * 28 + "]") and lines[-1].endswith("c")


def test_sizes_respect_quick_and_max_n():
    family = next(f for f in _bench.families() if f.name.startswith("ksg"))
    assert _bench.Settings(quick=True).sizes(family) == family.quick_sizes
    assert _bench.Settings().sizes(family) == family.sizes
    assert _bench.Settings(max_n=5000).sizes(family) == (1024, 4096)
    assert _bench.Settings(max_n=100).sizes(family) == (100,)


def test_bench_writes_truth_speed_and_peer_ratios(tmp_path, capsys):
    status = cli.main(
        ["bench", "--quick", "--compare", "--families", "gaussian_mutual,ksg", "--max-n", "600"]
        + ["--output", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    results = json.loads((tmp_path / "bench.json").read_text())
    env = results["environment"]
    assert env["backend"] == jax.default_backend() and env["dtype"] == "float32"
    assert env["device"] in out and "accuracy" in out and "compare" in out

    # accuracy: the estimates of 2000 samples against the tasks' closed-form values
    rows = {(r["task"], r["estimator"]): r for r in results["accuracy"]}
    assert {e for _, e in rows} == {"ksg_mutual_information(k=3)", "gaussian_mutual_information"}
    for row in rows.values():
        assert row["error"] == pytest.approx(row["estimate"] - row["truth"])
    exact = rows[("gaussian-dense-1x1-0.9", "gaussian_mutual_information")]
    assert exact["truth"] == pytest.approx(-0.5 * np.log(1 - 0.81))
    assert abs(exact["error"]) < 0.05  # sd of the estimate at n = 2000 is about 0.02

    # speed: the value recorded is the library's value on the recorded inputs
    speed = {r["family"]: r for r in results["speed"]}
    ksg = speed["ksg_mutual_information(k=3, 1x1)"]
    x, y = _bench.families()[3].inputs(np.random.default_rng(0), ksg["n"])
    direct = jaxinfo.ksg_mutual_information(x.astype(np.float32), y.astype(np.float32), k=3)
    assert ksg["n"] == 600 and ksg["value"] == pytest.approx(float(direct), abs=1e-6)
    assert all(r["seconds"] > 0 for r in results["speed"])

    # compare: the peers' values agree, and the ratio is their time over ours
    compare = {r["peer"]: r for r in results["compare"]}
    assert set(compare) == {"numpy", "scikit-learn"}
    for row in compare.values():
        assert row["ratio"] == pytest.approx(row["peer_seconds"] / row["jaxinfo_seconds"])
    assert abs(compare["numpy"]["difference"]) < 1e-4  # same covariance log-dets, float32
    assert abs(compare["scikit-learn"]["difference"]) < 5e-3  # sklearn jitters its inputs
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_refuses_a_filter_that_matches_nothing(tmp_path, capsys):
    status = cli.main(["bench", "--families", "no_such_family", "--output", str(tmp_path)])
    _, err = capsys.readouterr()
    assert status == 2 and err.startswith("error: ") and "no_such_family" in err
    assert cli.main(["bench", "--max-n", "1", "--output", str(tmp_path)]) == 2
