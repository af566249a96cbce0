"""Information-bottleneck losses for classifiers: prediction term plus beta times compression.

Each loss is ``cross_entropy(logits, labels) + beta * I(X; T)`` with an estimate (or bound)
of the compression term ``I(X; T)``; the cross-entropy lower-bounds ``I(T; Y)`` up to
``H(Y)``. They return ``(loss, {"prediction": ..., "compression": ...})`` like
:func:`jaxinfo.cauchy_schwarz_information_bottleneck_loss`; ``beta`` may be traced (a
schedule), a negative traced ``beta`` gives NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import collectives, guards, programs, validation
from jaxinfo._src.kde import gaussian_noise_mutual_information_upper_bound
from jaxinfo._src.kernels import KernelLike, as_kernel
from jaxinfo._src.matrix import matrix_mutual_information


def _classifier_outputs(logits, labels, where, axis_name):
    """Validated ``logits [n, c]``, integer ``labels [n]`` and the row mask."""
    (logits,), mask = validation.paired_samples((logits,), ("logits",), where, axis_name)
    labels = validation.as_array(labels, "labels")
    if not jnp.issubdtype(labels.dtype, jnp.integer) or labels.shape != (logits.shape[0],):
        raise ValueError(
            f"`labels` must be integer class indices of shape [n] = ({logits.shape[0]},); "
            f"got {labels.dtype}{tuple(labels.shape)}."
        )
    num_classes = logits.shape[1]
    valid = jnp.ones(labels.shape, bool) if mask is None else mask
    in_range = jnp.all(((labels >= 0) & (labels < num_classes)) | ~valid)
    concrete = validation.concrete_value(in_range)
    if concrete is not None and not concrete:
        raise ValueError(
            f"`labels` must lie in [0, {num_classes}) (the logits' columns); got values "
            "outside. Under jit the loss is NaN."
        )
    out_of_range = collectives.psum((~in_range).astype(jnp.int32), axis_name)
    return logits, labels, mask, out_of_range == 0


def _mean_over_rows(per_row, mask, axis_name) -> jax.Array:
    weights = jnp.ones_like(per_row) if mask is None else mask.astype(per_row.dtype)
    total = collectives.psum(jnp.sum(jnp.where(weights > 0, per_row, 0.0)), axis_name)
    return total / collectives.psum(jnp.sum(weights), axis_name)


def _cross_entropy(logits, labels, mask, axis_name) -> jax.Array:
    """Mean ``-log softmax(logits)[label]`` over valid rows (nats)."""
    safe = jnp.clip(labels, 0, logits.shape[1] - 1)
    log_p = jax.nn.log_softmax(logits, axis=-1)
    picked = jnp.take_along_axis(log_p, safe[:, None], axis=1)[:, 0]
    return _mean_over_rows(-picked, mask, axis_name)


class _Classifier(NamedTuple):
    """A bottleneck loss's validated classifier rows, and how it answers (:func:`_classifier`)."""

    logits: jax.Array
    labels: jax.Array
    mask: jax.Array | None
    in_range: jax.Array
    base: float | None
    where: ArrayLike | None
    axis_name: str | None

    def check_rows(self, **arrays) -> tuple[jax.Array, ...]:
        """The arrays as float ``[n, d]`` samples with one row per row of ``logits``.

        Checked here under the caller's names (the compression term's own checks would name
        its parameters, ``h`` or ``y``); the compression term validates its inputs against
        ``where`` only, so without this a ``t`` with a row too few would be measured on other
        samples than the prediction.
        """
        n = self.logits.shape[0]
        checked = []
        for name, array in arrays.items():
            array = validation.as_samples(array, name, min_samples=1)
            if array.shape[0] != n:
                raise ValueError(
                    f"`{name}` must have one row per row of `logits` ({n} rows: the same "
                    f"samples); got shape {tuple(array.shape)}."
                )
            checked.append(array)
        return tuple(checked)

    def rows(self) -> dict:
        """``base``, ``where`` and ``axis_name``: the compression term is measured on these rows."""
        return {"base": self.base, "where": self.where, "axis_name": self.axis_name}

    def loss(self, compression, beta, arrays: tuple[jax.Array, ...] = ()):
        """``(loss, aux)`` (:meth:`guards.Checked.loss`); ``compression`` in the unit of ``base``.

        ``arrays`` are the loss's other per-row inputs, checked with the logits for
        non-finite values.
        """
        rows = guards.Checked((self.logits, *arrays), self.mask, self.axis_name, self.base)
        prediction = _cross_entropy(self.logits, self.labels, self.mask, self.axis_name)
        return rows.loss(prediction, compression, beta, self.in_range & rows.holds())


def _classifier(logits, labels, base, where, axis_name) -> _Classifier:
    """The preamble of a bottleneck loss: ``base``, the logits and the labels validated."""
    validation.log_base_divisor(base)
    logits, labels, mask, in_range = _classifier_outputs(logits, labels, where, axis_name)
    return _Classifier(logits, labels, mask, in_range, base, where, axis_name)


def _check_beta(beta):
    return validation.check_number(beta, "beta", low=0.0, hint="beta weighs the compression term.")


@programs.one_program
def gaussian_kl_to_standard_normal(mean: ArrayLike, log_variance: ArrayLike) -> jax.Array:
    r"""``KL(N(mean, diag exp(log_variance)) || N(0, I))`` per row, in nats.

    .. math:: \tfrac12 \sum_k \big(\mu_k^2 + \sigma_k^2 - \log \sigma_k^2 - 1\big).

    Args:
      mean: ``[..., k]`` encoder means.
      log_variance: ``[..., k]`` encoder log-variances (same shape).

    Returns:
      KL of shape ``mean.shape[:-1]``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.gaussian_kl_to_standard_normal(jnp.ones(2), jnp.zeros(2)):.4f}")
      1.0000
    """
    mean = validation.as_float_array(mean, "mean")
    log_variance = validation.as_float_array(log_variance, "log_variance")
    if mean.shape != log_variance.shape or mean.ndim < 1:
        raise ValueError(
            f"`mean` and `log_variance` must have one shape [..., k]; got {tuple(mean.shape)} "
            f"and {tuple(log_variance.shape)}."
        )
    terms = mean * mean + jnp.exp(log_variance) - log_variance - 1.0
    return 0.5 * jnp.sum(terms, axis=-1)


@programs.one_program
def variational_information_bottleneck_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    mean: ArrayLike,
    log_variance: ArrayLike,
    *,
    beta: ArrayLike,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    r"""Variational IB loss (Alemi et al. 2017): cross-entropy plus ``beta`` times the KL rate.

    .. math::
       L = \operatorname{mean}_i \big[-\log q(y_i | z_i)\big]
       + \beta\, \operatorname{mean}_i \operatorname{KL}\big(N(\mu_i, \sigma_i^2) \,\|\,
       N(0, I)\big),

    with ``logits`` the decoder's output on a reparameterised sample ``z = mu + sigma eps``
    of the Gaussian encoder. The KL term upper-bounds ``I(X; Z)``.

    Args:
      logits: decoder logits ``[n, c]``.
      labels: integer class labels ``[n]`` in ``[0, c)``.
      mean: encoder means ``[n, k]``.
      log_variance: encoder log-variances ``[n, k]``.
      beta: compression weight ``>= 0`` (may be traced).
      base: logarithm base of both terms; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map`` (means are ``psum``-reduced).

    Returns:
      ``(loss, {"prediction": cross-entropy, "compression": mean KL})``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> logits = jnp.array([[2.0, 0.0], [0.0, 2.0]])
      >>> loss, aux = jaxinfo.variational_information_bottleneck_loss(
      ...     logits, jnp.array([0, 1]), jnp.zeros((2, 3)), jnp.zeros((2, 3)), beta=1e-3)
      >>> print(f"{loss:.4f} {aux['compression']:.4f}")
      0.1269 0.0000

    References:
      Alemi, Fischer, Dillon & Murphy, "Deep variational information bottleneck", ICLR 2017.
    """
    beta = _check_beta(beta)
    classifier = _classifier(logits, labels, base, where, axis_name)
    mean, log_variance = classifier.check_rows(mean=mean, log_variance=log_variance)
    (mean, log_variance), _ = validation.paired_samples(
        (mean, log_variance), ("mean", "log_variance"), where, axis_name
    )
    kl = gaussian_kl_to_standard_normal(mean, log_variance)
    compression = validation.convert_units(_mean_over_rows(kl, classifier.mask, axis_name), base)
    return classifier.loss(compression, beta, (mean, log_variance))


@programs.one_program
def nonlinear_information_bottleneck_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    t: ArrayLike,
    *,
    beta: ArrayLike,
    noise_variance: ArrayLike = 1.0,
    squared: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    r"""Nonlinear IB loss (Kolchinsky et al. 2019): cross-entropy plus the pairwise KDE bound.

    The bottleneck is ``T = h(X) + N(0, s^2 I)``; ``t`` holds ``h(x_i)`` and the compression
    term is the upper bound of :func:`jaxinfo.gaussian_noise_mutual_information_upper_bound`,
    ``-mean_i log mean_j exp(-|t_i - t_j|^2 / (2 s^2))``. ``squared=True`` gives the squared
    IB, ``CE + beta I^2`` (Kolchinsky, Tracey & Van Kuyk, ICLR 2019), whose optimum moves
    along the IB curve with ``beta``.

    Args:
      logits: decoder logits ``[n, c]`` (computed from noisy ``t``).
      labels: as in :func:`variational_information_bottleneck_loss`.
      t: noiseless bottleneck activations ``h(x)`` ``[n, k]``.
      beta: as in :func:`variational_information_bottleneck_loss`.
      noise_variance: ``s^2 > 0`` (may be traced; trainable through a softplus in the
        reference).
      squared: penalise ``I(X; T)^2`` instead of ``I(X; T)`` (static).
      base: as in :func:`variational_information_bottleneck_loss`.
      where: as in :func:`variational_information_bottleneck_loss`.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: rows per block of the pairwise sum (``None``: the memory budget).

    Returns:
      ``(loss, {"prediction": cross-entropy, "compression": I(X; T) bound})``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> t = jax.random.normal(jax.random.key(0), (8, 2))
      >>> loss, aux = jaxinfo.nonlinear_information_bottleneck_loss(
      ...     t, jnp.arange(8) % 2, t, beta=0.1)
      >>> print(f"{aux['compression']:.4f}")
      1.0923

    References:
      Kolchinsky, Tracey & Wolpert, "Nonlinear information bottleneck", Entropy 21(12), 2019.
    """
    beta = _check_beta(beta)
    squared = validation.check_bool(squared, "squared")
    classifier = _classifier(logits, labels, base, where, axis_name)
    (t,) = classifier.check_rows(t=t)
    compression = gaussian_noise_mutual_information_upper_bound(
        t, noise_variance=noise_variance, block_size=block_size, **classifier.rows()
    )
    if squared:
        compression = compression * compression
    return classifier.loss(compression, beta)


@programs.one_program
def matrix_information_bottleneck_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    x: ArrayLike,
    t: ArrayLike,
    *,
    beta: ArrayLike,
    alpha: float = 1.01,
    kernel_x: KernelLike | None = None,
    kernel_t: KernelLike | None = None,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    r"""Matrix-based IB loss (Yu et al. 2021): cross-entropy plus matrix Rényi ``I_alpha(X; T)``.

    The compression term is :func:`jaxinfo.matrix_mutual_information` between the inputs
    and the representation, ``S(A) + S(B) - S(A o B / tr(A o B))``, with order ``alpha``
    (1.01 as in the reference) and Gaussian kernels (median rule by default; the reference
    uses a mean-distance width on each batch).

    Args:
      logits: classifier logits ``[n, c]``.
      labels: as in :func:`variational_information_bottleneck_loss`.
      x: inputs ``[n, d_x]`` (flattened).
      t: representation ``[n, d_t]``.
      beta: compression weight ``>= 0`` (may be traced; the reference uses 0.01).
      alpha: Rényi order (static).
      kernel_x: kernel on ``x``; default Gaussian (median).
      kernel_t: kernel on ``t``; default Gaussian (median).
      base: as in :func:`variational_information_bottleneck_loss`.
      where: as in :func:`variational_information_bottleneck_loss`.
      axis_name: mesh axis of the rows inside ``shard_map``.

    Returns:
      ``(loss, {"prediction": cross-entropy, "compression": I_alpha(X; T)})``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> x = jax.random.normal(jax.random.key(0), (16, 4))
      >>> loss, aux = jaxinfo.matrix_information_bottleneck_loss(
      ...     x[:, :2], jnp.arange(16) % 2, x, jnp.tanh(x[:, :2]), beta=0.01)
      >>> print(f"{aux['compression']:.4f}")
      0.5755

    References:
      Yu, Yu & Príncipe, "Deep deterministic information bottleneck with matrix-based
      entropy functional", ICASSP 2021.
    """
    beta = _check_beta(beta)
    classifier = _classifier(logits, labels, base, where, axis_name)
    x, t = classifier.check_rows(x=x, t=t)
    kernel_x, kernel_t = as_kernel(kernel_x, "kernel_x"), as_kernel(kernel_t, "kernel_t")
    compression = matrix_mutual_information(
        x, t, alpha=alpha, kernel_x=kernel_x, kernel_y=kernel_t, **classifier.rows()
    )
    return classifier.loss(compression, beta)
