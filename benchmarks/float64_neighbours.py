"""Float64 nearest-neighbour estimators: time against float32, before and after the min passes.

XLA's CPU ``top_k`` has a fast path for float32 only; float64 k-th-neighbour selection now
takes k ``min`` passes (``jaxinfo._src.neighbours.MIN_PASSES_MAX_K``). For kNN entropy, KSG
and the kNN KL divergence at d = 1, 3 and 10 this times, in one process with one thread:
float32, float64 through the min passes, and float64 through ``top_k`` (the previous route,
selected by setting ``MIN_PASSES_MAX_K = 0``), and checks that both float64 routes give the
same value. Ratios: float64 / float32 (target <= 1.5) and top_k / passes (the gain).

Run:  python benchmarks/float64_neighbours.py [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo._src import neighbours
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)

TOP_K_MAX_N = 5000  # the old float64 route takes minutes per call beyond this
ESTIMATORS = {
    "kNN entropy": lambda x, y: jaxinfo.knn_entropy(x, k=3),
    "KSG MI": lambda x, y: jaxinfo.ksg_mutual_information(x, y, k=3),
    "kNN KL": lambda x, y: jaxinfo.knn_kl_divergence(x, y + 0.5, k=3),
}


def measure(name, fn, n, d, repeats):
    key_x, key_y = jax.random.split(jax.random.key(n + d))
    x = jax.random.normal(key_x, (n, d), jnp.float64)
    y = x + jax.random.normal(key_y, (n, d), jnp.float64)
    row = {"estimator": name, "n": n, "d": d}
    routes = [("f32", jnp.float32, 16), ("f64", jnp.float64, 16)]
    if n <= TOP_K_MAX_N:
        routes.append(("f64_top_k", jnp.float64, 0))
    for label, dtype, limit in routes:
        neighbours.MIN_PASSES_MAX_K = limit
        jax.clear_caches()
        ours = jax.jit(fn)
        a, b = x.astype(dtype), y.astype(dtype)
        row[label] = float(ours(a, b))
        row[f"{label}_s"] = timing.median_time(ours, a, b, repeats=repeats)
    neighbours.MIN_PASSES_MAX_K = 16
    row["f64_over_f32"] = row["f64_s"] / row["f32_s"]
    if "f64_top_k" in row:
        assert abs(row["f64"] - row["f64_top_k"]) <= 1e-12 * max(1.0, abs(row["f64"])), row
        row["gain_over_top_k"] = row["f64_top_k_s"] / row["f64_s"]
    print(row, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (
        [(1000, 1)] if args.quick else [(5000, 1), (5000, 3), (20000, 1), (5000, 10), (20000, 10)]
    )
    rows = [
        measure(name, fn, n, d, repeats=1 if args.quick else 3)
        for n, d in sizes
        for name, fn in ESTIMATORS.items()
    ]
    results.print_table(
        rows,
        ["estimator", "n", "d", "f32_s", "f64_s", "f64_top_k_s", "f64_over_f32", "gain_over_top_k"],
    )
    if not args.quick:
        print(results.write_results("float64_neighbours", rows))


if __name__ == "__main__":
    main()
