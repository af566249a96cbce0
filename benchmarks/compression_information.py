"""Compressed MI (PCA + KSG) against KSG and the Gaussian copula on the raw rows.

Tasks with known MI (Butakov et al.'s synthetic check, docs/information_plane.md): latents ``(U,
V)`` from ``testing.correlated_gaussians(d, d, correlation=0.8, interaction="sparse")`` put on a
random d-dimensional subspace of R^D (orthonormal basis) with independent ``N(0, 0.5^2)`` noise in
the other D - d directions, so ``I(X; Y) = I(U; V)`` exactly. ``compressed`` is
``jaxinfo.compressed_mutual_information(x, y, dim_x=d, dim_y=d)`` (KSG, k = 3); ``latent_ksg`` is
KSG on the latents themselves (what a perfect compressor gives: the rest of the error is KSG's own
bias in 2d dimensions); ``ksg`` and ``copula`` are ``jaxinfo.mutual_information`` on the raw
D-dimensional rows. One seed per cell; the spread of the compressed estimate at d = 2, D = 64, n =
2000 is about 0.015 nats (4 seeds, tests/test_compression.py). Seconds: one warm call of the
compressed estimate (compile excluded), median of 3. One thread (``timing.pin_threads``).

Run:  python benchmarks/compression_information.py [--full]
(default: n = 2000, float32, < 3 min; --full adds n = 10000 and float64)
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

NOISE = 0.5


def embedded(latent, width, key):
    n, d = latent.shape
    basis_key, noise_key = jax.random.split(key)
    q, _ = jnp.linalg.qr(jax.random.normal(basis_key, (width, width), latent.dtype))
    off = NOISE * jax.random.normal(noise_key, (n, width - d), latent.dtype)
    return latent @ q[:, :d].T + off @ q[:, d:].T


def cell(d: int, width: int, n: int, dtype) -> dict:
    task = jaxinfo.testing.correlated_gaussians(d, d, correlation=0.8, interaction="sparse")
    u, v = task.sample(jax.random.key(n + 10 * d + width), n)
    u, v = jnp.asarray(u, dtype), jnp.asarray(v, dtype)
    x = embedded(u, width, jax.random.key(1))
    y = embedded(v, width, jax.random.key(2))

    def compressed(x, y):
        return jaxinfo.compressed_mutual_information(x, y, dim_x=d, dim_y=d).value

    value = float(compressed(x, y))
    seconds = timing.median_time(compressed, x, y)
    return {
        "d": d,
        "D": width,
        "n": n,
        "dtype": jnp.dtype(dtype).name,
        "truth": task.mutual_information,
        "compressed": value,
        "latent_ksg": float(jaxinfo.mutual_information(u, v, method="ksg").value),
        "ksg": float(jaxinfo.mutual_information(x, y, method="ksg").value),
        "copula": float(jaxinfo.mutual_information(x, y, method="copula").value),
        "compressed_s": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    sizes = (2000, 10000) if args.full else (2000,)
    if args.full:
        jax.config.update("jax_enable_x64", True)
    dtypes = (jnp.float32, jnp.float64) if args.full else (jnp.float32,)
    rows = []
    name = "compression_information" + ("_full" if args.full else "")
    for dtype in dtypes:
        for n in sizes:
            for d in (1, 2, 4):
                for width in (16, 64, 256):
                    rows.append(cell(d, width, n, dtype))
                    print(rows[-1], flush=True)
                    results.write_results(name, rows)  # kept if the run is cut short
    path = results.write_results(name, rows)
    columns = [
        "d",
        "D",
        "n",
        "dtype",
        "truth",
        "latent_ksg",
        "compressed",
        "ksg",
        "copula",
        "compressed_s",
    ]
    results.print_table(rows, columns)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
