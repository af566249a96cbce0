"""Plug-in entropy and mutual information of discrete samples, and binned MI of continuous ones.

One routine turns integer codes into counts and an entropy (:func:`_code_entropy`). An
alphabet of at most ``max(n, 1024)`` cells is counted by a scatter-add into dense bins; a
larger one by sorting the codes and counting runs, so memory is O(n) however many cells the
alphabet has: a joint code of several columns (mixed radix, no hashing) may index up to
``2**31 - 1`` cells while only the observed ones cost anything. With ``axis_name`` the codes
(``n`` integers) and the row mask are all-gathered and every device computes the global
counts.

Counts do not depend on the sample values continuously, so none of these estimators has a
useful gradient: ``jax.grad`` returns zeros.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import collectives, guards, moments, numerics, programs, samples, validation
from jaxinfo._src.options import ENTROPY_CORRECTIONS, EntropyCorrection

MAX_CELLS = 2**31 - 1  # codes are int32


def _radices(num_classes, num_columns: int, name: str) -> tuple[int, ...]:
    """Per-column alphabet sizes from an int (shared) or a sequence (one per column)."""
    if isinstance(num_classes, Sequence) and not isinstance(num_classes, str):
        sizes = tuple(validation.check_positive_int(c, name) for c in num_classes)
        if len(sizes) != num_columns:
            raise ValueError(
                f"`{name}` must be one int or one per label column ({num_columns}); "
                f"got {len(sizes)}."
            )
        return sizes
    return (validation.check_positive_int(num_classes, name),) * num_columns


def _check_cells(sizes: Sequence[int], what: str) -> int:
    cells = math.prod(sizes)
    if cells > MAX_CELLS:
        raise ValueError(
            f"{what} has {' * '.join(map(str, sizes))} = {cells} cells, more than an int32 code "
            f"can index ({MAX_CELLS}). Use fewer classes, bins or columns."
        )
    return cells


def _combine(columns: jax.Array, sizes: Sequence[int]) -> jax.Array:
    """Mixed-radix code of integer columns ``[n, c]`` (column 0 least significant)."""
    code = jnp.zeros(columns.shape[0], jnp.int32)
    stride = 1
    for j, size in enumerate(sizes):
        code = code + columns[:, j] * stride
        stride *= size
    return code


def _as_labels(labels, name: str, min_rows: int) -> jax.Array:
    arr = validation.as_array(labels, name)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(
            f"`{name}` must be integer class labels; got dtype {arr.dtype}. "
            "For continuous samples use binned_mutual_information or a continuous estimator."
        )
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"`{name}` must have shape [n] (or [n, c] for c label columns); got {tuple(arr.shape)}."
        )
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"`{name}` needs at least {min_rows} samples; got {arr.shape[0]}. Pass more samples."
        )
    return arr if arr.ndim == 2 else arr[:, None]


def _check_concrete(in_range: jax.Array, name: str, sizes) -> None:
    """Raises for out-of-range labels when they are concrete (outside ``jit``)."""
    ok = validation.concrete_value(in_range)
    if ok is not None and not ok:
        bounds = sizes[0] if len(set(sizes)) == 1 else sizes
        raise ValueError(
            f"`{name}` must lie in [0, num_classes) with num_classes = {bounds}; got values "
            "outside. Remap the labels or raise the number of classes. "
            "(Under jit the result is NaN.)"
        )


def _label_codes(arrays, names, class_counts, where, axis_name):
    """Validated, gathered codes of each label array, the row weights and an answer flag.

    The flag is false for out-of-range labels or fewer than two valid rows.

    ``class_counts`` holds one ``(option name, value)`` pair per label array.
    """
    validation.check_axis_name(axis_name)
    min_rows = 1 if axis_name is not None else 2
    labels = [_as_labels(a, n, min_rows) for a, n in zip(arrays, names, strict=True)]
    num = validation.check_same_num_samples(labels, names)
    local_mask = validation.as_mask(where, num)
    if axis_name is None:
        count, counted_by = validation.valid_rows(local_mask, num, "where")
        validation.require_rows(count, 2, names[0], counted_by)
    mask = collectives.gather_rows(local_mask, axis_name)
    dtype = validation.compute_dtype(jnp.float64)
    codes, sizes_all, all_ok = [], [], jnp.asarray(True)
    for lab, name, (count_name, count) in zip(labels, names, class_counts, strict=True):
        sizes = _radices(count, lab.shape[1], count_name)
        _check_cells(sizes, f"`{name}`")
        lab = collectives.gather_rows(lab, axis_name)
        valid = samples.valid_rows(mask, lab.shape[0])
        fits = (lab >= 0) & (lab < jnp.asarray(sizes, lab.dtype))
        ok = jnp.all(jnp.all(fits, axis=1) | ~valid)
        _check_concrete(ok, name, sizes)
        # Masked rows keep in-range labels (weight 0): codes independent of the mask, so a
        # vmap over masks sorts them once or scatters batched weights (_code_entropy).
        lab = jnp.where(fits, lab, 0).astype(jnp.int32)
        codes.append(_combine(lab, sizes))
        sizes_all.append(math.prod(sizes))
        all_ok = all_ok & ok
    weights = samples.row_weights(mask, codes[0].shape[0], dtype)
    return codes, sizes_all, weights, all_ok & (jnp.sum(weights) >= 2)


def _code_counts(codes: jax.Array, weights: jax.Array) -> jax.Array:
    """Per-row counts of integer codes: each run's count at its last row, 0 elsewhere.

    Sorting and counting runs needs O(n) memory whatever the alphabet size. Rows of weight 0
    (masked) join some run but add nothing to its count. The order comes from the codes
    alone and each run's count is a difference of running totals of the (0/1, so exactly
    summed) weights at its last row: under ``vmap`` over masks of fixed labels the sort is
    done once, not once per mask (a batched sort and scatter cost 1.3x the single calls).
    """
    order = jnp.argsort(codes)
    codes, weights = codes[order], weights[order]
    changes = codes[1:] != codes[:-1]
    starts = jnp.concatenate([jnp.ones(1, bool), changes])
    ends = jnp.concatenate([changes, jnp.ones(1, bool)])
    running = jnp.cumsum(weights)
    before = running - weights
    # running totals never decrease: the largest at a start so far is that of this run's start
    before_run = jax.lax.cummax(jnp.where(starts, before, 0.0))
    return jnp.where(ends, running - before_run, 0.0)


def _grassberger_terms(counts: jax.Array) -> jax.Array:
    """``G(m) = psi(m) + (-1)^m (psi((m + 1) / 2) - psi(m / 2)) / 2`` (0 where ``m = 0``).

    Grassberger (2003), eq. (35): ``G(m) - log n`` estimates ``log p`` of a class counted
    ``m`` times with a bias that decays exponentially in ``m``, not as ``1 / m``.
    """
    seen = counts > 0
    m = jnp.where(seen, counts, 1.0)
    sign = 1.0 - 2.0 * jnp.mod(m, 2.0)
    g = jax.scipy.special.digamma(m) + 0.5 * sign * (
        jax.scipy.special.digamma((m + 1.0) / 2.0) - jax.scipy.special.digamma(m / 2.0)
    )
    return jnp.where(seen, g, 0.0)


def _chao_shen(counts: jax.Array, total: jax.Array) -> jax.Array:
    """Coverage-adjusted Horvitz–Thompson entropy (Chao and Shen 2003).

    Unseen classes are accounted for by shrinking the frequencies by the Good–Turing coverage
    ``C = 1 - f1 / n`` and weighting each seen class by the inverse of its probability
    ``1 - (1 - p)^n`` of being seen at all.
    """
    seen = counts > 0
    singletons = jnp.sum(counts == 1.0).astype(counts.dtype)
    singletons = jnp.where(singletons >= total, total - 1.0, singletons)  # C > 0
    coverage = 1.0 - singletons / total
    p = coverage * jnp.where(seen, counts, 1.0) / total
    # (1 - p)^n as exp(n log1p(-p)): exact for p near 0 where 1 - p rounds to 1
    seen_prob = -jnp.expm1(total * jnp.log1p(-p))
    return -jnp.sum(jnp.where(seen, numerics.xlogx(p) / seen_prob, 0.0), axis=-1)


def _counts_entropy(counts: jax.Array, correction: EntropyCorrection | None) -> jax.Array:
    """Entropy (nats) from per-row counts (zeros ignored) by plug-in or a corrected estimator."""
    total = jnp.sum(counts)
    total = jnp.where(total > 0, total, 1.0)
    if correction == "grassberger":
        return jnp.log(total) - jnp.sum(counts * _grassberger_terms(counts)) / total
    if correction == "chao_shen":
        return _chao_shen(counts, total)
    value = -jnp.sum(numerics.xlogx(counts / total), axis=-1)
    if correction == "miller_madow":
        value = value + _miller_madow(jnp.sum(counts > 0).astype(counts.dtype), total)
    return value


DENSE_CELLS = 1024
"""Alphabets up to ``max(n, DENSE_CELLS)`` cells are counted into a dense ``[cells]`` array."""


def _code_entropy(
    codes: jax.Array, weights: jax.Array, cells: int, correction: EntropyCorrection | None = None
) -> jax.Array:
    """Entropy (nats) of integer codes in ``[0, cells)`` weighted by 0/1 row ``weights``.

    An alphabet no larger than ``n`` (or :data:`DENSE_CELLS`) is counted by one scatter-add
    into ``[cells]`` bins, O(n + cells) without a sort (13x faster than sorting at n = 5000,
    1000 cells, one CPU thread); larger ones by sorting (:func:`_code_counts`), O(n) memory whatever
    the alphabet. Neither depends on the mask beyond the weights, so a ``vmap`` over masks
    of fixed labels scatters batched weights, or sorts once.
    """
    if cells <= max(codes.shape[0], DENSE_CELLS):
        counts = jnp.zeros(cells, weights.dtype).at[codes].add(weights)
    else:
        counts = _code_counts(codes, weights)
    return _counts_entropy(counts, correction)


def _miller_madow(observed: jax.Array, total: jax.Array) -> jax.Array:
    """Miller–Madow bias term ``(m - 1) / (2 n)`` (plug-in underestimates by about this)."""
    return (observed - 1.0) / (2.0 * total)


def _check_correction(correction) -> None:
    validation.check_choice(correction, "correction", (None, *ENTROPY_CORRECTIONS))


def _mutual_information_of_codes(
    cx, cy, cells_x: int, cells_y: int, weights, correction
) -> jax.Array:
    """``H(X) + H(Y) - H(X, Y)`` (nats) from per-row codes, each entropy corrected alike."""
    return (
        _code_entropy(cx, weights, cells_x, correction)
        + _code_entropy(cy, weights, cells_y, correction)
        - _code_entropy(cx * cells_y + cy, weights, cells_x * cells_y, correction)
    )


def _entropy(labels, num_classes, base, where, axis_name, correction) -> jax.Array:
    validation.log_base_divisor(base)
    (codes,), (cells,), weights, ok = _label_codes(
        (labels,), ("labels",), [("num_classes", num_classes)], where, axis_name
    )
    value = _code_entropy(codes, weights, cells, correction)
    return validation.convert_units(jnp.where(ok, value, jnp.nan), base)


@programs.one_program
def plugin_entropy(
    labels: ArrayLike,
    *,
    num_classes: int | Sequence[int],
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Plug-in (maximum-likelihood) Shannon entropy of integer samples.

    ``H = -sum_c (n_c / n) log(n_c / n)`` from the class counts ``n_c``. Biased low by about
    ``(m - 1) / (2n)`` (``m`` observed classes); see :func:`miller_madow_entropy`.

    Args:
      labels: integer labels ``[n]`` in ``[0, num_classes)``, or ``[n, c]``: ``c`` label
        columns whose joint entropy is taken (each row is one joint symbol).
      num_classes: static alphabet size; one int, or one per column for ``[n, c]`` labels.
        The product must fit an int32 code (< 2**31); only observed symbols cost memory.
      base: logarithm base (``2`` for bits); default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map`` (labels are all-gathered).

    Returns:
      Scalar entropy in ``[0, log min(n, num_classes)]``.

    Raises:
      ValueError: ``n < 2``, bad shapes, too many joint cells, or concrete labels out of range
        (under ``jit`` out-of-range labels give NaN instead).
      TypeError: non-integer labels.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> labels = jnp.array([0, 1, 2, 3, 0, 1, 2, 3])
      >>> print(f"{jaxinfo.plugin_entropy(labels, num_classes=4, base=2):.4f}")
      2.0000
    """
    return _entropy(labels, num_classes, base, where, axis_name, None)


@programs.one_program
def miller_madow_entropy(
    labels: ArrayLike,
    *,
    num_classes: int | Sequence[int],
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Miller–Madow bias-corrected entropy of integer samples.

    ``H_MM = H_plugin + (m - 1) / (2n)`` with ``m`` the number of classes actually observed.
    The first-order correction of the plug-in's downward bias; accurate when most classes
    are seen several times, still biased low when ``n`` is small against the alphabet.

    Args:
      labels: as in :func:`plugin_entropy`.
      num_classes: as in :func:`plugin_entropy`.
      base: as in :func:`plugin_entropy`.
      where: as in :func:`plugin_entropy`.
      axis_name: as in :func:`plugin_entropy`.

    Returns:
      Scalar entropy.

    Raises:
      ValueError, TypeError: as in :func:`plugin_entropy`.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> labels = jnp.array([0, 1, 2, 3, 0, 1, 2, 3])
      >>> print(f"{jaxinfo.miller_madow_entropy(labels, num_classes=4):.4f}")
      1.5738

    References:
      Miller, "Note on the bias of information estimates", 1955.
    """
    return _entropy(labels, num_classes, base, where, axis_name, "miller_madow")


@programs.one_program
def grassberger_entropy(
    labels: ArrayLike,
    *,
    num_classes: int | Sequence[int],
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Grassberger (2003) bias-corrected entropy of integer samples.

    ``H_G = log n - (1/n) sum_c n_c G(n_c)`` with
    ``G(m) = psi(m) + (-1)^m (psi((m + 1) / 2) - psi(m / 2)) / 2`` (``psi`` the digamma
    function) replacing the plug-in's ``log n_c``. Its bias falls faster with the counts than
    Miller–Madow's: the estimator for small samples, when many classes are seen only a few
    times (``n`` not much larger than the alphabet).

    Args:
      labels: as in :func:`plugin_entropy`.
      num_classes: as in :func:`plugin_entropy`.
      base: as in :func:`plugin_entropy`.
      where: as in :func:`plugin_entropy`.
      axis_name: as in :func:`plugin_entropy`.

    Returns:
      Scalar entropy (may exceed ``log num_classes`` when ``n`` is tiny; not clipped).

    Raises:
      ValueError, TypeError: as in :func:`plugin_entropy`.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> labels = jnp.array([0, 1, 2, 3, 0, 1, 2, 3])
      >>> print(f"{jaxinfo.grassberger_entropy(labels, num_classes=4):.4f}")
      1.3498

    References:
      Grassberger, "Entropy estimates from insufficient samplings", arXiv:physics/0307138,
      2003 (eq. 35).
    """
    return _entropy(labels, num_classes, base, where, axis_name, "grassberger")


@programs.one_program
def chao_shen_entropy(
    labels: ArrayLike,
    *,
    num_classes: int | Sequence[int],
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Chao–Shen (coverage-adjusted Horvitz–Thompson) entropy of integer samples.

    With ``f1`` classes seen once, the sample coverage ``C = 1 - f1 / n`` (``f1 = n - 1``
    when every sample is a singleton) shrinks the frequencies to ``p_c = C n_c / n``, and
    ``H_CS = -sum_c p_c log p_c / (1 - (1 - p_c)^n)`` weights each seen class by the inverse
    of its chance of being seen. It accounts for unseen classes: the estimator when the
    alphabet may be much larger than ``n`` (many singletons).

    Args:
      labels: as in :func:`plugin_entropy`.
      num_classes: as in :func:`plugin_entropy`.
      base: as in :func:`plugin_entropy`.
      where: as in :func:`plugin_entropy`.
      axis_name: as in :func:`plugin_entropy`.

    Returns:
      Scalar entropy (not clipped to ``log num_classes``).

    Raises:
      ValueError, TypeError: as in :func:`plugin_entropy`.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> labels = jnp.array([0, 1, 2, 3, 0, 1, 2, 3])
      >>> print(f"{jaxinfo.chao_shen_entropy(labels, num_classes=4):.4f}")
      1.5405

    References:
      Chao and Shen, "Nonparametric estimation of Shannon's index of diversity when there are
      unseen species in sample", Environmental and Ecological Statistics 10, 2003.
    """
    return _entropy(labels, num_classes, base, where, axis_name, "chao_shen")


@programs.one_program
def discrete_mutual_information(
    x_labels: ArrayLike,
    y_labels: ArrayLike,
    *,
    num_x: int | Sequence[int],
    num_y: int | Sequence[int],
    correction: EntropyCorrection | None = None,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Plug-in mutual information of paired integer samples.

    ``I(X; Y) = H(X) + H(Y) - H(X, Y)`` from the counts. Biased upwards by about
    ``(m_x - 1)(m_y - 1) / (2n)`` for independent variables; ``correction=`` computes each of
    the three entropies with that estimator instead of the plug-in: ``"miller_madow"``
    removes the first-order bias, ``"grassberger"`` and ``"chao_shen"`` (see
    :func:`grassberger_entropy`, :func:`chao_shen_entropy`) more of it when ``n`` is small
    against the joint alphabet. Corrected values may be negative; they are not clipped.

    Args:
      x_labels: integer labels ``[n]`` or ``[n, c_x]``.
      y_labels: integer labels ``[n]`` or ``[n, c_y]`` paired with ``x_labels``.
      num_x: static alphabet size of ``x_labels`` (int, or one per column).
      num_y: static alphabet size of ``y_labels`` (int, or one per column).
      correction: ``None`` (plug-in), ``"miller_madow"``, ``"grassberger"`` or
        ``"chao_shen"``.
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.

    Returns:
      Scalar MI, ``0 <= I <= min(H(X), H(Y))`` for the plug-in.

    Raises:
      ValueError: mismatched sample counts, ``n < 2``, concrete labels out of range (NaN under
        ``jit``), a joint alphabet ``>= 2**31`` cells, or an unknown ``correction``.
      TypeError: non-integer labels.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> x = jnp.array([0, 0, 1, 1, 2, 2, 3, 3])
      >>> print(f"{jaxinfo.discrete_mutual_information(x, x % 2, num_x=4, num_y=2, base=2):.4f}")
      1.0000
    """
    _check_correction(correction)
    validation.log_base_divisor(base)
    counts = [("num_x", num_x), ("num_y", num_y)]
    (cx, cy), (kx, ky), weights, ok = _label_codes(
        (x_labels, y_labels), ("x_labels", "y_labels"), counts, where, axis_name
    )
    _check_cells((kx, ky), "the joint alphabet of `x_labels` and `y_labels`")
    value = _mutual_information_of_codes(cx, cy, kx, ky, weights, correction)
    return validation.convert_units(jnp.where(ok, value, jnp.nan), base)


def _bin_columns(x: jax.Array, valid: jax.Array, bins: int, adaptive: bool) -> jax.Array:
    """Per-column bin indices ``[n, d]`` in ``[0, bins)`` computed from the valid rows."""
    x = jax.lax.stop_gradient(x)
    inside = valid[:, None]
    if adaptive:
        # Equal-mass bins: rank among valid values (ties share the lower rank) * bins / n.
        ranks, _ = moments.column_ranks(x, valid)
        count = jnp.maximum(jnp.sum(valid, dtype=jnp.int32), 1)
        columns = (ranks.astype(jnp.int32) * bins) // count
    else:
        low = jnp.min(jnp.where(inside, x, jnp.inf), axis=0)
        high = jnp.max(jnp.where(inside, x, -jnp.inf), axis=0)
        span = high - low
        scaled = (x - low) / jnp.where(span > 0, span, 1.0) * bins
        columns = jnp.floor(jnp.where(inside & (span > 0), scaled, 0.0)).astype(jnp.int32)
    return jnp.where(inside, jnp.clip(columns, 0, bins - 1), 0)


@programs.one_program
def binned_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    bins: int = 16,
    adaptive: bool = False,
    correction: EntropyCorrection | None = None,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Mutual information of continuous samples after discretising each column into bins.

    The estimator of information-plane analyses of layer activations. Each column is cut
    into ``bins`` bins, either of equal width over its (valid, global) min..max, or with
    ``adaptive=True`` of equal mass (empirical quantile edges; tied values share a bin).
    The per-column bin indices of ``x`` (and of ``y``) are combined into one joint symbol
    with a mixed radix, and the discrete plug-in MI of the symbols is returned.

    A ``d``-column variable has ``bins**d`` cells: the number of cells must stay below
    ``2**31`` (``ValueError`` otherwise), and once ``bins**d`` approaches ``n`` almost every
    sample has its own cell, so the estimate saturates at ``log n`` whatever the dependence.
    The plug-in is biased upwards by about ``(m_x - 1)(m_y - 1) / (2n)`` (``m`` = occupied
    cells; 0.02 nats for 16 x 16 bins at n = 5000); ``correction="miller_madow"`` removes the
    first-order bias. Bin assignment is piecewise constant: the gradient is zero.

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      bins: bins per column, ``>= 2`` (static).
      adaptive: equal-mass instead of equal-width bins (static).
      correction: ``None``, ``"miller_madow"``, ``"grassberger"`` or ``"chao_shen"``
        (each entropy of ``H(X) + H(Y) - H(X, Y)`` by that estimator).
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows (bin edges come from valid rows only).
      axis_name: mesh axis of the rows inside ``shard_map`` (the ``[n, d]`` inputs are
        all-gathered; edges and counts are global).

    Returns:
      Scalar MI (no gradient: ``jax.grad`` gives zeros).

    Raises:
      ValueError: ``bins < 2``, mismatched sample counts, ``n < 2``, or ``bins**(d_x + d_y)``
        beyond an int32 code.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (2000, 1))
      >>> y = x + 0.5 * jax.random.normal(kn, (2000, 1))
      >>> mi = jaxinfo.binned_mutual_information(x, y, bins=8, adaptive=True)  # truth 0.805
      >>> print(f"{mi:.4f}")
      0.6568
    """
    bins = validation.check_positive_int(bins, "bins", minimum=2)
    validation.check_bool(adaptive, "adaptive")
    _check_correction(correction)
    rows = guards.checked((x, y), ("x", "y"), where, axis_name, base)
    (x, y), mask = rows.arrays, rows.mask
    sizes_x, sizes_y = (bins,) * x.shape[1], (bins,) * y.shape[1]
    _check_cells(
        sizes_x + sizes_y,
        f"binning x and y ({x.shape[1]} + {y.shape[1]} columns, {bins} bins each)",
    )
    x, y = collectives.gather_rows(x, axis_name), collectives.gather_rows(y, axis_name)
    mask = collectives.gather_rows(mask, axis_name)
    valid = samples.valid_rows(mask, x.shape[0])
    cx = _combine(_bin_columns(x, valid, bins, adaptive), sizes_x)
    cy = _combine(_bin_columns(y, valid, bins, adaptive), sizes_y)
    weights = samples.row_weights(mask, x.shape[0], x.dtype)
    return rows.result(
        _mutual_information_of_codes(
            cx, cy, math.prod(sizes_x), math.prod(sizes_y), weights, correction
        )
    )
