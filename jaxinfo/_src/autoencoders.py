"""A Koopman autoencoder: MLP encoder and decoder around a linear latent map ``K``.

Two ways to get ``K`` (Cheng et al. 2025 and its released code differ here):

* ``"learned"``: a parameter trained through the loss, optionally spectrally normalised,
  ``K = W / max(1, sigma_max(W))``, so latent rollouts cannot grow (all ``|lambda| <= 1``).
  ``sigma_max`` comes from the library's eigenvalue rule, finite at repeated singular values
  (``W = I`` at initialisation).
* ``"ridge"``: a detached least-squares fit to each batch's latent pairs (DMD in the loop);
  an exponential moving average of the fits is kept for evaluation, like batch-norm
  statistics (``model.eval()`` switches to it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxinfo._src import numerics, validation
from jaxinfo._src.critics import MLP, Activation, _check_features, _check_hidden
from jaxinfo._src.koopman import ridge_operator
from jaxinfo._src.options import KOOPMAN_OPERATORS, KoopmanOperator
from jaxinfo._src.variational import require_temporal_pairs


class KoopmanOperatorAverage(nnx.Variable):
    """Moving average of the per-batch ridge fits of ``K`` (not a trained parameter)."""


def spectral_normalize(weight: jax.Array) -> jax.Array:
    """``W / max(1, sigma_max(W))``: the largest singular value capped at 1."""
    top = jnp.max(numerics.eigvalsh(weight.T @ weight), axis=-1)
    sigma = numerics.safe_sqrt(top)
    return weight / jnp.maximum(sigma, 1.0)


def _with_width(value: jax.Array, width: int, name: str, role: str) -> jax.Array:
    """``value`` as an array whose last axis has ``width`` features, or a clear error."""
    value = validation.as_array(value, name)
    if value.shape[-1:] != (width,):
        raise ValueError(
            f"`{name}` must have {width} features on the last axis (the {role} width); got "
            f"shape {tuple(value.shape)}."
        )
    return value


class KoopmanAutoencoder(nnx.Module):
    """Encoder ``x -> z``, decoder ``z -> x`` and a linear latent operator ``z_{t+1} = K z_t``.

    Train it with :func:`jaxinfo.koopman_information_lagrangian`::

        def loss_fn(model, x):                      # x: windows [B, T, state_features]
            z = model.encode(x)
            return jaxinfo.koopman_information_lagrangian(
                x, z, model.operator(z), model.decode, alpha=2.0, gamma=0.1
            )

    Args:
      state_features: width ``dx`` of the states.
      latent_features: width ``d`` of the latents.
      hidden: hidden widths of the encoder (the decoder mirrors them).
      activation: applied after every hidden layer.
      operator: ``"learned"`` or ``"ridge"`` (see the module docstring).
      spectral_norm: cap ``sigma_max(K)`` at 1 (``"learned"`` only).
      ridge: ridge ``lambda`` of the ``"ridge"`` fit, relative to the per-pair second moment.
      momentum: of the moving average of the ridge fits.
      param_dtype: parameter dtype (``jnp.float64`` with x64 for float64 training).
      rngs: ``nnx.Rngs``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxinfo.nn import KoopmanAutoencoder
      >>> model = KoopmanAutoencoder(3, 8, hidden=(16,), rngs=nnx.Rngs(0))
      >>> x = jnp.ones((2, 7, 3))
      >>> model.encode(x).shape, model.operator().shape, model.rollout(x[:, 0], 5).shape
      ((2, 7, 8), (8, 8), (2, 5, 3))
    """

    def __init__(
        self,
        state_features: int,
        latent_features: int,
        *,
        hidden: Sequence[int] = (128, 128),
        activation: Activation = nnx.gelu,
        operator: KoopmanOperator = "learned",
        spectral_norm: bool = True,
        ridge: float = 0.1,
        momentum: float = 0.9,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.state_features = _check_features(state_features, "state_features")
        self.latent_features = _check_features(latent_features, "latent_features")
        hidden = _check_hidden(hidden)
        validation.check_choice(operator, "operator", KOOPMAN_OPERATORS)
        spectral_norm = validation.check_bool(spectral_norm, "spectral_norm")
        if not callable(activation):
            raise TypeError(
                f"`activation` must be a callable such as `nnx.gelu`; got "
                f"{type(activation).__name__} {activation!r}."
            )
        if not isinstance(rngs, nnx.Rngs):
            raise TypeError(
                f"`rngs` must be an `nnx.Rngs`, e.g. `nnx.Rngs(0)`; got {type(rngs).__name__} "
                f"{rngs!r}."
            )
        ridge = validation.static_number(ridge, "ridge")
        if not ridge >= 0.0 or not math.isfinite(ridge):
            raise ValueError(f"`ridge` must be a finite number >= 0; got {ridge!r}.")
        momentum = validation.static_number(momentum, "momentum")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"`momentum` must lie in [0, 1); got {momentum!r}.")
        options = {"activation": activation, "param_dtype": param_dtype, "rngs": rngs}
        self.encoder = MLP(state_features, hidden, latent_features, **options)
        self.decoder = MLP(latent_features, tuple(reversed(hidden)), state_features, **options)
        self.operator_kind = operator
        self.spectral_norm = spectral_norm
        self.ridge = float(ridge)
        self.momentum = float(momentum)
        self.use_running_average = False
        eye = jnp.eye(latent_features, dtype=param_dtype)
        if operator == "learned":
            self.koopman = nnx.Param(eye)
        else:
            self.koopman = KoopmanOperatorAverage(eye)

    def encode(self, x: jax.Array) -> jax.Array:
        """Latents ``[..., d]`` of states ``[..., dx]``."""
        return self._encode(x, "x")

    def _encode(self, x: jax.Array, name: str) -> jax.Array:
        return self.encoder(_with_width(x, self.state_features, name, "encoder's input"))

    def decode(self, z: jax.Array) -> jax.Array:
        """States ``[..., dx]`` of latents ``[..., d]``."""
        return self.decoder(_with_width(z, self.latent_features, "z", "decoder's input"))

    def operator(
        self,
        latents: jax.Array | None = None,
        *,
        where: jax.Array | None = None,
        axis_name: str | None = None,
    ) -> jax.Array:
        """``K`` ``[d, d]`` (column convention).

        ``"learned"``: the (spectrally normalised) parameter; ``latents`` are ignored.
        ``"ridge"``: with windows ``latents [B, T, d]`` in training mode, the detached fit to
        them (and the moving average is updated); otherwise the moving average. Windows
        without a valid step pair have no fit: a concrete ``where`` raises; under ``jit``
        the fit is NaN and the moving average is kept.
        """
        if self.operator_kind == "learned":
            weight = self.koopman[...]
            return spectral_normalize(weight) if self.spectral_norm else weight
        if latents is None or self.use_running_average:
            return self.koopman[...]
        latents = validation.as_float_array(latents, "latents")
        if latents.ndim != 3 or latents.shape[-1] != self.latent_features or latents.shape[0] < 1:
            raise ValueError(
                f"The ridge fit needs latent windows [B, T, {self.latent_features}] with B >= 1 "
                f"in `latents`; got shape {tuple(latents.shape)}."
            )
        if latents.shape[1] < 2:
            raise ValueError(
                f"The ridge fit needs step pairs: `latents` must have T >= 2 steps; got shape "
                f"{tuple(latents.shape)}."
            )
        if where is not None:
            where = validation.as_boolean(where, "where", "valid steps")
            if where.shape != latents.shape[:2]:
                raise ValueError(
                    f"`where` must have shape [B, T] = {tuple(latents.shape[:2])}; got "
                    f"{tuple(where.shape)}."
                )
            require_temporal_pairs(where, 1, "latents", axis_name)
        fit = jax.lax.stop_gradient(
            ridge_operator(latents, ridge=self.ridge, where=where, axis_name=axis_name)
        )
        # A fit without pairs is NaN (traced masks): keep the average as it was.
        blended = self.momentum * self.koopman[...] + (1.0 - self.momentum) * fit
        average = jnp.where(jnp.all(jnp.isfinite(fit)), blended, self.koopman[...])
        self.koopman[...] = average.astype(self.koopman[...].dtype)
        return fit

    def rollout(self, x0: jax.Array, steps: int) -> jax.Array:
        """Encode ``x0 [..., dx]`` once, apply ``K`` ``steps`` times, decode every step.

        Returns predictions of ``x_1..x_steps``, shape ``[..., steps, dx]``.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"`steps` must be a positive int; got {steps!r}.")
        operator = self.operator()

        def advance(z, _):
            z = z @ operator.T
            return z, z

        _, path = jax.lax.scan(advance, self._encode(x0, "x0"), None, length=steps)
        return self.decode(jnp.moveaxis(path, 0, -2))
