"""Multivariate (higher-order) information of a set of variables, and scores of every subset.

All four measures (Rosas et al. 2019) are sums of three sets of entropies of the ``K``
variables: the singles ``H(X_k)``, the leave-one-outs ``H(X_-k)`` and the joint ``H(X)``:

- total correlation ``TC = sum_k H(X_k) - H(X)``;
- dual total correlation ``DTC = sum_k H(X_-k) - (K - 1) H(X)``;
- O-information ``O = TC - DTC``, S-information ``S = TC + DTC``.

:func:`_gaussian_sets` (``"gaussian"``, ``"copula"``) or :func:`_knn_sets` (``"knn"``)
computes the ``2K + 1`` entropies once and :func:`_combine` weighs them with the measure's
weights, passed as data: the four measures share one compiled core per method and shape,
and :func:`multiplet_information` maps the same two steps over subsets.

The Gaussian sets are log-determinants of diagonal blocks of ONE correlation matrix (the
copula's: of the normal scores). Each measure's dimensions balance (``sum_k d_k = D`` in TC,
``sum_k (D - d_k) = (K - 1) D`` in DTC), so the terms linear in the dimension
(``log 2 pi e``, the column variances, the ``log(2/n)`` of the Wishart bias) cancel exactly
and are never computed. A singular block (a constant or collinear column, ``gaussian.py``)
contributes ``-inf`` once per null Cholesky pivot: the measure is ``+inf`` or ``-inf`` where
those counts do not cancel between its terms, and the finite pivots otherwise (a constant
column carries no information, as in ``gaussian_mutual_information``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import batching, collectives, gaussian, guards, samples, validation
from jaxinfo._src.entry import checked_options
from jaxinfo._src.neighbours import _knn_entropy_nats, check_k, search_route
from jaxinfo._src.options import (
    MULTIVARIATE_MEASURES,
    MULTIVARIATE_METHODS,
    MultivariateMeasure,
    MultivariateMethod,
)

# The options each method reads besides ``base``, ``where`` and ``axis_name``.
_OPTIONS: dict[str, tuple[str, ...]] = {
    "gaussian": ("shrinkage", "bias_correction"),
    "copula": ("shrinkage", "bias_correction"),
    "knn": ("k", "block_size"),
}
_DEFAULTS: dict[str, Any] = {"k": 3, "shrinkage": 0.0, "bias_correction": False, "block_size": None}

# Weights of (sum of singles, sum of leave-one-outs, joint) in each measure of K variables.
_WEIGHTS: dict[str, Callable[[int], tuple[int, int, int]]] = {
    "total_correlation": lambda K: (1, 0, -1),
    "dual_total_correlation": lambda K: (0, 1, -(K - 1)),
    "o_information": lambda K: (1, -1, K - 2),
    "s_information": lambda K: (1, 1, -K),
}


_Sets = tuple[jax.Array, jax.Array]
"""``(values [2K + 1], nulls [2K + 1])``: the singles, the leave-one-outs, then the joint.

Values are entropies in nats (Gaussian routes: up to the terms linear in the dimension,
module notes); ``nulls`` counts the null Cholesky pivots of each (zeros for kNN), each a
``-inf`` that the finite value leaves out.
"""


@dataclasses.dataclass(frozen=True)
class _Settings:
    """The checked static options of one estimate (``shrinkage`` travels as data)."""

    method: str
    k: int
    bias_correction: bool
    block_size: int | None


def _passed(name: str, value):
    """``value``, or ``None`` where it equals the signature's default (a traced one differs)."""
    default = _DEFAULTS[name]
    if value is None or value is default:
        return None
    concrete = validation.concrete_value(value)
    same = (
        default is not None
        and concrete is not None
        and concrete.shape == ()
        and concrete.dtype.kind in "biuf"
        and bool(concrete == default)
    )
    return None if same else value


def _settings(method, k, shrinkage, bias_correction, block_size) -> tuple[_Settings, Any]:
    """``(settings, shrinkage)`` checked; an option ``method`` does not read is refused.

    The refusal is ``entry``'s checker: one message for every ``method=`` entry point.
    """
    validation.check_choice(method, "method", MULTIVARIATE_METHODS)
    passed = {
        "k": _passed("k", k),
        "shrinkage": _passed("shrinkage", shrinkage),
        "bias_correction": _passed("bias_correction", bias_correction),
        "block_size": _passed("block_size", block_size),
    }
    checked_options(method, f"method={method!r}", _OPTIONS, passed)
    if method == "knn":
        k = validation.check_positive_int(k, "k")
        if block_size is not None:
            validation.check_positive_int(block_size, "block_size")
        return _Settings(method, k, False, block_size), 0.0
    shrinkage = gaussian._check_shrinkage(shrinkage)
    bias_correction = validation.check_bool(bias_correction, "bias_correction")
    return _Settings(method, 3, bias_correction, None), shrinkage


def _check_rows(
    rows: guards.Checked, dim: int, s: _Settings, shrinkage
) -> tuple[jax.Array, _Settings]:
    """Static row checks for ``dim`` columns per estimate; returns the traced answer flag."""
    num_rows, counted_by = validation.valid_rows(rows.mask, rows.arrays[0].shape[0], "where")
    if s.method == "knn":
        k = check_k(s.k, num_rows, rows.axis_name, counted_by=counted_by)
        return rows.holds(k + 1), dataclasses.replace(s, k=k)
    gaussian._check_bias_correction(s.bias_correction, num_rows, dim, rows.axis_name, counted_by)
    what = f"joint covariance of the variables (d = {dim})"
    gaussian._check_rank(shrinkage, num_rows, dim, rows.axis_name, what, counted_by)
    return rows.holds(gaussian._min_rows(s.bias_correction, dim)), s


def _correlation(z: jax.Array, mask, shrinkage, s: _Settings, axis_name):
    """``(corr, count)``: the (shrunk) correlation matrix of all columns of ``z``.

    The copula route ranks whole columns, so its rows are all-gathered first
    (as in ``gaussian_copula_mutual_information``).
    """
    if s.method == "copula":
        z, mask = collectives.gather_rows(z, axis_name), collectives.gather_rows(mask, axis_name)
        z = jax.lax.stop_gradient(gaussian._normal_scores(z, samples.valid_rows(mask, z.shape[0])))
        axis_name = None
    count, scatter, roundoff = gaussian._scatter(z, mask, axis_name)
    return gaussian._shrink(gaussian._standardise(scatter, roundoff)[0], shrinkage), count


def _subsets(dims: Sequence[int]) -> list[np.ndarray]:
    """Columns of the singles, the leave-one-outs and the joint, in :data:`_Sets` order."""
    edges = np.cumsum([0, *dims])
    blocks = [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    outs = [np.concatenate([b for j, b in enumerate(blocks) if j != i]) for i in range(len(dims))]
    return [*blocks, *outs, np.concatenate(blocks)]


def _gaussian_sets(corr, count, dims: Sequence[int], s: _Settings) -> _Sets:
    """Half log-dets of the diagonal blocks of one correlation matrix, in one batch.

    Each block is embedded in a ``[D, D]`` matrix with the identity outside it (pivots 1,
    log 0), so all ``2K + 1`` log-dets are one batched Cholesky. The floor is that of
    ``corr`` (``gaussian.py``), so a subset scored from a larger matrix gets the floor of
    its own call.
    """
    corr, floor = gaussian._floored(corr)
    subsets = _subsets(dims)
    member = np.zeros((len(subsets), corr.shape[0]), bool)
    for row, columns in zip(member, subsets, strict=True):
        row[columns] = True
    inside = jnp.asarray(member[:, :, None] & member[:, None, :])
    blocks = jnp.where(inside, corr, jnp.eye(corr.shape[0], dtype=corr.dtype))
    pivots = jax.vmap(gaussian._pivots, in_axes=(0, None))(blocks, floor)
    logdets = jnp.sum(jnp.where(pivots.null, 0.0, pivots.log), axis=1)
    if s.bias_correction:
        sizes = sorted({len(c) for c in subsets})
        bias = dict(zip(sizes, (gaussian._wishart_bias(d, count) for d in sizes), strict=True))
        logdets = logdets - jnp.stack([bias[len(c)] for c in subsets])
    return 0.5 * logdets, jnp.sum(pivots.null, axis=1, dtype=jnp.int32)


def _knn_sets(x: jax.Array, mask, dims: Sequence[int], s: _Settings, axis_name) -> _Sets:
    """Kozachenko-Leonenko entropies (``knn_entropy``'s core) of each column subset of ``x``."""
    num_rows = x.shape[0] * collectives.axis_size(axis_name)
    values = []
    for columns in _subsets(dims):
        route = search_route("auto", len(columns), num_rows, block_size=s.block_size)
        nats = _knn_entropy_nats
        if route == "brute":  # under vmap on CPU, one call per member (batching.py)
            nats = batching.one_call_at_a_time(nats)
        part = x[:, columns]
        values.append(
            nats(part, mask, k=s.k, axis_name=axis_name, block_size=s.block_size, route=route)
        )
    stacked = jnp.stack(values)
    return stacked, jnp.zeros(stacked.shape, jnp.int32)


def _weights(measure: str, num_variables: int) -> np.ndarray:
    """``[2K + 1]`` weights of the singles, leave-one-outs and joint in ``measure``."""
    singles, outs, joint = _WEIGHTS[measure](num_variables)
    return np.array([singles] * num_variables + [outs] * num_variables + [joint], np.int32)


def _combine(sets: _Sets, weights: jax.Array) -> jax.Array:
    """The weighted sum of the entropy sets; ``+-inf`` where null pivots remain."""
    values, nulls = sets
    value = jnp.sum(weights.astype(values.dtype) * values)
    infinite = jnp.sum(weights * nulls, dtype=jnp.int32)  # each null pivot is a -inf entropy
    return jnp.where(infinite > 0, -jnp.inf, jnp.where(infinite < 0, jnp.inf, value))


# The cores are jitted with the measure's weights as data: the four measures (and an eager
# vmap) share one compiled program per shape and method.
@functools.partial(jax.jit, static_argnames=("dims", "s", "axis_name"))
def _measure_nats(z, mask, shrinkage, weights, *, dims, s: _Settings, axis_name):
    """``(measure in nats, valid row count)`` of the variables ``z = [x_1, ..., x_K]``."""
    if s.method == "knn":
        return _combine(_knn_sets(z, mask, dims, s, axis_name), weights), jnp.zeros((), z.dtype)
    corr, count = _correlation(z, mask, shrinkage, s, axis_name)
    return _combine(_gaussian_sets(corr, count, dims, s), weights), count


def _measure(
    measure: str,
    xs: tuple,
    method,
    k,
    shrinkage,
    bias_correction,
    base,
    where,
    axis_name,
    block_size,
) -> jax.Array:
    """The shared body of the four public measures."""
    if len(xs) < 2:
        raise ValueError(
            f"{measure} needs at least two variables (`xs`), each [n, d_k]; got {len(xs)}. "
            "Pass the variables as separate arrays, e.g. "
            f"{measure}(x[:, :1], x[:, 1:2], x[:, 2:])."
        )
    s, shrinkage = _settings(method, k, shrinkage, bias_correction, block_size)
    names = tuple(f"xs[{i}]" for i in range(len(xs)))
    rows = guards.checked(xs, names, where, axis_name, base)
    dims = tuple(int(a.shape[1]) for a in rows.arrays)
    holds, s = _check_rows(rows, sum(dims), s, shrinkage)
    z = jnp.concatenate(rows.arrays, axis=1)
    weights = jnp.asarray(_weights(measure, len(dims)))
    value, count = _measure_nats(
        z, rows.mask, shrinkage, weights, dims=dims, s=s, axis_name=axis_name
    )
    if s.method != "knn":
        holds = holds & gaussian._full_rank(count, sum(dims), shrinkage)
    return rows.result(value, holds)


def total_correlation(
    *xs: ArrayLike,
    method: MultivariateMethod = "gaussian",
    k: int = 3,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Total correlation (multi-information) of two or more paired variables.

    .. math::
       TC(X_1, \dots, X_K) = \sum_k H(X_k) - H(X_1, \dots, X_K),

    the KL divergence of the joint from the product of the marginals: 0 exactly when the
    variables are independent, the mutual information for two. Every entropy comes from
    the same estimator (docs/higher_order.md):

    - ``"gaussian"``: log-determinants of diagonal blocks of ONE joint correlation matrix
      (``shrinkage``, ``bias_correction`` as in :func:`gaussian_entropy`); exact for
      jointly Gaussian data and differentiable.
    - ``"copula"``: the same on the normal scores of each column (Gaussian copula, as
      :func:`gaussian_copula_mutual_information`); invariant to monotone maps of each
      column, zero gradient.
    - ``"knn"``: Kozachenko-Leonenko entropies (:func:`knn_entropy`, ``k``,
      ``block_size``) of each column subset; hoi's ``"knn"`` without its clipping at 0.

    Args:
      *xs: two or more paired sample matrices ``[n, d_k]`` (a scalar variable is
        ``[n, 1]``).
      method: ``"gaussian"``, ``"copula"`` or ``"knn"`` (static).
      k: neighbour order of ``"knn"``.
      shrinkage: ``s`` in ``[0, 1]`` towards the identity correlation (``"gaussian"``,
        ``"copula"``); may be traced.
      bias_correction: subtract each log-determinant's Wishart bias (``"gaussian"``,
        ``"copula"``; static; needs ``n > sum_k d_k``).
      base: logarithm base (``2`` for bits); default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: query rows per block of the ``"knn"`` slab.

    Returns:
      Scalar TC. Gaussian routes: ``+inf`` where a column is a linear function of the
      others (a constant column carries nothing and cancels).

    Raises:
      ValueError: fewer than two variables, mismatched sample counts, an unknown
        ``method``, an option that ``method`` does not read (named with the method),
        ``n <= sum_k d_k`` rows without shrinkage (Gaussian routes), ``k >= n``.

    Example:
      >>> import jax, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (5000, 4))
      >>> x1, x2, x3 = z[:, :1] + z[:, 3:], z[:, 1:2] + z[:, 3:], z[:, 2:3] + z[:, 3:]
      >>> print(f"{jaxinfo.total_correlation(x1, x2, x3):.3f}")  # truth 0.5 log 2 = 0.347
      0.363

    References:
      Watanabe, "Information theoretical analysis of multivariate correlation", IBM J. Res.
      Dev. 4(1), 1960; Rosas, Mediano, Gastpar & Jensen, "Quantifying high-order
      interdependencies via multivariate extensions of the mutual information", Phys. Rev. E
      100, 032305, 2019.
    """
    options = (method, k, shrinkage, bias_correction, base, where, axis_name, block_size)
    return _measure("total_correlation", xs, *options)


def dual_total_correlation(
    *xs: ArrayLike,
    method: MultivariateMethod = "gaussian",
    k: int = 3,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Dual total correlation (binding information) of two or more paired variables.

    .. math::
       DTC = H(X) - \sum_k H(X_k \mid X_{-k}) = \sum_k H(X_{-k}) - (K - 1)\, H(X),

    the information shared by at least two of the variables (``X_{-k}``: all but ``X_k``);
    the mutual information for two. Options, estimators and errors as in
    :func:`total_correlation`.

    Args:
      *xs: two or more paired sample matrices ``[n, d_k]``.
      method: ``"gaussian"``, ``"copula"`` or ``"knn"`` (static).
      k: as in :func:`total_correlation`.
      shrinkage: as in :func:`total_correlation`.
      bias_correction: as in :func:`total_correlation`.
      base: as in :func:`total_correlation`.
      where: as in :func:`total_correlation`.
      axis_name: as in :func:`total_correlation`.
      block_size: as in :func:`total_correlation`.

    Returns:
      Scalar DTC.

    Example:
      >>> import jax, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (5000, 4))
      >>> x1, x2, x3 = z[:, :1] + z[:, 3:], z[:, 1:2] + z[:, 3:], z[:, 2:3] + z[:, 3:]
      >>> print(f"{jaxinfo.dual_total_correlation(x1, x2, x3):.3f}")  # truth 0.262
      0.273

    References:
      Han, "Linear dependence structure of the entropy space", Inf. Control 29, 1975;
      Rosas et al., Phys. Rev. E 100, 032305, 2019.
    """
    options = (method, k, shrinkage, bias_correction, base, where, axis_name, block_size)
    return _measure("dual_total_correlation", xs, *options)


def o_information(
    *xs: ArrayLike,
    method: MultivariateMethod = "gaussian",
    k: int = 3,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""O-information: redundancy (``> 0``) against synergy (``< 0``) of a set of variables.

    .. math::
       \Omega = TC - DTC = (K - 2)\, H(X) + \sum_k \left[H(X_k) - H(X_{-k})\right].

    Positive when the variables mostly share copies of the same information (redundancy),
    negative when information is carried by the variables jointly but not by subsets
    (synergy, e.g. ``x3 = x1 + x2``). Identically 0 for two variables. Options, estimators
    and errors as in :func:`total_correlation`.

    Args:
      *xs: two or more paired sample matrices ``[n, d_k]``.
      method: ``"gaussian"``, ``"copula"`` or ``"knn"`` (static).
      k: as in :func:`total_correlation`.
      shrinkage: as in :func:`total_correlation`.
      bias_correction: as in :func:`total_correlation`.
      base: as in :func:`total_correlation`.
      where: as in :func:`total_correlation`.
      axis_name: as in :func:`total_correlation`.
      block_size: as in :func:`total_correlation`.

    Returns:
      Scalar O-information.

    Example:
      >>> import jax, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (5000, 3))
      >>> x1, x2 = z[:, :1], z[:, 1:2]
      >>> x3 = x1 + x2 + 0.1 * z[:, 2:]  # synergy: x3 needs x1 and x2 together
      >>> print(f"{jaxinfo.o_information(x1, x2, x3):.2f}")  # truth -1.96
      -1.95

    References:
      Rosas, Mediano, Gastpar & Jensen, "Quantifying high-order interdependencies via
      multivariate extensions of the mutual information", Phys. Rev. E 100, 032305, 2019.
    """
    options = (method, k, shrinkage, bias_correction, base, where, axis_name, block_size)
    return _measure("o_information", xs, *options)


def s_information(
    *xs: ArrayLike,
    method: MultivariateMethod = "gaussian",
    k: int = 3,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""S-information (exogenous information): the overall strength of the dependencies.

    .. math::
       \Sigma = TC + DTC = \sum_k I(X_k; X_{-k}) = \sum_k \left[H(X_k) + H(X_{-k})\right]
       - K\, H(X).

    Twice the mutual information for two variables. Options, estimators and errors as in
    :func:`total_correlation`.

    Args:
      *xs: two or more paired sample matrices ``[n, d_k]``.
      method: ``"gaussian"``, ``"copula"`` or ``"knn"`` (static).
      k: as in :func:`total_correlation`.
      shrinkage: as in :func:`total_correlation`.
      bias_correction: as in :func:`total_correlation`.
      base: as in :func:`total_correlation`.
      where: as in :func:`total_correlation`.
      axis_name: as in :func:`total_correlation`.
      block_size: as in :func:`total_correlation`.

    Returns:
      Scalar S-information.

    Example:
      >>> import jax, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (5000, 4))
      >>> x1, x2, x3 = z[:, :1] + z[:, 3:], z[:, 1:2] + z[:, 3:], z[:, 2:3] + z[:, 3:]
      >>> print(f"{jaxinfo.s_information(x1, x2, x3):.3f}")  # truth 0.608
      0.636

    References:
      James, Ellison & Crutchfield, "Anatomy of a bit", Chaos 21, 037109, 2011;
      Rosas et al., Phys. Rev. E 100, 032305, 2019.
    """
    options = (method, k, shrinkage, bias_correction, base, where, axis_name, block_size)
    return _measure("s_information", xs, *options)


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["indices", "values"], meta_fields=["measure"]
)
@dataclasses.dataclass(frozen=True)
class Multiplets:
    """Scores of column subsets from :func:`multiplet_information`.

    A pytree (``measure`` static), so it is returned from ``jax.jit`` like an array.

    Attributes:
      indices: ``[M, order]`` int32 column indices of each subset, in
        ``itertools.combinations`` order (hoi's order).
      values: ``[M]`` the measure of each subset (nats, or the unit of ``base``).
      measure: the measure that was scored.
    """

    indices: jax.Array
    values: jax.Array
    measure: str

    def _ranked(self, count: int, descending: bool) -> Multiplets:
        count = validation.check_positive_int(count, "count")
        if self.values.ndim != 1:
            raise ValueError(
                f"ranking needs one set of scores [M]; got values of shape {self.values.shape} "
                "(a vmapped result: index one member first)."
            )
        order = jnp.argsort(-self.values if descending else self.values)[:count]
        return Multiplets(self.indices[order], self.values[order], self.measure)

    def largest(self, count: int) -> Multiplets:
        """The ``count`` subsets with the largest values, largest first (NaN last)."""
        return self._ranked(count, descending=True)

    def smallest(self, count: int) -> Multiplets:
        """The ``count`` subsets with the smallest values, smallest first (NaN last)."""
        return self._ranked(count, descending=False)

    def most_redundant(self, count: int) -> Multiplets:
        """O-information only: the ``count`` most redundant subsets (largest ``O > 0`` first)."""
        self._require_o_information("most_redundant")
        return self.largest(count)

    def most_synergistic(self, count: int) -> Multiplets:
        """O-information only: the ``count`` most synergistic subsets (most negative first)."""
        self._require_o_information("most_synergistic")
        return self.smallest(count)

    def _require_o_information(self, name: str) -> None:
        if self.measure != "o_information":
            raise ValueError(
                f"`{name}` reads the sign of the O-information; these are {self.measure} "
                "scores. Score with measure='o_information', or rank with .largest / "
                ".smallest."
            )


def _check_order(order, measure: str, num_columns: int) -> int:
    """``order``: at least 2 (3 for O-information, 0 for every pair) and at most V."""
    lowest = 3 if measure == "o_information" else 2
    order = validation.check_positive_int(order, "order", minimum=lowest)
    if order > num_columns:
        raise ValueError(
            f"`order` must be at most the number of variables (columns of `x`), "
            f"{num_columns}; got order = {order}."
        )
    return order


def multiplet_information(
    x: ArrayLike,
    *,
    order: int,
    measure: MultivariateMeasure = "o_information",
    method: MultivariateMethod = "gaussian",
    k: int = 3,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> Multiplets:
    r"""A multivariate measure of every subset of ``order`` columns of ``x`` (hoi's multiplets).

    Each column of ``x [n, V]`` is one scalar variable; all ``comb(V, order)`` subsets are
    scored in one batched program, equal to calling ``measure`` on each subset. For
    ``"gaussian"`` and ``"copula"`` every log-determinant comes from a gathered block of ONE
    ``[V, V]`` correlation matrix (one pass over the rows for all subsets); ``"knn"`` runs
    the subsets one after the other (``lax.map``) over gathered columns. Rank the result
    with :meth:`Multiplets.most_synergistic` / :meth:`Multiplets.most_redundant`.

    Args:
      x: samples ``[n, V]``, one variable per column.
      order: subset size, ``2 <= order <= V``; at least 3 for ``"o_information"`` (which is
        0 for every pair). Static.
      measure: ``"o_information"``, ``"total_correlation"``, ``"dual_total_correlation"``
        or ``"s_information"`` (static).
      method: ``"gaussian"``, ``"copula"`` or ``"knn"`` (static), as in
        :func:`total_correlation`.
      k: as in :func:`total_correlation`.
      shrinkage: as in :func:`total_correlation`.
      bias_correction: as in :func:`total_correlation`.
      base: as in :func:`total_correlation`.
      where: as in :func:`total_correlation`.
      axis_name: as in :func:`total_correlation`.
      block_size: as in :func:`total_correlation`.

    Returns:
      :class:`Multiplets` with ``indices [M, order]`` (``itertools.combinations`` order) and
      ``values [M]``.

    Raises:
      ValueError: ``x`` not ``[n, V]``, ``order`` out of range, an unknown ``measure`` or
        ``method``, an option ``method`` does not read, and as in :func:`total_correlation`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (2000, 5))
      >>> x = jnp.concatenate([z, z[:, :1] + z[:, 1:2] + 0.1 * z[:, 2:3]], axis=1)
      >>> best = jaxinfo.multiplet_information(x, order=3).most_synergistic(1)
      >>> print(best.indices.tolist(), f"{best.values[0]:.2f}")
      [[0, 1, 5]] -1.97
    """
    validation.check_choice(measure, "measure", MULTIVARIATE_MEASURES)
    s, shrinkage = _settings(method, k, shrinkage, bias_correction, block_size)
    rows = guards.checked((x,), ("x",), where, axis_name, base)
    ((x,), mask) = rows.arrays, rows.mask
    order = _check_order(order, measure, x.shape[1])
    holds, s = _check_rows(rows, order, s, shrinkage)
    indices = np.array(list(itertools.combinations(range(x.shape[1]), order)), np.int32)
    weights = jnp.asarray(_weights(measure, order))
    values, count = _multiplet_nats(
        x, mask, shrinkage, jnp.asarray(indices), weights, s=s, axis_name=axis_name
    )
    if s.method != "knn":
        holds = holds & gaussian._full_rank(count, order, shrinkage)
    return Multiplets(jnp.asarray(indices), rows.result(values, holds), measure)


# Subsets scored at once (vmapped) by the Gaussian routes; batches run one after another, so
# memory stays O(batch * order^3) however many subsets there are (comb(100, 4) = 3.9e6).
_SUBSETS_PER_BATCH = 4096


@functools.partial(jax.jit, static_argnames=("s", "axis_name"))
def _multiplet_nats(x, mask, shrinkage, indices, weights, *, s: _Settings, axis_name):
    """``(values [M], valid row count)``: the measure of each subset of columns ``indices``.

    Gaussian routes gather each subset's block of ONE correlation matrix (vmapped over
    batches of :data:`_SUBSETS_PER_BATCH` subsets); kNN searches each subset's gathered
    columns in turn (``lax.map``).
    """
    order = indices.shape[1]
    dims = (1,) * order
    if s.method == "knn":

        def knn_score(subset):
            return _combine(_knn_sets(x[:, subset], mask, dims, s, axis_name), weights)

        return jax.lax.map(knn_score, indices), jnp.zeros((), x.dtype)
    corr, count = _correlation(x, mask, shrinkage, s, axis_name)

    def score(subset):
        block = corr[subset[:, None], subset[None, :]]
        return _combine(_gaussian_sets(block, count, dims, s), weights)

    batch = min(indices.shape[0], _SUBSETS_PER_BATCH)
    return jax.lax.map(score, indices, batch_size=batch), count
