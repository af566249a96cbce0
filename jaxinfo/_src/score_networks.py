"""The noise-predicting network of the score-based estimators (MINDE, SΩI), a Flax NNX module.

One network serves every score an estimator needs. It reads the concatenated variables and
one diffusion time per variable: a diffused variable carries its time ``t``, a variable
conditioned on carries ``0`` (it is clean) and a marginalised one carries ``1`` with its
values zeroed (at ``t = 1`` the process has forgotten it; zero is the mean of what it became).
So ``p(y)``, ``p(y | x)`` and ``p(x, y)`` are three inputs of one function, as in MINDE's
multi-time network, and a mask picks which.

The layout follows the MLP of MINDE's reference code: a linear embedding, a time embedding
(linear, GELU, linear) added inside residual blocks of group norm, SiLU and linear layers, and
a zero-initialised output layer (the first prediction is 0, the noise's mean).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxinfo._src.critics import check_width


def default_width(features: int) -> int:
    """MINDE's hidden width by total dimension: 64 up to 10, 128 up to 50, else 256."""
    return 64 if features <= 10 else 128 if features <= 50 else 256


def _normalised(norm: nnx.GroupNorm, h: jax.Array) -> jax.Array:
    """``norm(h)`` under standard promotion, so float64 networks run under strict promotion.

    Flax computes the statistics in ``promote_types(dtype, float32)``, which strict
    promotion refuses for float64; standard promotion keeps float64.
    """
    with jax.numpy_dtype_promotion("standard"):
        return norm(h)


def _groups(width: int) -> int:
    """Eight groups (MINDE's), or the largest divisor of ``width`` below eight."""
    return next(g for g in range(min(8, width), 0, -1) if width % g == 0)


class _ResidualBlock(nnx.Module):
    """``x + W2 act(norm(W1 act(norm(x)) + T(time)))``: MINDE's ResNet block, time added."""

    def __init__(self, width: int, *, param_dtype, rngs: nnx.Rngs):
        groups = _groups(width)
        self.norm_in = nnx.GroupNorm(width, num_groups=groups, param_dtype=param_dtype, rngs=rngs)
        self.dense_in = nnx.Linear(width, width, param_dtype=param_dtype, rngs=rngs)
        self.time = nnx.Linear(width, width, param_dtype=param_dtype, rngs=rngs)
        self.norm_out = nnx.GroupNorm(width, num_groups=groups, param_dtype=param_dtype, rngs=rngs)
        self.dense_out = nnx.Linear(width, width, param_dtype=param_dtype, rngs=rngs)

    def __call__(self, h: jax.Array, time_embedding: jax.Array) -> jax.Array:
        inner = self.dense_in(nnx.silu(_normalised(self.norm_in, h))) + self.time(
            nnx.silu(time_embedding)
        )
        return h + self.dense_out(nnx.silu(_normalised(self.norm_out, inner)))


class ScoreNetwork(nnx.Module):
    """Predicts the noise ``ε`` of a diffused sample (variables diffused, clean or marginalised).

    Args:
      sizes: the width of each variable, in the order of the columns (``(dx, dy)`` for MI).
      width: hidden width (default by total width: 64 up to 10 features, 128 up to 50, else
        256, MINDE's rule).
      depth: residual blocks (default 1, MINDE's MLP).
      param_dtype: parameter dtype (float32 default; float64 for float64 training).
      rngs: ``nnx.Rngs`` for the initial parameters.

    Call ``network(x [b, sum(sizes)], times [b, len(sizes)])``; returns ``[b, sum(sizes)]``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        width: int | None = None,
        depth: int = 1,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
            raise TypeError(
                "`sizes` must be a sequence of ints, one per variable, e.g. `(dx, dy)`; got "
                f"{type(sizes).__name__}."
            )
        sizes = tuple(sizes)
        if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"`sizes` must be positive integers, one per variable; got {sizes!r}.")
        features = sum(sizes)
        width = default_width(features) if width is None else width
        for value, name in ((width, "width"), (depth, "depth")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
        self.sizes = sizes
        self.embed = nnx.Linear(features, width, param_dtype=param_dtype, rngs=rngs)
        self.time_in = nnx.Linear(len(sizes), width, param_dtype=param_dtype, rngs=rngs)
        self.time_out = nnx.Linear(width, width, param_dtype=param_dtype, rngs=rngs)
        self.blocks = nnx.List(
            [_ResidualBlock(width, param_dtype=param_dtype, rngs=rngs) for _ in range(depth)]
        )
        self.norm = nnx.GroupNorm(
            width, num_groups=_groups(width), param_dtype=param_dtype, rngs=rngs
        )
        self.out = nnx.Linear(
            width,
            features,
            kernel_init=nnx.initializers.zeros,
            param_dtype=param_dtype,
            rngs=rngs,
        )

    def __call__(self, x: jax.Array, times: jax.Array) -> jax.Array:
        x = check_width(x, "x", sum(self.sizes), self)
        times = check_width(times, "times", len(self.sizes), self)
        if times.shape[0] != x.shape[0]:
            raise ValueError(
                f"`times` must have one row per row of `x` ({x.shape[0]}); got {times.shape[0]}."
            )
        embedding = self.time_out(nnx.gelu(self.time_in(times)))
        h = self.embed(x)
        for block in self.blocks:
            h = block(h, embedding)
        return self.out(nnx.silu(_normalised(self.norm, h)))
