"""Wall-clock timing: thread pinning and the median of interleaved warm calls."""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping

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


def median_times(
    calls: Mapping[str, Callable[..., object]],
    *args,
    repeats: int = 5,
    warm_up: bool = True,
    budget_s: float = math.inf,
) -> dict[str, float]:
    """Median wall time (seconds) of each ``calls[name](*args)``, run in interleaved rounds.

    Each call runs once first (compilation, caches) unless ``warm_up`` is off because the
    caller timed that call itself. Every round then calls each once in turn, so drifting load
    on a shared machine hits all alike. Rounds stop after ``repeats``, or after the first
    round that ends with ``budget_s`` seconds spent.
    """
    wall, _ = median_wall_and_cpu_times(
        calls, *args, repeats=repeats, warm_up=warm_up, budget_s=budget_s
    )
    return wall


def median_wall_and_cpu_times(
    calls: Mapping[str, Callable[..., object]],
    *args,
    repeats: int = 5,
    warm_up: bool = True,
    budget_s: float = math.inf,
) -> tuple[dict[str, float], dict[str, float]]:
    """:func:`median_times` (same rounds and options) and the median process CPU times.

    On a loaded machine a single-threaded call's wall time depends on its share of the
    cores; its CPU time (every thread of this process, dispatch included) does much less.
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
    return (
        {name: statistics.median(values) for name, values in wall.items()},
        {name: statistics.median(values) for name, values in cpu.items()},
    )


def median_time(call: Callable[..., object], *args, **options) -> float:
    """:func:`median_times` of one call (same options)."""
    return median_times({"call": call}, *args, **options)["call"]
