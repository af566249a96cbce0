"""Critics for the variational bounds: Flax NNX modules mapping ``(x, y)`` to ``scores[n, m]``.

Every critic returns the whole score matrix ``scores[i, j] = f(x_i, y_j)`` that the bounds in
:mod:`jaxinfo` read (positives on the diagonal when ``x`` and ``y`` are paired rows). They
differ in how the matrix is built, which sets the cost:

* :class:`SeparableCritic` ``g(x_i)·h(y_j)``: ``n + m`` network passes and one matmul.
* :class:`BilinearCritic` ``g(x_i)^T W h(y_j)``: the same plus a ``k x k`` product (CPC).
* :class:`ConcatCritic` ``f([x_i, y_j])``: one network pass per pair. The first layer is linear
  in the concatenation, so it is computed as ``x W_x + y W_y`` and broadcast (``n + m`` products
  instead of ``n m``); the deeper layers still see ``n m`` rows, ``O(n m hidden)`` memory.

A new critic subclasses :class:`Critic` and implements ``__call__`` (docs/extending.md).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxinfo._src import deprecation, validation
from jaxinfo._src.kernels import Cosine
from jaxinfo._src.options import SIMILARITIES, Similarity

Activation = Callable[[jax.Array], jax.Array]


def _check_features(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return value


def _check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(hidden)
    for width in widths:
        _check_features(width, "hidden (each width)")
    return widths


def check_width(value, name: str, width: int, module: nnx.Module) -> jax.Array:
    """``value`` as rows of ``width`` features, the width ``module`` was built for.

    Without it a wrong width reaches the first layer as a ``dot_general`` shape error.
    """
    value = validation.as_array(value, name)
    if value.ndim != 2 or value.shape[1] != width:
        raise ValueError(
            f"`{name}` must have shape [n, {width}] (the width this {type(module).__name__} "
            f"was built with); got shape {tuple(value.shape)}."
        )
    return value


def _check_inputs(
    x: jax.Array, y: jax.Array, critic: _WidthCheckedCritic
) -> tuple[jax.Array, jax.Array]:
    """Rows of features with the widths the critic was built for."""
    return check_width(x, "x", critic.x_features, critic), check_width(
        y, "y", critic.y_features, critic
    )


class MLP(nnx.Module):
    """A plain multilayer perceptron: ``Linear -> activation`` per hidden width, then ``Linear``.

    Args:
      in_features: input width.
      hidden: hidden widths (may be empty: one linear map).
      out_features: output width.
      activation: applied after every hidden layer.
      param_dtype: dtype of the parameters (``jnp.float64`` with x64 for float64 training).
      rngs: ``nnx.Rngs`` for the initialisation.

    Example:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxinfo.nn import MLP
      >>> mlp = MLP(3, (8,), 2, rngs=nnx.Rngs(0))
      >>> mlp(jnp.ones((5, 3))).shape
      (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        activation: Activation = nnx.relu,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        widths = (_check_features(in_features, "in_features"), *_check_hidden(hidden))
        out_features = _check_features(out_features, "out_features")
        options = {"param_dtype": param_dtype, "rngs": rngs}
        self.layers = nnx.List(
            [nnx.Linear(a, b, **options) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        )
        self.head = nnx.Linear(widths[-1], out_features, **options)
        self.activation = activation

    def __call__(self, x: jax.Array) -> jax.Array:
        """Apply the network to the last axis of ``x``."""
        for layer in self.layers:
            x = self.activation(layer(x))
        return self.head(x)


class Critic(nnx.Module, abc.ABC):
    """Contract for a critic: ``critic(x[n, dx], y[m, dy]) -> scores[n, m]``, real-valued.

    A subclass implements ``__call__`` (abstract: a subclass without it cannot be built).
    Being an ``nnx.Module`` it is a pytree, so it passes through ``jax.jit``, ``jax.grad``
    and ``nnx.split``/``nnx.merge`` like the built-in critics, and
    :func:`~jaxinfo.nn.estimate_mutual_information` trains its ``nnx.Param`` leaves. The
    built-in critics record their input widths as ``x_features`` / ``y_features`` and
    check them; a user critic need not.

    Example:
      >>> import jax.numpy as jnp
      >>> from flax import nnx
      >>> from jaxinfo.nn import Critic
      >>> class Bilinear(Critic):
      ...     def __init__(self, x_features, y_features):
      ...         self.weight = nnx.Param(jnp.eye(x_features, y_features))
      ...
      ...     def __call__(self, x, y):
      ...         return x @ self.weight[...] @ y.T
      >>> Bilinear(2, 3)(jnp.ones((4, 2)), jnp.ones((5, 3))).shape
      (4, 5)
    """

    @abc.abstractmethod
    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """Scores of every ``x`` row against every ``y`` row, ``[n, m]``."""


class _WidthCheckedCritic(Critic):
    """A built-in critic: built for fixed input widths, which it checks on every call."""

    x_features: int
    y_features: int


def check_scores(scores, n: int, m: int, name: str = "critic") -> None:
    """Fails unless ``scores`` is a real ``[n, m]`` array (what every bound reads)."""
    shape, dtype = getattr(scores, "shape", None), getattr(scores, "dtype", None)
    if shape != (n, m) or dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"`{name}` must map x [n, dx] and y [m, dy] to real scores [n, m]; on {n} and {m} "
            f"rows it returned {type(scores).__name__} with shape {shape} and dtype {dtype}."
        )


def _towers(critic: _WidthCheckedCritic, hidden, embedding: int, **options) -> tuple[MLP, MLP]:
    """The two embedding networks ``g`` (on x) and ``h`` (on y) of a two-tower critic."""
    embedding = _check_features(embedding, "embedding")
    return (
        MLP(critic.x_features, hidden, embedding, **options),
        MLP(critic.y_features, hidden, embedding, **options),
    )


class SeparableCritic(_WidthCheckedCritic):
    """``f(x, y) = g(x)·h(y) / temperature`` with two MLP embeddings.

    The cheapest critic: the score matrix is one matmul of the embeddings, so under
    ``shard_map`` a device gathers the ``y`` embeddings and scores its own rows
    (:func:`jaxinfo.infonce_lower_bound` with ``axis_name``). Enough for any bound when the
    log density ratio is a sum of products of functions of ``x`` and of ``y`` (correlated
    Gaussians: ``x^T A y`` plus a term in ``x`` alone and one in ``y`` alone).

    Args:
      x_features: width of ``x``.
      y_features: width of ``y``.
      hidden: hidden widths of both embedding networks.
      embedding: embedding width ``k``.
      temperature: divides the scores.
      similarity: ``"dot"`` (raw embeddings) or ``"cosine"`` (L2-normalised first; then pick
        a temperature such as 0.1, since cosine scores lie in [-1, 1]) — the option of the
        same name in :func:`jaxinfo.temporal_infonce_cross_entropy`.
      normalize: deprecated (removed in 0.3.0): ``True`` is ``similarity="cosine"``.
      activation: hidden activation.
      param_dtype: dtype of the parameters.
      rngs: ``nnx.Rngs`` for the initialisation.

    Example:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxinfo.nn import SeparableCritic
      >>> critic = SeparableCritic(2, 3, rngs=nnx.Rngs(0))
      >>> critic(jnp.ones((4, 2)), jnp.ones((5, 3))).shape
      (4, 5)
    """

    def __init__(
        self,
        x_features: int,
        y_features: int,
        *,
        hidden: Sequence[int] = (128,),
        embedding: int = 32,
        temperature: float = 1.0,
        similarity: Similarity = "dot",
        normalize: bool | None = None,
        activation: Activation = nnx.relu,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.x_features = _check_features(x_features, "x_features")
        self.y_features = _check_features(y_features, "y_features")
        if not temperature > 0:
            raise ValueError(f"`temperature` must be positive; got {temperature}.")
        self.temperature = float(temperature)
        if normalize is not None:
            deprecation.warn_renamed(
                "SeparableCritic(normalize=...)", '`similarity="cosine"` or `"dot"`'
            )
            similarity = "cosine" if normalize else "dot"
        self.similarity = validation.check_choice(similarity, "similarity", SIMILARITIES)
        self.embed_x, self.embed_y = _towers(
            self, hidden, embedding, activation=activation, param_dtype=param_dtype, rngs=rngs
        )

    def embeddings(self, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(g(x) / temperature, h(y))``: the factors whose product is the score matrix."""
        x, y = _check_inputs(x, y, self)
        gx, hy = self.embed_x(x), self.embed_y(y)
        if self.similarity == "cosine":  # the library's one L2 normalisation
            gx, hy = Cosine().features(gx), Cosine().features(hy)
        return gx / self.temperature, hy

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``scores[i, j] = g(x_i)·h(y_j) / temperature``."""
        gx, hy = self.embeddings(x, y)
        return gx @ hy.T


class BilinearCritic(_WidthCheckedCritic):
    """``f(x, y) = g(x)^T W h(y)`` (the CPC critic): a separable critic with a learned metric.

    Args:
      x_features: width of ``x``.
      y_features: width of ``y``.
      hidden: hidden widths of both embedding networks.
      embedding: embedding width ``k`` (``W`` is ``k x k``, initialised to the identity).
      activation: hidden activation.
      param_dtype: dtype of the parameters.
      rngs: ``nnx.Rngs`` for the initialisation.

    Example:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxinfo.nn import BilinearCritic
      >>> critic = BilinearCritic(2, 3, rngs=nnx.Rngs(0))
      >>> critic(jnp.ones((4, 2)), jnp.ones((5, 3))).shape
      (4, 5)
    """

    def __init__(
        self,
        x_features: int,
        y_features: int,
        *,
        hidden: Sequence[int] = (128,),
        embedding: int = 32,
        activation: Activation = nnx.relu,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.x_features = _check_features(x_features, "x_features")
        self.y_features = _check_features(y_features, "y_features")
        self.embed_x, self.embed_y = _towers(
            self, hidden, embedding, activation=activation, param_dtype=param_dtype, rngs=rngs
        )
        self.metric = nnx.Param(jnp.eye(embedding, dtype=param_dtype))

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``scores[i, j] = g(x_i)^T W h(y_j)``."""
        x, y = _check_inputs(x, y, self)
        return (self.embed_x(x) @ self.metric[...]) @ self.embed_y(y).T


class ConcatCritic(_WidthCheckedCritic):
    """``f(x, y) = MLP([x, y])``: one network on the concatenated pair (a joint critic).

    The most flexible critic and the one MINE, NWJ and SMILE are usually trained with. The
    first layer ``W [x; y] + b = W_x x + W_y y + b`` is computed per row and broadcast over
    the pairs, so the cost over a separable critic is the deeper layers on ``n m`` rows.

    Args:
      x_features: width of ``x``.
      y_features: width of ``y``.
      hidden: hidden widths (at least one).
      activation: hidden activation.
      param_dtype: dtype of the parameters.
      rngs: ``nnx.Rngs`` for the initialisation.

    Example:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxinfo.nn import ConcatCritic
      >>> critic = ConcatCritic(2, 3, rngs=nnx.Rngs(0))
      >>> critic(jnp.ones((4, 2)), jnp.ones((5, 3))).shape
      (4, 5)
    """

    def __init__(
        self,
        x_features: int,
        y_features: int,
        *,
        hidden: Sequence[int] = (128,),
        activation: Activation = nnx.relu,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.x_features = _check_features(x_features, "x_features")
        self.y_features = _check_features(y_features, "y_features")
        widths = _check_hidden(hidden)
        if not widths:
            raise ValueError("`hidden` needs at least one width for a concatenated critic.")
        options = {"param_dtype": param_dtype, "rngs": rngs}
        self.first_x = nnx.Linear(x_features, widths[0], **options)
        self.first_y = nnx.Linear(y_features, widths[0], use_bias=False, **options)
        self.rest = MLP(widths[0], widths[1:], 1, activation=activation, **options)
        self.activation = activation

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``scores[i, j] = MLP([x_i, y_j])``."""
        x, y = _check_inputs(x, y, self)
        pairs = self.first_x(x)[:, None, :] + self.first_y(y)[None, :, :]
        return self.rest(self.activation(pairs))[..., 0]


def _gaussian_log_ratio_terms(x: np.ndarray, y: np.ndarray, shrinkage: float):
    """Centre, quadratic blocks and constant of ``log N(x, y) / (N(x) N(y))`` fitted to rows.

    With joint covariance ``S`` (shrunk towards its diagonal by ``shrinkage``) and
    ``K = S^-1 - blockdiag(S_x^-1, S_y^-1)``, the log ratio at a centred pair is
    ``c - (x K_xx x + 2 x K_xy y + y K_yy y) / 2`` with ``c`` the Gaussian MI,
    ``(log det S_x + log det S_y - log det S) / 2``.
    """
    dx = x.shape[1]
    joint = np.concatenate([x, y], axis=1)
    centre = joint.mean(axis=0)
    cov = np.cov(joint, rowvar=False).reshape(joint.shape[1], joint.shape[1])
    cov = (1.0 - shrinkage) * cov + shrinkage * np.diag(np.diag(cov))
    cov_x, cov_y = cov[:dx, :dx], cov[dx:, dx:]
    signs, logdet = zip(*(np.linalg.slogdet(m) for m in (cov_x, cov_y, cov)), strict=True)
    if min(signs) <= 0 or np.linalg.cond(cov) > 1e12:
        return centre, np.full_like(cov, np.nan), np.nan  # singular: the caller explains
    blocks = np.linalg.inv(cov)
    blocks[:dx, :dx] -= np.linalg.inv(cov_x)
    blocks[dx:, dx:] -= np.linalg.inv(cov_y)
    return centre, blocks, 0.5 * (logdet[0] + logdet[1] - logdet[2])


class GaussianBaselineCritic(_WidthCheckedCritic):
    """``f(x, y) = g(x, y) + critic(x, y)``: a fixed Gaussian log ratio plus a learned residual.

    ``g`` is the log density ratio ``log p(x, y) / (p(x) p(y))`` of the Gaussian fitted to
    the rows it is built from (their mean and covariance, fixed: not a trained parameter).
    For jointly Gaussian data ``g`` is already the optimal critic of every bound and the
    residual has nothing to learn; otherwise the residual learns what the Gaussian misses.
    A small network alone approximates the quadratic ``g`` poorly: the (16, 8) joint critic
    read 1.86 nats at a true 2 (``benchmarks/README.md``, the issue 25 ablation).

    Args:
      critic: the learned residual, a :class:`Critic` (its input widths must match).
      x: the training rows of ``x``, ``[n, dx]`` (``n > dx + dy``).
      y: the training rows of ``y``, ``[n, dy]``.
      shrinkage: weight in [0, 1) moving the fitted covariance towards its diagonal (a
        ridge for few rows per dimension).

    Raises:
      ValueError: widths that do not match, too few rows, a singular covariance.

    Example:
      >>> import jax
      >>> from flax import nnx
      >>> from jaxinfo import testing
      >>> from jaxinfo.nn import ConcatCritic, GaussianBaselineCritic
      >>> x, y = testing.correlated_gaussians(2, 2).sample(jax.random.key(0), 1000)
      >>> critic = GaussianBaselineCritic(ConcatCritic(2, 2, rngs=nnx.Rngs(0)), x, y)
      >>> critic(x[:4], y[:3]).shape
      (4, 3)
    """

    def __init__(self, critic: Critic, x, y, *, shrinkage: float = 0.0):
        if not isinstance(critic, Critic):
            raise TypeError(f"`critic` must be a jaxinfo.nn.Critic; got {type(critic).__name__}.")
        x_rows = np.asarray(validation.as_array(x, "x"), np.float64)
        y_rows = np.asarray(validation.as_array(y, "y"), np.float64)
        if x_rows.ndim != 2 or y_rows.ndim != 2 or x_rows.shape[0] != y_rows.shape[0]:
            raise ValueError(
                f"`x` and `y` must be paired rows [n, dx] and [n, dy]; got shapes "
                f"{x_rows.shape} and {y_rows.shape}."
            )
        self.x_features, self.y_features = x_rows.shape[1], y_rows.shape[1]
        for name in ("x_features", "y_features"):
            width = getattr(critic, name, None)
            if width is not None and width != getattr(self, name):
                raise ValueError(
                    f"`critic` was built for {name} = {width}; the rows have {getattr(self, name)}."
                )
        joint = self.x_features + self.y_features
        if x_rows.shape[0] <= joint:
            raise ValueError(
                f"The Gaussian baseline needs more rows than dx + dy = {joint} to fit a "
                f"covariance; got {x_rows.shape[0]}."
            )
        shrinkage = float(validation.check_number(shrinkage, "shrinkage", low=0.0))
        if not shrinkage < 1.0:
            raise ValueError(f"`shrinkage` must lie in [0, 1); got {shrinkage}.")
        centre, blocks, constant = _gaussian_log_ratio_terms(x_rows, y_rows, shrinkage)
        if not (np.all(np.isfinite(blocks)) and np.isfinite(constant)):
            raise ValueError(
                "The covariance of the rows is singular (a constant or duplicated column); "
                "pass `shrinkage` > 0 or drop the column."
            )
        dtype = validation.compute_dtype(jnp.result_type(x))
        dx = self.x_features
        self.centre_x = nnx.Variable(jnp.asarray(centre[:dx], dtype))
        self.centre_y = nnx.Variable(jnp.asarray(centre[dx:], dtype))
        self.k_xx = nnx.Variable(jnp.asarray(blocks[:dx, :dx], dtype))
        self.k_xy = nnx.Variable(jnp.asarray(blocks[:dx, dx:], dtype))
        self.k_yy = nnx.Variable(jnp.asarray(blocks[dx:, dx:], dtype))
        self.constant = nnx.Variable(jnp.asarray(constant, dtype))
        self.weight = nnx.Param(jnp.ones((), dtype))
        self.residual = critic

    def gaussian_scores(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``g(x_i, y_j)``, the fixed Gaussian log ratio, ``[n, m]``."""
        x, y = _check_inputs(x, y, self)
        xc, yc = x - self.centre_x[...], y - self.centre_y[...]
        quadratic = (
            jnp.sum((xc @ self.k_xx[...]) * xc, axis=-1)[:, None]
            + 2.0 * (xc @ self.k_xy[...]) @ yc.T
            + jnp.sum((yc @ self.k_yy[...]) * yc, axis=-1)[None, :]
        )
        return self.constant[...] - 0.5 * quadratic

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``scores[i, j] = w g(x_i, y_j) + critic(x_i, y_j)``."""
        return self.weight[...] * self.gaussian_scores(x, y) + self.residual(x, y)
