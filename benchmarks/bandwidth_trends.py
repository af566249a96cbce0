"""Bandwidth shapes trends: kernel MI estimates against the noise level, fixed σ vs a rule.

An experiment, not a timing benchmark. Data: ``x`` 4-D standard normal, ``y = x + s * noise``
(``noise`` 4-D standard normal, independent), the same ``x`` and ``noise`` for every ``s``
(common random numbers), n = 1000, float64. True MI = ``4 * 0.5 * log(1 + 1 / s**2)`` nats
falls as ``s`` grows. Estimators (nats):

- ``matrix_mutual_information`` (α = 2) and ``cauchy_schwarz_mutual_information`` (CS-QMI) with
  a fixed ``Gaussian(1.0)`` in raw units, with the median rule (``Gaussian("median")``, the
  default), and with ``Gaussian(1.0)`` after standardising every feature of x and y;
- ``ksg_mutual_information`` (k = 3), a consistent estimator, as the reference;
- for the mechanism: the median bandwidth the rule picks for y, and the matrix entropy
  ``H_2(Y)`` at σ = 1 (it tends to ``log n`` as the y-scale outgrows σ), and the limits the
  σ = 1 estimates approach when the y-Gram becomes the identity (an entropy of x alone:
  ``H_2(X)`` for the matrix MI, ``-log mean K_x`` for CS-QMI).

Run:  ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bandwidth_trends.py`` (a few seconds).
Prints a Markdown table and writes ``benchmarks/results/bandwidth_trends.json``.
"""

from __future__ import annotations

import argparse
import json
import math

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)

NOISE_SCALES = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0]
DIM = 4

COLUMNS = {
    "s": "s",
    "true": "true MI",
    "ksg": "KSG k=3",
    "matrix_sigma1": "matrix α=2, σ=1",
    "matrix_median": "matrix α=2, median",
    "matrix_sigma1_std": "matrix α=2, σ=1, standardised",
    "cs_sigma1": "CS-QMI, σ=1",
    "cs_median": "CS-QMI, median",
    "cs_sigma1_std": "CS-QMI, σ=1, standardised",
    "median_sigma_y": "median σ of y",
    "h2_y_sigma1": "H_2(Y), σ=1",
}


def standardise(a: jax.Array) -> jax.Array:
    return (a - a.mean(0)) / a.std(0)


def row(x: jax.Array, noise: jax.Array, s: float) -> dict:
    y = x + s * noise
    one, median = kernels.Gaussian(1.0), kernels.Gaussian("median")
    xs, ys = standardise(x), standardise(y)

    def matrix(a, b, k):
        return float(jaxinfo.matrix_mutual_information(a, b, alpha=2, kernel_x=k, kernel_y=k))

    def cs(a, b, k):
        return float(jaxinfo.cauchy_schwarz_mutual_information(a, b, kernel_x=k, kernel_y=k))

    return {
        "s": s,
        "true": DIM * 0.5 * math.log1p(1.0 / s**2),
        "ksg": float(jaxinfo.ksg_mutual_information(x, y, k=3)),
        "matrix_sigma1": matrix(x, y, one),
        "matrix_median": matrix(x, y, median),
        "matrix_sigma1_std": matrix(xs, ys, one),
        "cs_sigma1": cs(x, y, one),
        "cs_median": cs(x, y, median),
        "cs_sigma1_std": cs(xs, ys, one),
        "median_sigma_y": float(kernels.bandwidth_from_rule("median", y, None)),
        "h2_y_sigma1": float(jaxinfo.matrix_renyi_entropy(y, alpha=2, kernel=one)),
    }


def monotone_decreasing(values: list[float]) -> bool:
    return all(b < a for a, b in zip(values[:-1], values[1:], strict=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    kx, kn = jax.random.split(jax.random.key(args.seed))
    x = jax.random.normal(kx, (args.n, DIM), dtype=jnp.float64)
    noise = jax.random.normal(kn, (args.n, DIM), dtype=jnp.float64)
    rows = [row(x, noise, s) for s in NOISE_SCALES]
    one = kernels.Gaussian(1.0)
    limits = {  # the σ = 1 estimates as K_y -> I (y-scale >> σ): entropies of x alone
        "matrix_sigma1": float(jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=one)),
        "cs_sigma1": float(-jnp.log(one.gram(x).mean())),
    }

    print(
        f"n = {args.n}, d = {DIM}, seed = {args.seed}, float64, nats; "
        f"log n = {math.log(args.n):.3f}"
    )
    print()
    print("| " + " | ".join(COLUMNS.values()) + " |")
    print("|" + "---|" * len(COLUMNS))
    for r in rows:
        cells = [f"{r['s']:g}"] + [f"{r[c]:.3f}" for c in list(COLUMNS)[1:]]
        print("| " + " | ".join(cells) + " |")
    print()
    trends = {
        c: monotone_decreasing([r[c] for r in rows])
        for c in COLUMNS
        if c not in ("s", "median_sigma_y", "h2_y_sigma1")
    }
    for c, falls in trends.items():
        print(f"{COLUMNS[c]:32s} falls monotonically with s: {falls}")
    print(
        f"limits as K_y -> I (s -> inf) at σ = 1: matrix MI -> H_2(X) = "
        f"{limits['matrix_sigma1']:.3f}, CS-QMI -> -log mean K_x = {limits['cs_sigma1']:.3f}"
    )

    results.RESULTS.mkdir(exist_ok=True)
    path = results.RESULTS / "bandwidth_trends.json"
    payload = {
        "environment": results.environment(),
        "setup": {
            "n": args.n,
            "d": DIM,
            "seed": args.seed,
            "dtype": "float64",
            "units": "nats",
            "log_n": math.log(args.n),
            "data": "x ~ N(0, I_4), y = x + s * noise, noise ~ N(0, I_4) (same x, noise for all s)",
        },
        "columns": COLUMNS,
        "monotone_decreasing": trends,
        "sigma1_limits_as_gram_y_to_identity": limits,
        "rows": rows,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
