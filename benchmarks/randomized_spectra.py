"""Accuracy and time of the randomized spectral route (stochastic Lanczos quadrature).

For each measure, the exact value (``method="exact"``, the eigensolver) against
``method=jaxinfo.StochasticLanczos(key, ...)`` with keys 0..4, at n = 4096, d = 16,
x ~ N(0, I) (seed 0), float64, Gaussian kernel with a fixed bandwidth (the median pairwise
distance of a 1000-row subsample, computed once in NumPy so exact and SLQ share the kernel
and the median rule's n^2 distances are not timed):

- matrix Rényi entropy at alpha = 0.5, 1.01, 3 and the von Neumann entropy;
- diffusion spectral entropy (same bandwidth) at t = 1 and t = 3.

SLQ settings: the defaults (num_probes=32, num_steps=40) and num_probes=16; relative error
``|slq - exact| / |exact|``, mean and max over the 5 keys. float32 (defaults) is compared to
the float64 exact value. Times: one warm jitted call (exact: after the compiling call; SLQ:
median of the warm calls for keys 1..4). Each (measure, settings, dtype) is jitted once with
the key as a traced argument.

Run:  OMP_NUM_THREADS=1 python benchmarks/randomized_spectra.py [--quick] [--skip-dse-p16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)

KEYS = range(5)
DEFAULT_PROBES = 32
FEW_PROBES = 16


def median_distance(x: np.ndarray, rows: int = 1000, seed: int = 1) -> float:
    """Median Euclidean distance over distinct pairs of a random subsample (NumPy)."""
    rng = np.random.default_rng(seed)
    sub = x[rng.choice(x.shape[0], size=min(rows, x.shape[0]), replace=False)]
    sq = np.sum(sub * sub, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * sub @ sub.T, 0.0)
    upper = np.triu_indices(sub.shape[0], k=1)
    return float(np.sqrt(np.median(d2[upper])))


def measures(bandwidth: float):
    gauss = kernels.Gaussian(bandwidth=bandwidth)
    out = []
    for alpha in (0.5, 1.01, 3.0):
        out.append(
            (
                f"Rényi α = {alpha:g}",
                lambda v, method, alpha=alpha: jaxinfo.matrix_renyi_entropy(
                    v, alpha=alpha, kernel=gauss, method=method
                ),
            )
        )
    out.append(
        (
            "von Neumann",
            lambda v, method: jaxinfo.von_neumann_entropy(v, kernel=gauss, method=method),
        )
    )
    for t in (1, 3):
        out.append(
            (
                f"DSE t = {t}",
                lambda v, method, t=t: jaxinfo.diffusion_spectral_entropy(
                    v, bandwidth=bandwidth, t=t, method=method
                ),
            )
        )
    return out


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    out = timing.block(fn(*args))
    seconds = time.perf_counter() - start
    timed.dtype = str(out.dtype)
    return float(out), seconds


def run_slq(f, x, exact: float, num_probes: int) -> dict:
    """SLQ for keys 0..4 with one jitted function (the key traced)."""
    fn = jax.jit(
        lambda v, key: f(v, jaxinfo.StochasticLanczos(key, num_probes=num_probes, num_steps=40))
    )
    values, times = [], []
    for k in KEYS:
        value, seconds = timed(fn, x, jax.random.key(k))
        values.append(value)
        times.append(seconds)
    errors = [abs(v - exact) / abs(exact) for v in values]
    warm = statistics.median(times[1:])
    return {
        "values": values,
        "mean_rel_err": statistics.fmean(errors),
        "max_rel_err": max(errors),
        "warm_s": warm,
        "compile_s": times[0] - warm,
        "dtype": timed.dtype,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1024 (smoke test)")
    parser.add_argument(
        "--skip-dse-p16", action="store_true", help="no num_probes=16 runs for DSE (time)"
    )
    args = parser.parse_args(argv)
    n, d = (1024 if args.quick else 4096), 16
    x = np.random.default_rng(0).normal(size=(n, d))
    bandwidth = median_distance(x)
    print(f"n = {n}, d = {d}, bandwidth (median distance, 1000-row subsample) = {bandwidth:.6f}")
    x64 = jnp.asarray(x, jnp.float64)
    x32 = jnp.asarray(x, jnp.float32)

    rows = []
    total_start = time.perf_counter()
    for name, f in measures(bandwidth):
        measure_start = time.perf_counter()
        exact_fn = jax.jit(lambda v, f=f: f(v, "exact"))
        exact, first = timed(exact_fn, x64)
        _, exact_s = timed(exact_fn, x64)
        default = run_slq(f, x64, exact, DEFAULT_PROBES)
        row = {
            "measure": name,
            "n": n,
            "d": d,
            "bandwidth": bandwidth,
            "exact": exact,
            "exact_s": exact_s,
            "slq_s": default["warm_s"],
            "slq_compile_s": default["compile_s"],
            "mean_rel_err": default["mean_rel_err"],
            "max_rel_err": default["max_rel_err"],
            "slq_values": default["values"],
        }
        if not (args.skip_dse_p16 and name.startswith("DSE")):
            few = run_slq(f, x64, exact, FEW_PROBES)
            row.update(
                p16_mean_rel_err=few["mean_rel_err"],
                p16_max_rel_err=few["max_rel_err"],
                p16_values=few["values"],
                p16_s=few["warm_s"],
            )
        single = run_slq(f, x32, exact, DEFAULT_PROBES)
        row.update(
            f32_mean_rel_err=single["mean_rel_err"],
            f32_max_rel_err=single["max_rel_err"],
            f32_values=single["values"],
            f32_slq_s=single["warm_s"],
            f32_dtype=single["dtype"],
        )
        row["measure_wall_s"] = time.perf_counter() - measure_start
        rows.append(row)
        printable = {k: v for k, v in row.items() if not k.endswith("values")}
        print(printable, flush=True)
    total = time.perf_counter() - total_start
    print(f"total {total:.0f} s")

    path = results.write_results("randomized_spectra" + ("-quick" if args.quick else ""), rows)
    columns = [
        "measure",
        "exact",
        "mean_rel_err",
        "max_rel_err",
        "p16_mean_rel_err",
        "p16_max_rel_err",
        "f32_mean_rel_err",
        "exact_s",
        "slq_s",
    ]
    results.print_table(rows, columns)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
