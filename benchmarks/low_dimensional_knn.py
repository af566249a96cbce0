"""kNN entropy and KL at d = 1 against SciPy cKDTree implementations: sorted search vs slab.

``jaxinfo.knn_entropy`` and ``knn_kl_divergence`` at d = 1 now take one sort
(``method="sorted"``, the default there) instead of the blocked all-pairs slab
(``method="brute"``). The peers are the estimators a user would write with SciPy (NPEET
style): ``cKDTree(x).query(x, k + 1)`` (and ``cKDTree(y).query(x, k)`` for the KL) for the
k-th neighbour distances, then the same formulas. One process, one thread per side
(``_harness``), jit warmed, median of 3; values must agree (both exact). Ratios are
peer time / jaxinfo time (above 1: jaxinfo faster); growth exponents are least-squares slopes
of log time against log n.

Run:  python benchmarks/low_dimensional_knn.py [--quick]
"""

from __future__ import annotations

import argparse
import math

import _harness  # pins threads before JAX / NumPy load
import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial import cKDTree

import jaxinfo
from jaxinfo import _peers

jax.config.update("jax_enable_x64", True)
K = 3
BRUTE_MAX_N = 20000  # the slab grows as n^2: minutes per call beyond this


def tree_entropy(x: np.ndarray, k: int = K) -> float:
    """Kozachenko–Leonenko entropy (nats) with cKDTree neighbours: the `jaxinfo bench` peer."""
    return _peers.scipy_knn_entropy(x, k)


def tree_kl(x: np.ndarray, y: np.ndarray, k: int = K) -> float:
    """Wang–Kulkarni–Verdú KL divergence (nats) with cKDTree neighbour distances."""
    n, d = x.shape
    rho = cKDTree(x).query(x, k=k + 1)[0][:, -1]
    nu = cKDTree(y).query(x, k=k)[0]
    nu = nu[:, -1] if nu.ndim == 2 else nu
    return float(d * np.mean(np.log(nu / rho)) + math.log(y.shape[0] / (n - 1.0)))


def growth(rows, column):
    points = [(math.log(r["n"]), math.log(r[column])) for r in rows if column in r]
    if len(points) < 2:
        return float("nan")
    xs, ys = np.array(points).T
    return float(np.polyfit(xs, ys, 1)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [1000, 5000] if args.quick else [1000, 5000, 20000, 50000]
    rows = []
    estimators = {
        "entropy": (
            lambda x, y: tree_entropy(x),
            lambda method: jax.jit(lambda x, y: jaxinfo.knn_entropy(x, k=K, method=method)),
        ),
        "KL": (
            tree_kl,
            lambda method: jax.jit(
                lambda x, y: jaxinfo.knn_kl_divergence(x, y, k=K, method=method)
            ),
        ),
    }
    for name, (tree_fn, make) in estimators.items():
        for dtype in ("float32", "float64"):
            sorted_fn, brute_fn = make("sorted"), make("brute")
            for n in sizes:
                key_x, key_y = jax.random.split(jax.random.key(n))
                x64 = np.asarray(jax.random.normal(key_x, (n, 1), jnp.float64))
                y64 = 1.0 + 1.5 * np.asarray(jax.random.normal(key_y, (n, 1), jnp.float64))
                x, y = jnp.asarray(x64, dtype), jnp.asarray(y64, dtype)
                row = {"estimator": name, "dtype": dtype, "n": n, "tree": tree_fn(x64, y64)}
                row["tree_s"] = _harness.timeit(tree_fn, x64, y64, repeats=3)
                row["sorted"] = float(sorted_fn(x, y))
                row["sorted_s"] = _harness.timeit(sorted_fn, x, y, repeats=3)
                if n <= BRUTE_MAX_N:
                    row["brute"] = float(brute_fn(x, y))
                    row["brute_s"] = _harness.timeit(brute_fn, x, y, repeats=3)
                    assert abs(row["brute"] - row["sorted"]) <= 1e-5 * max(1, abs(row["brute"]))
                tolerance = 1e-4 if dtype == "float32" else 1e-10
                assert abs(row["tree"] - row["sorted"]) <= tolerance, row
                row["tree_over_sorted"] = row["tree_s"] / row["sorted_s"]
                if "brute_s" in row:
                    row["tree_over_brute"] = row["tree_s"] / row["brute_s"]
                rows.append(row)
                print(row, flush=True)
    _harness.print_table(
        rows,
        [
            "estimator",
            "dtype",
            "n",
            "tree_s",
            "sorted_s",
            "brute_s",
            "tree_over_sorted",
            "tree_over_brute",
        ],
    )
    for name in estimators:
        for dtype in ("float32", "float64"):
            subset = [r for r in rows if r["dtype"] == dtype and r["estimator"] == name]
            print(
                f"{name} {dtype} growth exponents: tree {growth(subset, 'tree_s'):.2f}, sorted "
                f"{growth(subset, 'sorted_s'):.2f}, brute {growth(subset, 'brute_s'):.2f}"
            )
    if not args.quick:
        print(_harness.write_results("low_dimensional_knn", rows))


if __name__ == "__main__":
    main()
