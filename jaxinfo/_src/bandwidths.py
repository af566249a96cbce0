"""Data-driven bandwidth rules in O(n d) time and memory, with masks, ``axis_name`` and ``vmap``.

The median rule is the median of squared pair distances over a *cyclic pair design* of the
valid rows taken in order, ``c_0 .. c_{N-1}``: the pairs ``(c_r, c_{(r + s) mod N})`` for every
row ``r`` and ``S = min(max(PAIR_BUDGET // N, MIN_SHIFTS), N // 2)`` shifts spread evenly
over ``1 .. N // 2`` (midpoints, ``s_k = 1 + floor((2k + 1) (N // 2) / (2 S))``). While
``S = N // 2`` (``N <= 181``) this is every distinct pair once (the shift ``N / 2`` of an
even ``N`` is taken for ``r < N / 2`` only), so the rule is the exact all-pairs median; above
it, every row takes part in ``2 S`` pairs (at least 16) at offsets spread over the whole
order, so sorted or clustered rows are measured like shuffled ones and the pairs add less
error than the rows themselves already carry (benchmarks/README.md).

The order statistic is selected exactly by bisection on the bit patterns of the
non-negative squared distances (monotone as unsigned integers): one count per bit, no sort
(XLA's CPU sort is slow). With ``axis_name`` the rule runs on the gathered
rows (which the all-pairs measures gather anyway), the same on every device: ``O(S N d)``
each and no collective. Splitting the pairs among devices would need one ``psum`` per bit,
which on CPU devices cost more than the whole rule (benchmarks/README.md, "Design choices").

Masking equals slicing exactly: the pair set depends only on the ordered valid rows.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxinfo._src import collectives, validation
from jaxinfo._src.moments import masked_moments
from jaxinfo._src.options import BANDWIDTH_RULES, BandwidthRule
from jaxinfo._src.samples import row_weights, valid_rows

# Pairs the median rule measures: the exact all-pairs median up to N = 181 valid rows.
PAIR_BUDGET = 2**14
# Shifts of the design at any N (each row in 2 * MIN_SHIFTS pairs), so that at large N the
# pairs' share of the error stays below the rows' own (the all-pairs median's sampling spread).
MIN_SHIFTS = 8
# Pairs whose coordinate differences are held at once ([chunk, d] temporaries).
_PAIR_CHUNK_ELEMENTS = 2**20


def _compacted(x: jax.Array, mask: jax.Array | None) -> tuple[jax.Array, jax.Array | int]:
    """Valid rows moved to the front in order (a scatter, no sort) and their count.

    Without a mask the count is the static ``n``, so the pair design is a constant.
    """
    n = x.shape[0]
    if mask is None:
        return x, n
    position = jnp.cumsum(mask.astype(jnp.int32)) - 1
    target = jnp.where(mask, position, n)  # masked rows are dropped
    compact = jnp.zeros_like(x).at[target].set(x, mode="drop", unique_indices=True)
    return compact, jnp.sum(mask, dtype=jnp.int32)


def _design(num_valid, num_slots: int):
    """Slots ``p < num_slots`` of the cyclic design: ``(first, second, valid, pair_count)``.

    Slot ``p`` is the pair ``(r, (r + s_k) mod N)`` with ``r = p mod N``, ``k = p // N`` and
    the ``k``-th of ``S`` shifts spread evenly over ``1 .. N // 2`` (every shift when
    ``S = N // 2``). Spread shifts pair rows far apart in the order as often as near ones,
    so sorted or clustered rows (a pooled ``[x; y]``, class-sorted data, a time series)
    give the same median as shuffled rows. NumPy constants for a static ``N`` (no mask),
    traced int32 otherwise.
    """
    xp = np if isinstance(num_valid, int) else jnp
    n = xp.maximum(num_valid, 1)
    half = xp.maximum(num_valid // 2, 1)
    shifts = xp.clip(PAIR_BUDGET // n, MIN_SHIFTS, half)
    every_pair = shifts == num_valid // 2
    small = xp.minimum(num_valid, 2**15)  # no int32 overflow in the branch not taken
    pair_count = xp.where(every_pair, small * (small - 1) // 2, num_valid * shifts)
    slot = xp.arange(num_slots, dtype=np.int32)
    k, first = np.divmod(slot, n) if xp is np else _divmod(slot, n)
    # One integer division per shift, not per slot (XLA's CPU integer division is scalar).
    table_size = max(1, min(max(PAIR_BUDGET // 2, MIN_SHIFTS), num_slots))
    shift_of = 1 + ((2 * xp.arange(table_size, dtype=np.int32) + 1) * half) // (2 * shifts)
    shift = shift_of[xp.minimum(k, table_size - 1)]
    half_turn = every_pair & (2 * shift == num_valid)  # (r, r + N/2) == (r + N/2, r)
    valid = (slot < num_valid * shifts) & ~(half_turn & (first >= num_valid // 2))
    second = first + shift
    second = xp.where(second >= n, second - n, second)
    as_int = lambda a: xp.asarray(a).astype(np.int32)  # noqa: E731
    return as_int(first), as_int(second), valid, as_int(pair_count)


def _divmod(numerator, divisor) -> tuple[jax.Array, jax.Array]:
    """``(numerator // divisor, numerator mod divisor)`` for non-negative int32 vectors.

    A float quotient corrected by one step: XLA's CPU integer division is not vectorised
    (more than the rest of the rule's index work; benchmarks/README.md, "Design choices").
    """
    quotient = jnp.floor(numerator.astype(jnp.float32) / divisor.astype(jnp.float32))
    quotient = quotient.astype(jnp.int32)
    rest = numerator - quotient * divisor
    quotient = quotient + (rest >= divisor).astype(jnp.int32) - (rest < 0).astype(jnp.int32)
    # Exact while the quotient is below 2^22 (every valid slot); others only stay in range.
    return quotient, jnp.clip(numerator - quotient * divisor, 0, divisor - 1)


def _pair_squared_distances(x: jax.Array, first: jax.Array, second: jax.Array) -> jax.Array:
    """``|x_first - x_second|^2`` per slot, by direct differences, in chunks of pairs."""
    chunk = max(1, _PAIR_CHUNK_ELEMENTS // max(x.shape[1], 1))

    def one(ids):
        difference = x[ids[0]] - x[ids[1]]
        return jnp.sum(difference * difference)

    return jax.lax.map(one, (first, second), batch_size=min(chunk, first.shape[0]))


def _unsigned(dtype) -> jnp.dtype:
    return jnp.dtype(jnp.uint64 if jnp.dtype(dtype).itemsize == 8 else jnp.uint32)


def _median(values: jax.Array, valid: jax.Array, count) -> jax.Array:
    """Median of the ``count`` valid, non-negative ``values``, exactly.

    The lower middle by bisection on the unsigned bit patterns (ordered like the values for
    ``+0 .. +inf``): one masked count per bit. The upper middle (even ``count``) is the
    lower one or the smallest value above it: one more pass.
    """
    unsigned = _unsigned(values.dtype)
    bits = jax.lax.bitcast_convert_type(values, unsigned)
    top = jax.lax.bitcast_convert_type(jnp.asarray(jnp.inf, values.dtype), unsigned)
    bits = jnp.where(valid, bits, top)
    rank = jnp.maximum((count - 1) // 2, 0)

    def at_or_below(threshold):
        return jnp.sum(bits <= threshold, dtype=jnp.int32)

    def step(_, bounds):
        low, high = bounds
        middle = low + (high - low) // 2
        enough = at_or_below(middle) > rank
        return jnp.where(enough, low, middle + 1), jnp.where(enough, middle, high)

    low, _ = jax.lax.fori_loop(0, 8 * unsigned.itemsize, step, (unsigned.type(0), top))
    above = jnp.min(jnp.where(bits > low, bits, top))
    upper = jnp.where((count % 2 == 1) | (at_or_below(low) > rank + 1), low, above)
    as_value = jax.lax.bitcast_convert_type
    return 0.5 * (as_value(low, values.dtype) + as_value(upper, values.dtype))


def median_squared_distance(x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """Median of ``|x_i - x_j|^2`` over the cyclic pair design (module docstring).

    ``x`` ``[n, d]`` holds every row. NaN when there is no pair.
    """
    compact, num_valid = _compacted(x, mask)
    n = x.shape[0]
    num_slots = max(1, min(max(PAIR_BUDGET, MIN_SHIFTS * n), n * (n // 2)))
    first, second, valid, pair_count = _design(num_valid, num_slots)
    sq = _pair_squared_distances(compact, jnp.asarray(first), jnp.asarray(second))
    return jnp.where(pair_count > 0, _median(sq, jnp.asarray(valid), pair_count), jnp.nan)


def bandwidth_from_rule(
    rule: BandwidthRule,
    x: jax.Array,
    mask: jax.Array | None = None,
    *,
    axis_name: str | None = None,
) -> jax.Array:
    """Data-driven bandwidth, computed under ``stop_gradient`` (it is a constant for ``grad``).

    - ``"median"``: the square root of the median squared Euclidean distance over distinct
      valid pairs (Gretton et al.): every pair up to 181 valid rows; above that, the pairs
      of a cyclic design in which every row takes part equally (``max(2^14, 8 n)`` pairs,
      docs/conventions.md), selected exactly without a sort. O(n d) memory and time.
    - ``"silverman"``: ``(4 / (d + 2)) ** (1 / (d + 4)) * n ** (-1 / (d + 4)) * s``,
    - ``"scott"``: ``n ** (-1 / (d + 4)) * s``,

    with ``s`` the mean per-feature standard deviation. A degenerate result (all points
    equal, fewer than two valid rows) falls back to 1; a non-finite valid entry of ``x``
    gives NaN (there is no bandwidth to report).

    Args:
      rule: one of ``BANDWIDTH_RULES``.
      x: samples ``[n, d]`` (floating point); with ``axis_name``, this device's rows.
      mask: optional boolean ``[n]`` marking the rows that count (this device's rows).
      axis_name: mesh axis of the rows inside ``shard_map``: the rule is the global one
        (the rows are gathered; no other collective).

    Returns:
      The bandwidth ``sigma``, a scalar.

    Raises:
      ValueError: an unknown ``rule``, ``x`` not ``[n, d]``, a ``mask`` of the wrong shape.
      TypeError: integer ``x``, a non-boolean ``mask``.
    """
    validation.check_choice(
        rule,
        "rule",
        BANDWIDTH_RULES,
        hint="Pass a number as the kernel bandwidth for a fixed sigma.",
    )
    x = validation.as_samples(x, "x", min_samples=1)
    mask = validation.as_mask(mask, x.shape[0], "mask")
    x = collectives.gather_rows(x, axis_name)
    mask = collectives.gather_rows(mask, axis_name)
    return rule_on_all_rows(rule, x, mask)


def rule_on_all_rows(rule: str, x: jax.Array, mask: jax.Array | None) -> jax.Array:
    """:func:`bandwidth_from_rule` on rows already gathered (identical on every device)."""
    x = jax.lax.stop_gradient(x)
    rows = valid_rows(mask, x.shape[0])
    non_finite = jnp.any(rows[:, None] & ~jnp.isfinite(x))
    if rule == "median":
        value = jnp.sqrt(median_squared_distance(x, mask))
    else:
        count, _, std = masked_moments(x, row_weights(mask, x.shape[0], x.dtype))
        spread = jnp.mean(std)
        d = x.shape[1]
        factor = (4.0 / (d + 2.0)) ** (1.0 / (d + 4.0)) if rule == "silverman" else 1.0
        value = factor * count ** (-1.0 / (d + 4.0)) * spread
    value = jnp.where(jnp.isfinite(value) & (value > 0), value, 1.0)
    return jnp.where(non_finite, jnp.nan, value)
