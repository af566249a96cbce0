"""Small-alphabet entropy corrections against infomeasure: values and time (issue 27, item 5).

Labels of ``n`` draws (NumPy, the same in both dtypes) from a Dirichlet(1) distribution
over ``K = 1000`` classes (n = 500:
most classes unseen; n = 5000). For each estimator: the jaxinfo value against infomeasure's
(``approach="discrete" | "miller_madow" | "chao_shen"``, nats) and against the truth, and
the median warm time of ``jax.jit`` of the jaxinfo function and of the infomeasure call
(interleaved rounds, one thread). infomeasure's ``"grassberger"`` is the 1988 estimator
(``psi(n) + (-1)^n / (n + 1)``), not the 2003 one jaxinfo implements, so the Grassberger
row is compared with the 2003 formula written out in NumPy (``reference``) and the
infomeasure 1988 value is listed for scale only. Also the MI of the issue's case (3 + 3
independent Gaussian columns, 16 bins, n = 5000, truth 0) for every ``correction``.

infomeasure (it brings numba) is in the ``benchmarks`` extra only.

Run:  python benchmarks/small_alphabet.py [--x64]   (results/small_alphabet_float{32,64}-cpu.json)
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import digamma

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

CLASSES = 1000
JAXINFO = {
    "plugin": jaxinfo.plugin_entropy,
    "miller_madow": jaxinfo.miller_madow_entropy,
    "grassberger": jaxinfo.grassberger_entropy,
    "chao_shen": jaxinfo.chao_shen_entropy,
}
PEER_APPROACH = {"plugin": "discrete", "miller_madow": "miller_madow", "chao_shen": "chao_shen"}


def grassberger_2003(labels: np.ndarray) -> float:
    """The 2003 estimator from the paper's formula (float64 NumPy)."""
    counts = np.bincount(labels).astype(np.float64)
    counts = counts[counts > 0]
    g = digamma(counts) + 0.5 * (-1.0) ** counts * (digamma((counts + 1) / 2) - digamma(counts / 2))
    n = counts.sum()
    return float(np.log(n) - np.sum(counts * g) / n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.x64)
    import infomeasure as im  # pyright: ignore[reportMissingImports]

    dtype = "float64" if args.x64 else "float32"
    probs = np.random.default_rng(1).dirichlet(np.ones(CLASSES))  # same draws in both dtypes
    truth = float(-np.sum(probs * np.log(probs)))
    rows = []
    for n in (500, 5000):
        labels_np = np.random.default_rng(0).choice(CLASSES, size=n, p=probs)
        labels = jnp.asarray(labels_np, jnp.int32)
        for name, fn in JAXINFO.items():
            jitted = jax.jit(lambda lab, fn=fn: fn(lab, num_classes=CLASSES))
            approach = PEER_APPROACH.get(name, "grassberger")
            calls = {
                "jaxinfo": lambda fn=jitted, lab=labels: fn(lab),
                "infomeasure": lambda a=approach, lab=labels_np: im.entropy(
                    lab, approach=a, base="e"
                ),
            }
            wall = timing.round_times(calls, repeats=args.repeats)
            value = float(jitted(labels))
            peer = float(im.entropy(labels_np, approach=approach, base="e"))
            reference = grassberger_2003(labels_np) if name == "grassberger" else peer
            t_ours, t_peer = (
                statistics.median(wall["jaxinfo"]),
                statistics.median(wall["infomeasure"]),
            )
            rows.append(
                {
                    "dtype": dtype,
                    "n": n,
                    "estimator": name,
                    "truth": truth,
                    "jaxinfo": value,
                    "reference": reference,
                    "abs_diff": abs(value - reference),
                    "infomeasure": peer,
                    "error": value - truth,
                    "jaxinfo_ms": 1e3 * t_ours,
                    "infomeasure_ms": 1e3 * t_peer,
                    "speedup": statistics.median(
                        timing.paired_ratios(wall["infomeasure"], wall["jaxinfo"])
                    ),
                }
            )
    z = jnp.asarray(np.random.default_rng(2).standard_normal((5000, 6)), jnp.dtype(dtype))
    for adaptive in (False, True):
        for correction in (None, "miller_madow", "grassberger", "chao_shen"):
            mi = jaxinfo.binned_mutual_information(
                z[:, :3], z[:, 3:], bins=16, adaptive=adaptive, correction=correction
            )
            rows.append(
                {
                    "dtype": dtype,
                    "n": 5000,
                    "estimator": f"binned MI 3x3, 16 bins, adaptive={adaptive}, {correction}",
                    "truth": 0.0,
                    "jaxinfo": float(mi),
                    "error": float(mi),
                }
            )
    path = results.write_results(f"small_alphabet_{dtype}", rows)
    results.print_table(
        rows,
        [
            "dtype",
            "n",
            "estimator",
            "truth",
            "jaxinfo",
            "reference",
            "abs_diff",
            "infomeasure",
            "jaxinfo_ms",
            "infomeasure_ms",
            "speedup",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
