"""The spectral engine: Rényi / von Neumann entropies of trace-normalised PSD matrices.

One entry point for samples, :func:`sample_entropies`, takes the cheapest exact route for
each requested product of Grams (building every variable's Gram once):

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

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxinfo._src import moments, numerics, samples
from jaxinfo._src.kernels import Kernel


def symmetrize(matrix: jax.Array) -> jax.Array:
    """``(M + M^T) / 2`` over the last two axes."""
    return 0.5 * (matrix + jnp.swapaxes(matrix, -1, -2))


def trace(matrix: jax.Array) -> jax.Array:
    """Trace over the last two axes."""
    return jnp.trace(matrix, axis1=-2, axis2=-1)


def _unit_trace(matrix: jax.Array) -> jax.Array:
    """``sym(M) / tr M``, exactly scale invariant in value and gradient.

    ``M`` is first divided by its largest entry held constant: squares of ``K * 1e30``
    overflow, and the backward pass of ``M / tr M`` meets ``tr(M)^2``, which underflows for
    ``K * 1e-30`` in float32 (a NaN gradient). Signs are kept (a negative trace stays one).
    """
    matrix = symmetrize(matrix)
    scale = jax.lax.stop_gradient(jnp.max(jnp.abs(matrix), axis=(-2, -1)))
    matrix = matrix / jnp.where(scale > 0, scale, 1.0)[..., None, None]
    return matrix / trace(matrix)[..., None, None]


def _entropy_of_unit(unit: jax.Array, alpha: float, values: jax.Array | None = None):
    if alpha == 2.0:
        return -jnp.log(jnp.sum(unit * unit, axis=(-2, -1)))
    values = numerics.eigvalsh(unit) if values is None else values
    return numerics.renyi_entropy_of_probabilities(
        numerics.spectrum_to_probabilities(values), alpha
    )


def entropy_from_psd(matrix: jax.Array, alpha: float) -> jax.Array:
    """Rényi entropy (nats) of ``A = M / tr M`` for symmetric PSD ``M`` ``[..., m, m]``.

    ``alpha == 2`` uses ``-log |A|_F^2`` (no eigensolver); other orders use the eigenvalues
    of the symmetrised ``A`` (see :func:`numerics.spectrum_to_probabilities` for the floor).
    """
    return _entropy_of_unit(_unit_trace(matrix), alpha)


def entropy_of_given_matrix(matrix: jax.Array, alpha: float) -> tuple[jax.Array, jax.Array]:
    """:func:`entropy_from_psd` of a caller's matrix and whether it is PSD up to round-off.

    PSD here: ``tr M > 0`` and no eigenvalue of ``A`` below ``-sqrt(eps) lambda_max``. For
    ``alpha == 2``, which needs no eigensolver, only the necessary conditions on the
    diagonal and the ``2 x 2`` principal minors (``|M_ij| <= sqrt(M_ii M_jj)``) are checked.
    """
    unit = _unit_trace(matrix)
    tolerance = jnp.sqrt(jnp.finfo(unit.dtype).eps)
    positive_trace = trace(matrix) > 0  # A has unit trace whatever the sign of tr M
    if alpha == 2.0:
        diagonal = jnp.diagonal(unit, axis1=-2, axis2=-1)
        bound = jnp.sqrt(jnp.maximum(diagonal[..., :, None] * diagonal[..., None, :], 0.0))
        minors = jnp.all(jnp.abs(unit) <= bound * (1.0 + tolerance), axis=(-2, -1))
        is_psd = positive_trace & jnp.all(diagonal >= 0, axis=-1) & minors
        return _entropy_of_unit(unit, alpha), is_psd
    values = numerics.eigvalsh(unit)
    top = jnp.max(values, axis=-1)
    is_psd = positive_trace & (jnp.min(values, axis=-1) >= -tolerance * top)
    return _entropy_of_unit(unit, alpha, values), is_psd


def _row_features(kernels: Sequence[Kernel], xs: Sequence[jax.Array]) -> jax.Array:
    """Features of the Hadamard-product kernel: row-wise Kronecker products ``[n, prod d_k]``."""
    phi = kernels[0].features(xs[0])
    for kernel, x in zip(kernels[1:], xs[1:], strict=True):
        other = kernel.features(x)
        phi = (phi[:, :, None] * other[:, None, :]).reshape(phi.shape[0], -1)
    return phi


def feature_dimension(kernels: Sequence[Kernel], xs: Sequence[jax.Array]) -> int | None:
    """Feature dimension of the product kernel, or ``None`` without explicit features."""
    if not all(k.has_features for k in kernels):
        return None
    return math.prod(x.shape[1] for x in xs)


class _FrobeniusSums(NamedTuple):
    """``|K|_F^2`` and ``tr K`` of a (masked) Gram: the order-2 entropy without eigenvalues."""

    squared: jax.Array
    trace: jax.Array

    def entropy(self) -> jax.Array:
        """``-log |K / tr K|_F^2`` in nats."""
        return 2.0 * jnp.log(self.trace) - jnp.log(self.squared)


def _product(factors: dict[int, jax.Array], subset: tuple[int, ...]) -> jax.Array:
    out = factors[subset[0]]
    for i in subset[1:]:
        out = out * factors[i]
    return out


def sample_entropies(
    xs: tuple[jax.Array, ...],
    kernels: tuple[Kernel, ...],
    mask: jax.Array | None,
    *,
    alpha: float,
    subsets: tuple[tuple[int, ...], ...],
    axis_name: str | None,
    block_size: int | None,
) -> list[jax.Array]:
    """Matrix-based Rényi entropies (nats) of ``A_S = (o_{k in S} K_k) / tr(.)``, one per subset.

    Every variable's Gram is built once and shared by the subsets that use it (the marginal
    and joint entropies of a mutual information come from one pass). ``xs`` are local row
    shards when ``axis_name`` is given, global arrays otherwise. Per subset, the cheapest
    exact route of the module docstring.
    """
    s = samples.gather(xs, mask, axis_name, block_size)
    results: dict[tuple[int, ...], jax.Array] = {}
    gram_subsets = []
    for subset in subsets:
        sub_kernels = [kernels[i] for i in subset]
        dim = feature_dimension(sub_kernels, [xs[i] for i in subset])
        if dim is not None and dim < s.num_rows:
            phi = _row_features(sub_kernels, [s.local[i] for i in subset])
            _, cov = moments.second_moment(phi, s.local_weights, axis_name, centre=False)
            results[subset] = entropy_from_psd(cov, alpha)
        else:
            gram_subsets.append(subset)
    gram_subsets = tuple(gram_subsets)
    if gram_subsets and alpha == 2.0:
        values = _frobenius_entropies(
            xs,
            kernels,
            mask,
            subsets=gram_subsets,
            axis_name=axis_name,
            block_size=block_size,
        )
        results.update(zip(gram_subsets, values, strict=True))
    elif gram_subsets:
        used = sorted({i for subset in gram_subsets for i in subset})
        whole = s.whole()
        grams = {i: whole.gram(kernels[i].resolve(s.all[i], s.mask), i) for i in used}
        weights = s.weights[:, None] * s.weights[None, :]
        # One eigensolver call per product: a batched (vmapped) call was 18 % slower for a
        # mutual information at n = 512 in float64 (bisection runs to the slowest member).
        for subset in gram_subsets:
            results[subset] = entropy_from_psd(_product(grams, subset) * weights, alpha)
    return [results[subset] for subset in subsets]


@functools.partial(jax.jit, static_argnames=("subsets", "axis_name", "block_size"))
def _frobenius_entropies(xs, kernels, mask, *, subsets, axis_name, block_size):
    """Order-2 entropies of the Gram products of ``subsets``, streamed over row blocks."""
    s = samples.gather(xs, mask, axis_name, block_size)
    used = sorted({i for subset in subsets for i in subset})
    resolved = {i: kernels[i].resolve(s.all[i], s.mask) for i in used}

    def block(b):
        grams = {i: b.gram(resolved[i], i) for i in used}
        diagonals = {i: resolved[i].diagonal(b.rows[i]) for i in used}
        weights = b.weights[:, None] * b.column_weights[None, :]
        return [
            _FrobeniusSums(
                jnp.sum(_product(grams, subset) ** 2 * weights),
                jnp.sum(_product(diagonals, subset) * b.weights),
            )
            for subset in subsets
        ]

    sums = s.reduce(block, num_columns=len(used) * s.num_rows)  # one Gram per variable
    return [f.entropy() for f in sums]
