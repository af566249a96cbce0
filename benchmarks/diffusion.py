"""Diffusion spectral entropy / MI, jaxinfo vs the reference package ``dse-dsmi`` 1.1.

Both run in one process with the same thread pinning (``_harness``), on the same float64
inputs, and must give the same value (bits). jaxinfo is timed jitted (compilation excluded,
reported separately), in float64 and in float32.

Run:  OMP_NUM_THREADS=1 python benchmarks/diffusion.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import _harness
import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo

jax.config.update("jax_enable_x64", True)


def bench_dse(sizes, d=20, sigma=10.0):
    from dse_dsmi import diffusion_spectral_entropy as reference_dse

    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, d))
        ours = jax.jit(lambda v: jaxinfo.diffusion_spectral_entropy(v, bandwidth=sigma, base=2))
        start = time.perf_counter()
        ours_value = float(ours(jnp.asarray(x)))
        compile_s = time.perf_counter() - start
        peer_value = float(reference_dse(x, gaussian_kernel_sigma=sigma, t=1))
        x32 = jnp.asarray(x, jnp.float32)
        row = {
            "case": "DSE sigma=10 t=1",
            "n": n,
            "d": d,
            "jaxinfo_f64_s": _harness.timeit(ours, jnp.asarray(x), repeats=3),
            "jaxinfo_f32_s": _harness.timeit(ours, x32, repeats=3),
            "dse_dsmi_s": _harness.timeit(
                lambda v: reference_dse(v, gaussian_kernel_sigma=sigma, t=1),
                x,
                repeats=1 if n > 2000 else 3,
            ),
            "jaxinfo_compile_s": compile_s,
            "abs_diff_bits": abs(ours_value - peer_value),
            "f32_abs_diff_bits": abs(float(ours(x32)) - peer_value),
        }
        row["speedup_f64"] = row["dse_dsmi_s"] / row["jaxinfo_f64_s"]
        row["speedup_f32"] = row["dse_dsmi_s"] / row["jaxinfo_f32_s"]
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
            "jaxinfo_f64_s": _harness.timeit(ours, xj, lj, repeats=3),
            "dse_dsmi_s": _harness.timeit(peer, x, labels, repeats=3),
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
    args = parser.parse_args(argv)
    sizes = [500, 1000] if args.quick else [500, 1000, 2000, 4000]
    rows = bench_dse(sizes) + bench_dsmi()
    path = _harness.write_results("diffusion" + ("-quick" if args.quick else ""), rows)
    _harness.print_table(
        rows,
        [
            "case",
            "n",
            "d",
            "jaxinfo_f64_s",
            "jaxinfo_f32_s",
            "dse_dsmi_s",
            "speedup_f64",
            "speedup_f32",
            "abs_diff_bits",
            "f32_abs_diff_bits",
            "jaxinfo_compile_s",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
