"""Shared benchmark plumbing: thread pinning, timing, result files.

Import this module before JAX or NumPy: it pins every BLAS / XLA thread pool to one thread
(``BENCH_THREADS``, default 1) so that JAX and the peer run with the same resources and
eigensolvers do not oversubscribe the 2-core CI machine.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import time

THREADS = os.environ.get("BENCH_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = THREADS
if THREADS == "1":
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

import jax  # noqa: E402  (after the thread pins above)

RESULTS = pathlib.Path(__file__).parent / "results"


def block(value):
    """Waits for JAX values; passes NumPy/Python values through."""
    return jax.block_until_ready(value)


def timeit(fn, *args, repeats: int = 5, min_time: float = 0.0) -> float:
    """Median wall time (seconds) of ``fn(*args)`` after one warm-up call (compilation)."""
    block(fn(*args))
    times = []
    while len(times) < repeats or sum(times) < min_time:
        start = time.perf_counter()
        block(fn(*args))
        times.append(time.perf_counter() - start)
        if len(times) >= 50:
            break
    return statistics.median(times)


def environment() -> dict:
    import numpy as np

    return {
        "jax": jax.__version__,
        "numpy": np.__version__,
        "device": str(jax.devices()[0].device_kind),
        "backend": jax.default_backend(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": THREADS,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def write_results(name: str, rows: list[dict]) -> pathlib.Path:
    """Writes ``results/<name>-<backend>.json`` with the environment and the rows."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{jax.default_backend()}.json"
    path.write_text(json.dumps({"environment": environment(), "rows": rows}, indent=2) + "\n")
    return path


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Prints rows as a Markdown table (the format pasted into benchmarks/README.md)."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        print("| " + " | ".join(cells) + " |")


def interleaved(fns: dict, *args, repeats: int = 3) -> dict:
    """Median wall time (seconds) of each ``fns[name](*args)``, run in interleaved rounds.

    Each function is called once first (compilation, caches); then every round calls all of
    them once in turn, so drifting machine load (the CI box is shared) hits each alike.
    """
    for fn in fns.values():
        block(fn(*args))
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            block(fn(*args))
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
