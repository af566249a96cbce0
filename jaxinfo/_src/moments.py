"""Weighted moments, the one covariance routine, and the one ranks routine.

Used by the Gaussian family (covariances, copula ranks), the spectral engine's feature
route (the ``[D, D]`` second-moment matrix), effective rank, binned MI (equal-mass bins),
bandwidth rules, the kNN distance floor and DSE's standardisation. Rows carry 0/1 weights
(0 for masked rows), so masking equals slicing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxinfo._src import collectives, numerics, sorting


def masked_moments(x: jax.Array, weights: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Count of valid rows, per-feature mean and (n - 1)-normalised standard deviation.

    ``weights`` is 1 for valid rows and 0 for masked ones; ``x`` holds every row (local).
    """
    count = jnp.sum(weights)
    mean = jnp.sum(weights[:, None] * x, axis=0) / count
    var = jnp.sum(weights[:, None] * (x - mean) ** 2, axis=0) / jnp.maximum(count - 1.0, 1.0)
    return count, mean, numerics.safe_sqrt(var)


def second_moment(
    z: jax.Array, weights: jax.Array, axis_name: str | None, *, centre: bool
) -> tuple[jax.Array, jax.Array]:
    """Global count of valid rows and the weighted scatter ``sum_i w_i (z_i - m)(z_i - m)^T``.

    ``centre=False`` gives the uncentred ``sum_i w_i z_i z_i^T`` (``Z^T W Z``, whose non-zero
    spectrum is the Gram's). With ``axis_name`` each device reduces its own rows and the
    results are ``psum``'d (the mean first, then the scatter); without it, rows sharded on an
    explicit mesh axis are replicated first (a contraction over a sharded axis has no
    unambiguous output sharding). The result is exactly symmetric.
    """
    if axis_name is None:
        z, weights = collectives.replicate(z), collectives.replicate(weights)
    count = collectives.psum(jnp.sum(weights), axis_name)
    if centre:
        z = (z - collectives.psum(weights @ z, axis_name) / count) * weights[:, None]
        left = z
    else:
        left = z * weights[:, None]
    scatter = collectives.psum(jnp.matmul(left.T, z, precision=numerics.HIGHEST), axis_name)
    return count, 0.5 * (scatter + scatter.T)


def column_ranks(z: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per column, how many valid values lie strictly below and at-or-below each entry.

    ``(below, at_or_below)``, integer ``[n, d]``: the 0-based lower rank is ``below`` and the
    1-based average rank of tied values is ``(below + at_or_below + 1) / 2``. Masked rows
    never count (they sort last). No gradient: ranks are piecewise constant.
    """
    z = jax.lax.stop_gradient(z)
    ordered = sorting.sort_columns(jnp.where(valid[:, None], z, jnp.inf))

    def count(side):
        search = jax.vmap(lambda s, c: jnp.searchsorted(s, c, side=side), in_axes=1, out_axes=1)
        return search(ordered, z)

    return count("left"), count("right")
