"""The spectral engine: Rényi / von Neumann entropies of trace-normalised PSD matrices.

One entry point for samples, :func:`sample_entropy`, picks the cheapest exact route:

1. every kernel has a finite feature map with ``D = prod(d_k) < n`` (linear, cosine): the
   ``[D, D]`` matrix ``Phi^T Phi`` has the same non-zero spectrum as the ``[n, n]`` Gram;
2. ``alpha == 2``: ``tr(A^2) = |A|_F^2``, a streamed sum of squared Gram entries (no
   eigensolver, ``O(n * block)`` memory);
3. otherwise the full Gram (Hadamard product over variables) and ``eigvalsh``.

With ``axis_name`` (inside ``shard_map`` over rows) routes 1 and 2 reduce per-device row
blocks with one ``psum``; route 3 all-gathers the ``[n, d]`` inputs (never an ``[n, n]``
matrix) and every device solves the same eigenproblem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxinfo._src import collectives, numerics
from jaxinfo._src.kernels import Kernel, blocked_row_sums, gather_samples, self_pairs


def symmetrize(matrix: jax.Array) -> jax.Array:
    return 0.5 * (matrix + jnp.swapaxes(matrix, -1, -2))


def trace(matrix: jax.Array) -> jax.Array:
    return jnp.trace(matrix, axis1=-2, axis2=-1)


def entropy_from_psd(matrix: jax.Array, alpha: float) -> jax.Array:
    """Rényi entropy (nats) of ``A = M / tr M`` for symmetric PSD ``M`` ``[..., m, m]``.

    ``alpha == 2`` uses ``-log |A|_F^2`` (no eigensolver); other orders use the eigenvalues
    of the symmetrised ``A`` (see :func:`numerics.spectrum_to_probabilities` for the floor).
    """
    matrix = symmetrize(matrix)
    total = trace(matrix)
    if alpha == 2.0:
        return 2.0 * jnp.log(total) - jnp.log(jnp.sum(matrix * matrix, axis=(-2, -1)))
    values = numerics.eigvalsh(matrix / total[..., None, None])
    return numerics.renyi_entropy_of_probabilities(
        numerics.spectrum_to_probabilities(values), alpha
    )


def _row_features(kernels: Sequence[Kernel], xs: Sequence[jax.Array]) -> jax.Array:
    """Features of the Hadamard-product kernel: row-wise Kronecker products ``[n, prod d_k]``."""
    phi = kernels[0].features(xs[0])
    for kernel, x in zip(kernels[1:], xs[1:], strict=True):
        other = kernel.features(x)
        phi = (phi[:, :, None] * other[:, None, :]).reshape(phi.shape[0], -1)
    return phi


def product_gram(
    kernels: Sequence[Kernel],
    rows: Sequence[jax.Array],
    cols: Sequence[jax.Array],
    row_ids: jax.Array,
) -> jax.Array:
    """Hadamard product of the kernels' Gram matrices between ``rows`` and ``cols``.

    ``row_ids`` are the global indices of ``rows`` among ``cols``; self-pairs get the exact
    ``k(x, x)`` (see :func:`kernels.self_pairs`).
    """
    same = self_pairs(row_ids, cols[0].shape[0])
    gram = None
    for kernel, r, c in zip(kernels, rows, cols, strict=True):
        factor = jnp.where(same, kernel.diagonal(r)[:, None], kernel.gram(r, c))
        gram = factor if gram is None else gram * factor
    return gram


def feature_dimension(kernels: Sequence[Kernel], xs: Sequence[jax.Array]) -> int | None:
    """Feature dimension of the product kernel, or ``None`` without explicit features."""
    if not all(k.has_features for k in kernels):
        return None
    return math.prod(x.shape[1] for x in xs)


def sample_entropy(
    xs: Sequence[jax.Array],
    kernels: Sequence[Kernel],
    alpha: float,
    mask: jax.Array | None,
    axis_name: str | None,
    block_size: int | None,
) -> jax.Array:
    """Matrix-based Rényi entropy (nats) of ``A = (K_1 o ... o K_L) / tr(.)``.

    ``xs`` are local row shards when ``axis_name`` is given, global arrays otherwise.
    """
    dim = feature_dimension(kernels, xs)
    s = gather_samples(tuple(xs), mask, axis_name)
    all_xs, all_weights = s.all, s.weights
    num_samples = all_xs[0].shape[0]
    if dim is not None and dim < num_samples:
        phi = _row_features(kernels, s.local)
        cov = jnp.matmul((phi * s.local_weights[:, None]).T, phi, precision=numerics.HIGHEST)
        return entropy_from_psd(collectives.psum(cov, axis_name), alpha)

    resolved = tuple(k.resolve(x, s.mask) for k, x in zip(kernels, all_xs, strict=True))
    if alpha == 2.0:

        def block_sums(rows, row_weights):
            *rows, ids = rows
            gram = product_gram(resolved, rows, all_xs, ids)
            weighted = gram * gram * row_weights[:, None] * all_weights[None, :]
            diag = row_weights
            for kernel, r in zip(resolved, rows, strict=True):
                diag = diag * kernel.diagonal(r)
            return jnp.stack([jnp.sum(weighted), jnp.sum(diag)])

        sums = blocked_row_sums(block_sums, s.local_rows, s.local_weights, block_size)
        sums = collectives.psum(sums, axis_name)
        return 2.0 * jnp.log(sums[1]) - jnp.log(sums[0])

    gram = product_gram(resolved, all_xs, all_xs, jnp.arange(num_samples))
    gram = gram * all_weights[:, None] * all_weights[None, :]
    return entropy_from_psd(gram, alpha)
