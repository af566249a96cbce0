"""The spectral engine: Rényi / von Neumann entropies of trace-normalised PSD matrices.

One entry point for samples, :func:`sample_entropies`, takes the cheapest exact route for
each requested product of Grams (building every variable's Gram once):

1. every kernel has a finite feature map with ``D = prod(d_k) < n`` (linear, cosine): the
   ``[D, D]`` matrix ``Phi^T Phi`` has the same non-zero spectrum as the ``[n, n]`` Gram;
2. ``alpha == 2``: ``tr(A^2) = |A|_F^2``, a streamed sum of squared Gram entries (no
   eigensolver, ``O(n * block)`` memory);
3. otherwise the full Gram (Hadamard product over variables) and ``eigvalsh``, or, with
   ``method=StochasticLanczos(...)``, a randomized estimate from products of the implicit,
   blocked Gram with random probes (:mod:`lanczos`; never an ``[n, n]`` matrix).

With ``axis_name`` (inside ``shard_map`` over rows) routes 1 and 2 reduce per-device row
blocks with one ``psum``; route 3 all-gathers the ``[n, d]`` inputs (never an ``[n, n]``
matrix) and every device solves the same eigenproblem; its randomized variant computes each
device's row block of every product and all-gathers the ``[n, p]`` result.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxinfo._src import batching, lanczos, moments, numerics, samples
from jaxinfo._src.kernels import Kernel


def symmetrize(matrix: jax.Array) -> jax.Array:
    """``(M + M^T) / 2`` over the last two axes."""
    return 0.5 * (matrix + jnp.swapaxes(matrix, -1, -2))


def trace(matrix: jax.Array) -> jax.Array:
    """Trace over the last two axes."""
    return jnp.trace(matrix, axis1=-2, axis2=-1)


def _unit_trace(matrix: jax.Array, symmetric: bool = False) -> jax.Array:
    """``sym(M) / tr M``, exactly scale invariant in value and gradient.

    ``M`` is first divided by its largest entry held constant: squares of ``K * 1e30``
    overflow, and the backward pass of ``M / tr M`` meets ``tr(M)^2``, which underflows for
    ``K * 1e-30`` in float32 (a NaN gradient). Signs are kept (a negative trace stays one).
    ``symmetric=True`` (Grams and covariances built here, symmetric up to round-off) skips
    ``sym``: the eigensolvers read one triangle or symmetrise themselves, and the derivative
    rule symmetrises the tangent. XLA's CPU transpose is slow, a sizeable share of the
    eigenvalue solve (benchmarks/README.md, "Design choices").
    """
    if not symmetric:
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


def entropy_from_psd(matrix: jax.Array, alpha: float, symmetric: bool = False) -> jax.Array:
    """Rényi entropy (nats) of ``A = M / tr M`` for symmetric PSD ``M`` ``[..., m, m]``.

    ``alpha == 2`` uses ``-log |A|_F^2`` (no eigensolver); other orders use the eigenvalues
    of the symmetrised ``A`` (see :func:`numerics.spectrum_to_probabilities` for the floor).
    ``symmetric=True``: ``M`` is symmetric by construction, skip the symmetrisation.
    """
    return _entropy_of_unit(_unit_trace(matrix, symmetric), alpha)


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
    method: lanczos.StochasticLanczos | None = None,
) -> list[jax.Array]:
    """Matrix-based Rényi entropies (nats) of ``A_S = (o_{k in S} K_k) / tr(.)``, one per subset.

    Every variable's Gram is built once and shared by the subsets that use it (the marginal
    and joint entropies of a mutual information come from one pass). ``xs`` are local row
    shards when ``axis_name`` is given, global arrays otherwise. Per subset, the cheapest
    exact route of the module docstring; ``method`` (SLQ options) replaces only the
    eigensolver route, since the other two are exact and cheaper.
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
            results[subset] = entropy_from_psd(cov, alpha, symmetric=True)
        else:
            gram_subsets.append(subset)
    gram_subsets = tuple(gram_subsets)
    if gram_subsets and alpha == 2.0:
        frobenius = functools.partial(
            _frobenius_entropies, subsets=gram_subsets, axis_name=axis_name, block_size=block_size
        )
        if axis_name is None:  # under vmap on CPU, one call per batch member (batching.py)
            frobenius = batching.one_call_at_a_time(frobenius)
        values = frobenius(xs, kernels, mask)
        results.update(zip(gram_subsets, values, strict=True))
    elif gram_subsets and method is not None:
        used = sorted({i for subset in gram_subsets for i in subset})
        resolved = {i: kernels[i].resolve(s.all[i], s.mask) for i in used}
        for subset in gram_subsets:
            results[subset] = _randomized_entropy(
                s, [resolved[i] for i in subset], subset, alpha, method
            )
    elif gram_subsets:
        eigen = functools.partial(_eigen_entropies, subsets=gram_subsets, alpha=alpha)
        if axis_name is None:  # under vmap on CPU, one call per batch member (batching.py)
            eigen = batching.one_call_at_a_time(eigen)
        values = eigen(s.all, kernels, s.mask)
        results.update(zip(gram_subsets, values, strict=True))
    return [results[subset] for subset in subsets]


def _eigen_entropies(xs, kernels, mask, *, subsets, alpha):
    """Entropies of the Gram products of ``subsets`` from their eigenvalues (global ``xs``)."""
    used = sorted({i for subset in subsets for i in subset})
    whole = samples.whole_block(xs, samples.row_weights(mask, xs[0].shape[0], xs[0].dtype))
    grams = {i: whole.gram(kernels[i].resolve(xs[i], mask), i) for i in used}
    weights = whole.weights[:, None] * whole.weights[None, :]
    # One eigensolver call per product: on CPU a batched call loops over its members on the
    # host anyway (LAPACK, numerics.eigvalsh), and stacking the Grams costs a copy.
    return [
        entropy_from_psd(_product(grams, subset) * weights, alpha, symmetric=True)
        for subset in subsets
    ]


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


def gram_matmul(s: samples.Samples, kernels: Sequence[Kernel], vectors: jax.Array) -> jax.Array:
    """``(o_k K_k) @ vectors`` ``[n, p]`` of the (masked) Hadamard-product Gram, never built whole.

    ``kernels[k]`` acts on ``s.all[k]``. Masked rows and columns are zeroed (exact zero
    eigenvalues, so masking equals slicing). Row blocks of ``[block, n]`` slabs run through
    :meth:`samples.Samples.map_rows` (remat, the memory budget and, with ``axis_name``, each
    device's own rows).
    """

    def block(b: samples.Block) -> jax.Array:
        gram = b.gram(kernels[0], 0)
        for index, kernel in enumerate(kernels[1:], start=1):
            gram = gram * b.gram(kernel, index)
        gram = gram * b.column_weights[None, :]
        return jnp.matmul(gram, vectors, precision=numerics.HIGHEST) * b.weights[:, None]

    return s.map_rows(block, num_columns=len(kernels) * s.num_rows)


def _unit_trace_operator(theta, consts, vectors, *, axis_name, block_size):
    """``A @ vectors`` for ``A = (o_k K_k) / tr(.)``: the SLQ operator of the Rényi route."""
    kernels, xs, inverse_trace = theta
    (mask,) = consts
    s = samples.from_global(xs, mask, axis_name, block_size)
    return gram_matmul(s, kernels, vectors) * inverse_trace


def _unit_trace_diagonal(theta, consts):
    """``tr A`` of :func:`_unit_trace_operator` from the kernels' diagonals (exactly 1)."""
    kernels, xs, inverse_trace = theta
    (mask,) = consts
    diagonal = samples.row_weights(mask, xs[0].shape[0], xs[0].dtype)
    for kernel, x in zip(kernels, xs, strict=True):
        diagonal = diagonal * kernel.diagonal(x)
    return jnp.sum(diagonal) * inverse_trace


def renyi_integrand(lam: jax.Array, params, *, alpha: float) -> jax.Array:
    """Integrands of the randomized Rényi entropy at the nodes ``lam`` (unit-trace scale).

    Column 0 is ``lam * expm1((alpha - 1) log lam) / (alpha - 1)`` (``lam log lam`` at
    ``alpha = 1``), whose trace ``T`` gives ``tr A^alpha = 1 + (alpha - 1) T`` without the
    ``1 / |alpha - 1|`` amplification of the direct form; for ``alpha > 1`` column 1 is
    ``lam^alpha`` (the direct form, better when ``tr A^alpha`` is small). Both vanish at 0.
    """
    del params
    safe, positive = lanczos.positive_part(lam)
    log_lam = jnp.log(safe)
    if alpha == 1.0:
        columns = [safe * log_lam]
    else:
        columns = [safe * jnp.expm1((alpha - 1.0) * log_lam) / (alpha - 1.0)]
        if alpha > 1.0:
            columns.append(jnp.exp(alpha * log_lam))
    return jnp.stack([jnp.where(positive, c, 0.0 * lam) for c in columns], axis=-1)


def renyi_from_traces(traces: jax.Array, alpha: float) -> jax.Array:
    """Rényi entropy (nats) from the traces of :func:`renyi_integrand`.

    ``S = -log1p((alpha - 1) T) / (alpha - 1)`` (``-T`` at ``alpha = 1``). For ``alpha > 1``
    the estimate ``tr A^alpha = 1 + (alpha - 1) T`` is the difference of two noisy traces
    (``tr A^alpha`` and ``tr A = 1``) and loses its relative accuracy when it is small; below
    1/2 the direct estimate ``log(tr A^alpha) / (1 - alpha)`` takes over (both come from one
    quadrature, so the switch is free). For ``alpha < 1`` the first form is always used: its
    estimate of ``tr A^alpha`` is ``>= 1`` by construction.
    """
    t = traces[0]
    if alpha == 1.0:
        return -t
    power = 1.0 + (alpha - 1.0) * t
    if alpha < 1.0:
        return -jnp.log1p((alpha - 1.0) * t) / (alpha - 1.0)
    use_difference = power >= 0.5
    difference = -jnp.log(jnp.where(use_difference, power, 1.0)) / (alpha - 1.0)
    direct = jnp.log(jnp.where(use_difference, 1.0, traces[1])) / (1.0 - alpha)
    return jnp.where(use_difference, difference, direct)


def _randomized_entropy(s, kernels, subset, alpha, options) -> jax.Array:
    """Rényi entropy (nats) of the Gram product of ``subset`` by stochastic Lanczos quadrature.

    ``tr`` of the Gram is exact (its diagonal); only the spectral sums are estimated.
    """
    if math.isinf(alpha):
        raise ValueError(
            "`alpha=inf` needs the largest eigenvalue, which the stochastic Lanczos route does "
            'not estimate; use method="exact" or a finite alpha.'
        )
    xs = tuple(s.all[i] for i in subset)
    dtype = xs[0].dtype
    kernels = tuple(jax.tree.map(lambda a: jnp.asarray(a, dtype), k) for k in kernels)
    consts = (s.mask,)
    one = jnp.ones((), dtype)
    theta = (kernels, xs, one / _unit_trace_diagonal((kernels, xs, one), consts))
    operator = lanczos.Operator(
        functools.partial(_unit_trace_operator, axis_name=s.axis_name, block_size=s.block_size),
        _unit_trace_diagonal,
    )
    integrand = functools.partial(renyi_integrand, alpha=alpha)
    traces = lanczos.estimate_traces(operator, integrand, options, theta, None, consts, s.valid)
    return renyi_from_traces(traces, alpha)
