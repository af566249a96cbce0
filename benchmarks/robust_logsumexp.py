"""Cost of the rounding-robust log-sum-exp (``numerics.logsumexp``) against ``jax.nn``'s.

Every log-domain kernel sum (Cauchy-Schwarz, KDE, the variational bounds) reduces through
``numerics.logsumexp``, which clamps the shifted logits at 0 and falls back to the maximum
where rounding lost its term (a bandwidth of 1e-15 made ``jax.nn.logsumexp`` return -inf).
This times the value and gradient of ``sum_i logsumexp_j (-|x_i - x_j|^2 / 2 sigma^2)`` at
n = 2048, d = 3 with both, float32 and float64, median of interleaved warm calls, one thread.

Run:  python benchmarks/robust_logsumexp.py [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from jaxinfo._src import numerics
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

LOGSUMEXPS = {"jax.nn.logsumexp": jax.nn.logsumexp, "numerics.logsumexp": numerics.logsumexp}


def _kernel_log_sum(logsumexp):
    def total(x):
        squared = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
        return jnp.sum(logsumexp(-squared / 0.5, 1))

    return jax.jit(jax.value_and_grad(total))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    rows = []
    for dtype in ("float32", "float64"):
        with jax.enable_x64(dtype == "float64"):
            x = jax.random.normal(jax.random.key(0), (2048, 3), dtype)
            calls = {name: _kernel_log_sum(fn) for name, fn in LOGSUMEXPS.items()}
            times = timing.median_times(calls, x, repeats=5 if args.quick else 21)
        base, robust = times["jax.nn.logsumexp"], times["numerics.logsumexp"]
        rows.append(
            {
                "dtype": dtype,
                "jax_nn_ms": round(1e3 * base, 2),
                "robust_ms": round(1e3 * robust, 2),
                "ratio": round(robust / base, 3),
            }
        )
    results.print_table(rows, ["dtype", "jax_nn_ms", "robust_ms", "ratio"])
    results.write_results("robust_logsumexp", rows)


if __name__ == "__main__":
    main()
