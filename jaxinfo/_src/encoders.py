"""A stochastic Gaussian encoder for the variational information bottleneck.

The encoder maps ``x`` to ``N(mean(x), diag exp(log_variance(x)))``. Sampling is
reparameterised (``z = mean + exp(log_variance / 2) * eps``), so gradients flow through ``z``,
and the KL to ``N(0, I)`` is the compression term of
:func:`jaxinfo.variational_information_bottleneck_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from jaxinfo._src import validation
from jaxinfo._src.bottleneck import gaussian_kl_to_standard_normal
from jaxinfo._src.critics import MLP, Activation, _check_features, _check_hidden, check_width


class GaussianCode(NamedTuple):
    """A diagonal Gaussian per row: the encoder's output.

    Attributes:
      mean: ``[n, k]`` means.
      log_variance: ``[n, k]`` log-variances.
    """

    mean: jax.Array
    log_variance: jax.Array

    def sample(self, key: jax.Array, num_samples: int | None = None) -> jax.Array:
        """Reparameterised draw ``mean + exp(log_variance / 2) * eps``.

        Args:
          key: a PRNG key.
          num_samples: draws per row; ``None`` gives one draw ``[n, k]``, an integer
            ``[num_samples, n, k]`` (VIB averages several draws at test time).

        Returns:
          Samples with the gradient flowing to ``mean`` and ``log_variance``.
        """
        key = validation.as_prng_key(key)
        if num_samples is not None:
            num_samples = validation.check_positive_int(num_samples, "num_samples")
        shape = self.mean.shape if num_samples is None else (num_samples, *self.mean.shape)
        noise = jax.random.normal(key, shape, self.mean.dtype)
        return self.mean + jnp.exp(0.5 * self.log_variance) * noise

    def kl_to_standard_normal(self) -> jax.Array:
        """Per-row ``KL(N(mean, diag exp(log_variance)) || N(0, I))`` in nats (shape ``[n]``)."""
        return gaussian_kl_to_standard_normal(self.mean, self.log_variance)


class GaussianEncoder(nnx.Module):
    """``x -> N(mean(x), diag exp(log_variance(x)))`` through one MLP trunk and two heads.

    The log-variance head's bias starts at ``initial_log_variance`` (the VIB demo starts
    the standard deviation near ``softplus(-5)``, i.e. a nearly deterministic code; the
    default ``-4`` is similar), so early training is not drowned in noise.

    Args:
      in_features: width of ``x`` (checked on every call: ``x`` is ``[n, in_features]``).
      latent_features: width ``k`` of the code.
      hidden: hidden widths of the trunk (may be empty).
      initial_log_variance: starting log-variance of every coordinate.
      activation: hidden activation.
      rngs: ``nnx.Rngs`` for the initialisation.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxinfo.nn import GaussianEncoder
      >>> encoder = GaussianEncoder(4, 2, rngs=nnx.Rngs(0))
      >>> code = encoder(jnp.ones((3, 4)))
      >>> code.sample(jax.random.key(1)).shape, code.kl_to_standard_normal().shape
      ((3, 2), (3,))
    """

    def __init__(
        self,
        in_features: int,
        latent_features: int,
        *,
        hidden: Sequence[int] = (128,),
        initial_log_variance: float = -4.0,
        activation: Activation = nnx.relu,
        rngs: nnx.Rngs,
    ):
        self.in_features = _check_features(in_features, "in_features")
        latent_features = _check_features(latent_features, "latent_features")
        widths = _check_hidden(hidden)
        start = validation.check_number(
            initial_log_variance,
            "initial_log_variance",
            hint="The default -4 is nearly deterministic.",
        )
        trunk_width = widths[-1] if widths else in_features
        self.trunk = (
            MLP(in_features, widths[:-1], widths[-1], activation=activation, rngs=rngs)
            if widths
            else None
        )
        self.activation = activation
        self.mean_head = nnx.Linear(trunk_width, latent_features, rngs=rngs)
        self.log_variance_head = nnx.Linear(
            trunk_width,
            latent_features,
            kernel_init=nnx.initializers.zeros_init(),
            bias_init=nnx.initializers.constant(float(start)),
            rngs=rngs,
        )

    def __call__(self, x: jax.Array) -> GaussianCode:
        """The code distribution of every row of ``x``."""
        features = check_width(x, "x", self.in_features, self)
        if self.trunk is not None:
            features = self.activation(self.trunk(features))
        return GaussianCode(self.mean_head(features), self.log_variance_head(features))
