"""Conditional mutual information against infomeasure and frites: values and time (issue 27).

``n = 5000`` rows of ``(x, y, z)``, one column each (NumPy ``default_rng``, the same draws in
both dtypes): ``z ~ N(0, 1)``, ``x = z + e``, ``y = 0.5 x + z + e'``, truth
``0.5 log 1.25 = 0.1116`` nats. For each estimator, the jaxinfo value and the peer's, and the
median warm time of ``jax.jit`` of the jaxinfo function against the peer call (interleaved
rounds, one thread):

- Frenzel-Pompe kNN (``k = 3``) against infomeasure's ``KSGCMIEstimator``
  (``approach="ksg"``, its noise off); jaxinfo's ``method="auto"`` (the host tree on CPU)
  and ``"brute"`` (the blocked slab);
- the Gaussian CMI against frites' ``cmi_nd_ggg`` (``biascorrect=False``);
- the Gaussian-copula CMI against frites' ``gccmi_nd_ccc`` (its bias correction on, so
  jaxinfo's ``bias_correction=True``).

infomeasure and frites are NumPy programs in the ``benchmarks`` extra / a side install.

Run:  python benchmarks/conditional.py [--x64]   (results/conditional_float{32,64}-cpu.json)
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

N = 5000
K = 3
TRUTH = 0.5 * np.log(1.25)


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((N, 1))
    x = z + rng.standard_normal((N, 1))
    y = 0.5 * x + z + rng.standard_normal((N, 1))
    return x, y, z


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.x64)
    import infomeasure as im  # pyright: ignore[reportMissingImports]
    from frites.core import cmi_nd_ggg, gccmi_nd_ccc  # pyright: ignore[reportMissingImports]

    dtype = "float64" if args.x64 else "float32"
    x_np, y_np, z_np = data()
    x, y, z = (jnp.asarray(a, jnp.dtype(dtype)) for a in (x_np, y_np, z_np))
    bits = np.log(2.0)
    cases = {
        "ksg (tree, auto)": (
            jax.jit(lambda a, b, c: jaxinfo.ksg_conditional_mutual_information(a, b, c, k=K)),
            "infomeasure",
            lambda: im.conditional_mutual_information(
                x_np, y_np, cond=z_np, approach="ksg", k=K, noise_level=0, base="e"
            ),
        ),
        "ksg (brute)": (
            jax.jit(
                lambda a, b, c: jaxinfo.ksg_conditional_mutual_information(
                    a, b, c, k=K, method="brute"
                )
            ),
            "infomeasure",
            lambda: im.conditional_mutual_information(
                x_np, y_np, cond=z_np, approach="ksg", k=K, noise_level=0, base="e"
            ),
        ),
        "gaussian": (
            jax.jit(jaxinfo.gaussian_conditional_mutual_information),
            "frites",
            lambda: cmi_nd_ggg(x_np.T, y_np.T, z_np.T, mvaxis=0, biascorrect=False) * bits,
        ),
        "copula (bias-corrected)": (
            jax.jit(
                lambda a, b, c: jaxinfo.gaussian_copula_conditional_mutual_information(
                    a, b, c, bias_correction=True
                )
            ),
            "frites",
            lambda: gccmi_nd_ccc(x_np.T, y_np.T, z_np.T, mvaxis=0) * bits,
        ),
    }
    rows = []
    for name, (ours, peer_name, peer) in cases.items():
        value = float(ours(x, y, z))  # compiles
        peer_value = float(np.asarray(peer()))
        calls = {"jaxinfo": lambda f=ours: f(x, y, z), peer_name: peer}
        wall = timing.round_times(calls, repeats=args.repeats)
        rows.append(
            {
                "dtype": dtype,
                "n": N,
                "estimator": name,
                "peer": peer_name,
                "truth": TRUTH,
                "jaxinfo": value,
                "peer_value": peer_value,
                "abs_diff": abs(value - peer_value),
                "jaxinfo_ms": 1e3 * statistics.median(wall["jaxinfo"]),
                "peer_ms": 1e3 * statistics.median(wall[peer_name]),
                "speedup": statistics.median(
                    timing.paired_ratios(wall[peer_name], wall["jaxinfo"])
                ),
            }
        )
    path = results.write_results(f"conditional_{dtype}", rows)
    results.print_table(
        rows,
        ["dtype", "estimator", "peer", "jaxinfo", "abs_diff", "jaxinfo_ms", "peer_ms", "speedup"],
    )
    print(path)


if __name__ == "__main__":
    main()
