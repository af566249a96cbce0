"""Exact noise predictions of a fitted Gaussian, the baseline the score network corrects.

For rows ``x ~ N(μ, Σ)`` and a mask that diffuses the block ``D``, conditions on the block
``C`` and marginalises the rest, ``x_D | x_C ~ N(a + B x_C, S)`` with ``B = Σ_DC Σ_CC⁻¹`` and
``S = Σ_DD - B Σ_CD``. Diffused to time ``t`` this is ``N(m_t (a + B x_C), m_t² S + σ_t² I)``,
whose noise prediction (``ε = -σ_t ∇ log p_t``) is

    ``σ_t U diag(1 / (m_t² λ + σ_t²)) Uᵀ (x_t - m_t (a + B x_C))``,  ``S = U diag(λ) Uᵀ``.

The trainer adds this to the network's output, so a Gaussian law is read exactly before any
training and the network learns only the departure from it (the score-based counterpart of
:class:`jaxinfo.nn.GaussianBaselineCritic`). Every read-out stays a difference of two learned
scores, so the estimators are as consistent as without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxinfo._src import vp_sde
from jaxinfo._src.score_objectives import CLEAN, DIFFUSED, column_roles

# Conditional variances below this (of standardised columns) are floored: a near-deterministic
# relation would otherwise make the baseline's prediction diverge as t -> 0. 1e-4 is 4.6 nats
# of MI per pair, beyond what a few thousand rows can resolve.
_VARIANCE_FLOOR = 1e-4


class GaussianScores(NamedTuple):
    """The fitted Gaussian's conditional laws, one per mask (padded to all ``d`` columns).

    Attributes:
      masks: the masks ``[M, V]`` (roles per variable) the laws belong to.
      offsets: ``a`` on the diffused columns, 0 elsewhere ``[M, d]``.
      regressions: ``B`` as ``[M, d, d]`` (rows: diffused columns; columns: clean ones).
      vectors: ``U`` ``[M, d, d]`` (zero rows outside the diffused columns).
      variances: ``λ`` ``[M, d]`` (1 where the column is not diffused: unused).
    """

    masks: jax.Array
    offsets: jax.Array
    regressions: jax.Array
    vectors: jax.Array
    variances: jax.Array

    def predict(self, x0, noisy, t, mask, schedule: vp_sde.VPSchedule) -> jax.Array:
        """The noise prediction ``[b, d]`` for rows with ``mask``.

        A NumPy ``[V]`` mask (a read-out's fixed roles) runs its own law only; a ``[b, V]``
        mask (a training batch, one role assignment per row) runs each law and selects.
        """
        if isinstance(mask, np.ndarray) and mask.ndim == 1:
            (index,) = np.flatnonzero(np.all(np.asarray(self.masks) == mask, axis=1))
            return self._law(int(index), x0, noisy, t, schedule)
        matches = jnp.all(jnp.atleast_2d(mask)[:, None, :] == self.masks[None], axis=-1)
        prediction = jnp.zeros_like(noisy)
        for k in range(self.masks.shape[0]):  # a few masks: one product each, then select
            value = self._law(k, x0, noisy, t, schedule)
            prediction = jnp.where(matches[:, k : k + 1], value, prediction)
        return prediction

    def _law(self, k: int, x0, noisy, t, schedule: vp_sde.VPSchedule) -> jax.Array:
        """The noise prediction of mask ``k``'s conditional law for every row."""
        mean, noise = schedule.mean_scale(t), schedule.noise_scale(t)  # [b, 1]
        centred = noisy - mean * (self.offsets[k] + x0 @ self.regressions[k].T)
        scale = noise / (mean**2 * self.variances[k] + noise**2)
        return ((centred @ self.vectors[k]) * scale) @ self.vectors[k].T


def fit(rows: np.ndarray, masks: np.ndarray, sizes: Sequence[int], dtype) -> GaussianScores:
    """The Gaussian of ``rows`` ``[n, d]`` (sample mean and covariance) for each mask."""
    rows = np.asarray(rows, np.float64)
    mean, cov = rows.mean(axis=0), np.atleast_2d(np.cov(rows, rowvar=False))
    cov = cov + 1e-9 * np.trace(cov) / len(cov) * np.eye(len(cov))
    roles = np.asarray(column_roles(masks, sizes))
    d, count = rows.shape[1], masks.shape[0]
    offsets, regressions = np.zeros((count, d)), np.zeros((count, d, d))
    vectors, variances = np.zeros((count, d, d)), np.ones((count, d))
    for k in range(count):
        diffused, clean = np.flatnonzero(roles[k] == DIFFUSED), np.flatnonzero(roles[k] == CLEAN)
        conditional = cov[np.ix_(diffused, diffused)]
        offset = mean[diffused]
        if clean.size:
            regression = np.linalg.solve(cov[np.ix_(clean, clean)], cov[np.ix_(clean, diffused)]).T
            conditional = conditional - regression @ cov[np.ix_(clean, diffused)]
            offset = offset - regression @ mean[clean]
            regressions[k][np.ix_(diffused, clean)] = regression
        values, basis = np.linalg.eigh(0.5 * (conditional + conditional.T))
        offsets[k, diffused] = offset
        vectors[k][np.ix_(diffused, np.arange(diffused.size))] = basis
        variances[k, : diffused.size] = np.maximum(values, _VARIANCE_FLOOR)
    as_jax = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    return GaussianScores(
        jnp.asarray(masks),
        as_jax(offsets),
        as_jax(regressions),
        as_jax(vectors),
        as_jax(variances),
    )
