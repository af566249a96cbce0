"""Sorting on the host (NumPy through ``pure_callback``) against XLA's CPU sort.

``jaxinfo/_src/sorting.py`` sorts on the host on the CPU backend. This script times, in one
process per route (``--route host`` or ``--route xla``; the route is fixed at trace time, so
the two cannot share a process), the sort itself on ``[n, d]`` columns and the estimators
whose time it dominated, at n = 5000, warm ``jax.jit`` calls, median of ``--repeats``
interleaved rounds, one thread. ``numpy_sort`` is ``np.sort`` of the same array, for scale.

Run (alternate the routes; results/host_sort_<route>_float{32,64}-cpu.json):
  for r in xla host xla host; do python benchmarks/host_sort.py --route $r; done
  for r in xla host xla host; do python benchmarks/host_sort.py --route $r --x64; done
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo._src import sorting
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--route", choices=["host", "xla"], required=True)
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.x64)
    sorting._on_host = lambda: args.route == "host"  # pyright: ignore[reportAttributeAccessIssue]
    dtype = jnp.float64 if args.x64 else jnp.float32
    rng = np.random.default_rng(0)
    n = 5000
    z = jnp.asarray(rng.normal(size=(n, 8)), dtype)
    labels = jnp.asarray(rng.integers(0, 4, n), jnp.int32)
    calls = {
        "sort [n, 1]": jax.jit(lambda z: sorting.sort_columns(z[:, :1])),
        "sort [n, 3]": jax.jit(lambda z: sorting.sort_columns(z[:, :3])),
        "sort [n, 8]": jax.jit(lambda z: sorting.sort_columns(z)),
        "gaussian_copula_mutual_information 2 + 2": jax.jit(
            lambda z: jaxinfo.gaussian_copula_mutual_information(z[:, :2], z[:, 2:4] + z[:, :2])
        ),
        "gaussian_copula_conditional_mutual_information 1 + 1 + 1": jax.jit(
            lambda z: jaxinfo.gaussian_copula_conditional_mutual_information(
                z[:, :1], z[:, 1:2] + z[:, :1], z[:, 2:3]
            )
        ),
        "ross_mutual_information d = 1": jax.jit(
            lambda z: jaxinfo.ross_mutual_information(z[:, :1] + labels[:, None], labels)
        ),
        "knn_entropy d = 1 (sorted)": jax.jit(lambda z: jaxinfo.knn_entropy(z[:, :1])),
    }
    wall = timing.round_times(calls, z, repeats=args.repeats)
    numpy_z = np.asarray(z)
    rows = []
    for name, times in wall.items():
        row = {"route": args.route, "dtype": str(z.dtype), "call": name}
        row["ms"] = 1e3 * statistics.median(times)
        if name.startswith("sort"):
            d = int(name.split(", ")[1].rstrip("]"))
            start = time.perf_counter()
            for _ in range(args.repeats):
                np.sort(numpy_z[:, :d], axis=0)
            row["numpy_sort_ms"] = 1e3 * (time.perf_counter() - start) / args.repeats
        rows.append(row)
    results.print_table(rows, ["route", "dtype", "call", "ms", "numpy_sort_ms"])
    suffix = "float64" if args.x64 else "float32"
    print(results.write_results(f"host_sort_{args.route}_{suffix}", rows))


if __name__ == "__main__":
    main()
