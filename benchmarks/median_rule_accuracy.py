"""The streaming median rule against the exact all-pairs median, and the effect downstream.

For ``jaxinfo.testing`` tasks at n = 500 ... 16 384: the relative difference of
``bandwidth_from_rule("median", x)`` from the exact all-pairs median (NumPy, float64, in row
blocks), the relative difference it makes to the matrix Renyi entropy (alpha = 2) of x and
to the CS-QMI of (x, y), and, for scale, the spread (relative standard deviation over 5
seeds) of the exact all-pairs median itself, i.e. how much the old rule moved between two
draws of the same task.

Run: ``.venv/bin/python benchmarks/median_rule_accuracy.py [--sizes ...]``; results go to
``benchmarks/results/median_rule_accuracy-cpu.json``.
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels, testing
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)

TASKS = {
    "gaussian 5x5 rho=0.6": testing.correlated_gaussians(5, 5, correlation=0.6),
    "student-t 2x2 dof=3": testing.student_t(dim=2, dof=3.0),
    "uniform copula 5x5": testing.gaussian_copula_uniform(5, 5),
    "spiral 3x3": testing.spiral(testing.correlated_gaussians(3, 3, correlation=0.6)),
    "asinh student 3x3": testing.asinh(testing.student_t(dim=3, dof=1.0)),
    "additive uniform 1x1": testing.additive_uniform_noise(0.1),
}


def all_pairs_median(x: np.ndarray, block: int = 1024) -> float:
    """Exact median of the distinct pairs' distances, blocked (float64)."""
    n = len(x)
    pieces = []
    for start in range(0, n, block):
        rows = x[start : start + block]
        sq = np.sum((rows[:, None, :] - x[None, start:, :]) ** 2, axis=-1)
        i, j = np.triu_indices(len(rows), 1, m=n - start)
        pieces.append(sq[i, j])
    return float(np.sqrt(np.median(np.concatenate(pieces))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 4000, 16384])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    rule = jax.jit(lambda a: kernels.bandwidth_from_rule("median", a))
    h2 = jax.jit(
        lambda a, s: jaxinfo.matrix_renyi_entropy(a, alpha=2.0, kernel=kernels.Gaussian(s))
    )
    qmi = jax.jit(
        lambda a, b, sa, sb: jaxinfo.cauchy_schwarz_mutual_information(
            a, b, kernel_x=kernels.Gaussian(sa), kernel_y=kernels.Gaussian(sb)
        )
    )
    rows = []
    for name, task in TASKS.items():
        for n in args.sizes:
            diffs, h2_diffs, qmi_diffs, exact = [], [], [], []
            for seed in range(args.seeds):
                x, y = task.sample(jax.random.key(seed), n)
                x, y = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
                sx, sy = float(rule(x)), float(rule(y))
                ex = all_pairs_median(np.asarray(x))
                ey = all_pairs_median(np.asarray(y))
                exact.append(ex)
                diffs += [abs(sx / ex - 1), abs(sy / ey - 1)]
                if n <= 4096:
                    h_rule, h_exact = float(h2(x, sx)), float(h2(x, ex))
                    h2_diffs.append(abs(h_rule / h_exact - 1))
                    q_rule, q_exact = float(qmi(x, y, sx, sy)), float(qmi(x, y, ex, ey))
                    qmi_diffs.append(abs(q_rule / q_exact - 1))
            row = {
                "task": name,
                "n": n,
                "max_rel_diff_sigma": max(diffs),
                "median_rel_diff_sigma": statistics.median(diffs),
                "exact_median_seed_spread": statistics.stdev(exact) / statistics.mean(exact),
                "max_rel_diff_H2": max(h2_diffs) if h2_diffs else None,
                "max_rel_diff_CSQMI": max(qmi_diffs) if qmi_diffs else None,
            }
            print(row, flush=True)
            rows.append(row)
    path = results.write_results("median_rule_accuracy", rows)
    results.print_table(
        rows,
        [
            "task",
            "n",
            "max_rel_diff_sigma",
            "median_rel_diff_sigma",
            "exact_median_seed_spread",
            "max_rel_diff_H2",
            "max_rel_diff_CSQMI",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
