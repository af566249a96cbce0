"""A variational conditional ``q(y | x)`` for the upper bounds (CLUB, L1Out).

:func:`jaxinfo.club_estimate` and :func:`jaxinfo.l1out_estimate` read
``log q(y_j | x_i)`` for every pair of a batch. When the conditional is unknown it is learned
alongside the model whose information is minimised, in two alternating steps (Cheng et al.,
ICML 2020, Algorithm 1):

1. the conditional's step: maximise the likelihood of the positive pairs,
   :meth:`GaussianConditional.negative_log_likelihood` on ``stop_gradient`` of the model's
   outputs (the model must not learn to make ``q`` fit);
2. the model's step: minimise the task loss plus ``beta`` times the bound of
   :meth:`GaussianConditional.log_likelihood_matrix`, differentiating the model's
   parameters only (``q`` held fixed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxinfo._src import numerics, validation
from jaxinfo._src.critics import MLP, Activation, _check_features, _check_hidden, check_width
from jaxinfo._src.encoders import GaussianCode

_LOG_TWO_PI = math.log(2.0 * math.pi)


class GaussianConditional(nnx.Module):
    """``q(y | x) = N(mean(x), diag exp(log_variance(x)))``: an MLP trunk and two heads.

    The variational conditional of CLUB and L1Out (module docstring for the two-step
    training). The log-variance head starts at zero weights and bias (unit variance), so the
    first log-likelihoods are those of a unit Gaussian around the initial mean.

    Args:
      x_features: width of ``x`` (checked on every call).
      y_features: width of ``y`` (checked on every call).
      hidden: hidden widths of the trunk (may be empty: linear heads on ``x``).
      activation: hidden activation.
      param_dtype: dtype of the parameters (``jnp.float64`` with x64 for float64 training).
      rngs: ``nnx.Rngs`` for the initialisation.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> from flax import nnx
      >>> from jaxinfo.nn import GaussianConditional
      >>> q = GaussianConditional(2, 1, rngs=nnx.Rngs(0))
      >>> x, y = jnp.ones((4, 2)), jnp.zeros((4, 1))
      >>> q.log_likelihood(x, y).shape, q.log_likelihood_matrix(x, y).shape
      ((4,), (4, 4))
      >>> loss = q.negative_log_likelihood(x, y)  # the conditional's training loss
      >>> bound = jaxinfo.club_estimate(q.log_likelihood_matrix(x, y))  # the model's
    """

    def __init__(
        self,
        x_features: int,
        y_features: int,
        *,
        hidden: Sequence[int] = (64,),
        activation: Activation = nnx.relu,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.x_features = _check_features(x_features, "x_features")
        self.y_features = _check_features(y_features, "y_features")
        widths = _check_hidden(hidden)
        options = {"param_dtype": param_dtype, "rngs": rngs}
        self.trunk = (
            MLP(x_features, widths[:-1], widths[-1], activation=activation, **options)
            if widths
            else None
        )
        self.activation = activation
        width = widths[-1] if widths else x_features
        self.mean_head = nnx.Linear(width, y_features, **options)
        self.log_variance_head = nnx.Linear(
            width,
            y_features,
            kernel_init=nnx.initializers.zeros_init(),
            bias_init=nnx.initializers.zeros_init(),
            **options,
        )

    def __call__(self, x: jax.Array) -> GaussianCode:
        """The conditional distribution of ``y`` given each row of ``x`` (``[n, y_features]``)."""
        features = check_width(x, "x", self.x_features, self)
        if self.trunk is not None:
            features = self.activation(self.trunk(features))
        return GaussianCode(self.mean_head(features), self.log_variance_head(features))

    def _paired(self, x, y) -> tuple[jax.Array, jax.Array]:
        y = check_width(y, "y", self.y_features, self)
        rows_x = validation.as_array(x, "x").shape[0]
        if rows_x != y.shape[0]:
            raise ValueError(
                f"`x` and `y` must be paired rows (the same n); got {rows_x} and "
                f"{y.shape[0]} rows. For every pair use `log_likelihood_matrix`."
            )
        return x, y

    def log_likelihood(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``log q(y_i | x_i)`` of paired rows, ``[n]`` (nats).

        Args:
          x: ``[n, x_features]``.
          y: ``[n, y_features]``, paired with ``x`` row by row.

        Returns:
          Log-densities ``[n]``.

        Raises:
          ValueError: If a width differs from the module's or the row counts differ.
        """
        x, y = self._paired(x, y)
        code = self(x)
        squared = (y - code.mean) ** 2 * jnp.exp(-code.log_variance)
        return -0.5 * jnp.sum(_LOG_TWO_PI + code.log_variance + squared, axis=-1)

    def log_likelihood_matrix(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``L[i, j] = log q(y_j | x_i)`` for every pair, ``[n, m]`` (nats).

        The quadratic form is expanded into three matrix products (no ``[n, m, d]``
        intermediate); ``y`` and the means are first centred on the mean of the finite
        rows of ``y`` (held constant: the value does not depend on it), so the expansion
        keeps float32 precision for data far from the origin. Inside ``shard_map`` pass this
        device's ``x`` and the gathered ``y`` (all rows), as the bounds' ``axis_name``
        expects.

        Args:
          x: ``[n, x_features]``.
          y: ``[m, y_features]``.

        Returns:
          The log-likelihood matrix ``[n, m]`` the upper bounds read.

        Raises:
          ValueError: If a width differs from the module's.
        """
        y = check_width(y, "y", self.y_features, self)
        code = self(x)
        finite = jnp.isfinite(y)
        centre = jnp.sum(jnp.where(finite, y, 0.0), axis=0) / jnp.maximum(
            jnp.sum(finite, axis=0), 1
        ).astype(y.dtype)
        centre = jax.lax.stop_gradient(centre)
        mean, centred = code.mean - centre, y - centre
        precision = jnp.exp(-code.log_variance)
        own = -0.5 * jnp.sum(
            _LOG_TWO_PI + code.log_variance + precision * mean**2, axis=-1, keepdims=True
        )
        cross = jnp.matmul(precision * mean, centred.T, precision=numerics.HIGHEST)
        square = jnp.matmul(precision, (centred**2).T, precision=numerics.HIGHEST)
        return own + cross - 0.5 * square

    def negative_log_likelihood(
        self, x: jax.Array, y: jax.Array, *, where: jax.Array | None = None
    ) -> jax.Array:
        """Mean ``-log q(y_i | x_i)`` over the (valid) pairs: the conditional's training loss.

        Minimise it over the conditional's parameters with ``stop_gradient`` on the model's
        outputs (maximum likelihood on the positive pairs, step 1 of the module docstring).

        Args:
          x: ``[n, x_features]``.
          y: ``[n, y_features]``, paired with ``x``.
          where: optional boolean ``[n]`` of valid pairs (masked pairs do not count).

        Returns:
          Scalar loss in nats.

        Raises:
          ValueError: If a width or the mask's shape is wrong, or the row counts differ.
        """
        log_likelihood = self.log_likelihood(x, y)
        mask = validation.as_mask(where, log_likelihood.shape[0])
        if mask is None:
            return -jnp.mean(log_likelihood)
        total = jnp.sum(jnp.where(mask, log_likelihood, 0.0))
        return -total / jnp.sum(mask).astype(total.dtype)
