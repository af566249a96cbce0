"""Time against ``block_size`` for the blocked reductions (the CPU cap of the block policy).

Run:  ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/block_size.py`` (one thread, float32,
median of 5 after a warm-up call). Writes ``benchmarks/results/block_size-<backend>.json``.
"""

from __future__ import annotations

import jax

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

BLOCKS = [None, 2504, 1672, 1024, 512, 256]  # None: the whole matrix at these sizes


def main() -> None:
    x = jax.random.normal(jax.random.key(0), (5000, 3))
    y = jax.random.normal(jax.random.key(1), (4096, 16))
    wide = jaxinfo.kernels.Gaussian(4.0)
    cases = {
        "kde_entropy (h = 0.5, n = 5000, d = 3)": (
            lambda bs: lambda a: jaxinfo.kde_entropy(a, bandwidth=0.5, block_size=bs),
            (x,),
        ),
        "knn_entropy (k = 3, n = 5000, d = 3)": (
            lambda bs: lambda a: jaxinfo.knn_entropy(a, block_size=bs),
            (x,),
        ),
        "cauchy_schwarz_divergence (2 x [4096, 16])": (
            lambda bs: (
                lambda a, b: jaxinfo.cauchy_schwarz_divergence(
                    a, b + 0.5, kernel=wide, block_size=bs
                )
            ),
            (y, y[::-1]),
        ),
    }
    rows = []
    for name, (make, args) in cases.items():
        row = {"estimator": name}
        for bs in BLOCKS:
            fn = jax.jit(make(bs if bs is None or bs < args[0].shape[0] else None))
            row[f"ms[{bs or 'whole'}]"] = 1e3 * timing.median_time(fn, *args)
        rows.append(row)
        print(row, flush=True)
    results.print_table(rows, list(rows[0]))
    results.write_results("block_size", rows)


if __name__ == "__main__":
    main()
