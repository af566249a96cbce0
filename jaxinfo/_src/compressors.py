"""A trained autoencoder as the lossy compressor of :mod:`compression` (Butakov et al.).

PCA keeps the information only when the data lie near a linear subspace; an autoencoder
whose encoder is injective on a curved data manifold keeps it there too (Butakov et al.,
ICLR 2024, train one per variable). The whole training run is one ``lax.scan`` of Adam
steps on minibatches, compiled once per shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.typing import ArrayLike

from jaxinfo._src import numerics, validation
from jaxinfo._src.critics import MLP


class _Autoencoder(nnx.Module):
    def __init__(self, features: int, hidden: Sequence[int], dim: int, *, dtype, rngs):
        options = {"activation": nnx.gelu, "param_dtype": dtype, "rngs": rngs}
        self.encoder = MLP(features, tuple(hidden), dim, **options)
        self.decoder = MLP(dim, tuple(reversed(hidden)), features, **options)


def autoencoder_compress(
    x: ArrayLike,
    dim: int,
    *,
    key,
    hidden: Sequence[int] = (64, 64),
    steps: int = 2000,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
) -> jax.Array:
    """The codes ``[n, dim]`` of an MLP autoencoder trained on the rows of ``x``.

    The columns of ``x`` are standardised, an encoder ``MLP(d -> hidden -> dim)`` and a
    decoder ``MLP(dim -> reversed(hidden) -> d)`` (GELU) are trained with Adam on the mean
    squared reconstruction error of random minibatches, and the encoder's outputs on all
    rows are returned. Pass them to :func:`jaxinfo.mutual_information` (or as the already
    compressed side of :func:`jaxinfo.compressed_mutual_information`). Information is kept
    only as far as the encoder is injective on the data: check that the reconstruction
    error is small against the data's noise level. Runs eagerly (a trained network).

    Args:
      x: samples ``[n, d]`` (float).
      dim: code width, ``1 <= dim <= d``.
      key: a JAX PRNG key (initialisation and minibatches).
      hidden: hidden widths of the encoder (the decoder mirrors them).
      steps: Adam steps.
      batch_size: rows per step (capped at ``n``).
      learning_rate: Adam's step size.

    Returns:
      ``[n, dim]``: the codes, in the dtype of ``x``.

    Raises:
      ValueError: ``dim`` out of range, a non-positive ``steps`` / ``batch_size``, a
        malformed ``x``.
      TypeError: a ``key`` that is not a PRNG key.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxinfo.nn import autoencoder_compress
      >>> angle = jax.random.uniform(jax.random.key(0), (500, 1), maxval=3.0)
      >>> x = jnp.concatenate([jnp.cos(angle), jnp.sin(angle)] * 8, axis=1)  # a curve in 16-D
      >>> print(autoencoder_compress(x, 1, key=jax.random.key(1), steps=200).shape)
      (500, 1)
    """
    x = validation.as_samples(x, "x")
    dim = validation.check_positive_int(dim, "dim")
    if dim > x.shape[1]:
        raise ValueError(
            f"`dim` must be at most the number of features of `x` ({x.shape[1]}); got {dim}."
        )
    key = validation.as_prng_key(key)
    steps = validation.check_positive_int(steps, "steps")
    batch_size = min(validation.check_positive_int(batch_size, "batch_size"), x.shape[0])
    rate = validation.static_number(learning_rate, "learning_rate")
    rate = float(validation.check_number(rate, "learning_rate", low=0.0, low_open=True))
    init_key, batch_key = jax.random.split(key)
    seed = int(jax.random.randint(init_key, (), 0, 2**31 - 1))
    model = _Autoencoder(x.shape[1], hidden, dim, dtype=x.dtype, rngs=nnx.Rngs(seed))
    return _trained_codes(model, x, batch_key, steps, batch_size, rate)


def _trained_codes(model, x, key, steps: int, batch_size: int, learning_rate: float):
    graphdef, params = nnx.split(model)
    mean = jnp.mean(x, axis=0)
    scale = numerics.safe_sqrt(jnp.var(x, axis=0)) + jnp.asarray(1e-12, x.dtype)
    z = (x - mean) / scale
    optimizer = optax.adam(learning_rate)

    def loss(params, batch):
        net = nnx.merge(graphdef, params)
        return jnp.mean((net.decoder(net.encoder(batch)) - batch) ** 2)

    @jax.jit
    def train(params, key):
        def step(carry, step_key):
            params, state = carry
            rows = jax.random.randint(step_key, (batch_size,), 0, z.shape[0])
            grads = jax.grad(loss)(params, z[rows])
            updates, state = optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        carry = (params, optimizer.init(params))
        (params, _), _ = jax.lax.scan(step, carry, jax.random.split(key, steps))
        return nnx.merge(graphdef, params).encoder(z)

    with jax.numpy_dtype_promotion("standard"):  # optax's Adam (see estimation.py)
        return train(params, key)
