"""`jaxinfo bench`: the numbers it writes are the library's, the truth, and the peers'."""

import io
import json
import statistics
import types
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pytest

import jaxinfo
from jaxinfo import cli, kernels
from jaxinfo._src.bench import references, timing
from jaxinfo._src.bench import runner as _bench
from jaxinfo._src.bench.progress import Progress


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
    assert [line.split("]")[1].split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert lines[-1].startswith("[" + "#" * 28 + "]") and lines[-1].endswith("c")


def test_progress_redraws_one_line_on_a_terminal_and_can_be_silenced():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(4, stream)
    progress.update(2, "half")
    progress.close()  # a run that stops early still ends its line
    assert stream.getvalue().startswith("\r[" + "#" * 14 + "-" * 14 + "] step 2/4")
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1
    silent = Terminal()
    Progress(4, silent, enabled=False).step("a")
    assert silent.getvalue() == ""
    assert Progress(4, io.StringIO(), enabled=None).enabled is False  # None: only on a terminal


def test_median_times_interleave_rounds_and_respect_the_budget():
    calls = []
    times = timing.median_times(
        {"a": lambda v: calls.append(("a", v)), "b": lambda v: calls.append(("b", v))}, 7, repeats=3
    )
    assert calls == [("a", 7), ("b", 7)] * 4  # one warm-up call each, then 3 rounds
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())
    count = []
    timing.median_time(count.append, 1, repeats=10, warm_up=False, budget_s=0.0)
    assert count == [1]  # the budget was spent after the first round


class _Clock:
    """A fake ``perf_counter``: each fake call advances it by that call's next duration."""

    def __init__(self, durations: dict[str, list[float]]):
        self.now, self.durations, self.order = 0.0, durations, []

    def __call__(self) -> float:
        return self.now

    def call(self, name: str, result: Any = None) -> Callable[..., Any]:
        def run(*_):
            self.order.append(name)
            self.now += self.durations[name].pop(0)
            return result

        return run


def test_round_times_keep_each_round_and_spread_summarises_them(monkeypatch):
    clock = _Clock({"a": [1.0, 3.0, 2.0], "b": [4.0, 4.0, 1.0]})
    monkeypatch.setattr(
        timing, "time", types.SimpleNamespace(perf_counter=clock, process_time=clock)
    )
    times = timing.round_times(
        {"a": clock.call("a"), "b": clock.call("b")}, warm_up=False, repeats=3
    )
    assert clock.order == ["a", "b"] * 3
    assert times == {"a": [1.0, 3.0, 2.0], "b": [4.0, 4.0, 1.0]}
    assert timing.spread(times["a"]) == {"median": 2.0, "min": 1.0, "max": 3.0, "spread": 3.0}
    assert timing.paired_ratios(times["b"], times["a"]) == [4.0, 4.0 / 3.0, 0.5]


def test_peers_alternate_with_jaxinfo_and_the_ratio_pairs_rounds(monkeypatch):
    # jaxinfo is slowed in round 2, the peer in round 3: the median of the per-round ratios
    # (2, 1, 4 -> 2) differs from the ratio of the medians (3 / 2 = 1.5).
    clock = _Clock({"jaxinfo": [1.0, 3.0, 2.0], "p": [0.5, 2.0, 3.0, 8.0], "q": [0.25] * 4})
    monkeypatch.setattr(
        timing, "time", types.SimpleNamespace(perf_counter=clock, process_time=clock)
    )

    def missing(*_):
        raise references.MissingPeer("pip install missing")

    peers = (
        _bench.Peer("p", clock.call("p", 1.5)),
        _bench.Peer("gone", missing),
        _bench.Peer("q", clock.call("q", 2.5)),
    )
    ours, rows = _bench.time_side_by_side(clock.call("jaxinfo"), peers, (np.ones(3),), 3)
    # each peer once for its value, then rounds of jaxinfo, p, q
    assert clock.order == ["p", "q"] + ["jaxinfo", "p", "q"] * 3
    assert ours == [1.0, 3.0, 2.0]
    p, gone, q = rows
    assert gone == {"peer": "gone", "skipped": "pip install missing"}
    assert p["peer_times"] == [2.0, 3.0, 8.0] and p["jaxinfo_times"] == ours
    assert (p["ratio"], p["ratio_min"], p["ratio_max"]) == (2.0, 1.0, 4.0)
    assert (p["peer_seconds"], p["peer_min_seconds"], p["peer_value"]) == (3.0, 2.0, 1.5)
    assert q["ratio"] == 0.125 and q["peer_value"] == 2.5


def test_pinned_environment_sets_every_pool_and_xla_once(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
    env = timing.pinned_environment("1")
    assert all(env[name] == "1" for name in timing.THREAD_VARIABLES)
    assert env["XLA_FLAGS"].endswith(timing.XLA_ONE_THREAD)
    monkeypatch.setenv("XLA_FLAGS", env["XLA_FLAGS"])
    assert "XLA_FLAGS" not in timing.pinned_environment("1")  # already pinned: no re-exec
    assert "XLA_FLAGS" not in timing.pinned_environment("2")


def test_sizes_respect_quick_and_max_n():
    family = next(f for f in _bench.families() if f.name.startswith("ksg"))
    assert _bench.Settings(quick=True).sizes(family) == family.quick_sizes
    assert _bench.Settings().sizes(family) == family.sizes
    assert _bench.Settings(max_n=5000).sizes(family) == (1024, 4096)
    assert _bench.Settings(max_n=100).sizes(family) == (100,)


def test_bench_writes_truth_speed_and_peer_ratios(tmp_path, capsys):
    status = cli.main(
        ["bench", "--quick", "--compare", "--families", "gaussian_mutual,ksg", "--max-n", "600"]
        + ["--repeats", "3", "--output", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    results = json.loads((tmp_path / "bench.json").read_text())
    env = results["environment"]
    assert env["backend"] == jax.default_backend() and env["dtype"] == "float32"
    assert env["device"] in out and "accuracy" in out and "compare" in out
    assert env["repeats"] == 3 and "3 warm jitted calls per size" in out

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
    for row in results["speed"]:  # 3 timed calls: median, min, max, spread
        times = row["times"]
        assert len(times) == 3 and 0 < row["min_seconds"] <= row["seconds"] <= row["max_seconds"]
        assert row["seconds"] == statistics.median(times) and row["min_seconds"] == min(times)
        assert row["spread"] == pytest.approx(max(times) / min(times))

    # compare: the peers' values agree, and the ratio is their time over ours
    compare = {r["peer"]: r for r in results["compare"]}
    assert set(compare) == {"numpy", "scikit-learn"}
    for row in compare.values():  # the jaxinfo side is the speed cell's own rounds
        assert row["jaxinfo_times"] == speed[row["family"]]["times"]
        ratios = [a / b for a, b in zip(row["peer_times"], row["jaxinfo_times"], strict=True)]
        assert row["ratio"] == pytest.approx(statistics.median(ratios))
        assert row["ratio_min"] == min(ratios) and row["ratio_max"] == max(ratios)
    assert abs(compare["numpy"]["difference"]) < 1e-4  # same covariance log-dets, float32
    assert abs(compare["scikit-learn"]["difference"]) < 5e-3  # sklearn jitters its inputs
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the figure: speed with min-max bars per family, and the accuracy errors per case
    from matplotlib.collections import PathCollection
    from matplotlib.container import ErrorbarContainer

    fig = _bench.figure(results)
    assert fig is not None
    speed_axis, accuracy_axis = fig.axes
    bars = {c.get_label(): c for c in speed_axis.containers if isinstance(c, ErrorbarContainer)}
    assert set(bars) == set(speed)
    for name, row in speed.items():
        (segment,) = bars[name].lines[2][0].get_segments()  # one size at --max-n 600
        expected = [[600, row["min_seconds"]], [600, row["max_seconds"]]]
        np.testing.assert_allclose(segment, expected, rtol=1e-12)
    (points,) = [c for c in accuracy_axis.collections if isinstance(c, PathCollection)]
    assert np.asarray(points.get_offsets())[:, 0].tolist() == [
        r["error"] for r in results["accuracy"]
    ]
    assert len(accuracy_axis.get_yticklabels()) == len(results["accuracy"])


def test_bench_refuses_a_filter_that_matches_nothing(tmp_path, capsys):
    status = cli.main(["bench", "--families", "no_such_family", "--output", str(tmp_path)])
    _, err = capsys.readouterr()
    assert status == 2 and err.startswith("error: ") and "no_such_family" in err
    assert cli.main(["bench", "--max-n", "1", "--output", str(tmp_path)]) == 2


SIGMA = 1.5


def _reference_cases():
    """(name, reference value, jaxinfo value) on small float64 samples."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 3))
    y = 0.6 * x + 0.8 * rng.standard_normal((48, 3))
    y_pred = y + 0.3 * rng.standard_normal((48, 3))
    t = np.tanh(x @ rng.standard_normal((3, 4)))
    gauss = kernels.Gaussian(SIGMA)
    gram = references.gaussian_gram(x, x, SIGMA)
    cs: dict[str, Any] = {"kernel_x": gauss, "kernel_y": gauss}
    return [
        ("matrix_renyi_entropy", references.matrix_renyi_entropy(gram, 3.0),
         jaxinfo.matrix_renyi_entropy(x, alpha=3.0, kernel=gauss)),
        ("matrix_collision_entropy", references.matrix_collision_entropy(gram),
         jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=gauss)),
        ("von_neumann_entropy", references.matrix_renyi_entropy(gram, 1.0),
         jaxinfo.von_neumann_entropy(x, kernel=gauss)),
        ("cauchy_schwarz_divergence", references.cauchy_schwarz_divergence(x, y + 0.5, SIGMA),
         jaxinfo.cauchy_schwarz_divergence(x, y + 0.5, kernel=gauss)),
        ("cauchy_schwarz_mutual_information",
         references.cauchy_schwarz_mutual_information(x, y, SIGMA),
         jaxinfo.cauchy_schwarz_mutual_information(x, y, **cs)),
        ("conditional_cauchy_schwarz_divergence",
         references.conditional_cauchy_schwarz_divergence(x, y, y_pred, SIGMA),
         jaxinfo.conditional_cauchy_schwarz_divergence(x, y, y_pred, **cs)),
        ("cauchy_schwarz_information_bottleneck_loss",
         references.cauchy_schwarz_information_bottleneck_loss(x, y, y_pred, t, SIGMA, 0.1),
         jaxinfo.cauchy_schwarz_information_bottleneck_loss(
             x, y, y_pred, t, beta=0.1, kernel_t=gauss, **cs)[0]),
        ("diffusion_spectral_entropy", references.diffusion_spectral_entropy(x, SIGMA),
         jaxinfo.diffusion_spectral_entropy(x, bandwidth=SIGMA)),
        ("gaussian_mutual_information", references.gaussian_mutual_information(x, y),
         jaxinfo.gaussian_mutual_information(x, y)),
        ("knn_entropy", references.knn_entropy(x, 3), jaxinfo.knn_entropy(x, k=3)),
        ("ksg_mutual_information", references.ksg_mutual_information(x, y, 3),
         jaxinfo.ksg_mutual_information(x, y, k=3)),
        ("knn_kl_divergence", references.knn_kl_divergence(x, y + 0.5, 3),
         jaxinfo.knn_kl_divergence(x, y + 0.5, k=3)),
    ]  # fmt: skip


def test_each_reference_agrees_with_the_jaxinfo_measure(x64):
    cases = _reference_cases()
    assert {name for name, _, _ in cases} >= {
        name for name in dir(references) if name in jaxinfo.__all__
    }  # every reference named after a measure is checked here
    for name, reference, ours in cases:
        assert float(reference) == pytest.approx(float(ours), rel=1e-9, abs=1e-10), name


def test_gaussian_reference_is_centred_against_cancellation():
    x = np.random.default_rng(1).standard_normal((20, 2)) + 1e4  # far from the origin
    exact = ((x[:, None] - x[None]) ** 2).sum(-1)
    assert references.squared_distances(x, x) == pytest.approx(exact, abs=1e-6)
