"""Entropies and divergences of probability vectors ``[..., k]``.

These take distributions, not samples: the last axis holds the ``k`` probabilities and is
reduced, leading axes are batch axes (broadcast between ``p`` and ``q``). Zero probabilities
follow ``0 log 0 = 0`` with a zero gradient (``numerics.xlogx``), so one-hot or sparse
distributions never give NaN values or gradients.

Every function that takes probabilities checks them by default (``validate=True``): counts,
logits or a negative entry would otherwise give a plausible wrong number (the entropy of
counts ``[[1, 2], [3, 4]]`` came out negative). Concrete input raises ``ValueError`` naming
the argument and row; under ``jit`` a row that is no distribution gives NaN (one comparison
and one sum per row, a select in front of the arithmetic). ``validate=False`` skips it. Rows
with no included entry (``where``) are exempt; rows with a non-finite entry give NaN either way.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import numerics, validation


def _as_probabilities(p, name: str) -> jax.Array:
    arr = validation.as_float_array(p, name)
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(
            f"`{name}` must have shape [..., k] with k >= 1 outcomes on the last axis; "
            f"got shape {tuple(arr.shape)}. Use `{name}[None]` for a single probability."
        )
    return arr


def _entry_mask(where, shape) -> jax.Array | None:
    """Validates ``where`` (boolean, broadcastable to the probability array)."""
    if where is None:
        return None
    mask = validation.as_boolean(where, "where", "included entries")
    try:
        np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        raise ValueError(
            f"`where` must broadcast to the probabilities' shape {tuple(shape)}; "
            f"got shape {tuple(mask.shape)}."
        ) from None
    return mask


def _masked(p: jax.Array, mask: jax.Array | None) -> jax.Array:
    """Excluded entries become exact zeros (garbage, even NaN, never reaches the arithmetic)."""
    return p if mask is None else jnp.where(mask, p, jnp.zeros((), p.dtype))


# Rows may be off 1 by this much. Normalising in float32 is off by at most 4e-7 for
# k <= 1e6 outcomes (XLA and NumPy sum pairwise; a sequential sum is typically off by
# sqrt(k) eps = 1.2e-4 at k = 1e6), and float32 rows are often cast to float64 later, so the
# tolerance is not the dtype's own: sqrt(eps) of float32, or twice the eps of a coarser
# input dtype (a bfloat16 softmax is off by up to eps / 2). Counts, logits and scores miss by
# far more.
_SUM_TOLERANCE = float(np.sqrt(np.finfo(np.float32).eps))


def _sum_tolerance(dtype) -> float:
    return max(_SUM_TOLERANCE, 2.0 * float(jnp.finfo(dtype).eps))


def _raise_if_not_distribution(values: np.ndarray, included, name, tolerance, logits_fix):
    """Concrete check: every included entry >= 0 and every row sums to 1.

    Rows with a non-finite included entry are left to the NaN answer (``_answer``); rows
    with no included entry (``where``) are exempt.
    """
    checked = np.all(np.isfinite(values), axis=-1) & np.any(included, axis=-1)
    skip = "or pass validate=False to skip this check."
    negative = checked[..., None] & (values < 0)
    if np.any(negative):
        index = np.unravel_index(np.argmax(negative), negative.shape)
        row = name + (str(list(map(int, index[:-1]))) if values.ndim > 1 else "")
        raise ValueError(
            f"`{name}` must hold probabilities (entries >= 0, rows summing to 1); "
            f"`{row}` has the negative entry {values[index]:.4g} at position {int(index[-1])}. "
            f"Pass probabilities ({logits_fix}), {skip}"
        )
    off = checked & ~(np.abs(values.sum(axis=-1, dtype=np.float64) - 1.0) <= tolerance)
    if np.any(off):
        index = np.unravel_index(np.argmax(off), off.shape)
        row = name + (str(list(map(int, index))) if values.ndim > 1 else "")
        total = float(values[index].sum(dtype=np.float64))
        raise ValueError(
            f"every row of `{name}` must sum to 1 (a probability vector, tolerance "
            f"{tolerance:.1e}); `{row}` sums to {total:.6g} instead of 1. Normalise it "
            f"(`{name} / {name}.sum(-1, keepdims=True)`; {logits_fix}), {skip}"
        )


def _distribution_rows(p: jax.Array, mask: jax.Array | None, tolerance: float) -> jax.Array:
    """Traced check: rows that are distributions (or have no included entry).

    False for a row holding NaN or an infinity (the min or the sum is NaN or infinite), so
    it subsumes the finiteness check of ``_answer``.
    """
    ok = (jnp.min(p, axis=-1) >= 0) & (jnp.abs(jnp.sum(p, axis=-1) - 1.0) <= tolerance)
    if mask is None:
        return ok
    return ok | ~jnp.any(jnp.broadcast_to(mask, p.shape), axis=-1)


def _answer(value: jax.Array, arrays) -> jax.Array:
    """``value`` where every included entry of the row is finite, NaN elsewhere.

    ``p > 0`` tests (zero probabilities) are false for NaN, which would silently count a
    NaN entry as a zero probability.
    """
    if not arrays:
        return value
    # A row sum is finite iff every entry is (an overflowing sum is no distribution either);
    # one add per entry is cheaper than an all-reduce of ``isfinite``.
    finite = [jnp.isfinite(jnp.sum(a, axis=-1)) for a in arrays]
    holds = finite[0] if len(finite) == 1 else jnp.logical_and(*finite)
    return jnp.where(holds, value, jnp.nan)


class _Checked(NamedTuple):
    """Validated probability arrays and how the answer is guarded (:func:`_prepare`)."""

    arrays: list[jax.Array]
    unchecked: list[jax.Array]  # arrays whose rows are not covered by ``rows``
    rows: jax.Array | None  # traced rows that are distributions; None: none traced

    def answer(self, value: jax.Array) -> jax.Array:
        """``value`` NaN in rows with a non-finite entry or (traced check) no distribution."""
        value = _answer(value, self.unchecked)
        return value if self.rows is None else jnp.where(self.rows, value, jnp.nan)


def _prepare(arrays, names, where, validate, logits_fix) -> _Checked:
    """Shapes, dtypes and mask; with ``validate`` the distribution check (module notes).

    Concrete arrays raise ``ValueError``; traced arrays mark the rows that fail, and those
    rows are replaced by a uniform distribution before any arithmetic (the double-``where``:
    garbage such as a negative entry never reaches ``log``, so no NaN gradient flows back,
    not even into a ``q`` broadcast against a bad ``p`` row). The answer there is NaN.
    """
    validate = validation.check_bool(validate, "validate")
    arrays = [validation.as_array(a, n) for a, n in zip(arrays, names, strict=True)]
    tolerances = [
        _sum_tolerance(a.dtype) if jnp.issubdtype(a.dtype, jnp.floating) else 0.0 for a in arrays
    ]
    arrays = [_as_probabilities(a, n) for a, n in zip(arrays, names, strict=True)]
    if len({a.shape[-1] for a in arrays}) > 1:
        got = ", ".join(f"`{n}` has {a.shape[-1]}" for a, n in zip(arrays, names, strict=True))
        raise ValueError(f"the distributions must have the same number of outcomes k; {got}.")
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    dtype = np.result_type(*[a.dtype for a in arrays])
    mask = _entry_mask(where, shape)
    arrays = [_masked(a.astype(dtype), mask) for a in arrays]
    if not validate:
        return _Checked(arrays, arrays, None)
    included = None if mask is None else validation.concrete_value(mask)
    unchecked, rows = [], None
    for a, n, tolerance in zip(arrays, names, tolerances, strict=True):
        values = validation.concrete_value(a)
        if values is not None and (mask is None or included is not None):
            entries = np.ones(values.shape, bool) if included is None else included
            _raise_if_not_distribution(
                values, np.broadcast_to(entries, values.shape), n, tolerance, logits_fix
            )
            unchecked.append(a)  # rows with a non-finite entry were left to ``_answer``
            continue
        ok = _distribution_rows(a, mask, tolerance)
        rows = ok if rows is None else rows & ok
    if rows is None:
        return _Checked(arrays, unchecked, None)
    uniform = jnp.asarray(1.0 / shape[-1], dtype)
    arrays = [jnp.where(rows[..., None], a, uniform) for a in arrays]
    return _Checked(arrays, unchecked, rows)


def shannon_entropy(
    p: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = True,
) -> jax.Array:
    r"""Shannon entropy ``H(p) = -sum_i p_i log p_i`` of probability vectors.

    Zero entries contribute 0 with a zero gradient (never NaN), so one-hot vectors are fine.

    Args:
      p: probabilities ``[..., k]``; the last axis is reduced.
      base: logarithm base (``2`` for bits); default nats.
      where: boolean mask broadcastable to ``p``; excluded entries count as zero probability
        (the rest is not renormalised).
      validate: check that every row is a distribution: entries ``>= 0`` and a sum within
        ``3.5e-4`` of 1 (module notes). Concrete input raises ``ValueError``; traced input
        (``jit``, ``grad``, ``vmap``) gives NaN in the rows that fail. ``False`` skips the
        check (the fastest path, for inputs known to be distributions). Static.

    Returns:
      Entropies of shape ``p.shape[:-1]``.

    Raises:
      ValueError: bad shapes, or (concrete, ``validate=True``) a row that is no distribution.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.shannon_entropy(jnp.array([0.5, 0.25, 0.25, 0.0]), base=2):.4f}")
      1.5000
    """
    validation.log_base_divisor(base)
    checked = _prepare(
        (p,), ("p",), where, validate, "for logits use `shannon_entropy_from_logits`"
    )
    (p,) = checked.arrays
    return validation.convert_units(checked.answer(-jnp.sum(numerics.xlogx(p), axis=-1)), base)


def shannon_entropy_from_logits(
    logits: ArrayLike, *, base: float | None = None, where: ArrayLike | None = None
) -> jax.Array:
    r"""Shannon entropy of ``softmax(logits)``, stable for huge and ``-inf`` logits.

    Computed from ``log_softmax`` (the max is subtracted), so logits of magnitude ``1e4``
    are exact. Excluded entries (``where=False``) and ``-inf`` logits have probability 0 and
    receive a zero gradient: the use case is an attention-entropy regulariser with masked
    keys, where the naive ``p * log p`` gives ``0 * -inf = NaN`` gradients.

    Args:
      logits: unnormalised log-probabilities ``[..., k]``.
      base: as in :func:`shannon_entropy`.
      where: boolean mask broadcastable to ``logits``; the softmax is taken over the
        included entries only (an all-excluded row has entropy 0).

    Returns:
      Entropies of shape ``logits.shape[:-1]``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> logits = jnp.array([1e4, 1e4, -jnp.inf, 0.0])
      >>> print(f"{jaxinfo.shannon_entropy_from_logits(logits, base=2):.4f}")
      1.0000
    """
    validation.log_base_divisor(base)
    logits = _as_probabilities(logits, "logits")
    mask = _entry_mask(where, logits.shape)
    valid = logits > -jnp.inf
    valid = valid if mask is None else valid & mask
    # A large finite fill keeps excluded entries out of the softmax (exp underflows to 0)
    # without -inf arithmetic; an all-excluded row then is uniform over fills, masked to 0.
    log_p = jax.nn.log_softmax(jnp.where(valid, logits, numerics.mask_fill(logits.dtype)), axis=-1)
    terms = jnp.where(valid, jnp.exp(log_p) * log_p, 0.0)
    included = logits if mask is None else jnp.where(mask, logits, 0.0)
    holds = jnp.all(jnp.isfinite(included) | (included == -jnp.inf), axis=-1)
    return validation.convert_units(jnp.where(holds, -jnp.sum(terms, axis=-1), jnp.nan), base)


def _relative_terms(p: jax.Array, q: jax.Array, difference: jax.Array | None = None) -> jax.Array:
    """``p log(p / q)`` elementwise; 0 where ``p = 0``, ``+inf`` where ``p > 0 = q``.

    Evaluated as ``p log1p((p - q) / q)``: for close ``p`` and ``q`` the difference of two
    logs loses the leading digits (the JS divergence of nearby distributions came out 10x
    off in float32). ``difference`` may pass an exactly computed ``p - q``.
    """
    positive = p > 0
    difference = p - q if difference is None else difference
    ratio = jnp.where(positive, difference, 0.0) / jnp.where(positive, q, 1.0)
    # log1p only where p and q are close: for p << q the ratio rounds to -1 (p = 1e-30
    # against q = 0.5 in float32) and log1p(-1) = -inf with a NaN gradient.
    close = jnp.abs(ratio) < 0.5
    far_p, far_q = (jnp.where(positive & ~close, a, 1.0) for a in (p, q))
    log_ratio = jnp.where(
        close, jnp.log1p(jnp.where(close, ratio, 0.0)), jnp.log(far_p) - jnp.log(far_q)
    )
    return jnp.where(positive, p * log_ratio, 0.0)


def kl_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = True,
) -> jax.Array:
    r"""Kullback–Leibler divergence ``KL(p || q) = sum_i p_i log(p_i / q_i)``.

    Entries with ``p_i = 0`` contribute 0 whatever ``q_i`` is (zero gradient). Where
    ``p_i > 0`` and ``q_i = 0`` the divergence is ``+inf`` (``p`` is not absolutely continuous
    with respect to ``q``), as in ``scipy.stats.entropy``; smooth ``q`` first if you need a
    finite loss.

    Args:
      p: probabilities ``[..., k]`` (batch axes broadcast with ``q``).
      q: probabilities ``[..., k]`` (batch axes broadcast with ``p``).
      base: as in :func:`shannon_entropy`.
      where: boolean mask broadcastable to ``p`` and ``q``; excluded entries are ignored.
      validate: check both inputs as in :func:`shannon_entropy` (default on).

    Returns:
      Divergences of the broadcast batch shape, ``>= 0``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> p, q = jnp.array([0.5, 0.5]), jnp.array([0.9, 0.1])
      >>> print(f"{jaxinfo.kl_divergence(p, q):.4f}")
      0.5108
    """
    validation.log_base_divisor(base)
    checked = _prepare((p, q), ("p", "q"), where, validate, "from logits: `jax.nn.softmax(logits)`")
    p, q = checked.arrays
    return validation.convert_units(checked.answer(jnp.sum(_relative_terms(p, q), axis=-1)), base)


def js_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = True,
) -> jax.Array:
    r"""Jensen–Shannon divergence ``(KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2``.

    Symmetric, always finite, ``<= log 2`` (1 bit). Computed as the two KL terms rather
    than ``H(m) - (H(p) + H(q)) / 2``, which cancels catastrophically for close ``p``, ``q``.
    ``scipy.spatial.distance.jensenshannon`` returns the square root of this value.

    Args:
      p: probabilities ``[..., k]`` (batch axes broadcast with ``q``).
      q: probabilities ``[..., k]`` (batch axes broadcast with ``p``).
      base: as in :func:`shannon_entropy`.
      where: boolean mask broadcastable to ``p`` and ``q``; excluded entries are ignored.
      validate: check both inputs as in :func:`shannon_entropy` (default on).

    Returns:
      Divergences of the broadcast batch shape, in ``[0, log 2]``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> p, q = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
      >>> print(f"{jaxinfo.js_divergence(p, q, base=2):.4f}")
      1.0000
    """
    validation.log_base_divisor(base)
    checked = _prepare((p, q), ("p", "q"), where, validate, "from logits: `jax.nn.softmax(logits)`")
    p, q = checked.arrays
    m, half_gap = 0.5 * (p + q), 0.5 * (p - q)  # p - m without rounding m first
    value = 0.5 * jnp.sum(
        _relative_terms(p, m, half_gap) + _relative_terms(q, m, -half_gap), axis=-1
    )
    return validation.convert_units(checked.answer(value), base)


def renyi_entropy(
    p: ArrayLike,
    *,
    alpha: float,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = True,
) -> jax.Array:
    r"""Rényi entropy of order ``alpha``: ``log(sum_i p_i^alpha) / (1 - alpha)``.

    ``alpha = 1`` is the Shannon entropy, ``alpha = inf`` the min-entropy ``-log max_i p_i``,
    ``alpha = 2`` the collision entropy. Orders near 1 are evaluated without cancellation
    (``log1p``/``expm1``), so the value is continuous in ``alpha``.

    Args:
      p: probabilities ``[..., k]``.
      alpha: order ``> 0`` or ``inf`` (static Python number).
      base: as in :func:`shannon_entropy`.
      where: boolean mask broadcastable to ``p``; excluded entries count as zero.
      validate: check ``p`` as in :func:`shannon_entropy` (default on).

    Returns:
      Entropies of shape ``p.shape[:-1]``; non-increasing in ``alpha``.

    Raises:
      ValueError: ``alpha <= 0`` or NaN; bad shapes.
      TypeError: a traced ``alpha``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> p = jnp.array([0.5, 0.25, 0.25])
      >>> print(f"{jaxinfo.renyi_entropy(p, alpha=2.0, base=2):.4f}")
      1.4150
    """
    alpha = validation.check_alpha(alpha)
    validation.log_base_divisor(base)
    checked = _prepare((p,), ("p",), where, validate, "from logits: `jax.nn.softmax(logits)`")
    (p,) = checked.arrays
    value = numerics.renyi_entropy_of_probabilities(p, alpha)
    return validation.convert_units(checked.answer(value), base)
