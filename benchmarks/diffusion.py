"""Diffusion spectral entropy / MI, jaxinfo vs the reference package ``dse-dsmi`` 1.1.

Both run in one process with the same thread pinning (``timing.pin_threads``), on the same float64
inputs, and must give the same value (bits). jaxinfo is timed jitted (compilation excluded,
reported separately), in float64 and in float32, against dse-dsmi and against the floor: the
values-only NumPy ``eigvalsh`` of the same symmetric ``[n, n]`` operator alone, all in
interleaved rounds (medians of ``--repeats``).

Run:  python benchmarks/diffusion.py [--quick | --skip-4000] [--only-dse] [--repeats 3]
(``timing.pin_threads`` pins OpenBLAS, MKL, OpenMP and XLA to one thread.)
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo._src.bench import references, results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)


def bench_dse(sizes, d=20, sigma=10.0, repeats=3):
    """jaxinfo float64 / float32, dse-dsmi, and the floor: NumPy values-only ``eigvalsh`` of
    the same ``[n, n]`` operator alone (float64, and float32 for the float32 ratio), timed in
    interleaved rounds (medians)."""
    from dse_dsmi import diffusion_spectral_entropy as reference_dse

    ours = jax.jit(lambda v: jaxinfo.diffusion_spectral_entropy(v, bandwidth=sigma, base=2))
    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, d))
        x64, x32 = jnp.asarray(x), jnp.asarray(x, jnp.float32)
        start = time.perf_counter()
        ours_value = float(ours(x64))
        compile_s = time.perf_counter() - start
        peer_value = float(reference_dse(x, gaussian_kernel_sigma=sigma, t=1))
        operator64 = references.diffusion_operator(x, sigma)
        operator32 = operator64.astype(np.float32)
        times = timing.median_times(
            {
                "f64": lambda x64=x64: ours(x64),
                "floor64": lambda operator64=operator64: np.linalg.eigvalsh(operator64),
                "f32": lambda x32=x32: ours(x32),
                "floor32": lambda operator32=operator32: np.linalg.eigvalsh(operator32),
                "dse_dsmi": lambda x=x: reference_dse(x, gaussian_kernel_sigma=sigma, t=1),
            },
            repeats=repeats,
        )
        row = {
            "case": "DSE sigma=10 t=1",
            "n": n,
            "d": d,
            "jaxinfo_f64_s": times["f64"],
            "jaxinfo_f32_s": times["f32"],
            "dse_dsmi_s": times["dse_dsmi"],
            "floor_f64_s": times["floor64"],
            "floor_f32_s": times["floor32"],
            "jaxinfo_compile_s": compile_s,
            "abs_diff_bits": abs(ours_value - peer_value),
            "f32_abs_diff_bits": abs(float(ours(x32)) - peer_value),
            "f32_minus_f64_bits": float(ours(x32)) - ours_value,
        }
        row["speedup_f64"] = row["dse_dsmi_s"] / row["jaxinfo_f64_s"]
        row["speedup_f32"] = row["dse_dsmi_s"] / row["jaxinfo_f32_s"]
        row["f64_over_floor"] = row["jaxinfo_f64_s"] / row["floor_f64_s"]
        row["f32_over_floor"] = row["jaxinfo_f32_s"] / row["floor_f32_s"]
        rows.append(row)
        print(row, flush=True)
    return rows


def bench_dsmi(per_class=200, d=10, sigma=10.0):
    from dse_dsmi import diffusion_spectral_mutual_information as reference_dsmi

    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), per_class)
    x = rng.uniform(-10, 10, size=(3, d))[labels] + rng.standard_normal((3 * per_class, d))
    key = jax.random.key(0)
    rows = []
    # Static eigenproblem size: the class size (max_class_size) vs the full n (traced labels).
    for label, bound in (("max_class_size=200", per_class), ("traced labels, [n, n] masks", None)):
        ours = jax.jit(
            lambda v, lab, bound=bound: jaxinfo.diffusion_spectral_mutual_information(
                v, lab, num_classes=3, key=key, bandwidth=sigma, base=2, max_class_size=bound
            )
        )

        def peer(v, lab):
            return reference_dsmi(v, lab, gaussian_kernel_sigma=sigma, t=1)[0]

        xj, lj = jnp.asarray(x), jnp.asarray(labels)
        row = {
            "case": f"DSMI 3 classes, 5 repeats, {label}",
            "n": 3 * per_class,
            "d": d,
            "jaxinfo_f64_s": timing.median_time(ours, xj, lj, repeats=3),
            "dse_dsmi_s": timing.median_time(peer, x, labels, repeats=3),
            # random subsets differ (JAX key vs Python random): values agree to sampling noise
            "abs_diff_bits": abs(float(ours(xj, lj)) - float(peer(x, labels))),
        }
        row["speedup_f64"] = row["dse_dsmi_s"] / row["jaxinfo_f64_s"]
        rows.append(row)
        print(row, flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 500 and 1000 only")
    parser.add_argument("--skip-4000", action="store_true", help="n = 500, 1000, 2000")
    parser.add_argument("--only-dse", action="store_true", help="skip the DSMI rows")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds per size")
    args = parser.parse_args(argv)
    sizes = [500, 1000] if args.quick else [500, 1000, 2000] + ([] if args.skip_4000 else [4000])
    rows = bench_dse(sizes, repeats=args.repeats) + ([] if args.only_dse else bench_dsmi())
    path = results.write_results("diffusion" + ("-quick" if args.quick else ""), rows)
    results.print_table(
        rows,
        [
            "case",
            "n",
            "d",
            "jaxinfo_f64_s",
            "jaxinfo_f32_s",
            "dse_dsmi_s",
            "floor_f64_s",
            "floor_f32_s",
            "f64_over_floor",
            "f32_over_floor",
            "speedup_f64",
            "speedup_f32",
            "abs_diff_bits",
            "f32_abs_diff_bits",
            "f32_minus_f64_bits",
            "jaxinfo_compile_s",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
