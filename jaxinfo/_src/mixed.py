"""Mutual information between discrete and continuous variables, by nearest neighbours.

Two estimators, both built on the neighbour search of :mod:`neighbours` (the blocked
max-norm slab, and at d = 1 one sort):

- Ross (2014), the estimator behind scikit-learn's ``mutual_info_classif``: continuous
  ``x`` against integer class labels. Each row's radius is its distance to the k-th
  nearest row of its own class; the class sizes come from one sort of the labels, so no
  alphabet size is needed and labels may be traced.
- Gao, Kannan, Oh & Viswanath (2017), "mixed KSG": ``x`` and ``y`` that may each hold
  discrete values (ties at distance 0), continuous values or both.

Counts are piecewise constant in the data: the inputs are put under ``stop_gradient`` and
the gradient is exactly zero, as for KSG.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma
from jax.typing import ArrayLike

from jaxinfo._src import batching, collectives, guards, programs, samples, sorting, validation
from jaxinfo._src.neighbours import (
    chebyshev_distances,
    check_k,
    excluded_pairs,
    kth_smallest,
    sorted_count_within,
)


def checked_labels(
    labels, num_rows: int, name: str = "labels", *, paired_with: str = "x"
) -> jax.Array:
    """Integer class labels ``[n]`` paired with the ``num_rows`` rows of ``paired_with``."""
    arr = validation.as_array(labels, name)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(
            f"`{name}` must be integer class labels; got dtype {arr.dtype}. For a continuous "
            "second variable use ksg_mutual_information (or mixed_ksg_mutual_information "
            "for values with ties)."
        )
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` must have shape [n] (one label per row); got {tuple(arr.shape)}. "
            "Combine label columns into one code first."
        )
    if arr.shape[0] != num_rows:
        raise ValueError(
            f"`{paired_with}` and `{name}` must have the same number of samples; got "
            f"{num_rows} and {arr.shape[0]}."
        )
    return arr.astype(jnp.int32)


def _class_sizes(labels: jax.Array, weights: jax.Array) -> jax.Array:
    """Per row, the summed weight of the valid rows sharing its label (itself included)."""
    order = sorting.sorting_order((labels,))
    sizes_sorted = _run_sizes(labels[order], weights[order])
    return jnp.zeros(labels.shape[0], weights.dtype).at[order].set(sizes_sorted)


def _run_sizes(ordered_labels: jax.Array, ordered_weights: jax.Array) -> jax.Array:
    """Per place of rows sorted by label, the summed weight of its run of equal labels."""
    n = ordered_labels.shape[0]
    places = jnp.arange(n, dtype=jnp.int32)
    change = ordered_labels[1:] != ordered_labels[:-1]
    starts = jnp.concatenate([jnp.ones(1, bool), change])
    ends = jnp.concatenate([change, jnp.ones(1, bool)])
    first = jax.lax.cummax(jnp.where(starts, places, 0))
    last = jax.lax.cummin(jnp.where(ends, places, n - 1), reverse=True)
    running = jnp.concatenate([jnp.zeros(1, ordered_weights.dtype), jnp.cumsum(ordered_weights)])
    return running[last + 1] - running[first]


def _closer(dist: jax.Array, radius: jax.Array) -> jax.Array:
    """Ross's "within the radius": ``d < r``, or ``d = 0`` when ``r = 0`` (the duplicates).

    scikit-learn's ``d <= nextafter(r, 0)``, written without the float below ``r``: XLA on
    CPU flushes subnormals, so ``nextafter(0, 1)`` would read as 0. ``radius`` broadcasts.
    """
    return (dist < radius) | (dist <= 0)


def _sorted_ross_terms(
    s: samples.Samples, labels: jax.Array, k: int
) -> tuple[jax.Array, jax.Array]:
    """Per local row, Ross's ``psi(k_i) - psi(N_c) - psi(m_i)`` at d = 1, and the kept rows.

    One sort by (label, value), masked rows last in their class (value ``+inf``),
    puts each class in one sorted run: class sizes are run lengths, and a row's k nearest
    classmates lie among the ``k`` places on each side of its own (the 1-D window of
    :func:`neighbours.sorted_kth_squared_distance`). ``m_i`` comes from the sorted search
    of KSG's 1-D marginal counts.
    """
    (x_all,), (x_local,) = s.all, s.local
    values = jnp.where(s.valid, x_all[:, 0], jnp.inf)
    n = values.shape[0]
    ids = jnp.arange(n, dtype=jnp.int32)
    order = sorting.sorting_order((labels, values))
    by_label = labels[order]
    sizes_sorted = _run_sizes(by_label, s.weights[order])
    place = jnp.zeros(n, jnp.int32).at[order].set(ids)
    sizes_all = jnp.zeros(n, values.dtype).at[order].set(sizes_sorted)
    kept = s.valid & (sizes_all > 1)  # a class seen once has no classmate: dropped
    sizes = sizes_all[s.ids]
    orders = jnp.clip(jnp.minimum(k, sizes - 1), 1, k).astype(jnp.int32)
    offsets = jnp.concatenate([jnp.arange(-k, 0), jnp.arange(1, k + 1)]).astype(jnp.int32)
    around = place[s.ids][:, None] + offsets[None, :]
    neighbour = order[jnp.clip(around, 0, n - 1)]
    own = labels[s.ids]
    usable = (around >= 0) & (around < n) & kept[neighbour] & (labels[neighbour] == own[:, None])
    gaps = jnp.abs(x_all[neighbour, 0] - x_local[:, :1])
    radius = kth_smallest(jnp.where(usable, gaps, jnp.inf), k, order=orders)
    m = sorted_count_within(x_local, x_all, kept, radius, inside=_closer).astype(values.dtype)
    terms = digamma(orders.astype(values.dtype)) - digamma(sizes) - digamma(m)
    return jnp.where(kept[s.ids] & (s.local_weights > 0), terms, 0.0), kept


@functools.partial(jax.jit, static_argnames=("k", "axis_name", "block_size", "route"))
def _ross_nats(x, labels, mask, *, k, axis_name, block_size, route):
    if route == "sorted":
        s = samples.gather((x,), mask, axis_name, block_size)
        labels_all = collectives.gather_rows(labels, axis_name)
        terms, kept = _sorted_ross_terms(s, labels_all, k)
        total = collectives.psum(jnp.sum(terms), axis_name)
        n = jnp.sum(kept.astype(x.dtype))
        return digamma(n) + total / n, n
    x_all = collectives.gather_rows(x, axis_name)
    labels_all = collectives.gather_rows(labels, axis_name)
    mask_all = collectives.gather_rows(mask, axis_name)
    weights = samples.row_weights(mask_all, x_all.shape[0], x.dtype)
    sizes_all = _class_sizes(labels_all, weights)
    # rows of classes seen once have no classmate: scikit-learn drops them from every term
    s = samples.from_global((x_all,), (weights > 0) & (sizes_all > 1), axis_name, block_size)

    def block(b):
        sizes = sizes_all[b.ids]
        orders = jnp.clip(jnp.minimum(k, sizes - 1), 1, k).astype(jnp.int32)
        dist = chebyshev_distances(b.rows[0], x_all)
        other_class = labels_all[b.ids][:, None] != labels_all[None, :]
        classmates = jnp.where(excluded_pairs(b) | other_class, jnp.inf, dist)
        radius = kth_smallest(classmates, k, order=orders)
        counted = _closer(dist, radius[:, None]) & (b.column_weights > 0)[None, :]
        m = jnp.sum(counted, axis=1).astype(x.dtype)
        return b.sum(digamma(orders.astype(x.dtype)) - digamma(sizes) - digamma(m))

    total = s.reduce(block)
    n = s.count
    return digamma(n) + total / n, n


@programs.one_program
def ross_mutual_information(
    x: ArrayLike,
    labels: ArrayLike,
    *,
    k: int = 3,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Ross (2014) nearest-neighbour MI between continuous ``x`` and integer class labels.

    .. math::
       \hat I = \psi(n) + \frac{1}{n}\sum_i \big[\psi(k_i) - \psi(N_{c_i}) - \psi(m_i)\big],

    with ``N_c`` the number of rows of class ``c``, ``k_i = min(k, N_{c_i} - 1)``, ``r_i``
    the max-norm distance from ``x_i`` to its ``k_i``-th nearest row of the same class and
    ``m_i = #{j : |x_j - x_i|_inf < r_i}`` over rows of every class, the row itself
    included (``#{j : x_j = x_i}`` when ``r_i = 0``). Rows of classes seen once are dropped
    from every term and from ``n``. These are the conventions of scikit-learn's
    ``mutual_info_classif`` (its ``_compute_mi_cd``; it has 1-D ``x`` only, where the
    max-norm is the absolute difference): equal to it without its ``1e-10`` noise and its
    clipping of negative estimates to 0 (we do not clip). Invariant to rescaling ``x`` at
    d = 1; at d > 1 the max-norm mixes the column scales (standardise first).

    Labels are compared for equality only: any integers, not necessarily ``0..C-1``, and no
    alphabet size is needed, so they may be traced. At d = 1 one sort finds the neighbours
    and counts (O(n log n)); at d > 1 the blocked ``[block, n]`` slab. The gradient is
    exactly 0 (``stop_gradient``), as for :func:`ksg_mutual_information`.

    Args:
      x: continuous samples ``[n, d]``.
      labels: integer class labels ``[n]`` paired with ``x``.
      k: neighbour order, ``1 <= k < n``; classes with ``k`` rows or fewer use
        ``N_c - 1`` (as scikit-learn does).
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: query rows per block of the slab (d > 1), an int >= 1; ``None`` picks it
        from the temporary-memory budget. The d = 1 sort does not read it.

    Returns:
      Scalar mutual information estimate (NaN when no class has two valid rows).

    Raises:
      ValueError: ``x`` not ``[n, d]``, ``labels`` not ``[n]``, mismatched sample counts,
        ``n < 2``, ``k >= n`` or ``block_size < 1``.
      TypeError: float ``labels`` or integer ``x``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> labels = jax.random.bernoulli(jax.random.key(0), 0.5, (4000,)).astype(jnp.int32)
      >>> noise = jax.random.normal(jax.random.key(1), (4000, 1))
      >>> x = noise + 4.0 * labels[:, None].astype(jnp.float32)  # classes 4 sd apart
      >>> print(f"{jaxinfo.ross_mutual_information(x, labels):.2f}")  # truth 0.63
      0.64

    References:
      Ross, "Mutual information between discrete and continuous data sets", PLoS ONE 9(2),
      e87357, 2014.
    """
    rows = guards.checked((x,), ("x",), where, axis_name, base)
    ((x,), mask) = rows.arrays, rows.mask
    labels = checked_labels(labels, x.shape[0])
    x = jax.lax.stop_gradient(x)
    count, counted_by = validation.valid_rows(mask, x.shape[0], "where")
    k = check_k(k, count, axis_name, counted_by=counted_by)
    if block_size is not None:
        validation.check_positive_int(block_size, "block_size")
    route = "sorted" if x.shape[1] == 1 else "brute"
    nats = _ross_nats
    if route == "brute":  # under vmap on CPU, one call per member (batching.py)
        nats = batching.one_call_at_a_time(nats)
    value, kept = nats(
        x, labels, mask, k=k, axis_name=axis_name, block_size=block_size, route=route
    )
    return rows.result(value, rows.holds(k + 1) & (kept >= 2))


@functools.partial(jax.jit, static_argnames=("k", "axis_name", "block_size"))
def _mixed_ksg_nats(x, y, mask, *, k, axis_name, block_size):
    s = samples.gather((x, y), mask, axis_name, block_size)
    x_all, y_all = s.all

    def block(b):
        (xr, yr), excluded = b.rows, excluded_pairs(b)
        dx, dy = chebyshev_distances(xr, x_all), chebyshev_distances(yr, y_all)
        joint = jnp.maximum(dx, dy)
        radius = kth_smallest(jnp.where(excluded, jnp.inf, joint), k)
        present = (b.column_weights > 0)[None, :]  # the row itself included

        def count(dist, r):
            return jnp.sum(_closer(dist, r[:, None]) & present, axis=1).astype(x.dtype)

        ties = count(joint, jnp.zeros_like(radius))
        k_i = jnp.where(radius > 0, jnp.asarray(k, x.dtype), ties)
        return b.sum(digamma(k_i) - digamma(count(dx, radius)) - digamma(count(dy, radius)))

    total = s.reduce(block, num_columns=2 * s.num_rows)  # x and y distances
    n = s.count
    return jnp.log(n) + total / n


@programs.one_program
def mixed_ksg_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 3,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Gao et al. (2017) mixed KSG: MI of variables that mix discrete and continuous values.

    .. math::
       \hat I = \log n + \frac{1}{n}\sum_i \big[\psi(\tilde k_i) - \psi(n_{x,i})
       - \psi(n_{y,i})\big],

    with ``rho_i`` the max-norm distance from ``(x_i, y_i)`` to its k-th nearest other row
    in the joint space. Where ``rho_i > 0``: ``tilde k_i = k`` and
    ``n_{x,i} = #{j : |x_j - x_i|_inf < rho_i}`` (the row itself included), likewise
    ``n_{y,i}``. Where ``rho_i = 0`` (the row is repeated at least k times): ``tilde k_i``,
    ``n_{x,i}`` and ``n_{y,i}`` count the rows at distance 0 in the joint space, in ``x``
    and in ``y`` (itself included). These are the conventions of the authors' code
    (``Mixed_KSG``, github.com/wgao9/mixed_KSG). On continuous data it equals KSG plus
    ``log n - psi(n)`` (about ``1 / (2n)``); for continuous ``x`` and well separated
    discrete ``y`` it equals Ross's estimator plus the same; where every ``rho_i = 0``
    (purely discrete data) it tends to the plug-in MI. Consistent for mixtures, where the
    three-entropies route fails (entropies of mixtures are undefined). The paper's
    Algorithm 1 writes ``log(n_x + 1)`` with ``<=`` and the row excluded: asymptotically
    the same, but low by about ``1.5 / n_x`` per row at small counts (0.22 nats below
    Ross's value on a 4-class problem at n = 500, docs/classical.md), so the code's
    conventions are kept.

    Discrete values are given as floats (equal values are at distance 0). Not invariant to
    rescaling one variable (the max-norm mixes the scales): standardise continuous columns
    first. The gradient is exactly 0 (``stop_gradient``).

    Args:
      x: samples ``[n, d_x]`` (discrete values as floats).
      y: samples ``[n, d_y]`` paired with ``x``.
      k: neighbour order, ``1 <= k < n``.
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: query rows per block of the slab, an int >= 1; ``None`` picks it from
        the temporary-memory budget. Memory O(n * block).

    Returns:
      Scalar mutual information estimate (unclipped).

    Raises:
      ValueError: mismatched sample counts, ``n < 2``, ``k >= n`` or ``block_size < 1``.
      TypeError: integer inputs (cast them to float).

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> x = jax.random.randint(jax.random.key(0), (4000, 1), 0, 4).astype(jnp.float32)
      >>> y = x + jax.random.bernoulli(jax.random.key(1), 0.5, (4000, 1)).astype(jnp.float32)
      >>> # truth: I(X; X + B) = H(X + B) - H(B) = 1.5596 - 0.6931 = 0.87 nats
      >>> print(f"{jaxinfo.mixed_ksg_mutual_information(x, y):.2f}")
      0.86

    References:
      Gao, Kannan, Oh & Viswanath, "Estimating mutual information for discrete-continuous
      mixtures", NeurIPS 2017 (arXiv:1709.06212).
    """
    rows = guards.checked((x, y), ("x", "y"), where, axis_name, base)
    x, y = (jax.lax.stop_gradient(a) for a in rows.arrays)
    count, counted_by = validation.valid_rows(rows.mask, x.shape[0], "where")
    k = check_k(k, count, axis_name, counted_by=counted_by)
    if block_size is not None:
        validation.check_positive_int(block_size, "block_size")
    nats = batching.one_call_at_a_time(_mixed_ksg_nats)  # vmap on CPU: one call per member
    value = nats(x, y, rows.mask, k=k, axis_name=axis_name, block_size=block_size)
    return rows.result(value, rows.holds(k + 1))
