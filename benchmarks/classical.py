"""Nearest-neighbour estimators against hoi and scikit-learn, side by side in one process.

1. KSG mutual information (k = 3) at n = 5000 on ``jaxinfo.testing.correlated_gaussians``
   (d x d, dense, correlation 0.5) for d = 1, 5, 25: jaxinfo's blocked search vs
   ``hoi.core.get_mi("knn", k=3)`` (hoi 0.0.7, JAX, full ``[n, n, d]`` difference tensor and
   argsort) and scikit-learn's ``mutual_info_regression`` (KD-tree, 1-D only). Values are
   printed next to the true MI (equal accuracy), hoi's bits converted to nats.
2. kNN (Kozachenko–Leonenko) entropy of ``x``: jaxinfo vs ``hoi.core.get_entropy("knn",
   k=3)`` (bits, clipped at 0 by hoi), next to the true entropy.
3. KSG at n = 100 000, d = 3 with ``block_size``, in a subprocess: time and peak RSS
   (``resource.getrusage``), plus XLA's compiled temp-buffer size.

hoi's KSG uses Euclidean norms within x and y (the max over the two spaces only); jaxinfo,
NPEET and scikit-learn use the max-norm in every coordinate. In 1-D both are identical.

Run:  OMP_NUM_THREADS=1 python benchmarks/classical.py [--quick]
float32 throughout (hoi's precision).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import jax
import numpy as np

import jaxinfo
from jaxinfo import testing
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

LOG2 = math.log(2.0)


def _ours_ksg(block_size):
    return jax.jit(lambda x, y: jaxinfo.ksg_mutual_information(x, y, k=3, block_size=block_size))


def bench_ksg(n, dims, block_size, hoi_max_gb):
    from hoi.core import get_mi
    from sklearn.feature_selection import mutual_info_regression

    hoi_mi = get_mi(method="knn", k=3)
    ours = _ours_ksg(block_size)
    rows = []
    for d in dims:
        task = testing.correlated_gaussians(d, d, correlation=0.5)
        x, y = task.sample(jax.random.key(d), n)
        row = {"case": "KSG MI, k=3", "n": n, "d": d, "true": task.mutual_information}
        row["jaxinfo"] = float(ours(x, y))
        row["jaxinfo_s"] = timing.median_time(ours, x, y, repeats=3)
        if n * n * d * 4 / 2**30 <= hoi_max_gb:
            xt, yt = x.T, y.T  # hoi takes (n_features, n_samples)
            row["hoi"] = float(hoi_mi(xt, yt)) * LOG2
            row["hoi_s"] = timing.median_time(hoi_mi, xt, yt, repeats=3)
            row["speedup_hoi"] = row["hoi_s"] / row["jaxinfo_s"]
        else:
            row["hoi"] = f"skipped: [n, n, d] tensor {n * n * d * 4 / 2**30:.1f} GiB"
        if d == 1:
            xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)[:, 0]

            def sk(a, b):
                return mutual_info_regression(a, b, n_neighbors=3, random_state=0)[0]

            row["sklearn"] = float(sk(xs, ys))
            row["sklearn_s"] = timing.median_time(sk, xs, ys, repeats=3)
            row["speedup_sklearn"] = row["sklearn_s"] / row["jaxinfo_s"]
        rows.append(row)
        print(row, flush=True)
    return rows


def bench_entropy(n, dims, block_size, hoi_max_gb):
    from hoi.core import get_entropy

    hoi_h = get_entropy(method="knn", k=3)
    ours = jax.jit(lambda x: jaxinfo.knn_entropy(x, k=3, block_size=block_size))
    rows = []
    for d in dims:
        task = testing.correlated_gaussians(d, 1, correlation=0.5)
        x, _ = task.sample(jax.random.key(100 + d), n)
        row = {"case": "kNN entropy, k=3", "n": n, "d": d, "true": task.entropy_x}
        row["jaxinfo"] = float(ours(x))
        row["jaxinfo_s"] = timing.median_time(ours, x, repeats=3)
        if n * n * d * 4 / 2**30 <= hoi_max_gb:
            row["hoi"] = float(hoi_h(x.T)) * LOG2
            row["hoi_s"] = timing.median_time(hoi_h, x.T, repeats=3)
            row["speedup_hoi"] = row["hoi_s"] / row["jaxinfo_s"]
        else:
            row["hoi"] = f"skipped: [n, n, d] tensor {n * n * d * 4 / 2**30:.1f} GiB"
        rows.append(row)
        print(row, flush=True)
    return rows


def large_worker(n, d, block_size):
    """Runs in a fresh process so that ru_maxrss is this computation's peak."""
    import resource

    task = testing.correlated_gaussians(d, d, correlation=0.5)
    x, y = task.sample(jax.random.key(0), n)
    ours = _ours_ksg(block_size)
    temp = ours.lower(x, y).compile().memory_analysis().temp_size_in_bytes
    start = time.perf_counter()
    compiled_value = float(ours(x, y))
    first = time.perf_counter() - start
    start = time.perf_counter()
    value = float(jax.block_until_ready(ours(x, y)))
    seconds = time.perf_counter() - start
    assert value == compiled_value
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "case": "KSG MI large",
                "n": n,
                "d": d,
                "block_size": block_size,
                "true": task.mutual_information,
                "jaxinfo": value,
                "jaxinfo_s": seconds,
                "first_call_s": first,
                "peak_rss_mib": peak_kib / 1024,
                "xla_temp_mib": temp / 2**20,
            }
        )
    )


def bench_large(n, d, block_size):
    row = results.run_child(__file__, "--large-worker", str(n), str(d), str(block_size))
    print(row, flush=True)
    return [row]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument(
        "--hoi-max-gb",
        type=float,
        default=3.0,
        help="skip hoi where its [n, n, d] tensor exceeds this (GiB)",
    )
    parser.add_argument(
        "--large-worker", nargs=3, type=int, metavar=("N", "D", "BLOCK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.large_worker:
        large_worker(*args.large_worker)
        return
    n, large_n, block = (500, 5000, 256) if args.quick else (5000, 100_000, 512)
    rows = bench_ksg(n, (1, 5, 25), block, args.hoi_max_gb)
    rows += bench_entropy(n, (1, 5, 25), block, args.hoi_max_gb)
    rows += bench_large(large_n, 3, 256)
    path = results.write_results("classical" + ("-quick" if args.quick else ""), rows)
    columns = [
        "case",
        "n",
        "d",
        "true",
        "jaxinfo",
        "hoi",
        "sklearn",
        "jaxinfo_s",
        "hoi_s",
        "sklearn_s",
        "speedup_hoi",
        "speedup_sklearn",
        "peak_rss_mib",
        "xla_temp_mib",
    ]
    results.print_table(rows, columns)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
