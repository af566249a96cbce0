"""Power of ``jaxinfo.permutation_test`` against dependence strength, per estimator.

Two dependence families at n = 100 rows: ``linear`` (jointly Gaussian, correlation s) and
``quadratic`` (``y = s (x^2 - 1) / sqrt(2) + sqrt(1 - s^2) e``: uncorrelated but dependent).
For each estimator and strength, R data sets, a permutation test with B = 99 permutations
each, and the fraction rejected at level 0.05 (at s = 0: the size, which should be 0.05).
Estimators at their defaults: KSG (k = 3), Gaussian MI, CS-QMI, matrix MI (alpha = 1.01),
DSMI (of x and the labels ``y > 0``). DSMI costs about 0.3 s a call here (12
eigendecompositions), so its row uses R = 20 data sets, B = 19 permutations (still an
exact level-0.05 test: reject when no permutation reaches the statistic) and three
strengths. float32, one thread.

Run:  python benchmarks/independence_power.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

ROWS, PERMUTATIONS, LEVEL = 100, 99, 0.05
STRENGTHS = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6)


def _dsmi(x, y):
    labels = (y[:, 0] > 0).astype(jnp.int32)
    return jaxinfo.diffusion_spectral_mutual_information(
        x, labels, num_classes=2, key=jax.random.key(0), max_class_size=ROWS
    )


# name: (estimator, data sets per strength or None for the default, permutations, strengths)
ESTIMATORS = {
    "ksg_mutual_information": (jaxinfo.ksg_mutual_information, None, PERMUTATIONS, STRENGTHS),
    "gaussian_mutual_information": (
        jaxinfo.gaussian_mutual_information,
        None,
        PERMUTATIONS,
        STRENGTHS,
    ),
    "cauchy_schwarz_mutual_information": (
        jaxinfo.cauchy_schwarz_mutual_information,
        None,
        PERMUTATIONS,
        STRENGTHS,
    ),
    "matrix_mutual_information": (
        jaxinfo.matrix_mutual_information,
        None,
        PERMUTATIONS,
        STRENGTHS,
    ),
    "diffusion_spectral_mutual_information": (_dsmi, 20, 19, (0.0, 0.3, 0.6)),
}


def sample(family: str, strength: float, key: jax.Array):
    kx, ke = jax.random.split(key)
    x = jax.random.normal(kx, (ROWS, 1))
    noise = jax.random.normal(ke, (ROWS, 1))
    signal = x if family == "linear" else (x * x - 1.0) / math.sqrt(2.0)
    return x, strength * signal + math.sqrt(1.0 - strength**2) * noise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="30 data sets instead of 100")
    args = parser.parse_args()
    repeats = 30 if args.quick else 100
    rows = []
    for family in ("linear", "quadratic"):
        for name, (estimator, data_sets, permutations, strengths) in ESTIMATORS.items():
            start = time.perf_counter()
            row: dict = {"family": family, "estimator": name}
            row["data_sets"] = data_sets or repeats
            row["permutations"] = permutations
            for strength in strengths:
                rejected = []
                for r in range(data_sets or repeats):
                    x, y = sample(family, strength, jax.random.key(r))
                    test = jaxinfo.permutation_test(
                        estimator,
                        x,
                        y,
                        key=jax.random.key(7_000 + r),
                        num_permutations=permutations,
                    )
                    # p is a float32 ratio: 1 / 20 reads 0.0500000007, so compare with slack
                    rejected.append(float(test.p_value) <= LEVEL * (1 + 1e-6))
                row[f"s={strength:g}"] = round(float(np.mean(rejected)), 2)
            row["seconds"] = round(time.perf_counter() - start, 1)
            rows.append(row)
            print(row, flush=True)
    path = results.write_results("independence_power", rows)
    print(f"\nthreads: {THREADS}; n = {ROWS}, level {LEVEL}\n")
    results.print_table(rows, ["family", "estimator", *(f"s={s:g}" for s in STRENGTHS), "seconds"])
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
