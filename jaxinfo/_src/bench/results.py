"""Where a benchmark's numbers go: the environment, JSON files, Markdown tables, child runs."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import subprocess
import sys

# The checkout's benchmarks/results (benchmark scripts live only in a checkout).
RESULTS = pathlib.Path(__file__).resolve().parents[3] / "benchmarks" / "results"


def environment() -> dict:
    """Versions, backend, device, machine and thread settings of this process."""
    import jax
    import numpy as np

    import jaxinfo

    device = jax.devices()[0]
    return {
        "jaxinfo": jaxinfo.__version__,
        "jax": jax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "device": f"{device.device_kind} x {jax.device_count()}",
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "threads": os.environ.get("BENCH_THREADS", ""),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def write_results(name: str, rows: list[dict], directory: pathlib.Path = RESULTS) -> pathlib.Path:
    """Writes ``<directory>/<name>-<backend>.json`` with the environment and the rows."""
    import jax

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{jax.default_backend()}.json"
    path.write_text(json.dumps({"environment": environment(), "rows": rows}, indent=2) + "\n")
    return path


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Prints rows as a Markdown table (the format pasted into benchmarks/README.md)."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        print(
            "| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in cells) + " |"
        )


def run_child(*args: str):
    """Runs ``python *args`` (a fresh process: its own peak memory, x64 setting, caches).

    Returns the JSON on the last line of its stdout; a failing child raises with its stderr.
    """
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
