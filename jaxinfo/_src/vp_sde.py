"""The variance-preserving SDE of score-based estimators, and its importance sampling of time.

``dX = -β(t) X / 2 dt + sqrt(β(t)) dW`` with ``β(t) = β0 + (β1 - β0) t`` on ``[0, 1]``. Started
at a point ``x0`` it has the Gaussian marginal ``N(m_t x0, σ_t² I)``, ``m_t = exp(-B(t) / 2)``,
``σ_t² = 1 - exp(-B(t))``, ``B(t) = ∫_0^t β``. Its stationary law is ``N(0, I)``, whose score
along the process is ``-x``.

Girsanov's theorem turns a KL divergence between two laws diffused by this SDE into
``½ ∫ β(t) E ‖s_p(x_t, t) - s_q(x_t, t)‖² dt``. With a noise-predicting network
(``s = -ε / σ_t``) the integrand is ``r(t) E ‖ε_p - ε_q‖²``, ``r = β / σ²``, which grows like
``1 / t`` near 0. Drawing ``t`` with density proportional to ``r`` (flat below ``t_min``, where
``r`` would be unbounded) makes the weight ``r / q`` nearly constant (Huang, Lim & Courville
2021 derived the same proposal): :func:`sample_time` and :func:`time_weight`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class VPSchedule(NamedTuple):
    """``β(t) = beta_min + (beta_max - beta_min) t``; ``t_min`` bounds the proposal's density.

    The defaults are MINDE's and score SDE's (Song et al. 2021): ``B(1) = 10.05``, so
    ``m_1 = 0.0066`` and the law at ``t = 1`` is within ``1e-5`` nats of ``N(0, I)`` for
    standardised data.
    """

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_min: float = 1e-3

    def integral(self, t):
        """``B(t) = ∫_0^t β``."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def beta(self, t):
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def mean_scale(self, t):
        """``m_t``: ``x_t = m_t x_0 + σ_t ε``."""
        return jnp.exp(-0.5 * self.integral(t))

    def noise_scale(self, t):
        """``σ_t = sqrt(1 - exp(-B(t)))`` (``expm1``: exact for small ``t``)."""
        return jnp.sqrt(-jnp.expm1(-self.integral(t)))

    def rate(self, t):
        """``r(t) = β(t) / σ_t²``, the Girsanov integrand's factor in front of ``‖Δε‖²``."""
        return self.beta(t) / -jnp.expm1(-self.integral(t))

    def _antiderivative(self, t):
        """``A(t) = log(exp(B(t)) - 1)``: ``A' = r`` (with ``B`` from the float64 schedule)."""
        return jnp.log(jnp.expm1(self.integral(t)))

    def normaliser(self):
        """``Z = ∫_0^1 r(max(t, t_min)) dt``: the proposal's normalising constant."""
        t_min = jnp.float64(self.t_min) if jax.config.jax_enable_x64 else self.t_min
        return self.rate(t_min) * t_min + self._antiderivative(1.0) - self._antiderivative(t_min)


def sample_time(schedule: VPSchedule, key: jax.Array, shape, dtype) -> jax.Array:
    """Times in ``(0, 1]`` with density ``r(max(t, t_min)) / Z`` (inverse CDF of a uniform).

    Above ``t_min`` the CDF is ``(r(t_min) t_min + A(t) - A(t_min)) / Z``; solving ``A(t) = a``
    gives ``B(t) = softplus(a)``, a quadratic in ``t``.
    """
    u = jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    return time_quantile(schedule, u)


def time_quantile(schedule: VPSchedule, u: jax.Array) -> jax.Array:
    """The proposal's quantile function at ``u`` in ``(0, 1]`` (for quadrature over ``u``)."""
    t_min, slope = schedule.t_min, schedule.beta_max - schedule.beta_min
    v = u * schedule.normaliser()
    head = schedule.rate(t_min) * t_min
    integral = jax.nn.softplus(v - head + schedule._antiderivative(t_min))
    tail = (-schedule.beta_min + jnp.sqrt(schedule.beta_min**2 + 2.0 * slope * integral)) / slope
    t = jnp.where(v <= head, v / schedule.rate(t_min), jnp.minimum(tail, 1.0))
    return t.astype(u.dtype)


def time_weight(schedule: VPSchedule, t: jax.Array) -> jax.Array:
    """``r(t) / q(t)``: the weight of ``‖Δε‖²`` at a proposed ``t`` (``Z`` above ``t_min``)."""
    ratio = schedule.rate(t) / schedule.rate(jnp.maximum(t, schedule.t_min))
    return (schedule.normaliser() * ratio).astype(t.dtype)
