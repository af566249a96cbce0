"""A user's kernel against the built-in one: what each extension contract costs.

Three kernels computing the same Gaussian ``exp(-|a - b|^2 / (2 sigma^2))``:

* ``builtin``: ``jaxinfo.kernels.Gaussian(sigma)``;
* ``distance``: a user ``DistanceKernel`` implementing only ``log_kernel`` (the fused
  linear-domain route of the Cauchy–Schwarz family, without the Gaussian's GEMM scaling);
* ``generic``: a user ``Kernel`` implementing only ``gram`` / ``diagonal`` (the matrix family
  reads its Gram; the CS family takes the log-domain route through ``log(gram)``).

Timed: the jitted value and gradient (with respect to the samples) of the CS divergence and
of the matrix Rényi entropy of order 2 at several ``n``, blocked (``block_size=1024``),
calls interleaved, medians of 5, one thread on every side (``jaxinfo._src.bench.timing``).
Reported as the ratio to ``builtin``; the values agree to the precision printed.

Run: ``.venv/bin/python benchmarks/user_kernels.py [--dtype float32|float64|both]
[--sizes 2048 8192]``. Results go to ``benchmarks/results/user_kernels-cpu.json``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

import jaxinfo  # noqa: E402
from jaxinfo import kernels  # noqa: E402

SIGMA = 2.0
D = 8
BLOCK = 1024


class GaussianProfile(kernels.DistanceKernel):
    def log_kernel(self, squared_distance, bandwidth):
        return -squared_distance / (2.0 * bandwidth * bandwidth)


class GaussianGram(kernels.Kernel):
    def __init__(self, width):
        self.width = width

    def gram(self, x, y=None):
        y = x if y is None else y
        sq = kernels.squared_distances(x, y)
        return jnp.exp(-sq / (2.0 * self.width**2))

    def diagonal(self, x):
        return jnp.ones(x.shape[0], x.dtype)


KERNELS = {
    "builtin": kernels.Gaussian(SIGMA),
    "distance": GaussianProfile(SIGMA),
    "generic": GaussianGram(SIGMA),
}
MEASURES = {
    "cauchy_schwarz_divergence": lambda k, x, y: jaxinfo.cauchy_schwarz_divergence(
        x, y, kernel=k, block_size=BLOCK
    ),
    "matrix_renyi_entropy[a=2]": lambda k, x, y: jaxinfo.matrix_renyi_entropy(
        x, alpha=2.0, kernel=k, block_size=BLOCK
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    args = parser.parse_args()
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    rows = []
    for dtype_name in dtypes:
        jax.config.update("jax_enable_x64", dtype_name == "float64")
        dtype = jnp.dtype(dtype_name)
        for n in args.sizes:
            keys = jax.random.split(jax.random.key(n), 2)
            x = jax.random.normal(keys[0], (n, D), dtype)
            y = jax.random.normal(keys[1], (n, D), dtype) + 0.5
            for measure, fn in MEASURES.items():
                calls = {
                    name: jax.jit(jax.value_and_grad(lambda a, b, k=k, fn=fn: fn(k, a, b)))
                    for name, k in KERNELS.items()
                }
                values = {name: float(call(x, y)[0]) for name, call in calls.items()}
                times = timing.median_times(calls, x, y, repeats=5)
                for name in KERNELS:
                    rows.append(
                        {
                            "dtype": dtype_name,
                            "n": n,
                            "measure": measure,
                            "kernel": name,
                            "seconds": times[name],
                            "ratio_to_builtin": times[name] / times["builtin"],
                            "value": values[name],
                        }
                    )
    results.print_table(rows, ["dtype", "n", "measure", "kernel", "seconds", "ratio_to_builtin"])
    path = results.write_results("user_kernels", rows)
    print(f"threads per pool: {THREADS}; written {path}")


if __name__ == "__main__":
    main()
