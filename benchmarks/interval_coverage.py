"""Coverage of ``jaxinfo.confidence_interval`` on Gaussian tasks with a closed-form truth.

For each estimator and redraw method: R independent data sets of ``(x, y)`` from
``correlated_gaussians(1, 1, correlation=0.6)`` (n = 400 rows), a nominal 90 % interval
from B = 200 redrawn sets each, and the fraction of intervals that contain the truth
(target 85-95 %). Gaussian MI and KSG target the Shannon MI; the order-2 matrix MI with
Gaussian kernels of width 1 targets its own population value
(``jaxinfo.testing.matrix_mutual_information_order2``). Also the time of one interval
(B redrawn sets in one program) against B single jitted calls in a Python loop, one
thread, float32 and float64.

Run:  python benchmarks/interval_coverage.py [--quick] [--cost-only]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels, testing
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

ROWS, RESAMPLES, CORRELATION, CONFIDENCE = 400, 200, 0.6, 0.9
TASK = testing.correlated_gaussians(1, 1, correlation=CORRELATION)


def _matrix_mi(x, y):
    return jaxinfo.matrix_mutual_information(
        x, y, alpha=2, kernel_x=kernels.Gaussian(1.0), kernel_y=kernels.Gaussian(1.0)
    )


ESTIMATORS = {
    "gaussian_mutual_information": (
        jaxinfo.gaussian_mutual_information,
        TASK.mutual_information,
    ),
    "ksg_mutual_information": (jaxinfo.ksg_mutual_information, TASK.mutual_information),
    "matrix_mutual_information(alpha=2)": (
        _matrix_mi,
        testing.matrix_mutual_information_order2(correlation=CORRELATION, bandwidth=1.0),
    ),
}


def coverage(estimator, truth, method: str, dtype, repeats: int) -> dict:
    """Fraction of ``repeats`` intervals containing ``truth``, and their mean width."""
    covered, widths, errors = [], [], []
    for r in range(repeats):
        x, y = TASK.sample(jax.random.key(r), ROWS)
        interval = jaxinfo.confidence_interval(
            estimator,
            x.astype(dtype),
            y.astype(dtype),
            key=jax.random.key(10_000 + r),
            num_resamples=RESAMPLES,
            confidence=CONFIDENCE,
            method=method,
        )
        low, high, value = float(interval.low), float(interval.high), float(interval.value)
        covered.append(low <= truth <= high)
        widths.append(high - low)
        errors.append(value - truth)
    return {
        "coverage": float(np.mean(covered)),
        "mean_width": float(np.mean(widths)),
        "bias": float(np.mean(errors)),
        "spread": float(np.std(errors)),
    }


def cost(estimator, dtype, method: str, repeats: int) -> dict:
    """One interval (B redrawn sets, one program) against B jitted single calls.

    The loop gets its row sets drawn and sliced beforehand, outside the timed region.
    """
    x, y = TASK.sample(jax.random.key(0), ROWS)
    x, y = x.astype(dtype), y.astype(dtype)
    single = jax.jit(estimator)
    size = ROWS // 2 if method == "subsample" else ROWS
    subsets = [
        jax.random.permutation(jax.random.key(b), ROWS)[:size]
        if method == "subsample"
        else jax.random.randint(jax.random.key(b), (size,), 0, ROWS)
        for b in range(RESAMPLES)
    ]
    pieces = [(x[rows], y[rows]) for rows in subsets]

    def interval(x, y):
        return jaxinfo.confidence_interval(
            estimator, x, y, key=jax.random.key(1), num_resamples=RESAMPLES, method=method
        ).high

    def loop(x, y):
        return [single(a, b) for a, b in pieces]

    times = timing.median_times({"interval": interval, "loop": loop}, x, y, repeats=repeats)
    return {
        "interval_ms": round(1e3 * times["interval"], 1),
        "loop_ms": round(1e3 * times["loop"], 1),
        "ratio": round(times["interval"] / times["loop"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="50 data sets instead of 200")
    parser.add_argument(
        "--cost-only", action="store_true", help="only the timing columns (15 repeats)"
    )
    args = parser.parse_args()
    repeats = 50 if args.quick else 200
    jax.config.update("jax_enable_x64", True)
    rows = []
    for dtype in (jnp.float32, jnp.float64):
        for name, (estimator, truth) in ESTIMATORS.items():
            for method in ("subsample", "bootstrap"):
                start = time.perf_counter()
                row = {
                    "estimator": name,
                    "dtype": jnp.dtype(dtype).name,
                    "method": method,
                    "truth": round(truth, 4),
                    **cost(estimator, dtype, method, repeats=15 if args.cost_only else 5),
                }
                if not args.cost_only:
                    row.update(coverage(estimator, truth, method, dtype, repeats))
                row["seconds"] = round(time.perf_counter() - start, 1)
                rows.append(row)
                print(row, flush=True)
    path = results.write_results("interval_cost" if args.cost_only else "interval_coverage", rows)
    print(f"\nthreads: {THREADS}; {repeats} data sets of n = {ROWS}, B = {RESAMPLES}\n")
    results.print_table(
        rows,
        [
            "estimator",
            "dtype",
            "method",
            "truth",
            "coverage",
            "mean_width",
            "bias",
            "spread",
            "interval_ms",
            "loop_ms",
            "ratio",
        ],
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
