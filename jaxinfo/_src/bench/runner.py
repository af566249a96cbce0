"""``jaxinfo bench``: accuracy on ground-truth tasks and a speed grid on the current backend.

Accuracy: each estimator against the closed-form value of a :mod:`jaxinfo.testing` task.
Speed: every family, jitted, at growing ``n``; ``repeats`` warm calls per size (compilation
timed separately) reported as median, minimum and max / min, and the growth exponent (slope
of log median time against log n). ``--compare`` times the peer a user would otherwise run
(:mod:`.references`) on the same inputs, alternating with the jaxinfo call round by round,
and reports the median over rounds of ``peer time / jaxinfo time`` (above 1: jaxinfo is
faster) and the value difference. Small ``n`` are dispatch-bound, so exponents fitted there
understate the asymptotic growth.
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from jaxinfo._src.bench import references, timing
from jaxinfo._src.bench.progress import Progress
from jaxinfo._src.bench.results import environment as process_environment

SIGMA = 4.0  # Gaussian bandwidth of the kernel families: the median distance of N(0, I_16)
DSE_SIGMA = 10.0  # the dse-dsmi reference default


@dataclass(frozen=True)
class Peer:
    """One peer of a bench family: a name and ``run(*numpy_inputs) -> float``."""

    name: str
    run: Callable[..., float]


@dataclass(frozen=True)
class Family:
    """One row of the speed grid: inputs at size ``n``, the jaxinfo call and its peers."""

    name: str
    inputs: Callable[[np.random.Generator, int], tuple[np.ndarray, ...]]
    measure: Callable[..., object]
    quick_sizes: tuple[int, ...]
    sizes: tuple[int, ...]
    peers: tuple[Peer, ...] = ()


def _normal(dim: int, shift: float = 0.0):
    def make(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
        return (rng.standard_normal((n, dim)), rng.standard_normal((n, dim)) + shift)

    return make


def _correlated(dim: int, correlation: float = 0.8):
    def make(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
        x = rng.standard_normal((n, dim))
        noise = rng.standard_normal((n, dim))
        return x, correlation * x + math.sqrt(1.0 - correlation**2) * noise

    return make


def _labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    x = rng.integers(0, 10, n)
    return x, (x + rng.integers(0, 3, n)) % 10


def families() -> tuple[Family, ...]:
    """The speed grid: one entry per family (imports JAX)."""
    import jax.numpy as jnp

    import jaxinfo
    from jaxinfo import kernels

    gauss = kernels.Gaussian(bandwidth=SIGMA)

    def gram(x):
        return references.gaussian_gram(x, x, SIGMA)

    peer = Peer
    return (
        Family(
            "matrix_renyi_entropy(alpha=2)",
            _normal(16),
            lambda x, y: jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=gauss),
            (1024, 4096, 8192),
            (1024, 4096, 16384, 32768),
            (peer("numpy", lambda x, y: references.matrix_collision_entropy(gram(x))),),
        ),
        Family(
            "matrix_renyi_entropy(alpha=1.01)",
            _normal(16),
            lambda x, y: jaxinfo.matrix_renyi_entropy(x, alpha=1.01, kernel=gauss),
            (256, 512, 1024),
            (256, 512, 1024, 2048, 4096),
            (
                peer("numpy", lambda x, y: references.matrix_renyi_entropy(gram(x), 1.01)),
                peer("torch", lambda x, y: references.torch_matrix_renyi_entropy(x, SIGMA, 1.01)),
            ),
        ),
        Family(
            "cauchy_schwarz_divergence",
            _normal(16, shift=0.5),
            lambda x, y: jaxinfo.cauchy_schwarz_divergence(x, y, kernel=gauss),
            (1024, 4096, 8192),
            (1024, 4096, 16384, 32768),
            (peer("numpy", lambda x, y: float(references.cauchy_schwarz_divergence(x, y, SIGMA))),),
        ),
        Family(
            "ksg_mutual_information(k=3, 1x1)",
            _correlated(1),
            lambda x, y: jaxinfo.ksg_mutual_information(x, y, k=3),
            (1024, 4096, 8192),
            (1024, 4096, 16384, 32768),
            (
                peer(
                    "scikit-learn", lambda x, y: references.sklearn_ksg_mutual_information(x, y, 3)
                ),
            ),
        ),
        Family(
            "knn_entropy(k=3, d=3)",
            _normal(3),
            lambda x, y: jaxinfo.knn_entropy(x, k=3),
            (1024, 4096, 8192),
            (1024, 4096, 16384, 32768),
            (peer("scipy cKDTree", lambda x, y: references.knn_entropy(x, 3)),),
        ),
        Family(
            "kde_entropy(d=3)",
            _normal(3),
            lambda x, y: jaxinfo.kde_entropy(x),
            (1024, 4096, 8192),
            (1024, 4096, 16384, 32768),
        ),
        Family(
            "diffusion_spectral_entropy(bits)",
            _normal(16),
            lambda x, y: jaxinfo.diffusion_spectral_entropy(x, bandwidth=DSE_SIGMA, base=2),
            (256, 512, 1024),
            (256, 512, 1024, 2048, 4096),
            (peer("dse-dsmi", lambda x, y: references.dse_dsmi_entropy(x, DSE_SIGMA)),),
        ),
        Family(
            "gaussian_mutual_information(8x8)",
            _correlated(8, 0.3),
            jaxinfo.gaussian_mutual_information,
            (4096, 32768, 262144),
            (4096, 32768, 262144, 1048576),
            (peer("numpy", references.gaussian_mutual_information),),
        ),
        Family(
            "infonce_lower_bound(scores x y^T)",
            _correlated(16),
            lambda x, y: jaxinfo.infonce_lower_bound(jnp.matmul(x, y.T) / 4.0),
            (512, 2048, 4096),
            (512, 2048, 8192, 16384),
        ),
        Family(
            "discrete_mutual_information(10x10)",
            _labels,
            lambda x, y: jaxinfo.discrete_mutual_information(x, y, num_x=10, num_y=10),
            (10_000, 100_000, 1_000_000),
            (10_000, 100_000, 1_000_000, 10_000_000),
        ),
    )


@dataclass(frozen=True)
class AccuracyCase:
    """An estimator on a task with a closed-form value (``target``: the task's field)."""

    task: str
    estimator: str
    run: Callable[..., object]
    target: str = "mutual_information"


def accuracy_cases() -> tuple[tuple[object, tuple[AccuracyCase, ...]], ...]:
    """``(task, cases)`` pairs: each task's samples are drawn once for all its cases."""
    import jaxinfo
    from jaxinfo import testing

    ksg = AccuracyCase("", "ksg_mutual_information(k=3)", jaxinfo.ksg_mutual_information)
    gaussian = AccuracyCase("", "gaussian_mutual_information", jaxinfo.gaussian_mutual_information)
    copula = AccuracyCase(
        "", "gaussian_copula_mutual_information", jaxinfo.gaussian_copula_mutual_information
    )
    knn = AccuracyCase(
        "", "knn_entropy(k=3) of x", lambda x, y: jaxinfo.knn_entropy(x), "entropy_x"
    )
    kde = AccuracyCase("", "kde_entropy of x", lambda x, y: jaxinfo.kde_entropy(x), "entropy_x")
    binned = AccuracyCase(
        "",
        "binned_mutual_information(16 equal-mass bins)",
        lambda x, y: jaxinfo.binned_mutual_information(x, y, adaptive=True),
    )
    gauss1 = testing.correlated_gaussians(1, 1, correlation=0.9)
    return (
        (gauss1, (ksg, gaussian, copula, binned, knn, kde)),
        (testing.correlated_gaussians(4, 4, correlation=0.5), (ksg, gaussian, knn)),
        (testing.half_cube(gauss1), (ksg, copula, gaussian)),
        (testing.student_t(dim=2, dof=3.0), (ksg, gaussian)),
        (testing.additive_uniform_noise(0.1), (ksg,)),
    )


def growth_exponent(sizes: Sequence[int], seconds: Sequence[float]) -> float | None:
    """Least-squares slope of log time against log n (``None`` with fewer than 2 points)."""
    if len(sizes) < 2:
        return None
    slope, _ = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(seconds)), 1)
    return float(slope)


@dataclass
class Settings:
    """What to run: ``quick`` sizes or the full grid, ``compare`` peers, dtype, filters."""

    quick: bool = False
    compare: bool = False
    x64: bool = False
    families: tuple[str, ...] = ()
    max_n: int | None = None
    repeats: int = 5
    accuracy_n: int = 0
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def sizes(self, family: Family) -> tuple[int, ...]:
        """The family's sizes for this run, capped by ``max_n`` (at least the smallest)."""
        sizes = family.quick_sizes if self.quick else family.sizes
        if self.max_n is not None:
            sizes = tuple(n for n in sizes if n <= self.max_n) or (min(self.max_n, sizes[0]),)
        return sizes

    def selected(self, name: str) -> bool:
        """Whether the family or estimator ``name`` passes the ``--families`` filter."""
        return not self.families or any(part in name for part in self.families)


def environment(settings: Settings) -> dict:
    """Versions, backend and device names, dtype and thread settings of this run."""
    dtype = "float64" if settings.x64 else "float32"
    return {
        **process_environment(),
        "dtype": dtype,
        "quick": settings.quick,
        "repeats": settings.repeats,
    }


def _to_device(arrays: tuple[np.ndarray, ...], dtype) -> tuple:
    import jax.numpy as jnp

    return tuple(
        jnp.asarray(a, dtype) if np.issubdtype(a.dtype, np.floating) else jnp.asarray(a)
        for a in arrays
    )


def run_accuracy(settings: Settings, progress: Progress) -> list[dict]:
    """Every selected accuracy case: estimate, closed-form truth, error (nats)."""
    import jax

    dtype = np.float64 if settings.x64 else np.float32
    n = settings.accuracy_n or (2000 if settings.quick else 10000)
    rows = []
    for index, (task, cases) in enumerate(accuracy_cases()):
        chosen = [case for case in cases if settings.selected(case.estimator)]
        if not chosen:
            continue
        x, y = task.sample(jax.random.key(settings.seed + index), n)  # type: ignore[attr-defined]
        x, y = x.astype(dtype), y.astype(dtype)
        for case in chosen:
            estimate = float(jax.jit(case.run)(x, y))
            truth = float(getattr(task, case.target))
            rows.append(
                {
                    "task": task.name,  # type: ignore[attr-defined]
                    "estimator": case.estimator,
                    "n": n,
                    "estimate": estimate,
                    "truth": truth,
                    "error": estimate - truth,
                }
            )
            progress.step(f"accuracy {case.estimator} on {task.name}")  # type: ignore[attr-defined]
    return rows


def run_speed(settings: Settings, progress: Progress) -> tuple[list[dict], list[dict]]:
    """The speed grid (and, with ``compare``, the peers at each family's middle size)."""
    import jax

    dtype = np.float64 if settings.x64 else np.float32
    speed, comparisons = [], []
    for family in families():
        if not settings.selected(family.name):
            continue
        fn = jax.jit(family.measure)
        sizes = settings.sizes(family)
        compare_at = sizes[len(sizes) // 2]
        for n in sizes:
            rng = np.random.default_rng(settings.seed)
            host = tuple(
                a.astype(dtype) if a.dtype.kind == "f" else a for a in family.inputs(rng, n)
            )
            args = _to_device(host, dtype)
            start = time.perf_counter()
            value = float(timing.block(fn(*args)))  # type: ignore[arg-type]
            first = time.perf_counter() - start
            peers = family.peers if settings.compare and n == compare_at else ()
            times, rows = time_side_by_side(
                functools.partial(fn, *args), peers, host, settings.repeats
            )
            speed.append(
                {"family": family.name, "n": n, **_spread_fields(times),
                 "first_call_seconds": first, "value": value}
            )  # fmt: skip
            progress.step(f"speed {family.name} n={n}")
            for row in rows:
                row = {"family": family.name, "n": n, **row}
                if "skipped" not in row:
                    row.update(jaxinfo_value=value, difference=value - row["peer_value"])
                comparisons.append(row)
                progress.step(f"compare {family.name} vs {row['peer']}")
    return speed, comparisons


def _spread_fields(times: list[float], prefix: str = "") -> dict:
    """``seconds`` (the median), ``min_seconds``, ``max_seconds``, ``spread`` and ``times``."""
    summary = timing.spread(times)
    return {
        f"{prefix}seconds": summary["median"],
        f"{prefix}min_seconds": summary["min"],
        f"{prefix}max_seconds": summary["max"],
        f"{prefix}spread": summary["spread"],
        f"{prefix}times": times,
    }


def time_side_by_side(
    ours: Callable[[], object], peers: Sequence[Peer], host: tuple, repeats: int
) -> tuple[list[float], list[dict]]:
    """Times ``ours()`` (already warm) in ``repeats`` rounds, each installed peer in the same.

    Each peer runs once untimed for its value (and its warm-up); a missing one gives a
    ``skipped`` row. A round calls ours, then every peer, so a load spike hits both sides of
    a round; a peer's ``ratio`` is the median over rounds of its time over ours in that round
    (:func:`.timing.paired_ratios`), ``ratio_min`` / ``ratio_max`` their range.
    """
    calls: dict[str, Callable[[], object]] = {"jaxinfo": ours}
    rows, values = [], {}
    for peer in peers:
        try:
            values[peer.name] = peer.run(*host)
        except references.MissingPeer as missing:
            rows.append({"peer": peer.name, "skipped": str(missing)})
        else:
            calls[peer.name] = functools.partial(peer.run, *host)
    times = timing.round_times(calls, repeats=repeats, warm_up=False)
    ours_times = times.pop("jaxinfo")
    for name, peer_times in times.items():
        ratios = timing.paired_ratios(peer_times, ours_times)
        rows.append(
            {"peer": name, **_spread_fields(peer_times, "peer_"),
             **_spread_fields(ours_times, "jaxinfo_"), "ratio": statistics.median(ratios),
             "ratio_min": min(ratios), "ratio_max": max(ratios), "peer_value": values[name]}
        )  # fmt: skip
    order = [peer.name for peer in peers]
    rows.sort(key=lambda row: order.index(row["peer"]))
    return ours_times, rows


def count_steps(settings: Settings) -> int:
    """Steps of the progress bar for this run."""
    steps = sum(
        settings.selected(case.estimator) for _, cases in accuracy_cases() for case in cases
    )
    for family in families():
        if settings.selected(family.name):
            steps += len(settings.sizes(family))
            steps += len(family.peers) if settings.compare else 0
    return steps


def summarise(speed: list[dict]) -> list[dict]:
    """Per family: sizes, median, minimum and maximum times, and the growth exponent."""
    out = []
    for name in dict.fromkeys(row["family"] for row in speed):
        rows = [row for row in speed if row["family"] == name]
        sizes = [row["n"] for row in rows]
        seconds = [row["seconds"] for row in rows]
        out.append(
            {"family": name, "sizes": sizes, "seconds": seconds,
             "min_seconds": [row["min_seconds"] for row in rows],
             "max_seconds": [row["max_seconds"] for row in rows],
             "growth_exponent": growth_exponent(sizes, seconds)}
        )  # fmt: skip
    return out


def _format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def report(results: dict, out=None) -> None:
    """Prints the environment, accuracy, speed and comparison tables."""
    say = functools.partial(print, file=sys.stdout if out is None else out)
    env = results["environment"]
    say(
        f"jaxinfo {env['jaxinfo']} on {env['backend']} ({env['device']}), {env['dtype']}, "
        f"jax {env['jax']}, {env['platform']}"
    )
    if results["accuracy"]:
        say("\naccuracy (nats; truth is closed form)")
        say(f"{'task':34s} {'estimator':46s} {'estimate':>9s} {'truth':>8s} {'error':>8s}")
        for row in results["accuracy"]:
            say(
                f"{row['task'][:34]:34s} {row['estimator'][:46]:46s} {row['estimate']:9.4f} "
                f"{row['truth']:8.4f} {row['error']:+8.4f}"
            )
    repeats = env["repeats"]
    if results["speed"]:
        say(
            f"\nspeed ({repeats} warm jitted calls per size: median, min, max/min; "
            "growth = slope of log median vs log n)"
        )
        say(f"{'family':38s} {'n':>8s} {'median':>9s} {'min':>9s} {'max/min':>7s}  growth")
        growth = {row["family"]: row["growth_exponent"] for row in results["summary"]}
        shown = None  # the family named on the line above: each family is named once
        for cell in results["speed"]:
            exponent = growth.pop(cell["family"], None)
            name = "" if cell["family"] == shown else cell["family"]
            shown = cell["family"]
            median, low = (_format_seconds(cell[key]) for key in ("seconds", "min_seconds"))
            say(
                f"{name[:38]:38s} {cell['n']:8d} {median:>9s} {low:>9s} {cell['spread']:6.2f}x"
                + ("" if exponent is None else f"  n^{exponent:.2f}")
            )
    if results["compare"]:
        say(
            f"\ncompare ({repeats} rounds alternating jaxinfo and peers; ratio = median over "
            "rounds of peer time / jaxinfo time [min-max]; above 1: jaxinfo is faster)"
        )
        for row in results["compare"]:
            head = f"{row['family'][:38]:38s} n={row['n']:<7d} {row['peer']:14s}"
            if "skipped" in row:
                say(f"{head} skipped ({row['skipped']})")
            else:
                say(
                    f"{head} {row['ratio']:7.2f}x [{row['ratio_min']:.2f}-{row['ratio_max']:.2f}]"
                    f"  ({_format_seconds(row['peer_seconds'])} vs "
                    f"{_format_seconds(row['jaxinfo_seconds'])} medians; value diff "
                    f"{row['difference']:+.2e})"
                )


def figure(results: dict):
    """Speed (median, min-max bars; log-log) and accuracy (estimate - truth) panels.

    ``None`` when matplotlib is missing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    env = results["environment"]
    fig, (speed, accuracy) = plt.subplots(
        1, 2, figsize=(15, 7), gridspec_kw={"width_ratios": [1.1, 1.0]}
    )
    for row in results["summary"]:
        medians = np.asarray(row["seconds"])
        below = medians - np.asarray(row["min_seconds"])
        above = np.asarray(row["max_seconds"]) - medians
        speed.errorbar(
            row["sizes"], medians, yerr=(below, above), marker="o", capsize=3, label=row["family"]
        )
    speed.set_xscale("log")
    speed.set_yscale("log")
    speed.set_xlabel("n (samples)")
    speed.set_ylabel(f"seconds per jitted call (median; bars: min-max of {env['repeats']})")
    speed.set_title(f"jaxinfo {env['jaxinfo']}: {env['device']}, {env['dtype']}")
    speed.grid(True, which="both", alpha=0.3)
    if results["summary"]:
        speed.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    rows = results["accuracy"]
    errors = [row["error"] for row in rows]
    colours = {
        name: f"C{i % 10}" for i, name in enumerate(dict.fromkeys(r["estimator"] for r in rows))
    }
    positions = np.arange(len(rows))
    accuracy.hlines(positions, 0.0, errors, colors="0.7", linewidth=1)
    accuracy.scatter(errors, positions, c=[colours[r["estimator"]] for r in rows], zorder=3)
    accuracy.axvline(0.0, color="k", linewidth=0.8)
    accuracy.set_yticks(positions, [f"{r['estimator']} | {r['task']}" for r in rows], fontsize=6)
    accuracy.yaxis.tick_right()
    accuracy.set_ylim(len(rows) - 0.5, -0.5)  # the table's order, top to bottom
    n = rows[0]["n"] if rows else 0
    accuracy.set_xlabel("estimate - closed-form truth (nats)")
    accuracy.set_title(f"accuracy at n = {n}" if rows else "accuracy: no case selected")
    accuracy.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot(results: dict, path: pathlib.Path) -> bool:
    """Saves :func:`figure` to ``path``; ``False`` when matplotlib is missing."""
    fig = figure(results)
    if fig is None:
        return False
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def run(settings: Settings, output: pathlib.Path, progress_stream=None) -> dict:
    """Runs the bench, writes ``bench.json`` (and ``bench.png``) under ``output``."""
    import jax

    if settings.x64:
        jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    progress = Progress(count_steps(settings), progress_stream)
    out: dict = {"environment": environment(settings)}
    out["accuracy"] = run_accuracy(settings, progress)
    speed, comparisons = run_speed(settings, progress)
    out.update(speed=speed, summary=summarise(speed), compare=comparisons)
    progress.close()
    out["wall_seconds"] = time.perf_counter() - start
    output.mkdir(parents=True, exist_ok=True)
    (output / "bench.json").write_text(json.dumps(out, indent=2))
    out["png"] = str(output / "bench.png") if plot(out, output / "bench.png") else None
    return out
