"""Matrix-based entropy benchmarks, side by side in one process.

1. Rényi order 2 of a Gaussian Gram: jaxinfo's Frobenius path (jit, no eigensolver) vs the
   eigendecomposition route a user would write (NumPy ``eigvalsh`` of K / tr K).
2. Linear kernel, n >> d: jaxinfo's ``[d, d]`` covariance path vs the eigendecomposition of
   the ``[n, n]`` Gram (NumPy ``eigvalsh``), von Neumann entropy.
3. The ``vendi-score`` package (0.0.3) on the same inputs: cosine embeddings (``score_dual``)
   and a Gaussian Gram (``score_K``), same value, and the time ratio.
4. Rényi order 1.01 (the eigensolver route) of a Gaussian Gram, whole jaxinfo call (Gram,
   trace, values-only eigensolve, entropy) vs the bare values-only eigensolve of the same
   unit-trace Gram: ``torch.linalg.eigvalsh`` (one thread) in float32, NumPy ``eigvalsh``
   in float64; interleaved rounds, medians. The float32 value is compared with float64.

Run:  python benchmarks/matrix.py [--quick]   (``timing.pin_threads`` pins every pool to one)
Sections 1-3 run in float64 so values can be compared to ~1e-10.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src.bench import references, results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

jax.config.update("jax_enable_x64", True)


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
            return references.matrix_renyi_entropy(references.gaussian_gram(v, v, sigma), 2.0)

        ours_value, peer_value = float(ours(xj)), peer(x)
        t_ours = timing.median_time(ours, xj)
        t_peer = timing.median_time(peer, x, repeats=3)
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
        return references.matrix_renyi_entropy(v @ v.T, 1.0)

    ours_value, peer_value = float(ours(xj)), peer(x)
    t_ours = timing.median_time(ours, xj)
    t_peer = timing.median_time(peer, x, repeats=1)
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
                "jaxinfo_s": timing.median_time(ours, xj),
                "vendi_s": timing.median_time(vendi.score_dual, x, q),
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
            return float(vendi.score_K(references.gaussian_gram(v, v, sigma), q=q))

        ours_value, peer_value = float(ours(xj)), peer(x)
        rows.append(
            {
                "case": f"vendi Gaussian q={q:g} (score_K)",
                "n": n,
                "d": d,
                "jaxinfo_s": timing.median_time(ours, xj),
                "vendi_s": timing.median_time(peer, x, repeats=3),
                "abs_diff": abs(ours_value - peer_value),
            }
        )
        rows[-1]["speedup"] = rows[-1]["vendi_s"] / rows[-1]["jaxinfo_s"]
        print(rows[-1], flush=True)
    return rows


def bench_eigensolver_route(sizes, d=16, sigma=4.0, alpha=1.01, repeats=3):
    """Float32 vs ``torch.linalg.eigvalsh`` and float64 vs NumPy ``eigvalsh`` (values only)."""
    import torch

    torch.set_num_threads(1)
    kernel = kernels.Gaussian(sigma)
    ours = jax.jit(lambda v: jaxinfo.matrix_renyi_entropy(v, alpha=alpha, kernel=kernel))
    unit_gram = jax.jit(lambda v: kernel.gram(v, v) / v.shape[0])  # unit diagonal: tr K = n
    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, d))
        x64, x32 = jnp.asarray(x), jnp.asarray(x, jnp.float32)
        gram64 = np.asarray(unit_gram(x64))
        gram32 = torch.from_numpy(np.array(unit_gram(x32)))
        reference = float(ours(x64))  # float64 jaxinfo value
        times = timing.median_times(
            {
                "f32": lambda x32=x32: ours(x32),
                "torch": lambda gram32=gram32: torch.linalg.eigvalsh(gram32),
                "f64": lambda x64=x64: ours(x64),
                "numpy": lambda gram64=gram64: np.linalg.eigvalsh(gram64),
            },
            repeats=repeats,
        )
        value32 = float(ours(x32))
        torch_value = references.renyi_entropy_of_spectrum(
            torch.linalg.eigvalsh(gram32).numpy(), alpha
        )
        numpy_value = references.renyi_entropy_of_spectrum(np.linalg.eigvalsh(gram64), alpha)
        for precision, peer, value, peer_value in (
            ("float32", "torch", value32, torch_value),
            ("float64", "numpy", reference, numpy_value),
        ):
            ours_s, peer_s = times["f" + precision[-2:]], times[peer]
            rows.append(
                {
                    "case": f"renyi alpha={alpha:g}, Gaussian, {precision}",
                    "n": n,
                    "d": d,
                    "jaxinfo_s": ours_s,
                    f"{peer}_eigvalsh_s": peer_s,
                    "speedup": peer_s / ours_s,
                    "abs_diff": abs(value - peer_value),
                    "f32_minus_f64": value32 - reference if precision == "float32" else 0.0,
                }
            )
            print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument(
        "--only-eigensolver", action="store_true", help="only section 4 (alpha = 1.01 vs torch)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="rounds of section 4")
    args = parser.parse_args(argv)
    sizes = [512, 1024] if args.quick else [1024, 4096]
    rows = bench_eigensolver_route(sizes, repeats=args.repeats)
    if args.only_eigensolver:
        pass
    elif args.quick:
        rows += bench_renyi2([512, 1024]) + bench_linear(2048, 64) + bench_vendi(1024, 64)
    else:
        rows += bench_renyi2([1024, 2048, 4096]) + bench_linear(8192, 64) + bench_vendi(2048, 64)
    name = (
        "matrix"
        + ("-quick" if args.quick else "")
        + ("-eigensolver" if args.only_eigensolver else "")
    )
    path = results.write_results(name, rows)
    columns = ["case", "n", "d", "jaxinfo_s", "numpy_eigvalsh_s", "torch_eigvalsh_s", "vendi_s"]
    columns += ["speedup", "abs_diff", "f32_minus_f64"]
    results.print_table(rows, columns)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
