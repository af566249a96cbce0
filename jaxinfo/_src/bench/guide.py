"""``jaxinfo bench --guide``: every sample estimator on the accuracy suite, as one Markdown table.

The table of docs/choosing.md is this module's output, not typed by hand. Each
:class:`Measure` row says what its function estimates (Shannon or not, the unit), whether it
has a useful gradient, its memory, when to use it, and how to call it on a suite task; the
numbers (bias, spread, time and the growth of time in n) are measured here.

Shannon estimators are scored against the task's truth. The kernel measures (matrix-based
Rényi "MI", Cauchy–Schwarz QMI, DSMI) estimate other quantities, so their mean value is
shown next to the truth, never as a bias.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Sequence

from jaxinfo._src.bench import timing

Call = Callable[..., object]


@dataclasses.dataclass(frozen=True)
class Measure:
    """One row of the guide: a public function, what it is, and a call on ``(x, y)`` of a task.

    ``kind`` is ``"mi"`` (called on ``(x, y)``, truth ``task.mutual_information``) or
    ``"entropy"`` (called on ``x``, truth ``task.entropy_x``). ``shannon`` is false for a
    measure of another quantity: its value is reported next to the truth, not as a bias.
    ``tasks`` names the suite tasks it runs on (``None``: every task with a truth).
    """

    name: str
    kind: str
    estimates: str
    shannon: bool
    differentiable: str
    memory: str
    use: str
    call: Call
    tasks: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Run:
    """One estimate: a measure on a task at ``n`` rows with one seed."""

    measure: str
    task: str
    n: int
    seed: int
    value: float
    truth: float
    seconds: float


def truth_of(task, kind: str) -> float | None:
    """The task's true MI (``"mi"``) or entropy of ``x`` (``"entropy"``); ``None`` if unknown."""
    return task.mutual_information if kind == "mi" else task.entropy_x


def run_suite(
    calls: dict[str, Call],
    kind: str,
    sizes: Sequence[int],
    seeds: Sequence[int],
    tasks: Sequence | None = None,
    only: dict[str, tuple[str, ...] | None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Run]:
    """Every call on every suite task with a truth, at each ``n`` and seed.

    A call's first run on a shape compiles; it is run once more on the same data and that
    second run is timed, so ``seconds`` is a warm call. ``only[name]`` restricts a call to
    those task names.
    """
    import jax

    from jaxinfo import testing

    tasks = testing.accuracy_suite() if tasks is None else tasks
    out: list[Run] = []
    for n in sizes:
        for task in tasks:
            truth = truth_of(task, kind)
            if truth is None:
                continue
            for seed in seeds:
                x, y = task.sample(jax.random.key(seed), n)
                for name, call in calls.items():
                    allowed = (only or {}).get(name)
                    if allowed is not None and task.name not in allowed:
                        continue
                    args = (x, y) if kind == "mi" else (x,)
                    try:
                        value = float(timing.block(call(*args)))
                    except ValueError:  # e.g. bins**d beyond an int32 code: no estimate
                        value, seconds = math.nan, math.nan
                    else:
                        start = time.perf_counter()
                        timing.block(call(*args))
                        seconds = time.perf_counter() - start
                    out.append(Run(name, task.name, n, seed, value, truth, seconds))
                    if progress is not None:
                        progress(f"{name} {task.name} n={n} seed={seed}: {value:.4f} ({truth:.4f})")
    return out


def summarise(runs: Sequence[Run]) -> dict[str, float]:
    """Bias (mean error over tasks of the seed mean), MAE, spread (seed std) and median time."""
    by_task: dict[str, list[Run]] = {}
    for run in runs:
        by_task.setdefault(run.task, []).append(run)
    errors, spreads, values, truths = [], [], [], []
    for task_runs in by_task.values():
        vals = [r.value for r in task_runs]
        if not all(math.isfinite(v) for v in vals):  # refused (or NaN): no error, no spread
            errors.append(math.nan)
            spreads.append(math.nan)
            continue
        mean = statistics.fmean(vals)
        errors.append(mean - task_runs[0].truth)
        values.append(mean)
        truths.append(task_runs[0].truth)
        spreads.append(statistics.stdev(vals) if len(vals) > 1 else math.nan)
    finite = [e for e in errors if math.isfinite(e)]
    return {
        "tasks": len(by_task),
        "bias": statistics.fmean(finite) if finite else math.nan,
        "mae": statistics.fmean(abs(e) for e in finite) if finite else math.nan,
        "spread": statistics.fmean(s for s in spreads if math.isfinite(s))
        if any(math.isfinite(s) for s in spreads)
        else math.nan,
        "value": statistics.fmean(values) if values else math.nan,
        "truth": statistics.fmean(truths) if truths else math.nan,
        "seconds": statistics.median(_finite(r.seconds for r in runs) or [math.nan]),
        "failed": len(errors) - len(finite),
    }


def growth_exponent(seconds_small: float, seconds_large: float, n_small: int, n_large: int):
    """Slope of log time against log n between two sizes."""
    return math.log(seconds_large / seconds_small) / math.log(n_large / n_small)


def as_rows(runs: Sequence[Run]) -> list[dict]:
    """Runs as JSON rows for :func:`results.write_results`."""
    return [dataclasses.asdict(r) for r in runs]


def _finite(values) -> list[float]:
    return [v for v in values if math.isfinite(v)]


# --- the catalogue -----------------------------------------------------------------------------

SHOWCASE = "gaussian-sparse-5x5-0.929873"  # 5 x 5, true MI 2.00 nats: every row's value on it
NEURAL = "jaxinfo.nn.estimate_mutual_information"
DSMI_CLASSES = 8


def _quantile_labels(y):
    """``y[:, 0]`` in :data:`DSMI_CLASSES` equal-mass classes (DSMI needs discrete labels)."""
    import jax.numpy as jnp

    ranks = jnp.argsort(jnp.argsort(y[:, 0]))
    return (ranks * DSMI_CLASSES) // y.shape[0]


def catalogue() -> tuple[Measure, ...]:
    """Every public estimator from samples that the suite can score (imports jaxinfo)."""
    import jax

    import jaxinfo

    nats = "nats (bits with `base=2`)"
    return (
        Measure(
            "mutual_information",
            "mi",
            f"Shannon MI, {nats}; the auto rule's pick",
            True,
            "as the picked method",
            "as the picked method",
            "one call: KSG at d_x + d_y ≤ 4, Gaussian copula above, plug-in for labels",
            lambda x, y: jaxinfo.mutual_information(x, y).value,
        ),
        Measure(
            "ksg_mutual_information",
            "mi",
            f"Shannon MI, {nats}",
            True,
            "no (zero gradient)",
            "O(n · block), blocked; host k-d tree at low d",
            "the most accurate at d_x + d_y ≤ 4; underestimates large MI and high dimensions",
            jaxinfo.ksg_mutual_information,
        ),
        Measure(
            "gaussian_mutual_information",
            "mi",
            f"Shannon MI of a Gaussian fit, {nats}",
            True,
            "yes",
            "O(n d + d²)",
            "Gaussian-like data at any d; the cheapest differentiable Shannon loss",
            jaxinfo.gaussian_mutual_information,
        ),
        Measure(
            "gaussian_copula_mutual_information",
            "mi",
            f"Shannon MI of a Gaussian copula, {nats}",
            True,
            "no (ranks)",
            "O(n d + d²)",
            "high dimension (d_x + d_y > 4); invariant to monotone maps of each column",
            jaxinfo.gaussian_copula_mutual_information,
        ),
        Measure(
            "binned_mutual_information",
            "mi",
            f"Shannon MI of binned data, {nats}",
            True,
            "no (zero gradient)",
            "O(n), bins**(d_x + d_y) < 2**31 cells",
            "information planes at low d; refuses 5 x 5 and larger at 16 bins",
            jaxinfo.binned_mutual_information,
        ),
        Measure(
            'mutual_information(method="kde")',
            "mi",
            f"Shannon MI as H(X) + H(Y) − H(X, Y) of KDEs, {nats}",
            True,
            "yes",
            "O(n · block), blocked",
            "rarely: the three KDE biases do not cancel",
            lambda x, y: jaxinfo.mutual_information(x, y, method="kde").value,
        ),
        Measure(
            NEURAL,
            "mi",
            f"Shannon MI (trained NWJ critic, held-out read-out), {nats}",
            True,
            "trains a critic (not jit-able)",
            "O(batch²) per step",
            "high dimension and non-Gaussian structure, n in the thousands; ~20 s per estimate",
            lambda x, y: math.nan,  # read from the stored benchmark results
        ),
        Measure(
            "matrix_mutual_information",
            "mi",
            "matrix-based Rényi MI (α = 1.01, median kernel), NOT Shannon MI",
            False,
            "yes",
            "O(n²) Gram and O(n³) eigensolver (α = 2: streamed)",
            "a differentiable dependence loss compared with itself (IB training)",
            jaxinfo.matrix_mutual_information,
        ),
        Measure(
            "cauchy_schwarz_mutual_information",
            "mi",
            "Cauchy–Schwarz quadratic MI (median kernel), NOT Shannon MI",
            False,
            "yes",
            "O(n · block), blocked",
            "a cheap differentiable dependence loss (CS-IB) compared with itself",
            jaxinfo.cauchy_schwarz_mutual_information,
        ),
        Measure(
            "diffusion_spectral_mutual_information",
            "mi",
            f"diffusion spectral MI (σ = 10) with labels `y[:, 0]` in {DSMI_CLASSES} "
            "equal-mass classes, NOT Shannon MI",
            False,
            "yes",
            "O(n²) per class and repeat (eigensolver)",
            "representation vs class labels, compared with itself (the DSMI papers)",
            lambda x, y: jaxinfo.diffusion_spectral_mutual_information(
                x, _quantile_labels(y), num_classes=DSMI_CLASSES, key=jax.random.key(0)
            ),
        ),
        Measure(
            "entropy",
            "entropy",
            f"Shannon differential entropy, {nats}; the auto rule's pick",
            True,
            "as the picked method",
            "as the picked method",
            "one call: kNN at d ≤ 5, Gaussian above, Miller–Madow for labels",
            lambda x: jaxinfo.entropy(x).value,
        ),
        Measure(
            "knn_entropy",
            "entropy",
            f"Shannon differential entropy (Kozachenko–Leonenko), {nats}",
            True,
            "yes",
            "O(n · block), blocked; sorted at d = 1",
            "low and moderate dimension (d ≤ 5); overestimates at d = 25",
            jaxinfo.knn_entropy,
        ),
        Measure(
            "gaussian_entropy",
            "entropy",
            f"Shannon entropy of a Gaussian fit (an upper bound), {nats}",
            True,
            "yes",
            "O(n d + d²)",
            "high dimension; exact for Gaussians, an upper bound otherwise",
            jaxinfo.gaussian_entropy,
        ),
        Measure(
            "kde_entropy",
            "entropy",
            f"Shannon differential entropy (leave-one-out KDE), {nats}",
            True,
            "yes",
            "O(n · block), blocked",
            "smooth densities at low d; Silverman's bandwidth fails on heavy tails",
            jaxinfo.kde_entropy,
        ),
        Measure(
            "matrix_renyi_entropy",
            "entropy",
            "matrix-based Rényi entropy (α = 1.01, median kernel), NOT Shannon entropy",
            False,
            "yes",
            "O(n²) Gram and O(n³) eigensolver",
            "a differentiable spread/diversity measure compared with itself",
            jaxinfo.matrix_renyi_entropy,
        ),
        Measure(
            "von_neumann_entropy",
            "entropy",
            "von Neumann entropy of the kernel Gram (median kernel), NOT Shannon entropy",
            False,
            "yes",
            "O(n²) Gram and O(n³) eigensolver",
            "as the matrix Rényi entropy at α = 1",
            jaxinfo.von_neumann_entropy,
        ),
        Measure(
            "diffusion_spectral_entropy",
            "entropy",
            "diffusion spectral entropy (σ = 10), NOT Shannon entropy",
            False,
            "yes",
            "O(n²) Gram and O(n³) eigensolver",
            "representation collapse/complexity over training, compared with itself",
            jaxinfo.diffusion_spectral_entropy,
        ),
    )


# --- the run and the table ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes of a guide run: the suite at ``n`` with ``seeds``; time growth between two sizes."""

    n: int
    seeds: tuple[int, ...]
    growth_sizes: tuple[int, int]
    growth_task: str = "gaussian-dense-5x5-0.5"

    @classmethod
    def of(cls, quick: bool) -> Settings:
        if quick:
            return cls(n=500, seeds=(0, 1), growth_sizes=(500, 2000))
        return cls(n=2000, seeds=(0, 1, 2), growth_sizes=(1000, 4000))


def stored_neural_runs(dtype: str) -> list[Run]:
    """The NWJ default of ``benchmarks/trained_estimates.py`` (n = 5000, seed 0), if stored."""
    import json

    from jaxinfo._src.bench.results import RESULTS

    runs: list[Run] = []
    stems = ("trained_estimates", "trained_estimates_methods", "trained_estimates_nwj_rest")
    for stem in (f"{prefix}_{dtype}" for prefix in stems):
        path = RESULTS / f"{stem}-cpu.json"
        if not path.exists():
            continue
        for row in json.loads(path.read_text())["rows"]:
            if (
                row.get("config") == "nwj"
                and "task" in row
                and row["task"] not in {r.task for r in runs}
            ):
                runs.append(
                    Run(
                        NEURAL,
                        row["task"],
                        5000,
                        row["seed"],
                        row["estimate"],
                        row["truth"],
                        row["seconds"],
                    )
                )
    return runs


def run(quick: bool, progress: Callable[[str], None] | None = None) -> dict:
    """Every catalogue measure on the suite and its time growth; JSON-ready."""
    import jax

    from jaxinfo import testing

    settings = Settings.of(quick)
    dtype = "float64" if jax.config.read("jax_enable_x64") else "float32"
    measures = catalogue()
    runs: list[Run] = []
    for kind in ("mi", "entropy"):
        calls = {m.name: m.call for m in measures if m.kind == kind and m.name != NEURAL}
        runs += run_suite(calls, kind, (settings.n,), settings.seeds, progress=progress)
    runs += stored_neural_runs(dtype)
    task = next(t for t in testing.accuracy_suite() if t.name == settings.growth_task)
    rows = []
    for measure in measures:
        mine = [r for r in runs if r.measure == measure.name]
        row: dict[str, object] = {"measure": measure.name, **(summarise(mine) if mine else {})}
        row["showcase"] = next((r.value for r in mine if r.task == SHOWCASE), math.nan)
        row["showcase_truth"] = truth_of(
            next(t for t in testing.accuracy_suite() if t.name == SHOWCASE), measure.kind
        )
        row["n"] = mine[0].n if mine else settings.n
        if measure.name != NEURAL:
            row["growth"] = _growth(measure, task, settings.growth_sizes)
        rows.append(row)
        if progress is not None:
            progress(f"{measure.name}: {row}")
    return {
        "dtype": dtype,
        "settings": dataclasses.asdict(settings),
        "rows": rows,
        "runs": as_rows(runs),
    }


def _growth(measure: Measure, task, sizes: tuple[int, int]) -> float:
    """Time growth of the call under ``jax.jit`` (as in a training step), else eagerly.

    An eager call of the matrix family runs operation by operation (docs/conventions.md),
    whose dispatch cost hides the growth of the computation at these sizes.
    """
    import jax

    seconds = []
    for n in sizes:
        x, y = task.sample(jax.random.key(0), n)
        args = (x, y) if measure.kind == "mi" else (x,)
        try:
            call = jax.jit(measure.call)
            timing.block(call(*args))
        except (TypeError, ValueError):  # needs concrete values (DSMI's labels): eagerly
            call = measure.call
        try:
            seconds.append(timing.median_time(call, *args, repeats=5, budget_s=20.0))
        except ValueError:  # refused on this task (binning beyond an int32 code)
            return math.nan
    return growth_exponent(seconds[0], seconds[1], *sizes)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    return f"{seconds:.1f} s" if seconds >= 1.0 else f"{seconds * 1e3:.1f} ms"


def _number(value, digits: int = 3, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def markdown(result: dict) -> str:
    """The guide table (docs/choosing.md) from :func:`run`'s result."""
    measures = {m.name: m for m in catalogue()}
    settings = result["settings"]
    lines = [
        f"| measure | estimates | gradient | MAE (bias) | seed spread | {SHOWCASE}: "
        "value (truth) | mean value (mean truth) | time | time ~ n^ | memory | when to use |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        m = measures[row["measure"]]
        if "tasks" not in row:
            error = "not run (no stored results)"
        elif m.shannon:
            error = f"{_number(row['mae'])} ({_number(row['bias'], sign=True)})"
            if row.get("failed"):
                error += f"; refused {row['failed']} of {row['tasks']} tasks"
        else:
            error = "not Shannon: no bias"
        where = f"n = {row['n']}, {row.get('tasks', 0)} tasks"
        growth = _number(row.get("growth"), 2) if m.name != NEURAL else "- (training steps)"
        seconds = row.get("seconds", math.nan)
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{m.name}`",
                    m.estimates,
                    m.differentiable,
                    f"{error}; {where}",
                    _number(row.get("spread")),
                    f"{_number(row.get('showcase'))} ({_number(row.get('showcase_truth'), 2)})",
                    f"{_number(row.get('value'))} ({_number(row.get('truth'))})",
                    _duration(seconds),
                    growth,
                    m.memory,
                    m.use,
                ]
            )
            + " |"
        )
    header = (
        f"{result['dtype']}; the accuracy suite at n = {settings['n']}, seeds "
        f"{', '.join(map(str, settings['seeds']))} (MAE and bias: mean over tasks of the "
        "seed-mean error, nats; spread: mean over tasks of the seed standard deviation); "
        f"time: median warm call at n = {settings['n']}; growth: slope of log time between "
        f"n = {settings['growth_sizes'][0]} and {settings['growth_sizes'][1]} on "
        f"`{settings['growth_task']}`, jitted; `{NEURAL}`: stored results of "
        "benchmarks/trained_estimates.py (NWJ default, n = 5000, one seed, time per estimate "
        "with training)."
    )
    return header + "\n\n" + "\n".join(lines) + "\n"
