"""kNN entropy, KL and KSG at d <= 3 against SciPy cKDTree implementations (issue 13).

jaxinfo's default (``method="auto"``) takes the 1-D sorted search for the entropy and the KL
at d = 1 and, on CPU from n = 2048, the host k-d tree at 2 <= d <= 8 (KSG: the joint
dimension; its 1-D marginals are counted by a sorted search in JAX). ``brute`` is the blocked
slab (``method="brute"``). The peers are the estimators a user would write with SciPy (NPEET
style; ``jaxinfo._src.bench.references``). One process, one thread per side
(``timing.pin_threads``), jit warmed, median of 3; values must agree. Ratios are peer
time / jaxinfo time (above 1: jaxinfo faster); growth exponents are least-squares slopes
of log time against log n.

Run:  python benchmarks/low_dimensional_knn.py [--quick]
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo._src import neighbours
from jaxinfo._src.bench import references, results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)
K = 3
BRUTE_MAX_N = 5000  # the slab grows as n^2 (KSG at d = 3, n = 50 000: minutes per call)


def growth(rows, column):
    points = [(math.log(r["n"]), math.log(r[column])) for r in rows if column in r]
    if len(points) < 2:
        return float("nan")
    xs, ys = np.array(points).T
    return float(np.polyfit(xs, ys, 1)[0])


ESTIMATORS = {
    # name: (peer on float64 NumPy arrays, jaxinfo call, joint dimension for the route)
    "entropy": (
        lambda x, y: references.knn_entropy(x, K),
        lambda x, y, method: jaxinfo.knn_entropy(x, k=K, method=method),
        lambda d: (d, True),
    ),
    "KL": (
        lambda x, y: references.knn_kl_divergence(x, y, K),
        lambda x, y, method: jaxinfo.knn_kl_divergence(x, y, k=K, method=method),
        lambda d: (d, True),
    ),
    "KSG": (
        lambda x, y: references.ksg_mutual_information(x, y, K),
        lambda x, y, method: jaxinfo.ksg_mutual_information(x, y, k=K, method=method),
        lambda d: (2 * d, False),
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [1000, 5000] if args.quick else [1000, 5000, 20000, 50000]
    rows = []
    for name, (peer, call, route_dim) in ESTIMATORS.items():
        for d in (1, 2, 3):
            for dtype in ("float32", "float64"):
                auto = jax.jit(lambda x, y, call=call: call(x, y, "auto"))
                brute = jax.jit(lambda x, y, call=call: call(x, y, "brute"))
                for n in sizes:
                    key_x, key_y = jax.random.split(jax.random.key(n + d))
                    x64 = np.asarray(jax.random.normal(key_x, (n, d), jnp.float64))
                    noise = np.asarray(jax.random.normal(key_y, (n, d), jnp.float64))
                    # KSG: y = x + noise (dependent); KL: y ~ N(1, 1.5^2) per coordinate
                    y64 = x64 + noise if name == "KSG" else 1.0 + 1.5 * noise
                    x, y = jnp.asarray(x64, dtype), jnp.asarray(y64, dtype)
                    dim, sorted_ok = route_dim(d)
                    route = neighbours.search_route("auto", dim, n, sorted_allowed=sorted_ok)
                    row = {"estimator": name, "d": d, "dtype": dtype, "n": n, "route": route}
                    row["peer"] = peer(x64, y64)
                    row["peer_s"] = timing.median_time(peer, x64, y64, repeats=3)
                    row["jaxinfo"] = float(auto(x, y))
                    row["jaxinfo_s"] = timing.median_time(auto, x, y, repeats=3)
                    if n <= BRUTE_MAX_N:
                        row["brute"] = float(brute(x, y))
                        row["brute_s"] = timing.median_time(brute, x, y, repeats=3)
                        same = 1e-6 if dtype == "float32" else 1e-12
                        assert abs(row["brute"] - row["jaxinfo"]) <= same * max(
                            1, abs(row["brute"])
                        ), row
                    # the float64 peer against float32 inputs: input rounding only
                    tolerance = 2e-4 if dtype == "float32" else 1e-10
                    assert abs(row["peer"] - row["jaxinfo"]) <= tolerance * max(
                        1, abs(row["peer"])
                    ), row
                    row["peer_over_jaxinfo"] = row["peer_s"] / row["jaxinfo_s"]
                    if "brute_s" in row:
                        row["peer_over_brute"] = row["peer_s"] / row["brute_s"]
                    rows.append(row)
                    print(row, flush=True)
    for row in rows:  # float64 time over float32 time of the default route
        if row["dtype"] == "float64":
            (twin,) = [
                r
                for r in rows
                if r["dtype"] == "float32"
                and (r["estimator"], r["d"], r["n"]) == (row["estimator"], row["d"], row["n"])
            ]
            row["f64_over_f32"] = row["jaxinfo_s"] / twin["jaxinfo_s"]
    columns = ["estimator", "d", "dtype", "n", "route", "peer_s", "jaxinfo_s", "brute_s"]
    columns += ["peer_over_jaxinfo", "peer_over_brute", "f64_over_f32"]
    results.print_table(rows, columns)
    for name in ESTIMATORS:
        for d in (1, 2, 3):
            for dtype in ("float32", "float64"):
                subset = [
                    r for r in rows if (r["estimator"], r["d"], r["dtype"]) == (name, d, dtype)
                ]
                large = [r for r in subset if r["n"] >= 5000]
                print(
                    f"{name} d={d} {dtype} growth (n >= 5000): peer "
                    f"{growth(large, 'peer_s'):.2f}, jaxinfo {growth(large, 'jaxinfo_s'):.2f}; "
                    f"brute (1000-5000) {growth(subset, 'brute_s'):.2f}"
                )
    if not args.quick:
        print(results.write_results("low_dimensional_knn", rows))


if __name__ == "__main__":
    main()
