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
        "value": statistics.fmean(values),
        "truth": statistics.fmean(truths),
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
