"""Wall-clock timing: thread pinning, interleaved warm calls, their medians, spreads and ratios."""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence

# The pools a BLAS, OpenMP or numexpr build sizes when it loads.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def pinned_environment(threads: str) -> dict[str, str]:
    """The environment variables that give every thread pool ``threads`` threads."""
    env: dict[str, str] = dict.fromkeys(THREAD_VARIABLES, threads)
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == "1" and XLA_ONE_THREAD not in flags:
        env["XLA_FLAGS"] = f"{flags} {XLA_ONE_THREAD}".strip()
    return env


def pin_threads() -> int:
    """Pins BLAS, OpenMP and XLA to ``BENCH_THREADS`` threads (default 1) for this process.

    Both sides of a comparison then get the same cores, and eigensolvers do not oversubscribe
    a small shared machine. The pools are sized when NumPy and XLA load, which importing
    jaxinfo already did, so a process whose environment lacks the pins re-executes itself
    with them (once: the new process finds them set).
    """
    threads = os.environ.get("BENCH_THREADS", "1")
    env = pinned_environment(threads)
    if any(os.environ.get(name) != value for name, value in env.items()):
        if os.environ.get("BENCH_PINNED") == "1":
            raise RuntimeError(f"the thread pins {env} did not survive re-execution")
        os.environ.update(env, BENCH_PINNED="1")
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    return int(threads)


def block(value):
    """Waits for JAX values; passes NumPy and Python values through."""
    import jax

    return jax.block_until_ready(value)


def round_wall_and_cpu_times(
    calls: Mapping[str, Callable[..., object]],
    *args,
    repeats: int = 5,
    warm_up: bool = True,
    budget_s: float = math.inf,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and process CPU times (seconds) of each ``calls[name](*args)``, one per round.

    Each call runs once first (compilation, caches) unless ``warm_up`` is off because the
    caller timed that call itself. Every round then calls each once in turn, so drifting load
    on a shared machine hits all alike, and entry ``i`` of every list comes from round ``i``.
    Rounds stop after ``repeats``, or after the first round that ends with ``budget_s``
    seconds spent. On a loaded machine a single-threaded call's wall time depends on its
    share of the cores; its CPU time (every thread of this process, dispatch included) does
    much less.
    """
    if warm_up:
        for call in calls.values():
            block(call(*args))
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    spent = 0.0
    for _ in range(repeats):
        for name, call in calls.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            block(call(*args))
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            spent += wall[name][-1]
        if spent > budget_s:
            break
    return wall, cpu


def round_times(
    calls: Mapping[str, Callable[..., object]], *args, **options
) -> dict[str, list[float]]:
    """Wall times of :func:`round_wall_and_cpu_times` (same rounds and options)."""
    return round_wall_and_cpu_times(calls, *args, **options)[0]


def _medians(times: Mapping[str, Sequence[float]]) -> dict[str, float]:
    return {name: statistics.median(t) for name, t in times.items()}


def median_times(calls: Mapping[str, Callable[..., object]], *args, **options) -> dict[str, float]:
    """Median wall time (seconds) of each call over :func:`round_times` (same options)."""
    return _medians(round_times(calls, *args, **options))


def median_wall_and_cpu_times(
    calls: Mapping[str, Callable[..., object]], *args, **options
) -> tuple[dict[str, float], dict[str, float]]:
    """:func:`median_times` (same rounds and options) and the median process CPU times."""
    wall, cpu = round_wall_and_cpu_times(calls, *args, **options)
    return _medians(wall), _medians(cpu)


def median_time(call: Callable[..., object], *args, **options) -> float:
    """:func:`median_times` of one call (same options)."""
    return median_times({"call": call}, *args, **options)["call"]


def spread(times: Sequence[float]) -> dict[str, float]:
    """The median, minimum and maximum of repeated times (``spread``: max / min)."""
    low, high = min(times), max(times)
    return {
        "median": statistics.median(times),
        "min": low,
        "max": high,
        "spread": high / low if low > 0 else math.inf,
    }


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """Round-by-round ratios of two sides' :func:`round_times` lists.

    The two calls of a round ran back to back, so load that lasts a round scales both
    sides of its ratio alike; the median over rounds then drops a round it hit unevenly.
    """
    return [a / b for a, b in zip(numerator, denominator, strict=True)]
