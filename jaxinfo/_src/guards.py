"""Traced answer guards: NaN, never a plausible number, where the data hold no answer.

Static problems (shapes, dtypes, options, a concrete mask with too few rows) raise in
:mod:`validation`. What is only known at run time, under ``jit`` or inside ``shard_map``, is
checked here and turned into a NaN result: a non-finite value in a valid row (comparisons,
ranks and eigenvalue floors would otherwise silently drop it) and fewer valid rows than the
estimator needs. The check costs one reduction over the inputs and, with ``axis_name``, one
scalar ``psum``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxinfo._src import collectives, validation


def rows_hold_answer(
    arrays: Sequence[jax.Array],
    mask: jax.Array | None,
    axis_name: str | None,
    min_rows: int = 2,
) -> jax.Array:
    """Boolean scalar: every valid row is finite and there are at least ``min_rows`` of them.

    ``arrays`` are the validated sample arrays (masked rows already zeroed by
    :func:`validation.paired_samples`); with ``axis_name`` they are this device's rows and
    the counts are summed over devices.
    """
    nonfinite = sum(jnp.sum(~jnp.isfinite(a), dtype=jnp.int32) for a in arrays)
    rows = arrays[0].shape[0] if mask is None else jnp.sum(mask, dtype=jnp.int32)
    counts = collectives.psum(jnp.stack([jnp.asarray(nonfinite), jnp.asarray(rows)]), axis_name)
    return (counts[0] == 0) & (counts[1] >= min_rows)


def answer(holds: jax.Array, value):
    """``value`` (an array or pytree) where ``holds``, NaN elsewhere.

    The gradient flows through the kept branch only: where there is no answer because of
    too few rows or an invalid traced option it is zero. A non-finite value in a valid row
    still reaches the gradient as NaN (the zero cotangent meets NaN partial derivatives),
    so a poisoned batch shows in the gradient as well as in the value.
    """
    return jax.tree.map(lambda v: jnp.where(holds, v, jnp.nan).astype(v.dtype), value)


class Checked(NamedTuple):
    """The validated rows of one public call and how its value is returned (:func:`checked`)."""

    arrays: tuple[jax.Array, ...]
    mask: jax.Array | None
    axis_name: str | None
    base: float | None

    def holds(self, min_rows: int = 2) -> jax.Array:
        """:func:`rows_hold_answer` of these rows."""
        return rows_hold_answer(self.arrays, self.mask, self.axis_name, min_rows)

    def result(self, nats: jax.Array, holds: jax.Array | None = None) -> jax.Array:
        """``nats`` in the unit of ``base``; NaN unless ``holds`` (default :meth:`holds`)."""
        holds = self.holds() if holds is None else holds
        return validation.convert_units(answer(holds, nats), self.base)

    def loss(self, prediction, compression, beta, holds: jax.Array | None = None):
        """``(prediction + beta * compression, aux)``: the answer of an information-bottleneck loss.

        ``prediction`` is in nats and is converted to the unit of ``base``; ``compression``
        is already in its unit. Both are NaN unless ``holds`` (default :meth:`holds`).
        """
        holds = self.holds() if holds is None else holds
        prediction, compression = answer(holds, (prediction, compression))
        prediction = validation.convert_units(prediction, self.base)
        beta = jnp.asarray(beta, prediction.dtype)
        aux = {"prediction": prediction, "compression": compression}
        return prediction + beta * compression, aux


def checked(
    xs: Sequence,
    names: Sequence[str],
    where,
    axis_name: str | None,
    base,
    mask_name: str = "where",
) -> Checked:
    """The preamble of a sample-based public function: ``base`` and the paired rows validated.

    One place for the order every estimator checks in (unit, then shapes, dtypes and mask:
    :func:`validation.paired_samples`) and for the way it answers (:meth:`Checked.result`).
    """
    validation.log_base_divisor(base)
    arrays, mask = validation.paired_samples(xs, names, where, axis_name, mask_name=mask_name)
    return Checked(arrays, mask, axis_name, base)


def checked_two(x, y, where_x, where_y, axis_name: str | None, base) -> tuple[Checked, Checked]:
    """:func:`checked` for two unpaired sample sets (:func:`validation.two_samples`).

    The answer holds when both sets hold one: ``p.result(nats, p.holds() & q.holds())``.
    """
    validation.log_base_divisor(base)
    x, y, mask_x, mask_y = validation.two_samples(x, y, where_x, where_y, axis_name)
    return Checked((x,), mask_x, axis_name, base), Checked((y,), mask_y, axis_name, base)
