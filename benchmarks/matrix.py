"""Matrix-based entropy benchmarks, side by side in one process.

1. Rényi order 2 of a Gaussian Gram: jaxinfo's Frobenius path (jit, no eigensolver) vs the
   eigendecomposition route a user would write (NumPy ``eigvalsh`` of K / tr K).
2. Linear kernel, n >> d: jaxinfo's ``[d, d]`` covariance path vs the eigendecomposition of
   the ``[n, n]`` Gram (NumPy ``eigvalsh``), von Neumann entropy.
3. The ``vendi-score`` package (0.0.3) on the same inputs: cosine embeddings (``score_dual``)
   and a Gaussian Gram (``score_K``), same value, and the time ratio.

Run:  OMP_NUM_THREADS=1 python benchmarks/matrix.py [--quick]
Every computation runs in float64 so values can be compared to ~1e-10.
"""

from __future__ import annotations

import argparse

import _harness  # pins threads before JAX / NumPy load
import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels

jax.config.update("jax_enable_x64", True)


def numpy_gaussian_gram(x: np.ndarray, sigma: float) -> np.ndarray:
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    return np.exp(-d2 / (2.0 * sigma**2))


def numpy_renyi_from_gram(gram: np.ndarray, alpha: float) -> float:
    values = np.linalg.eigvalsh(gram / np.trace(gram))
    values = values[values > 0]
    if alpha == 1.0:
        return float(-np.sum(values * np.log(values)))
    return float(np.log(np.sum(values**alpha)) / (1.0 - alpha))


def bench_renyi2(sizes, d=16, sigma=4.0):
    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, d))
        xj = jnp.asarray(x)
        kernel = kernels.Gaussian(sigma)
        ours = jax.jit(
            lambda v, kernel=kernel: jaxinfo.matrix_renyi_entropy(v, alpha=2, kernel=kernel)
        )

        def peer(v):
            return numpy_renyi_from_gram(numpy_gaussian_gram(v, sigma), 2.0)

        ours_value, peer_value = float(ours(xj)), peer(x)
        t_ours = _harness.timeit(ours, xj)
        t_peer = _harness.timeit(peer, x, repeats=3)
        rows.append(
            {
                "case": "renyi alpha=2, Gaussian",
                "n": n,
                "d": d,
                "jaxinfo_s": t_ours,
                "numpy_eigvalsh_s": t_peer,
                "speedup": t_peer / t_ours,
                "abs_diff": abs(ours_value - peer_value),
            }
        )
        print(rows[-1], flush=True)
    return rows


def bench_linear(n, d):
    x = np.random.default_rng(0).normal(size=(n, d))
    xj = jnp.asarray(x)
    ours = jax.jit(lambda v: jaxinfo.von_neumann_entropy(v, kernel=kernels.Linear()))

    def peer(v):
        return numpy_renyi_from_gram(v @ v.T, 1.0)

    ours_value, peer_value = float(ours(xj)), peer(x)
    t_ours = _harness.timeit(ours, xj)
    t_peer = _harness.timeit(peer, x, repeats=1)
    row = {
        "case": "von Neumann, linear kernel",
        "n": n,
        "d": d,
        "jaxinfo_s": t_ours,
        "numpy_eigvalsh_s": t_peer,
        "speedup": t_peer / t_ours,
        "abs_diff": abs(ours_value - peer_value),
    }
    print(row, flush=True)
    return [row]


def bench_vendi(n, d):
    from vendi_score import vendi

    rows = []
    x = np.random.default_rng(1).normal(size=(n, d))
    xj = jnp.asarray(x)
    for q in (1.0, 2.0):
        ours = jax.jit(lambda v, q=q: jaxinfo.vendi_score(v, q=q))
        ours_value, peer_value = float(ours(xj)), float(vendi.score_dual(x, q=q))
        rows.append(
            {
                "case": f"vendi cosine q={q:g} (score_dual)",
                "n": n,
                "d": d,
                "jaxinfo_s": _harness.timeit(ours, xj),
                "vendi_s": _harness.timeit(vendi.score_dual, x, q),
                "abs_diff": abs(ours_value - peer_value),
            }
        )
        rows[-1]["speedup"] = rows[-1]["vendi_s"] / rows[-1]["jaxinfo_s"]
        print(rows[-1], flush=True)
    sigma = 4.0
    gauss = kernels.Gaussian(sigma)
    for q in (1.0, 2.0):
        ours = jax.jit(lambda v, q=q: jaxinfo.vendi_score(v, q=q, kernel=gauss))

        def peer(v, q=q):
            return float(vendi.score_K(numpy_gaussian_gram(v, sigma), q=q))

        ours_value, peer_value = float(ours(xj)), peer(x)
        rows.append(
            {
                "case": f"vendi Gaussian q={q:g} (score_K)",
                "n": n,
                "d": d,
                "jaxinfo_s": _harness.timeit(ours, xj),
                "vendi_s": _harness.timeit(peer, x, repeats=3),
                "abs_diff": abs(ours_value - peer_value),
            }
        )
        rows[-1]["speedup"] = rows[-1]["vendi_s"] / rows[-1]["jaxinfo_s"]
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    args = parser.parse_args(argv)
    if args.quick:
        rows = bench_renyi2([512, 1024]) + bench_linear(2048, 64) + bench_vendi(1024, 64)
    else:
        rows = bench_renyi2([1024, 2048, 4096]) + bench_linear(8192, 64) + bench_vendi(2048, 64)
    path = _harness.write_results("matrix" + ("-quick" if args.quick else ""), rows)
    columns = ["case", "n", "d", "jaxinfo_s", "numpy_eigvalsh_s", "vendi_s", "speedup", "abs_diff"]
    _harness.print_table(rows, columns)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
