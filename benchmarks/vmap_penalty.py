"""Cost of ``jax.jit(jax.vmap(estimator))`` over row masks against one jitted call per mask.

B = 200 random boolean row masks (about 80 % valid rows) over one ``[600, 3]`` pair of
samples. Each estimator is timed as one jitted single call run B times in a Python loop and
as one ``jax.jit(jax.vmap(...))`` call over the stacked masks; ``ratio`` is vmapped over
B x single (below 1: batching pays). Median of interleaved warm calls, one thread, float32
and float64 (issue 26).

Run:  python benchmarks/vmap_penalty.py [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

BATCH, ROWS, DIM = 200, 600, 3

ESTIMATORS = {
    "matrix_mutual_information(alpha=2)": lambda x, y, m: jaxinfo.matrix_mutual_information(
        x,
        y,
        alpha=2,
        kernel_x=kernels.Gaussian(1.0),
        kernel_y=kernels.Gaussian(1.0),
        where=m,
    ),
    "matrix_renyi_entropy(alpha=2)": lambda x, y, m: jaxinfo.matrix_renyi_entropy(
        x, alpha=2, kernel=kernels.Gaussian(1.0), where=m
    ),
    "gaussian_mutual_information": lambda x, y, m: jaxinfo.gaussian_mutual_information(
        x, y, where=m
    ),
    "ksg_mutual_information(brute)": lambda x, y, m: jaxinfo.ksg_mutual_information(
        x, y, where=m, method="brute"
    ),
}


def data(dtype):
    """Correlated ``[ROWS, DIM]`` samples and ``[BATCH, ROWS]`` masks (about 80 % valid)."""
    kx, kn, km = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (ROWS, DIM), dtype)
    y = x + 0.5 * jax.random.normal(kn, (ROWS, DIM), dtype)
    masks = jax.random.uniform(km, (BATCH, ROWS)) < 0.8
    return x, y, masks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    jax.config.update("jax_enable_x64", True)
    rows = []
    for dtype in (jnp.float32, jnp.float64):
        x, y, masks = data(dtype)
        each = list(masks)  # sliced once, outside the timed loop
        for name, fn in ESTIMATORS.items():
            single = jax.jit(fn)
            batched = jax.jit(jax.vmap(fn, in_axes=(None, None, 0)))
            calls = {
                "loop": lambda x, y, masks, each, single=single: [single(x, y, m) for m in each],
                "vmap": lambda x, y, masks, each, batched=batched: batched(x, y, masks),
            }
            times = timing.median_times(calls, x, y, masks, each, repeats=repeats)
            rows.append(
                {
                    "estimator": name,
                    "dtype": jnp.dtype(dtype).name,
                    "single_ms": round(1e3 * times["loop"] / BATCH, 3),
                    "loop_ms": round(1e3 * times["loop"], 1),
                    "vmap_ms": round(1e3 * times["vmap"], 1),
                    "ratio": round(times["vmap"] / times["loop"], 3),
                }
            )
            print(rows[-1], flush=True)
    columns = ["estimator", "dtype", "single_ms", "loop_ms", "vmap_ms", "ratio"]
    results.print_table(rows, columns)
    results.write_results("vmap_penalty", rows)


if __name__ == "__main__":
    main()
