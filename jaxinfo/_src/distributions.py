"""Entropies and divergences of probability vectors ``[..., k]``.

These take distributions, not samples: the last axis holds the ``k`` probabilities and is
reduced, leading axes are batch axes (broadcast between ``p`` and ``q``). Zero probabilities
follow ``0 log 0 = 0`` with a zero gradient (``numerics.xlogx``), so one-hot or sparse
distributions never give NaN values or gradients.
"""

from __future__ import annotations

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


def _check_distribution(p: jax.Array, name: str) -> None:
    """Opt-in value check (``validate=True``): non-negative rows summing to 1."""
    values = validation.concrete_value(p)
    if values is None:
        raise TypeError(
            f"`validate=True` inspects the values of `{name}`, so it needs concrete arrays; "
            "call it outside `jit` (or drop validate=True inside jitted code)."
        ) from None
    if np.any(values < 0):
        raise ValueError(
            f"`{name}` must be non-negative; found {values.min():.3g}. "
            "Pass probabilities (e.g. `jax.nn.softmax(logits)`), not logits or scores."
        )
    tolerance = np.sqrt(np.finfo(values.dtype).eps)
    sums = values.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0)) if sums.size else 0.0
    if worst > tolerance:
        raise ValueError(
            f"every row of `{name}` must sum to 1 (tolerance {tolerance:.1e} for {values.dtype}); "
            f"the worst row is off by {worst:.3g}. "
            f"Normalise with `{name} / {name}.sum(-1, keepdims=True)`."
        )


def _answer(value: jax.Array, arrays) -> jax.Array:
    """``value`` where every included entry of the row is finite, NaN elsewhere.

    ``p > 0`` tests (zero probabilities) are false for NaN, which would silently count a
    NaN entry as a zero probability.
    """
    finite = [jnp.all(jnp.isfinite(a), axis=-1) for a in arrays]
    holds = finite[0] if len(finite) == 1 else jnp.logical_and(*finite)
    return jnp.where(holds, value, jnp.nan)


def _prepare(arrays, names, where, validate):
    arrays = [_as_probabilities(a, n) for a, n in zip(arrays, names, strict=True)]
    if len({a.shape[-1] for a in arrays}) > 1:
        got = ", ".join(f"`{n}` has {a.shape[-1]}" for a, n in zip(arrays, names, strict=True))
        raise ValueError(f"the distributions must have the same number of outcomes k; {got}.")
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    dtype = np.result_type(*[a.dtype for a in arrays])
    mask = _entry_mask(where, shape)
    arrays = [_masked(a.astype(dtype), mask) for a in arrays]
    if validate:
        for a, n in zip(arrays, names, strict=True):
            _check_distribution(a, n)
    return arrays


def shannon_entropy(
    p: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = False,
) -> jax.Array:
    r"""Shannon entropy ``H(p) = -sum_i p_i log p_i`` of probability vectors.

    Zero entries contribute 0 with a zero gradient (never NaN), so one-hot vectors are fine.

    Args:
      p: probabilities ``[..., k]``; the last axis is reduced.
      base: logarithm base (``2`` for bits); default nats.
      where: boolean mask broadcastable to ``p``; excluded entries count as zero probability
        (the rest is not renormalised).
      validate: check (eagerly, concrete inputs only) that entries are non-negative and rows
        sum to 1 within ``sqrt(eps)`` of the dtype; raises ``ValueError`` otherwise.

    Returns:
      Entropies of shape ``p.shape[:-1]``.

    Raises:
      ValueError: bad shapes, or (``validate=True``) invalid probabilities.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.shannon_entropy(jnp.array([0.5, 0.25, 0.25, 0.0]), base=2):.4f}")
      1.5000
    """
    validation.log_base_divisor(base)
    (p,) = _prepare((p,), ("p",), where, validate)
    return validation.convert_units(_answer(-jnp.sum(numerics.xlogx(p), axis=-1), (p,)), base)


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
    validate: bool = False,
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
      validate: check both inputs (concrete only) as in :func:`shannon_entropy`.

    Returns:
      Divergences of the broadcast batch shape, ``>= 0``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> p, q = jnp.array([0.5, 0.5]), jnp.array([0.9, 0.1])
      >>> print(f"{jaxinfo.kl_divergence(p, q):.4f}")
      0.5108
    """
    validation.log_base_divisor(base)
    p, q = _prepare((p, q), ("p", "q"), where, validate)
    return validation.convert_units(_answer(jnp.sum(_relative_terms(p, q), axis=-1), (p, q)), base)


def js_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = False,
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
      validate: check both inputs (concrete only) as in :func:`shannon_entropy`.

    Returns:
      Divergences of the broadcast batch shape, in ``[0, log 2]``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> p, q = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
      >>> print(f"{jaxinfo.js_divergence(p, q, base=2):.4f}")
      1.0000
    """
    validation.log_base_divisor(base)
    p, q = _prepare((p, q), ("p", "q"), where, validate)
    m, half_gap = 0.5 * (p + q), 0.5 * (p - q)  # p - m without rounding m first
    value = 0.5 * jnp.sum(
        _relative_terms(p, m, half_gap) + _relative_terms(q, m, -half_gap), axis=-1
    )
    return validation.convert_units(_answer(value, (p, q)), base)


def renyi_entropy(
    p: ArrayLike,
    *,
    alpha: float,
    base: float | None = None,
    where: ArrayLike | None = None,
    validate: bool = False,
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
      validate: check (concrete only) as in :func:`shannon_entropy`.

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
    (p,) = _prepare((p,), ("p",), where, validate)
    value = numerics.renyi_entropy_of_probabilities(p, alpha)
    return validation.convert_units(_answer(value, (p,)), base)
