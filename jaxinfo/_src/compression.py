"""Information planes via lossy compression (Butakov et al., ICLR 2024).

Classical estimators (KSG, kNN) fail in high dimension: their bias grows with the
dimension of the samples, not with the information they hold. When ``X`` and a layer's
output ``T`` concentrate near low-dimensional sets, a map ``f`` that is injective on those
sets keeps the information, ``I(f(X); g(T)) = I(X; T)``, and the estimator then runs in the
compressed dimension. Here the compressor is PCA: exact for data on a linear subspace
(plus independent noise in the dropped directions), lossy otherwise.

A deterministic injective layer ``T = f(X)`` of a continuous ``X`` has ``I(X; T) = inf``;
Goldfeld et al. (ICML 2019) make it finite by adding noise of fixed scale to the layer's
output (:func:`add_layer_noise`), which is part of the network's forward pass, not of the
estimator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import moments, numerics, validation
from jaxinfo._src.entry import Estimate, mutual_information
from jaxinfo._src.options import MUTUAL_INFORMATION_METHODS, MutualInformationMethod
from jaxinfo._src.resampling import confidence_interval


def _check_dim(dim, name: str, features: int, array_name: str) -> int:
    dim = validation.check_positive_int(dim, name)
    if dim > features:
        raise ValueError(
            f"`{name}` must be at most the number of features of `{array_name}` ({features}); "
            f"got {dim}. Pass a smaller `{name}` (or None to keep `{array_name}` as it is)."
        )
    return dim


def pca_compress(x: ArrayLike, dim: int, *, where: ArrayLike | None = None) -> jax.Array:
    """The rows of ``x``, centred, projected on its top-``dim`` principal axes.

    The axes are the eigenvectors of the (valid rows') covariance with the ``dim`` largest
    eigenvalues, in decreasing order, each signed so that its largest-magnitude entry is
    positive (an eigensolver's sign is arbitrary; this makes the output reproducible).
    Matrix products run at HIGHEST precision. A masked row is centred and projected like
    any other but takes no part in the mean and the axes. Works under ``jit`` and ``vmap``.

    Args:
      x: samples ``[n, d]`` (float).
      dim: the number of principal axes kept, ``1 <= dim <= d`` (static).
      where: boolean ``[n]`` marking the rows that fit the axes.

    Returns:
      ``[n, dim]``: the principal-component scores.

    Raises:
      ValueError: ``dim`` out of range, a malformed ``x`` or ``where``.
      TypeError: a non-integer ``dim``, integer ``x``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (500, 2))
      >>> x = z @ jax.random.normal(jax.random.key(1), (2, 32))  # 32-D, rank 2
      >>> print(jaxinfo.pca_compress(x, 2).shape)
      (500, 2)
    """
    x = validation.as_samples(x, "x")
    dim = _check_dim(dim, "dim", x.shape[1], "x")
    mask = validation.as_mask(where, x.shape[0])
    weights = jnp.ones(x.shape[0], x.dtype) if mask is None else mask.astype(x.dtype)
    mean = jnp.matmul(weights, x, precision=numerics.HIGHEST) / jnp.sum(weights)
    centred = x - mean
    _, scatter = moments.second_moment(centred, weights, None, centre=False)
    _, vectors = jnp.linalg.eigh(scatter)  # ascending eigenvalues
    axes = vectors[:, ::-1][:, :dim]
    largest = jnp.take_along_axis(axes, jnp.argmax(jnp.abs(axes), axis=0)[None], axis=0)
    axes = axes * jnp.where(largest < 0, -1.0, 1.0).astype(x.dtype)
    return jnp.matmul(centred, axes, precision=numerics.HIGHEST)


def _compressed(a: jax.Array, dim, name: str, dim_name: str, where) -> jax.Array:
    """``a`` as [n, d] PCA scores with ``dim`` columns (``None``: unchanged)."""
    if dim is None:
        return a
    if jnp.issubdtype(a.dtype, jnp.integer):
        raise TypeError(
            f"`{dim_name}` compresses float samples; `{name}` holds integer labels "
            f"(dtype {a.dtype}). Pass {dim_name}=None for labels."
        )
    if a.ndim == 1:
        a = a[:, None]
    return pca_compress(a, _check_dim(dim, dim_name, a.shape[-1], name), where=where)


def compressed_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    dim_x: int | None = None,
    dim_y: int | None = None,
    method: MutualInformationMethod = "ksg",
    where: ArrayLike | None = None,
    **options: Any,
) -> Estimate:
    """``I(X; Y)`` estimated between the PCA compressions of ``x`` and ``y``.

    ``x`` becomes its top-``dim_x`` principal-component scores and ``y`` its top-``dim_y``
    (:func:`pca_compress`; ``None`` leaves that side as it is, as it must for integer
    labels), and :func:`mutual_information` runs on them with ``method`` and ``options``.
    The estimate is of ``I(X; Y)`` only when the dropped directions carry no information
    (data on a ``dim``-dimensional subspace plus independent noise); otherwise it is the
    information of the kept directions, at most ``I(X; Y)`` (data processing).

    Args:
      x: samples ``[n, d_x]`` (integer labels ``[n]`` with ``dim_x=None``).
      y: samples ``[n, d_y]`` paired with ``x`` (or integer labels ``[n]``).
      dim_x: principal axes of ``x`` kept (static), or ``None`` for no compression.
      dim_y: principal axes of ``y`` kept (static), or ``None``.
      method: the :func:`mutual_information` method run on the compressed samples; KSG
        (the default) is accurate in the few dimensions compression leaves. Use
        ``"ross"`` (or ``"auto"``) for integer labels.
      where: boolean ``[n]`` marking valid rows (of the PCA fits and of the estimate).
      **options: options of ``method`` passed to :func:`mutual_information` (``k``,
        ``base``, ...).

    Returns:
      The :class:`Estimate` of :func:`mutual_information` on ``[n, dim_x]`` and
      ``[n, dim_y]`` scores; ``.method`` is the method that ran.

    Raises:
      ValueError: ``dim_x`` / ``dim_y`` below 1 or above the features of their side;
        whatever :func:`mutual_information` raises.
      TypeError: ``dim_x`` / ``dim_y`` given for integer labels.

    Example:
      >>> import jax, jaxinfo
      >>> task = jaxinfo.testing.correlated_gaussians(1, 1, correlation=0.8)
      >>> u, v = task.sample(jax.random.key(0), 2000)
      >>> x = u @ jax.random.normal(jax.random.key(1), (1, 64))  # u embedded in 64-D
      >>> mi = jaxinfo.compressed_mutual_information(x, v, dim_x=1)
      >>> print(mi.method, f"{mi.value:.2f}", f"{task.mutual_information:.2f}")
      ksg 0.53 0.51
    """
    validation.check_choice(method, "method", MUTUAL_INFORMATION_METHODS)
    x = validation.as_array(x, "x")
    y = validation.as_array(y, "y")
    mask = None if where is None else validation.as_mask(where, x.shape[0])
    x = _compressed(x, dim_x, "x", "dim_x", mask)
    y = _compressed(y, dim_y, "y", "dim_y", mask)
    return mutual_information(x, y, method=method, where=mask, **options)


def add_layer_noise(t: ArrayLike, noise_scale: float | jax.Array, *, key) -> jax.Array:
    """A stochastic layer's output ``T + noise_scale * N(0, I)`` (Goldfeld et al., 2019).

    For a deterministic layer ``T = f(X)`` with ``f`` injective on a continuous ``X``,
    ``H(T | X) = -inf`` and so ``I(X; T) = inf`` at every epoch: an estimate of it then
    measures the estimator (its bias, its binning), not the network. Adding independent
    Gaussian noise of a fixed scale ``sigma`` makes ``I(X; T + sigma Z)`` finite and
    meaningful (it falls as the layer clusters inputs closer than ``sigma``); ``sigma`` is
    part of the model and must be fixed across epochs and layers being compared, and it
    should be reported with the plane. Apply it in the forward pass whose activations are
    analysed (or to recorded activations, as :func:`information_plane` does).

    Args:
      t: a layer's output ``[..., features]`` (float).
      noise_scale: the standard deviation ``sigma > 0`` (may be traced).
      key: a JAX PRNG key.

    Returns:
      ``t`` plus independent ``N(0, sigma^2)`` noise, same shape and dtype.

    Raises:
      ValueError: a concrete ``noise_scale <= 0`` or non-finite.
      TypeError: integer ``t``, a ``key`` that is not a PRNG key.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> t = jnp.zeros((1000, 3))
      >>> noisy = jaxinfo.add_layer_noise(t, 0.1, key=jax.random.key(0))
      >>> print(f"{noisy.std():.2f}")
      0.10
    """
    t = validation.as_float_array(t, "t")
    scale = validation.check_number(noise_scale, "noise_scale", low=0.0, low_open=True)
    key = validation.as_prng_key(key)
    return t + jnp.asarray(scale, t.dtype) * jax.random.normal(key, t.shape, t.dtype)


class InformationPlane(NamedTuple):
    """Result of :func:`information_plane`: ``I(X; T)`` and ``I(T; Y)`` per layer and epoch.

    Attributes:
      layers: the layer names, in the order of the rows.
      input_information: ``I(X; T)`` estimates ``[layers, epochs]``.
      label_information: ``I(T; Y)`` estimates ``[layers, epochs]``.
      input_standard_error: their standard errors ``[layers, epochs]``
        (:func:`confidence_interval`), ``None`` without ``num_resamples``.
      label_standard_error: the same for ``label_information``.
      input_method: the ``method`` passed for ``I(X; T)`` (``"auto"`` picks per layer from
        the compressed dimensions).
      label_method: the method of ``I(T; Y)`` (``"ross"`` for integer labels).
    """

    layers: tuple[str, ...]
    input_information: np.ndarray
    label_information: np.ndarray
    input_standard_error: np.ndarray | None
    label_standard_error: np.ndarray | None
    input_method: str
    label_method: str

    def curves(self) -> dict[str, np.ndarray]:
        """``{layer: [epochs, 2]}`` with columns ``I(X; T)``, ``I(T; Y)``.

        The ``curves`` argument of :func:`jaxinfo.plotting.plot_information_plane`.
        """
        return {
            name: np.stack([self.input_information[i], self.label_information[i]], axis=1)
            for i, name in enumerate(self.layers)
        }


def _layers(activations) -> tuple[tuple[str, ...], list[jax.Array]]:
    """Names and ``[epochs, n, features]`` arrays of a mapping or a sequence of layers."""
    if isinstance(activations, Mapping):
        names = tuple(str(name) for name in activations)
        arrays = list(activations.values())
    elif isinstance(activations, Sequence) and not isinstance(activations, str | bytes):
        names = tuple(str(i) for i in range(len(activations)))
        arrays = list(activations)
    else:
        raise TypeError(
            "`activations` must be a mapping {layer name: [epochs, n, features]} or a "
            f"sequence of such arrays; got {type(activations).__name__}."
        )
    if not arrays:
        raise ValueError("`activations` must hold at least one layer; got none.")
    checked = []
    for name, a in zip(names, arrays, strict=True):
        a = validation.as_float_array(a, f"activations[{name!r}]")
        if a.ndim != 3:
            raise ValueError(
                f"`activations[{name!r}]` must have shape [epochs, n, features]; got "
                f"{tuple(a.shape)}. Stack the epochs on a leading axis (one epoch: `t[None]`)."
            )
        checked.append(a)
    epochs = {a.shape[0] for a in checked}
    if len(epochs) > 1:
        raise ValueError(
            f"every layer of `activations` must have the same number of epochs; got "
            f"{sorted(epochs)}."
        )
    return names, checked


@functools.cache
def _estimator(method: str, options: tuple[tuple[str, Any], ...]) -> Callable[..., jax.Array]:
    """One function per (method, options): :func:`confidence_interval` compiles it once."""

    def estimate(a, b):
        return mutual_information(a, b, method=method, **dict(options)).value  # type: ignore[arg-type]

    return estimate


def _side(a: jax.Array, dim: int) -> jax.Array:
    """Float samples ``[n, d]`` compressed to ``dim`` columns when ``d > dim``."""
    a = a[:, None] if a.ndim == 1 else a
    return pca_compress(a, dim) if a.shape[1] > dim else a


def information_plane(
    x: ArrayLike,
    y: ArrayLike,
    activations: Mapping[str, ArrayLike] | Sequence[ArrayLike],
    *,
    key,
    dim: int = 4,
    method: MutualInformationMethod = "ksg",
    noise_scale: float | None = None,
    num_resamples: int | None = None,
    k: int | None = None,
) -> InformationPlane:
    """``I(X; T)`` and ``I(T; Y)`` of every layer at every epoch, by compression (Butakov et al.).

    For each layer and epoch, ``T`` (optionally made stochastic: ``T + noise_scale * N(0,
    I)``, :func:`add_layer_noise`, fresh noise per layer and epoch), ``X`` and a float
    ``Y`` are each compressed to their top-``dim`` principal components when wider than
    ``dim`` (:func:`pca_compress`; ``T`` refitted per epoch), and
    :func:`mutual_information` estimates both terms. ``I(X; T)`` uses ``method``;
    ``I(T; Y)`` uses ``method`` for float ``y`` and ``"ross"`` (Ross's kNN estimator of
    float samples and class labels) for integer labels ``[n]``. Runs eagerly, one
    estimate at a time (host loop over layers and epochs).

    Without noise, ``I(X; T)`` of an injective deterministic layer is infinite and any
    finite estimate reflects the estimator; pass ``noise_scale`` (docs/information_plane.md).

    Args:
      x: inputs ``[n, d_x]`` (float).
      y: labels: integer ``[n]`` or float ``[n, d_y]``, paired with ``x``.
      activations: ``{layer name: [epochs, n, features]}`` or a sequence of such arrays
        (named ``"0"``, ``"1"``, ...): the layers' outputs on ``x``, per epoch.
      key: a JAX PRNG key (the noise and the resampled rows).
      dim: compressed dimension of every wider side (static).
      method: the :func:`mutual_information` method on compressed float pairs.
      noise_scale: the stochastic layer's ``sigma > 0``; ``None`` analyses ``T`` as given.
      num_resamples: with a number, standard errors from that many half-sample redraws
        (:func:`confidence_interval`); ``None`` skips them.
      k: neighbour order of the kNN methods (``None``: their default).

    Returns:
      An :class:`InformationPlane`; ``.curves()`` feeds
      :func:`jaxinfo.plotting.plot_information_plane`.

    Raises:
      ValueError: ``activations`` of mismatched shapes (the layer is named), ``dim < 1``,
        rows that do not match ``x``.
      TypeError: ``activations`` of the wrong type, integer ``x``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> x = jax.random.normal(jax.random.key(0), (500, 8))
      >>> y = (x[:, 0] > 0).astype(jnp.int32)
      >>> t = jnp.stack([jnp.tanh(x[:, :4] * s) for s in (0.5, 1.0, 2.0)])  # 3 epochs
      >>> plane = jaxinfo.information_plane(x, y, {"h": t}, key=jax.random.key(1),
      ...                                   dim=4, noise_scale=0.1)
      >>> print(plane.input_information.shape, plane.label_method)
      (1, 3) ross
    """
    validation.check_choice(method, "method", MUTUAL_INFORMATION_METHODS)
    dim = validation.check_positive_int(dim, "dim")
    key = validation.as_prng_key(key)
    names, layers = _layers(activations)
    x = validation.as_samples(x, "x")
    y = validation.as_array(y, "y")
    validation.check_same_num_samples(
        [x, y, *(a[0] for a in layers)], ["x", "y", *(f"activations[{n!r}]" for n in names)]
    )
    if num_resamples is not None:
        num_resamples = validation.check_positive_int(num_resamples, "num_resamples", minimum=2)
    labels = jnp.issubdtype(y.dtype, jnp.integer)
    if labels:
        if y.ndim != 1:
            raise ValueError(f"integer `y` must be class labels [n]; got shape {tuple(y.shape)}.")
        y_side, label_method = y, "ross"
    else:
        y_side, label_method = _side(validation.as_float_array(y, "y"), dim), method
    x_side = _side(x, dim)
    options = () if k is None else (("k", validation.check_positive_int(k, "k")),)
    input_estimator = _estimator(method, options)
    label_estimator = _estimator(label_method, options)

    num_epochs = layers[0].shape[0]
    shape = (len(layers), num_epochs)
    values = {name: np.zeros(shape) for name in ("input", "label")}
    errors = {name: np.zeros(shape) for name in ("input", "label")}
    for i, layer in enumerate(layers):
        for epoch in range(num_epochs):
            draw = jax.random.fold_in(jax.random.fold_in(key, i), epoch)
            noise_key, input_key, label_key = jax.random.split(draw, 3)
            t = layer[epoch]
            if noise_scale is not None:
                t = add_layer_noise(t, noise_scale, key=noise_key)
            t = _side(t, dim)
            pairs = (
                ("input", input_estimator, x_side, input_key),
                ("label", label_estimator, y_side, label_key),
            )
            for term, estimator, other, term_key in pairs:
                if num_resamples is None:
                    values[term][i, epoch] = float(estimator(other, t))
                    continue
                interval = confidence_interval(
                    estimator, other, t, key=term_key, num_resamples=num_resamples
                )
                values[term][i, epoch] = float(interval.value)
                errors[term][i, epoch] = float(interval.standard_error)
    with_errors = num_resamples is not None
    return InformationPlane(
        layers=names,
        input_information=values["input"],
        label_information=values["label"],
        input_standard_error=errors["input"] if with_errors else None,
        label_standard_error=errors["label"] if with_errors else None,
        input_method=method,
        label_method=label_method,
    )
