"""Ground-truth tasks: samplers of paired ``(x, y)`` with known mutual information.

Every :class:`Task` carries its true mutual information (nats), where it comes from
(``truth``: a closed form, or a Monte Carlo estimate with its standard error for the
Gaussian mixtures) and, where known, the entropies of ``x`` and ``y``, so any estimator can
be checked against the truth. The MI-preserving transforms (:func:`half_cube`,
:func:`asinh`, :func:`spiral`, :func:`wiggly`, :func:`bimodal`) apply bijections that keep
the MI but change the entropies (set to ``None``); they are the invariance and long-tail
stress tests of the "Beyond normal" benchmark (Czyż et al., NeurIPS 2023).
:func:`accuracy_suite` is a fixed set of 22 tasks drawn from all of them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import cast

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.optimize
from jax.core import Tracer
from scipy.special import digamma, gammaln

from jaxinfo._src import validation
from jaxinfo._src.numerics import HIGHEST
from jaxinfo._src.options import PENDULUM_OBSERVATIONS, PendulumObservation

__all__ = [
    "ConditionalTask",
    "Task",
    "TransferEntropyTask",
    "accuracy_suite",
    "additive_uniform_noise",
    "asinh",
    "bimodal",
    "conditional_gaussians",
    "correlated_gaussians",
    "gaussian_copula_uniform",
    "gaussian_koopman_optimal_covariance",
    "gaussian_mixture",
    "half_cube",
    "inlier_mixture",
    "linear_gaussian_var1",
    "lorenz63",
    "matrix_mutual_information_order2",
    "pendulum",
    "spiral",
    "student_t",
    "swiss_roll",
    "trajectory_windows",
    "wiggly",
    "x_mixture",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Task:
    """A joint distribution of ``(x, y)`` with known information quantities (nats).

    Args:
      name: short label, e.g. ``"gaussian-dense-2x2-0.5"``.
      sample: ``sample(key, n) -> (x, y)`` with shapes ``[n, dim_x]`` and ``[n, dim_y]``.
      mutual_information: the true ``I(X; Y)``.
      dim_x: feature dimension of ``x``.
      dim_y: feature dimension of ``y``.
      entropy_x: the true differential entropy of ``x``, or ``None`` where unknown.
      entropy_y: the true differential entropy of ``y``, or ``None`` where unknown.
      truth: where ``mutual_information`` comes from, e.g. ``"closed form"`` or
        ``"Monte Carlo, 1,000,000 samples, standard error 3.1e-04"``; transforms keep it.
      truth_standard_error: the standard error of a Monte Carlo truth (``0.0`` for a closed
        form), so a comparison can allow for it.

    Returns:
      A frozen dataclass (hashable: usable as a static argument). ``sample`` is wrapped to
      refuse an ``n`` that is not a positive Python int and a ``key`` that is not a JAX PRNG
      key (an integer seed: use ``jax.random.key(seed)``).

    Raises:
      TypeError: a non-integer dimension, a non-callable ``sample``, a non-real value, a
        non-str ``name`` or ``truth``.
      ValueError: a dimension < 1, a negative or non-finite mutual information or entropy, a
        negative or non-finite ``truth_standard_error``.

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> task = testing.correlated_gaussians(1, 1, correlation=0.5)
      >>> x, y = task.sample(jax.random.key(0), 100)
      >>> print(x.shape, y.shape, f"{task.mutual_information:.4f}")
      (100, 1) (100, 1) 0.1438
    """

    name: str
    sample: Callable[[jax.Array, int], tuple[jax.Array, jax.Array]]
    mutual_information: float
    dim_x: int
    dim_y: int
    entropy_x: float | None = None
    entropy_y: float | None = None
    truth: str = "closed form"
    truth_standard_error: float = 0.0

    def __post_init__(self):
        """Validates the fields and wraps ``sample`` with the check of ``n``."""
        if not isinstance(self.name, str):
            raise TypeError(f"`name` must be a str; got {type(self.name).__name__}.")
        if not isinstance(self.truth, str):
            raise TypeError(f"`truth` must be a str; got {type(self.truth).__name__}.")
        if not callable(self.sample):
            raise TypeError(
                f"`sample` must be a callable `sample(key, n) -> (x, y)`; "
                f"got {type(self.sample).__name__}."
            )
        fields = {
            "sample": _checked_sampler(self.sample),
            "mutual_information": _check_real(
                self.mutual_information, "mutual_information", low=0.0
            ),
            "dim_x": _check_dim(self.dim_x, "dim_x"),
            "dim_y": _check_dim(self.dim_y, "dim_y"),
            "truth_standard_error": _check_real(
                self.truth_standard_error, "truth_standard_error", low=0.0
            ),
        }
        for name in ("entropy_x", "entropy_y"):
            value = getattr(self, name)
            fields[name] = None if value is None else _check_real(value, name)
        for name, value in fields.items():
            object.__setattr__(self, name, value)


def _check_num_samples(n) -> int:
    """``n`` for ``Task.sample``: a static positive int (it is an array shape)."""
    if isinstance(n, Tracer):
        raise TypeError(
            "`n` is an array shape, so it must be a static Python int; got a traced value. "
            "Mark it static, e.g. `jax.jit(task.sample, static_argnums=1)`."
        )
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"`n` must be a Python int (the number of samples); got {n!r}.")
    if n < 1:
        raise ValueError(f"`n` must be a positive int (the number of samples); got {n}.")
    return int(n)


def _checked_sampler(sample: Callable) -> Callable:
    """``sample`` with the key and the number of samples validated (wrapped once)."""
    if getattr(sample, "_checks_n", False):
        return sample

    @functools.wraps(sample)
    def checked(key, n):
        return sample(validation.as_prng_key(key), _check_num_samples(n))

    setattr(checked, "_checks_n", True)  # noqa: B010
    return checked


def _check_dim(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be a positive Python int; got {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive int; got {value}.")
    return int(value)


def _check_real(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_bounds: bool = False,
    hint: str = "",
) -> float:
    """A concrete, finite real number in ``[low, high]`` (open with ``open_bounds``)."""
    if isinstance(value, Tracer):
        raise TypeError(
            f"`{name}` sets the closed-form truth, so it must be a concrete number; "
            "got a traced value."
        )
    arr = np.asarray(value) if isinstance(value, np.ndarray | jax.Array) else None
    scalar_array = arr is not None and arr.shape == () and arr.dtype.kind in "fiu"
    if isinstance(value, bool) or not (isinstance(value, Real) or scalar_array):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__} {value!r}.")
    number = float(value)
    below = low is not None and (number <= low if open_bounds else number < low)
    above = high is not None and (number >= high if open_bounds else number > high)
    if not math.isfinite(number) or below or above:
        rule = "a finite number"
        lt, gt = ("<", ">") if open_bounds else ("<=", ">=")
        if low is not None and high is not None:
            rule += f" with {low:g} {lt} {name} {lt} {high:g}"
        elif low is not None:
            rule += f" {gt} {low:g}"
        elif high is not None:
            rule += f" {lt} {high:g}"
        raise ValueError(f"`{name}` must be {rule}; got {value}. {hint}".rstrip())
    return number


def _gaussian_covariance(dim_x: int, dim_y: int, correlation: float, interaction: str):
    """Unit-variance covariance of ``(x, y)`` for the dense and sparse interaction patterns."""
    size = dim_x + dim_y
    if not isinstance(interaction, str) or interaction not in ("dense", "sparse"):
        raise ValueError(f"`interaction` must be 'dense' or 'sparse'; got {interaction!r}.")
    if interaction == "dense":
        cov = np.full((size, size), float(correlation))
        np.fill_diagonal(cov, 1.0)
    else:
        cov = np.eye(size)
        for i in range(min(dim_x, dim_y, 2)):
            cov[i, dim_x + i] = cov[dim_x + i, i] = correlation
    if np.linalg.eigvalsh(cov)[0] <= 0:
        raise ValueError(
            f"`correlation` = {correlation} does not give a positive-definite covariance for "
            f"{interaction} {dim_x}x{dim_y}; dense needs -1/(dim_x + dim_y - 1) < c < 1, "
            "sparse needs |c| < 1."
        )
    return cov


def _log_det(matrix: np.ndarray) -> float:
    return float(np.linalg.slogdet(matrix)[1])


def _gaussian_sampler(cov: np.ndarray, dim_x: int):
    chol = np.linalg.cholesky(cov)

    def sample(key, n):
        z = jax.random.normal(key, (n, cov.shape[0]))
        v = jnp.matmul(z, jnp.asarray(chol.T, z.dtype), precision=HIGHEST)
        return v[:, :dim_x], v[:, dim_x:]

    return sample


def correlated_gaussians(
    dim_x: int = 1, dim_y: int = 1, *, correlation: float = 0.5, interaction: str = "dense"
) -> Task:
    r"""Jointly Gaussian ``(x, y)`` with unit variances.

    ``interaction="dense"``: every pair of coordinates (within and across ``x`` and ``y``)
    has correlation ``c``; ``"sparse"``: only the first ``min(dim_x, dim_y, 2)`` pairs
    ``(x_i, y_i)`` are correlated (the dependence lives in a few coordinates, where kNN
    estimators collapse). ``I = (log det S_x + log det S_y - log det S) / 2`` and
    ``H(X) = log det(2 pi e S_x) / 2``.

    Args:
      dim_x: feature dimension of ``x``.
      dim_y: feature dimension of ``y``.
      correlation: the correlation ``c``.
      interaction: ``"dense"`` or ``"sparse"``.

    Returns:
      A :class:`Task` with MI and both entropies.

    Raises:
      TypeError: a non-integer dimension, a non-real ``correlation``.
      ValueError: a non-finite ``correlation`` or ``|correlation| >= 1``, a covariance that is
        not positive definite, an unknown interaction.

    Example:
      >>> from jaxinfo import testing
      >>> print(f"{testing.correlated_gaussians(2, 2, correlation=0.5).mutual_information:.4f}")
      0.2939
    """
    dim_x, dim_y = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y")
    correlation = _check_real(
        correlation,
        "correlation",
        low=-1.0,
        high=1.0,
        open_bounds=True,
        hint="A correlation of +-1 makes x and y deterministic (infinite MI).",
    )
    cov = _gaussian_covariance(dim_x, dim_y, correlation, interaction)
    cov_x, cov_y = cov[:dim_x, :dim_x], cov[dim_x:, dim_x:]
    log_2pie = math.log(2.0 * math.pi * math.e)
    return Task(
        name=f"gaussian-{interaction}-{dim_x}x{dim_y}-{correlation:g}",
        sample=_gaussian_sampler(cov, dim_x),
        # >= 0 exactly; clamp the round-off of a near-zero correlation
        mutual_information=max(0.5 * (_log_det(cov_x) + _log_det(cov_y) - _log_det(cov)), 0.0),
        dim_x=dim_x,
        dim_y=dim_y,
        entropy_x=0.5 * (dim_x * log_2pie + _log_det(cov_x)),
        entropy_y=0.5 * (dim_y * log_2pie + _log_det(cov_y)),
        truth="closed form (Gaussian log-determinants)",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConditionalTask:
    """A joint distribution of ``(x, y, z)`` with known conditional mutual information (nats).

    Args:
      name: short label, e.g. ``"conditional-gaussian-1x1x1-0.5-1"``.
      sample: ``sample(key, n) -> (x, y, z)`` with shapes ``[n, dim_x]``, ``[n, dim_y]``,
        ``[n, dim_z]`` (the key and ``n`` are checked as in :class:`Task`).
      conditional_mutual_information: the true ``I(X; Y | Z)``.
      mutual_information: the true ``I(X; Y)`` (``z`` ignored).
      dim_x: feature dimension of ``x``.
      dim_y: feature dimension of ``y``.
      dim_z: feature dimension of ``z``.
      truth: where the values come from.

    Example:
      >>> from jaxinfo import testing
      >>> task = testing.conditional_gaussians(coupling=0.5, confounding=1.0)
      >>> print(f"{task.conditional_mutual_information:.4f} {task.mutual_information:.4f}")
      0.1116 0.4236
    """

    name: str
    sample: Callable[[jax.Array, int], tuple[jax.Array, jax.Array, jax.Array]]
    conditional_mutual_information: float
    mutual_information: float
    dim_x: int
    dim_y: int
    dim_z: int
    truth: str = "closed form"

    def __post_init__(self):
        """Validates the fields and wraps ``sample`` with the check of ``key`` and ``n``."""
        fields = {
            "sample": _checked_sampler(self.sample),
            "conditional_mutual_information": _check_real(
                self.conditional_mutual_information, "conditional_mutual_information", low=0.0
            ),
            "mutual_information": _check_real(
                self.mutual_information, "mutual_information", low=0.0
            ),
            "dim_x": _check_dim(self.dim_x, "dim_x"),
            "dim_y": _check_dim(self.dim_y, "dim_y"),
            "dim_z": _check_dim(self.dim_z, "dim_z"),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)


def conditional_gaussians(
    dim_x: int = 1,
    dim_y: int = 1,
    dim_z: int = 1,
    *,
    coupling: float = 0.5,
    confounding: float = 1.0,
) -> ConditionalTask:
    r"""Jointly Gaussian ``(x, y, z)``: ``z`` drives both ``x`` and ``y``, and ``x`` drives ``y``.

    ``z ~ N(0, I)``, ``x = c A z + e_x``, ``y = a B x + c C z + e_y`` with standard normal
    noises ``e``, ``a`` the ``coupling``, ``c`` the ``confounding`` and ``A``, ``B``, ``C``
    all-ones matrices scaled by ``1 / sqrt(columns)``. With ``S`` the covariance of the
    three,

    .. math::
       I(X; Y \mid Z) = \tfrac12 \log\frac{\det S_{xz} \det S_{yz}}{\det S_z \det S_{xyz}},

    and ``I(X; Y)`` from the ``[x, y]`` block. ``coupling=0`` makes ``x`` and ``y``
    conditionally independent (CMI 0, MI > 0 through ``z``); ``confounding=0`` makes ``z``
    independent of both (CMI = MI). One dimension each: CMI ``= 0.5 log(1 + a^2)``.

    Args:
      dim_x: feature dimension of ``x``.
      dim_y: feature dimension of ``y``.
      dim_z: feature dimension of ``z``.
      coupling: ``a``, the direct effect of ``x`` on ``y``.
      confounding: ``c``, the effect of ``z`` on ``x`` and ``y``.

    Returns:
      A :class:`ConditionalTask` with both values in closed form.

    Raises:
      TypeError: a non-integer dimension, a non-real coefficient.
      ValueError: a dimension < 1, a non-finite coefficient.

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> task = testing.conditional_gaussians(2, 1, 3)
      >>> x, y, z = task.sample(jax.random.key(0), 10)
      >>> print(x.shape, y.shape, z.shape, f"{task.conditional_mutual_information:.4f}")
      (10, 2) (10, 1) (10, 3) 0.1116
    """
    dx, dy, dz = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y"), _check_dim(dim_z, "dim_z")
    a = _check_real(coupling, "coupling")
    c = _check_real(confounding, "confounding")

    def ones(rows, cols):
        return np.ones((rows, cols)) / math.sqrt(cols)

    size = dx + dy + dz
    # [x, y, z] = M [e_x, e_y, z]
    mixing = np.eye(size)
    mixing[:dx, dx + dy :] = c * ones(dx, dz)
    mixing[dx : dx + dy, :dx] = a * ones(dy, dx)
    mixing[dx : dx + dy, dx + dy :] = a * c * ones(dy, dx) @ ones(dx, dz) + c * ones(dy, dz)
    cov = mixing @ mixing.T
    xs, ys, zs = np.arange(dx), np.arange(dx, dx + dy), np.arange(dx + dy, size)

    def log_det(*blocks):
        index = np.concatenate(blocks)
        return _log_det(cov[np.ix_(index, index)])

    cmi = 0.5 * (log_det(xs, zs) + log_det(ys, zs) - log_det(zs) - log_det(xs, ys, zs))
    mi = 0.5 * (log_det(xs) + log_det(ys) - log_det(xs, ys))

    def sample(key, n):
        w = jax.random.normal(key, (n, size))
        v = jnp.matmul(w, jnp.asarray(mixing.T, w.dtype), precision=HIGHEST)
        return v[:, :dx], v[:, dx : dx + dy], v[:, dx + dy :]

    return ConditionalTask(
        name=f"conditional-gaussian-{dx}x{dy}x{dz}-{a:g}-{c:g}",
        sample=sample,
        # exactly 0 without coupling (x, y independent given z), and without confounding
        # too (independent); else >= 0, clamped against round-off
        conditional_mutual_information=0.0 if a == 0.0 else max(cmi, 0.0),
        mutual_information=0.0 if a == 0.0 and c == 0.0 else max(mi, 0.0),
        dim_x=dx,
        dim_y=dy,
        dim_z=dz,
        truth="closed form (Gaussian log-determinants)",
    )


def matrix_mutual_information_order2(
    dim_x: int = 1,
    dim_y: int = 1,
    *,
    correlation: float = 0.5,
    bandwidth: float = 1.0,
    interaction: str = "dense",
) -> float:
    r"""Population value of the order-2 matrix MI on :func:`correlated_gaussians` (nats).

    ``jaxinfo.matrix_mutual_information(x, y, alpha=2)`` with Gaussian kernels of width
    ``sigma`` reads ``-log tr(A^2)`` per Gram, and ``n tr(A^2)`` is ``1 / n`` plus the mean of
    ``k(x_i, x_j)^2`` over pairs. For a Gaussian with covariance ``S`` that mean tends to
    ``det(I + 4 S / sigma^2)^(-1/2)``, so the value tends to
    ``(log det(I + 4 S_x / s^2) + log det(I + 4 S_y / s^2) - log det(I + 4 S / s^2)) / 2``
    (the estimator's own target: it is not Shannon MI). At ``n`` rows it sits about
    ``(1 - p) / (n p)`` below each entropy term (``p`` the pair mean).

    Args:
      dim_x: feature dimension of ``x``.
      dim_y: feature dimension of ``y``.
      correlation: the correlation ``c`` of :func:`correlated_gaussians`.
      bandwidth: the kernel width ``sigma`` of both Gaussian kernels.
      interaction: ``"dense"`` or ``"sparse"``, as in :func:`correlated_gaussians`.

    Example:
      >>> from jaxinfo import testing
      >>> print(f"{testing.matrix_mutual_information_order2(correlation=0.6):.4f}")
      0.1309
    """
    dim_x, dim_y = _check_dim(dim_x, "dim_x"), _check_dim(dim_y, "dim_y")
    correlation = _check_real(correlation, "correlation", low=-1.0, high=1.0, open_bounds=True)
    bandwidth = _check_real(bandwidth, "bandwidth", low=0.0, open_bounds=True)
    cov = _gaussian_covariance(dim_x, dim_y, correlation, interaction)
    scaled = np.eye(dim_x + dim_y) + 4.0 * cov / bandwidth**2
    return 0.5 * (
        _log_det(scaled[:dim_x, :dim_x]) + _log_det(scaled[dim_x:, dim_x:]) - _log_det(scaled)
    )


def gaussian_copula_uniform(
    dim_x: int = 1, dim_y: int = 1, *, correlation: float = 0.5, interaction: str = "dense"
) -> Task:
    r"""The Gaussian task of :func:`correlated_gaussians` pushed through the normal CDF.

    Each coordinate becomes ``U(0, 1)``; the map is coordinate-wise monotone, so the MI is
    unchanged. ``H(X) = log det(R_x) / 2`` (the uniform marginals have entropy 0 and the
    copula keeps the Gaussian's total correlation).

    Args:
      dim_x: as in :func:`correlated_gaussians`.
      dim_y: as in :func:`correlated_gaussians`.
      correlation: the latent Gaussian correlation.
      interaction: as in :func:`correlated_gaussians`.

    Returns:
      A :class:`Task` with MI and both entropies.

    Example:
      >>> from jaxinfo import testing
      >>> print(f"{testing.gaussian_copula_uniform(1, 1, correlation=0.5).entropy_x:.4f}")
      0.0000
    """
    base = correlated_gaussians(dim_x, dim_y, correlation=correlation, interaction=interaction)
    cov = _gaussian_covariance(base.dim_x, base.dim_y, correlation, interaction)

    def sample(key, n):
        x, y = base.sample(key, n)
        return jax.scipy.special.ndtr(x), jax.scipy.special.ndtr(y)

    return dataclasses.replace(
        base,
        name=f"copula-uniform-{interaction}-{base.dim_x}x{base.dim_y}-{correlation:g}",
        sample=sample,
        entropy_x=0.5 * _log_det(cov[: base.dim_x, : base.dim_x]),
        entropy_y=0.5 * _log_det(cov[base.dim_x :, base.dim_x :]),
    )


def additive_uniform_noise(epsilon: float = 0.1) -> Task:
    r"""``X ~ U(0, 1)``, ``Y = X + N`` with ``N ~ U(-epsilon, epsilon)`` independent of ``X``.

    With noise width ``w = 2 epsilon`` the density of ``Y`` is a trapezoid and
    ``I = H(Y) - log w`` gives ``I = epsilon - log(2 epsilon)`` for ``epsilon <= 1/2`` and
    ``I = 1 / (4 epsilon)`` otherwise (the "additive noise" tasks of Czyż et al. 2023, same
    parametrisation). ``H(X) = 0`` and ``H(Y) = I + log(2 epsilon)``.

    Args:
      epsilon: half-width of the noise, ``> 0``.

    Returns:
      A :class:`Task` (1-D ``x`` and ``y``) with MI and both entropies.

    Raises:
      TypeError: a non-real ``epsilon``.
      ValueError: ``epsilon`` not finite and positive; at sampling, an ``epsilon`` the sample
        dtype cannot resolve (under ``1024`` ulps of 1: ``y`` would hardly differ from ``x``)
        or represent.

    Example:
      >>> from jaxinfo import testing
      >>> print(f"{testing.additive_uniform_noise(0.1).mutual_information:.4f}")
      1.7094
    """
    epsilon = _check_real(epsilon, "epsilon", low=0.0, open_bounds=True)
    mi = epsilon - math.log(2.0 * epsilon) if epsilon <= 0.5 else 1.0 / (4.0 * epsilon)

    def sample(key, n):
        kx, kn = jax.random.split(key)
        x = jax.random.uniform(kx, (n, 1))
        _check_noise_resolution(epsilon, x.dtype)
        noise = jax.random.uniform(kn, (n, 1), minval=-epsilon, maxval=epsilon, dtype=x.dtype)
        return x, x + noise

    return Task(
        name=f"additive-uniform-{epsilon:g}",
        sample=sample,
        mutual_information=mi,
        dim_x=1,
        dim_y=1,
        entropy_x=0.0,
        entropy_y=mi + math.log(2.0 * epsilon),
        truth="closed form (entropy of the trapezoid density of y)",
    )


def _check_noise_resolution(epsilon: float, dtype) -> None:
    """Refuses a noise half-width the sample dtype cannot resolve or represent."""
    info = jnp.finfo(dtype)
    low, high = 512.0 * float(info.eps), float(info.max) / 4.0
    if not low <= epsilon <= high:
        raise ValueError(
            f"`epsilon` = {epsilon:g} cannot be sampled in {jnp.dtype(dtype).name}: the noise "
            f"must span at least 1024 ulps of 1 and stay finite ({low:.3g} <= epsilon <= "
            f"{high:.3g}). Use such an epsilon, or enable float64 "
            '(`jax.config.update("jax_enable_x64", True)`).'
        )


# Bernoulli numbers B_2 .. B_10 of the Stirling series of log Gamma and psi.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66)
# From this many dof on the closed forms use the Stirling series: the textbook differences
# of log Gamma and psi cancel (relative MI error 1e-10 at 50 dof, sign wrong at 1e5).
_STUDENT_SERIES_DOF = 30.0
# Largest accepted chance that a sample leaves the floating-point range.
_OVERFLOW_PROBABILITY = 1e-12


def _student_entropy_term(dof: float) -> float:
    """``log Gamma(dof / 2) - (dof / 2) psi(dof / 2)``, the building block of Student-t MI."""
    half = 0.5 * dof
    return float(gammaln(half) - half * digamma(half))


def _student_mi(dim: int, dof: float) -> float:
    """``f(dof) + f(dof + 2 dim) - 2 f(dof + dim)``, the Student-t MI, without cancellation.

    For large ``dof`` the second difference of ``f(2h) = -log(h) / 2 - h + const +
    sum_k B_2k / ((2k - 1) h^(2k - 1))`` is taken term by term (the linear part drops out).
    """
    if dof < _STUDENT_SERIES_DOF:
        f = _student_entropy_term
        return f(dof) + f(dof + 2 * dim) - 2.0 * f(dof + dim)
    h, s = 0.5 * dof, 0.5 * dim
    total = -0.5 * math.log1p(-((s / (h + s)) ** 2)) + _BERNOULLI[0] * 2 * s * s / (
        h * (h + s) * (h + 2 * s)
    )
    for k, bernoulli in enumerate(_BERNOULLI[1:], start=2):
        m = 2 * k - 1
        total += bernoulli / m * (h**-m + (h + 2 * s) ** -m - 2 * (h + s) ** -m)
    return total


def _student_entropy(dim: int, dof: float) -> float:
    """Differential entropy of the standard ``dim``-variate Student-t with ``dof`` dof."""
    half, half_total = 0.5 * dof, 0.5 * (dof + dim)
    if dof < _STUDENT_SERIES_DOF:
        return float(
            0.5 * dim * math.log(dof * math.pi)
            + gammaln(half)
            - gammaln(half_total)
            + half_total * (digamma(half_total) - digamma(half))
        )
    # Stirling series: the Gaussian entropy plus corrections in 1 / dof.
    h, t = half, 0.5 * dim
    total = t * (math.log(2 * math.pi) + 1) + 0.5 * math.log1p(t / h) + t / (2 * h)
    for k, bernoulli in enumerate(_BERNOULLI, start=1):
        m = 2 * k - 1
        total += bernoulli * (t * h ** -(2 * k) / (2 * k) + (h**-m - (h + t) ** -m) / m)
    return total


def _log_student_tail(dof: float, bound: float) -> float:
    """``log P(T > bound)`` for a univariate Student-t ``T`` and a huge ``bound``."""
    return float(
        gammaln(0.5 * (dof + 1))
        - gammaln(0.5 * dof)
        - 0.5 * math.log(dof * math.pi)
        + 0.5 * (dof - 1) * math.log(dof)
        - dof * math.log(bound)
    )


@functools.lru_cache
def _student_overflow(dim: int, dof: float, dtype_name: str) -> tuple[float, float]:
    """Chance that a sample has a coordinate beyond the dtype's range, and the least safe dof."""
    bound = float(jnp.finfo(dtype_name).max)
    log_limit = math.log(_OVERFLOW_PROBABILITY / (4 * dim))
    # The tail formula needs bound^2 >> dof; from 10 dof on the chance is below 1e-380.
    tail = _log_student_tail(dof, bound) if dof < 10.0 else -math.inf
    chance = min(4 * dim * math.exp(min(tail, 0.0)), 1.0)

    low, high = 1e-6, 10.0  # bisect for the dof whose tail chance is the limit
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (
            (middle, high) if _log_student_tail(middle, bound) > log_limit else (low, middle)
        )
    return chance, high


def _student_sampler(dim: int, dof: float):
    def sample(key, n):
        dtype = jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))  # what normal() draws
        chance, least = _student_overflow(dim, dof, dtype.name)
        if chance > _OVERFLOW_PROBABILITY:
            raise ValueError(
                f"`dof` = {dof:g} gives samples beyond the {dtype.name} range with probability "
                f"{chance:.2g} per sample (tails ~ |v|^-dof). Use dof >= {least:.2g} in "
                f"{dtype.name}, or enable float64 "
                '(`jax.config.update("jax_enable_x64", True)`).'
            )
        kz, kg = jax.random.split(key)
        z = jax.random.normal(kz, (n, 2 * dim), dtype=dtype)
        if dof * float(jnp.finfo(z.dtype).eps) ** 2 > 4.0:
            return z[:, :dim], z[:, dim:]  # chi^2_dof / dof is 1 to the dtype's precision
        # g = chi^2_dof / dof in the log domain: gamma draws with a small shape underflow to 0
        # (11% of float32 draws at dof = 0.05), and z / sqrt(0) is infinite.
        log_g = jax.random.loggamma(kg, 0.5 * dof, (n, 1), dtype=z.dtype) - math.log(0.5 * dof)
        v = z * jnp.exp(-0.5 * log_g)
        return v[:, :dim], v[:, dim:]

    return sample


def student_t(dim: int = 1, dof: float = 3.0) -> Task:
    r"""``(x, y)`` jointly multivariate Student-t: uncorrelated, dependent through the scale.

    The dispersion is the identity, so the coordinates are uncorrelated, yet dependent through
    the shared scale.
    ``(x, y) = z / sqrt(g)`` with ``z ~ N(0, I_{2 dim})`` and ``g ~ chi^2_dof / dof`` shared
    by both. With ``f(a) = log Gamma(a / 2) - (a / 2) psi(a / 2)``,
    ``I = f(dof) + f(dof + 2 dim) - 2 f(dof + dim)`` (Arellano-Valle, Contreras-Reyes &
    Genton 2013; the Student-t tasks of Czyż et al. 2023). The MI decreases with ``dof``
    (``-> 0``: the Gaussian limit is independent); from 30 dof on it is evaluated by the
    Stirling series (no cancellation).

    Args:
      dim: dimension of each of ``x`` and ``y``.
      dof: degrees of freedom ``> 0``.

    Returns:
      A :class:`Task` with MI and both entropies.

    Raises:
      TypeError: a non-integer ``dim``, a non-real ``dof``.
      ValueError: ``dof`` not finite and positive; at sampling, a ``dof`` so small that
        samples leave the dtype's range with probability above ``1e-12`` (``dof < 0.32`` in
        float32).

    Example:
      >>> from jaxinfo import testing
      >>> print(f"{testing.student_t(1, dof=1.0).mutual_information:.4f}")
      0.2242

    References:
      Arellano-Valle, Contreras-Reyes & Genton, "Shannon entropy and mutual information for
      multivariate skew-elliptical distributions", Scand. J. Stat. 40(1), 2013; Czyż,
      Grabowski, Vogt, Beerenwinkel & Marx, "Beyond normal: on the evaluation of mutual
      information estimators", NeurIPS 2023.
    """
    dim = _check_dim(dim, "dim")
    dof = _check_real(dof, "dof", low=0.0, open_bounds=True)
    entropy = _student_entropy(dim, dof)
    return Task(
        name=f"student-t-{dim}x{dim}-dof{dof:g}",
        sample=_student_sampler(dim, dof),
        mutual_information=_student_mi(dim, dof),
        dim_x=dim,
        dim_y=dim,
        entropy_x=entropy,
        entropy_y=entropy,
        truth="closed form (Arellano-Valle et al. 2013)",
    )


def _check_task(task) -> Task:
    if not isinstance(task, Task):
        raise TypeError(
            f"`task` must be a jaxinfo.testing.Task, e.g. `testing.correlated_gaussians()`; "
            f"got {type(task).__name__}."
        )
    return task


def _transformed(task: Task, label: str, fx, fy) -> Task:
    """``task`` with bijections applied to ``x`` and ``y``: same MI, entropies unknown."""
    _check_task(task)

    def sample(key, n):
        x, y = task.sample(key, n)
        return fx(x), fy(y)

    return dataclasses.replace(
        task, name=f"{label}({task.name})", sample=sample, entropy_x=None, entropy_y=None
    )


def _half_cube(v):
    return jnp.sign(v) * jnp.abs(v) ** 1.5


def half_cube(task: Task) -> Task:
    """Applies ``v -> sign(v) |v|^(3/2)`` to every coordinate of ``x`` and ``y``.

    A monotone bijection that lengthens the tails; the MI is unchanged.

    Args:
      task: the task to transform.

    Returns:
      A :class:`Task` with the same MI and no entropies.

    Raises:
      TypeError: ``task`` not a :class:`Task`.

    Example:
      >>> from jaxinfo import testing
      >>> print(testing.half_cube(testing.correlated_gaussians()).name)
      half_cube(gaussian-dense-1x1-0.5)
    """
    return _transformed(task, "half_cube", _half_cube, _half_cube)


def asinh(task: Task) -> Task:
    """Applies ``asinh`` to every coordinate of ``x`` and ``y``.

    A monotone bijection that shortens heavy tails (log-like growth); the MI is unchanged.

    Args:
      task: the task to transform.

    Returns:
      A :class:`Task` with the same MI and no entropies.

    Raises:
      TypeError: ``task`` not a :class:`Task`.

    Example:
      >>> from jaxinfo import testing
      >>> print(testing.asinh(testing.student_t(1, dof=1.0)).name)
      asinh(student-t-1x1-dof1)
    """
    return _transformed(task, "asinh", jnp.arcsinh, jnp.arcsinh)


def _spiral(x: jax.Array, speed: float) -> jax.Array:
    """Rotates the first two coordinates by the angle ``speed * |x|^2``.

    The rotation preserves the norm, so ``_spiral(., -speed)`` is its inverse.
    """
    angle = speed * jnp.sum(x * x, axis=-1)
    c, s = jnp.cos(angle), jnp.sin(angle)
    first = c * x[:, 0] - s * x[:, 1]
    second = s * x[:, 0] + c * x[:, 1]
    return jnp.concatenate([first[:, None], second[:, None], x[:, 2:]], axis=1)


def spiral(task: Task, *, speed: float = 0.5) -> Task:
    """Applies a spiral to ``x``: rotation of its first two coordinates by ``speed * |x|^2``.

    The rotation keeps ``|x|``, so it is a smooth bijection (the inverse rotates back); the
    MI is unchanged but the dependence is no longer monotone per coordinate.

    Args:
      task: the task to transform; needs ``dim_x >= 2``.
      speed: angle per unit squared norm (radians).

    Returns:
      A :class:`Task` with the same MI and no entropies.

    Raises:
      TypeError: ``task`` not a :class:`Task`, a non-real ``speed``.
      ValueError: ``task.dim_x < 2``, a non-finite ``speed``.

    Example:
      >>> from jaxinfo import testing
      >>> print(testing.spiral(testing.correlated_gaussians(2, 1)).name)
      spiral(gaussian-dense-2x1-0.5)
    """
    if _check_task(task).dim_x < 2:
        raise ValueError(f"`spiral` needs dim_x >= 2 (it rotates a plane); got {task.dim_x}.")
    speed = _check_real(speed, "speed")
    return _transformed(task, "spiral", lambda x: _spiral(x, speed), lambda y: y)


def _check_terms(terms, name: str, size: int) -> tuple[tuple[float, ...], ...]:
    """A non-empty sequence of ``size``-tuples of concrete reals (named in errors)."""
    if isinstance(terms, str) or not isinstance(terms, tuple | list) or not terms:
        raise TypeError(
            f"`{name}` must be a non-empty tuple of {size}-tuples of numbers; got {terms!r}."
        )
    checked = []
    for term in terms:
        if isinstance(term, str) or not isinstance(term, tuple | list) or len(term) != size:
            raise TypeError(f"`{name}` must hold {size}-tuples of numbers; got {term!r}.")
        checked.append(tuple(_check_real(value, name) for value in term))
    return tuple(checked)


_WIGGLY_X = ((0.4, 1.0, 0.0), (0.2, 1.7, 1.0), (0.03, 3.3, -2.5))
_WIGGLY_Y = ((-0.4, 0.4, 0.0), (0.17, 1.3, 3.5), (0.02, 4.3, -2.5))


def _check_wiggles(terms, name: str) -> tuple[tuple[float, ...], ...]:
    terms = _check_terms(terms, name, 3)
    slope = sum(abs(a * w) for a, w, _ in terms)
    if slope >= 1.0:
        raise ValueError(
            f"`{name}` must have sum |amplitude * frequency| < 1 (else the map is not "
            f"monotone); got {slope:g}."
        )
    return terms


def _wiggle(v: jax.Array, terms: tuple[tuple[float, ...], ...]) -> jax.Array:
    return v + sum(a * jnp.sin(w * v + phase) for a, w, phase in terms)


def wiggly(
    task: Task,
    *,
    x_terms: Sequence[tuple[float, float, float]] = _WIGGLY_X,
    y_terms: Sequence[tuple[float, float, float]] = _WIGGLY_Y,
) -> Task:
    """Applies ``v -> v + sum_k a_k sin(w_k v + phi_k)`` to every coordinate of ``x`` and ``y``.

    With ``sum_k |a_k w_k| < 1`` the derivative is at least ``1 - sum_k |a_k w_k| > 0``, so
    the map is a strictly increasing bijection of the real line and the MI is unchanged; the
    marginals get wiggly densities. The defaults are the "wiggly" maps of the "Beyond normal"
    benchmark (Czyż et al. 2023): ``x + 0.4 sin(x) + 0.2 sin(1.7 x + 1) + 0.03 sin(3.3 x -
    2.5)`` for ``x`` (slope bound 0.84) and ``y - 0.4 sin(0.4 y) + 0.17 sin(1.3 y + 3.5) +
    0.02 sin(4.3 y - 2.5)`` for ``y`` (0.47).

    Args:
      task: the task to transform.
      x_terms: ``(a_k, w_k, phi_k)`` triples of the map of ``x``.
      y_terms: ``(a_k, w_k, phi_k)`` triples of the map of ``y``.

    Returns:
      A :class:`Task` with the same MI (and truth) and no entropies.

    Raises:
      TypeError: ``task`` not a :class:`Task`, terms that are not triples of real numbers.
      ValueError: non-finite terms, ``sum_k |a_k w_k| >= 1``.

    Example:
      >>> from jaxinfo import testing
      >>> print(testing.wiggly(testing.correlated_gaussians()).name)
      wiggly(gaussian-dense-1x1-0.5)
    """
    _check_task(task)
    terms_x, terms_y = _check_wiggles(x_terms, "x_terms"), _check_wiggles(y_terms, "y_terms")
    return _transformed(
        task, "wiggly", lambda x: _wiggle(x, terms_x), lambda y: _wiggle(y, terms_y)
    )


_BIMODAL_X = ((0.3, 0.0, 1.0), (0.7, 5.0, 1.0))
_BIMODAL_Y = ((0.5, -1.0, 1.0), (0.5, 3.0, 1.0))


def _check_components(components, name: str) -> tuple[tuple[float, ...], ...]:
    """``(weight, mean, scale)`` triples: positive weights summing to 1, positive scales."""
    components = _check_terms(components, name, 3)
    weights = [weight for weight, _, _ in components]
    if min(weights) <= 0.0 or abs(math.fsum(weights) - 1.0) > 1e-9:
        raise ValueError(
            f"`{name}` must have positive weights summing to 1; got weights {weights}."
        )
    if min(scale for _, _, scale in components) <= 0.0:
        raise ValueError(f"`{name}` must have positive scales; got {components}.")
    return components


def _mixture_quantile_of_normal(v: jax.Array, components) -> jax.Array:
    """Solves ``F(x) = Phi(v)`` elementwise, ``F`` the CDF of a 1-D Gaussian mixture.

    Bisection on the log-CDF in the lower tail; in the upper one (``v > 0``) on the log-CDF
    of the mirrored mixture (means ``-m_k``) at ``-v``, whose root is ``-x``. Both tails
    keep their precision (``Phi(v)`` itself rounds to 1 from ``v ~ 5.4`` in float32). The
    root lies between ``min_k`` and ``max_k`` of ``m_k + s_k v`` (each component's CDF
    equals ``Phi(v)`` there); ``nmant + 8`` halvings (31 in float32, 60 in float64) bring
    that bracket below the dtype's resolution, with a fixed count so it runs under ``jit``.
    """
    side = jnp.where(v > 0, -1.0, 1.0).astype(v.dtype)[..., None]  # -1: the mirrored problem
    low_v = side * v[..., None]  # <= 0
    target = jax.scipy.special.log_ndtr(low_v[..., 0])
    weights, means, scales = (
        jnp.asarray([component[i] for component in components], v.dtype) for i in range(3)
    )
    log_w = jnp.log(weights)
    means = side * means  # [..., K]
    ends = means + scales * low_v
    lower, upper = jnp.min(ends, axis=-1), jnp.max(ends, axis=-1)

    def log_cdf(t):  # one log_ndtr over the components: a small program to compile
        z = (t[..., None] - means) / scales
        return jax.nn.logsumexp(log_w + jax.scipy.special.log_ndtr(z), axis=-1)

    def halve(_, bounds):
        low, high = bounds
        middle = 0.5 * (low + high)
        below = log_cdf(middle) < target
        return jnp.where(below, middle, low), jnp.where(below, high, middle)

    iterations = jnp.finfo(v.dtype).nmant + 8
    low, high = jax.lax.fori_loop(0, iterations, halve, (lower, upper))
    return side[..., 0] * (0.5 * (low + high))


# Compiled once per (components, shape, dtype): the components are static tuples.
_mixture_quantile = jax.jit(_mixture_quantile_of_normal, static_argnums=1)


def bimodal(
    task: Task,
    *,
    x_components: Sequence[tuple[float, float, float]] = _BIMODAL_X,
    y_components: Sequence[tuple[float, float, float]] = _BIMODAL_Y,
) -> Task:
    """Maps every coordinate ``v`` to ``F^{-1}(Phi(v))``, ``F`` a bimodal Gaussian mixture CDF.

    ``F(t) = sum_k p_k Phi((t - m_k) / s_k)`` is continuous and strictly increasing, so the
    map is a strictly increasing bijection of the real line and the MI is unchanged; a
    standard-normal coordinate becomes distributed as the mixture. The defaults are the
    "bimodal" marginals of the "Beyond normal" benchmark (Czyż et al. 2023): ``0.3 N(0, 1) +
    0.7 N(5, 1)`` for ``x`` and ``0.5 N(-1, 1) + 0.5 N(3, 1)`` for ``y``. The inverse CDF is a
    bisection in JAX (log-CDF and log-survival function, so the tails keep their precision);
    it runs under ``jit`` in float32 and float64.

    Args:
      task: the task to transform.
      x_components: ``(p_k, m_k, s_k)`` triples (weight, mean, scale) of the mixture of
        ``x``; weights positive and summing to 1, scales positive.
      y_components: the same for ``y``.

    Returns:
      A :class:`Task` with the same MI (and truth) and no entropies.

    Raises:
      TypeError: ``task`` not a :class:`Task`, components that are not triples of numbers.
      ValueError: non-finite numbers, weights not positive or not summing to 1, a scale
        ``<= 0``.

    Example:
      >>> from jaxinfo import testing
      >>> print(testing.bimodal(testing.correlated_gaussians()).name)
      bimodal(gaussian-dense-1x1-0.5)
    """
    _check_task(task)
    mixture_x = _check_components(x_components, "x_components")
    mixture_y = _check_components(y_components, "y_components")
    return _transformed(
        task,
        "bimodal",
        lambda x: _mixture_quantile(x, mixture_x),
        lambda y: _mixture_quantile(y, mixture_y),
    )


def _swiss_roll(u: jax.Array) -> jax.Array:
    """``u`` in ``[0, 1]`` to ``(t cos t, t sin t)``, ``t = 1.5 pi (1 + 2 u)``: ``|.| = t``."""
    t = 1.5 * math.pi * (1.0 + 2.0 * u)
    return jnp.concatenate([t * jnp.cos(t), t * jnp.sin(t)], axis=1)


def swiss_roll(correlation: float = 0.75) -> Task:
    """A Gaussian pair with uniform marginals, ``x`` rolled up into a 2-D swiss roll.

    ``(u, y)`` is :func:`gaussian_copula_uniform` ``(1, 1)`` (``u, y ~ U(0, 1)`` with a latent
    Gaussian correlation ``c``); ``x = (t cos t, t sin t)`` with ``t = 1.5 pi (1 + 2 u)`` (one
    and a half turns). The map is injective (``|x| = t`` recovers ``u``) and smooth, so
    ``I(X; Y) = -log(1 - c^2) / 2``, that of the latent Gaussian; ``x`` lives on a curve in
    the plane (no density). The "Swiss roll 2 x 1" task of Czyż et al. (2023), same
    parametrisation (``c = 0.75`` there).

    Args:
      correlation: the latent Gaussian correlation, ``|c| < 1``.

    Returns:
      A :class:`Task` with ``dim_x = 2``, ``dim_y = 1``, the closed-form MI, ``entropy_y = 0``
      (uniform) and no ``entropy_x``.

    Raises:
      TypeError: a non-real ``correlation``.
      ValueError: a non-finite ``correlation`` or ``|correlation| >= 1``.

    Example:
      >>> from jaxinfo import testing
      >>> task = testing.swiss_roll(0.75)
      >>> print(task.dim_x, task.dim_y, f"{task.mutual_information:.4f}")
      2 1 0.4133
    """
    base = gaussian_copula_uniform(1, 1, correlation=correlation)

    def sample(key, n):
        u, y = base.sample(key, n)
        return _swiss_roll(u), y

    return dataclasses.replace(
        base,
        name=f"swiss-roll-2x1-{correlation:g}",
        sample=sample,
        dim_x=2,
        entropy_x=None,  # x lies on a curve: no density in the plane
    )


# The Monte Carlo truth of the Gaussian mixtures: fixed sample size and seed.
_MIXTURE_MC_SAMPLES = 1_000_000
_MIXTURE_MC_SEED = 20231210
_MIXTURE_MC_CHUNK = 100_000


def _as_real_array(value, name: str, shape: str, ndim: int) -> np.ndarray:
    """A concrete, finite float64 array of ``ndim`` dimensions (``shape`` names them)."""
    if isinstance(value, Tracer):
        raise TypeError(
            f"`{name}` sets a reference value, so it must be concrete; got a traced value."
        )
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be an array of real numbers {shape}; got {value!r}."
        ) from error
    if array.ndim != ndim:
        raise ValueError(f"`{name}` must have shape {shape}; got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    return array


def _mixture_log_density(points, log_weights, means, inverse_factors) -> np.ndarray:
    """``log sum_k w_k N(points; m_k, S_k)`` in NumPy float64 (``points``: ``[n, d]``).

    ``inverse_factors[k]`` is ``L_k^{-1}``, ``S_k = L_k L_k^T`` (a matmul is several times
    faster than a triangular solve per chunk).
    """
    dim = points.shape[1]
    terms = np.empty((len(log_weights), points.shape[0]))
    for k, (log_weight, mean, inverse) in enumerate(
        zip(log_weights, means, inverse_factors, strict=True)
    ):
        z = (points - mean) @ inverse.T
        log_norm = -np.sum(np.log(np.diag(inverse))) + 0.5 * dim * math.log(2.0 * math.pi)
        terms[k] = log_weight - 0.5 * np.einsum("ij,ij->i", z, z) - log_norm
    top = np.max(terms, axis=0)
    return top + np.log(np.sum(np.exp(terms - top), axis=0))


@functools.lru_cache(maxsize=64)
def _mixture_monte_carlo(
    weights: tuple, means: tuple, covariances: tuple, dim_x: int, num_samples: int, seed: int
) -> tuple[float, float]:
    """``E[log p(x, y) - log p(x) - log p(y)]`` and its standard error, NumPy float64.

    Cached on the parameters (tuples), so building the same mixture twice is free.
    """
    w, m, c = np.array(weights), np.array(means), np.array(covariances)
    log_w = np.log(w)

    def inverse_factors(blocks):
        return np.linalg.inv(np.linalg.cholesky(blocks))

    chol = np.linalg.cholesky(c)
    inv, inv_x, inv_y = (
        inverse_factors(c),
        inverse_factors(c[:, :dim_x, :dim_x]),
        inverse_factors(c[:, dim_x:, dim_x:]),
    )
    cumulative = np.cumsum(w)[:-1]
    rng = np.random.default_rng(seed)
    total, total_sq, done = 0.0, 0.0, 0
    while done < num_samples:
        size = min(_MIXTURE_MC_CHUNK, num_samples - done)
        component = np.searchsorted(cumulative, rng.random(size), side="right")
        z = rng.standard_normal((size, m.shape[1]))
        points = np.empty_like(z)
        for k in range(len(w)):
            rows = component == k
            points[rows] = m[k] + z[rows] @ chol[k].T
        pointwise = (
            _mixture_log_density(points, log_w, m, inv)
            - _mixture_log_density(points[:, :dim_x], log_w, m[:, :dim_x], inv_x)
            - _mixture_log_density(points[:, dim_x:], log_w, m[:, dim_x:], inv_y)
        )
        total += float(np.sum(pointwise))
        total_sq += float(np.sum(pointwise * pointwise))
        done += size
    mean = total / num_samples
    variance = max(total_sq / num_samples - mean * mean, 0.0) * num_samples / (num_samples - 1)
    return mean, math.sqrt(variance / num_samples)


def _mixture_sampler(weights: np.ndarray, means: np.ndarray, chol: np.ndarray, dim_x: int):
    log_weights = np.log(weights)

    def sample(key, n):
        kc, kz = jax.random.split(key)
        z = jax.random.normal(kz, (n, means.shape[1]))
        component = jax.random.categorical(kc, jnp.asarray(log_weights, z.dtype), shape=(n,))
        every = jnp.asarray(means, z.dtype)[None] + jnp.einsum(
            "nj,kij->nki", z, jnp.asarray(chol, z.dtype), precision=HIGHEST
        )  # [n, K, d]: each draw through every component, then one is picked
        v = jnp.take_along_axis(every, component[:, None, None], axis=1)[:, 0]
        return v[:, :dim_x], v[:, dim_x:]

    return sample


def gaussian_mixture(
    weights: npt.ArrayLike,
    means: npt.ArrayLike,
    covariances: npt.ArrayLike,
    dim_x: int,
    *,
    name: str | None = None,
) -> Task:
    r"""A mixture of joint Gaussians over ``(x, y)``, with a Monte Carlo truth.

    ``p(x, y) = sum_k w_k N((x, y); m_k, S_k)``. Its marginals are the mixtures of the
    components' marginal Gaussians, ``p(x) = sum_k w_k N(x; m_k^x, S_k^{xx})`` (and the same
    for ``y``), so ``log p(x, y) - log p(x) - log p(y)`` is exact at every point and
    ``I = E[log p(x, y) - log p(x) - log p(y)]`` is computed at construction by Monte Carlo
    over ``10^6`` draws in NumPy float64 with a fixed seed (the "fine distributions" of Czyż
    et al. 2024). The standard error is recorded in ``truth_standard_error`` and ``truth``;
    the result is cached on the parameters, so building the same task again is free. A
    negative estimate (a nearly independent mixture) is clamped to 0.

    Args:
      weights: ``[K]`` component weights, positive and summing to 1.
      means: ``[K, dim_x + dim_y]`` component means.
      covariances: ``[K, dim_x + dim_y, dim_x + dim_y]`` symmetric positive-definite
        component covariances.
      dim_x: how many of the leading coordinates are ``x``; the rest are ``y``.
      name: the task's name (default ``"gaussian-mixture-{K}-{dim_x}x{dim_y}"``).

    Returns:
      A :class:`Task` with the Monte Carlo MI and no entropies.

    Raises:
      TypeError: non-numeric or traced arrays, a non-integer ``dim_x``, a non-str ``name``.
      ValueError: wrong shapes, non-finite numbers, weights not positive or not summing to
        1, a covariance that is not symmetric positive definite, ``dim_x`` not in
        ``[1, dim - 1]``.

    Example:
      >>> import numpy as np
      >>> from jaxinfo import testing
      >>> cov = np.array([[1.0, 0.5], [0.5, 1.0]])
      >>> task = testing.gaussian_mixture([1.0], [[0.0, 0.0]], [cov], dim_x=1)
      >>> print(round(task.mutual_information, 2), task.truth_standard_error < 1e-3)
      0.14 True

    References:
      Czyż, Grabowski, Vogt, Beerenwinkel & Marx, "The mixtures and the neural critics: on
      the pointwise mutual information profiles of fine distributions", 2024.
    """
    w = _as_real_array(weights, "weights", "[K]", 1)
    m = _as_real_array(means, "means", "[K, dim]", 2)
    c = _as_real_array(covariances, "covariances", "[K, dim, dim]", 3)
    num, dim = m.shape
    if len(w) < 1 or np.any(w <= 0.0) or abs(math.fsum(w) - 1.0) > 1e-9:
        raise ValueError(f"`weights` must be positive and sum to 1; got {w.tolist()}.")
    if num != len(w) or c.shape != (num, dim, dim):
        raise ValueError(
            f"`means` must be [K, dim] and `covariances` [K, dim, dim] with K = {len(w)} "
            f"(the length of `weights`); got shapes {m.shape} and {c.shape}."
        )
    dim_x = _check_dim(dim_x, "dim_x")
    if dim_x >= dim:
        raise ValueError(
            f"`dim_x` must leave at least one coordinate for y (dim_x < {dim}); got {dim_x}."
        )
    if not np.allclose(c, np.swapaxes(c, 1, 2), rtol=1e-12, atol=1e-12 * np.max(np.abs(c))):
        raise ValueError("`covariances` must be symmetric.")
    if np.min(np.linalg.eigvalsh(c)) <= 0.0:
        raise ValueError("`covariances` must be positive definite.")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"`name` must be a str; got {type(name).__name__}.")
    mi, error = _mixture_monte_carlo(
        tuple(w.tolist()),
        tuple(map(tuple, m.tolist())),
        tuple(tuple(map(tuple, block)) for block in c.tolist()),
        dim_x,
        _MIXTURE_MC_SAMPLES,
        _MIXTURE_MC_SEED,
    )
    return Task(
        name=name or f"gaussian-mixture-{num}-{dim_x}x{dim - dim_x}",
        sample=_mixture_sampler(w, m, np.linalg.cholesky(c), dim_x),
        mutual_information=max(mi, 0.0),
        dim_x=dim_x,
        dim_y=dim - dim_x,
        truth=f"Monte Carlo, {_MIXTURE_MC_SAMPLES:,} samples, standard error {error:.1e}",
        truth_standard_error=error,
    )


def x_mixture(correlation: float = 0.9) -> Task:
    """The "X" mixture: two equally weighted bivariate Gaussians with correlation ``+c``, ``-c``.

    Both components have unit variances and zero means, so ``x`` and ``y`` are each
    standard normal and uncorrelated, yet dependent: the sample is an X. The MI is a Monte
    Carlo truth (:func:`gaussian_mixture`); the "X 1 x 1" task of Czyż et al. (2024), same
    parametrisation (``c = 0.9`` there).

    Args:
      correlation: the components' correlation ``c``, ``|c| < 1``.

    Returns:
      A 1 x 1 :class:`Task` with the Monte Carlo MI (0.409 nats at ``c = 0.9``) and the
      entropies of the standard-normal marginals.

    Raises:
      TypeError: a non-real ``correlation``.
      ValueError: a non-finite ``correlation`` or ``|correlation| >= 1``.

    Example:
      >>> from jaxinfo import testing
      >>> task = testing.x_mixture(0.9)
      >>> print(task.name, task.truth.split(",")[0])
      x-mixture-1x1-0.9 Monte Carlo
    """
    c = _check_real(
        correlation,
        "correlation",
        low=-1.0,
        high=1.0,
        open_bounds=True,
        hint="A correlation of +-1 makes the components degenerate.",
    )
    task = gaussian_mixture(
        [0.5, 0.5],
        np.zeros((2, 2)),
        [[[1.0, c], [c, 1.0]], [[1.0, -c], [-c, 1.0]]],
        dim_x=1,
        name=f"x-mixture-1x1-{c:g}",
    )
    normal = 0.5 * math.log(2.0 * math.pi * math.e)  # both marginals are N(0, 1)
    return dataclasses.replace(task, entropy_x=normal, entropy_y=normal)


def inlier_mixture(
    dim_x: int = 5,
    dim_y: int = 5,
    *,
    correlation: float = 0.9,
    inlier_fraction: float = 0.2,
    interaction: str = "sparse",
) -> Task:
    """A correlated Gaussian with a fraction of independent "inliers" mixed in.

    With probability ``1 - f`` the pair is drawn from :func:`correlated_gaussians`
    (``dim_x``, ``dim_y``, ``correlation``, ``interaction``), with probability ``f`` from the
    product of its marginals: the inliers sit inside the bulk of the data and carry no
    information. Both components have the same marginals, so ``p(x)`` and ``p(y)`` stay
    Gaussian, and by convexity of MI in the channel ``0 <= I <= (1 - f) I_gauss``. The MI
    is a Monte Carlo truth (:func:`gaussian_mixture`); the "multinormal with inliers" task
    of Czyż et al. (2024).

    Args:
      dim_x: as in :func:`correlated_gaussians`.
      dim_y: as in :func:`correlated_gaussians`.
      correlation: as in :func:`correlated_gaussians`.
      inlier_fraction: the weight ``f`` of the independent component, ``0 < f < 1``.
      interaction: as in :func:`correlated_gaussians`.

    Returns:
      A :class:`Task` with the Monte Carlo MI and the Gaussian's closed-form entropies.

    Raises:
      TypeError: a non-integer dimension, a non-real ``correlation`` or
        ``inlier_fraction``.
      ValueError: as in :func:`correlated_gaussians`; ``inlier_fraction`` not in ``(0, 1)``.

    Example:
      >>> from jaxinfo import testing
      >>> task = testing.inlier_mixture(1, 1, correlation=0.9, inlier_fraction=0.2)
      >>> gauss = testing.correlated_gaussians(1, 1, correlation=0.9).mutual_information
      >>> print(0 < task.mutual_information < 0.8 * gauss)
      True
    """
    base = correlated_gaussians(dim_x, dim_y, correlation=correlation, interaction=interaction)
    f = _check_real(inlier_fraction, "inlier_fraction", low=0.0, high=1.0, open_bounds=True)
    joint = _gaussian_covariance(base.dim_x, base.dim_y, correlation, interaction)
    product = joint.copy()
    product[: base.dim_x, base.dim_x :] = product[base.dim_x :, : base.dim_x] = 0.0
    size = base.dim_x + base.dim_y
    task = gaussian_mixture(
        [1.0 - f, f],
        np.zeros((2, size)),
        np.stack([joint, product]),
        dim_x=base.dim_x,
        name=f"inlier-mixture-{interaction}-{base.dim_x}x{base.dim_y}-{correlation:g}-{f:g}",
    )
    # both components have the marginals of the Gaussian: its entropies are exact
    return dataclasses.replace(task, entropy_x=base.entropy_x, entropy_y=base.entropy_y)


def _sparse_at(dim: int, nats: float) -> Task:
    """Sparse ``dim x dim`` Gaussian whose two correlated pairs carry ``nats`` in all.

    Each pair carries ``-log(1 - c^2) / 2``, so ``c = sqrt(1 - exp(-nats))``.
    """
    return correlated_gaussians(
        dim, dim, correlation=math.sqrt(-math.expm1(-nats)), interaction="sparse"
    )


@functools.cache
def _accuracy_suite() -> tuple[Task, ...]:
    binormal = correlated_gaussians(1, 1, correlation=0.75)
    cauchy = student_t(1, dof=1.0)
    return (
        binormal,
        _sparse_at(5, 0.5),
        _sparse_at(5, 1.0),
        _sparse_at(5, 2.0),
        _sparse_at(5, 4.0),
        correlated_gaussians(5, 5, correlation=0.5),
        _sparse_at(25, 1.0),
        correlated_gaussians(25, 25, correlation=0.35),
        cauchy,
        student_t(1, dof=2.0),
        student_t(2, dof=2.0),
        gaussian_copula_uniform(
            5, 5, correlation=math.sqrt(-math.expm1(-1.0)), interaction="sparse"
        ),
        additive_uniform_noise(0.1),
        additive_uniform_noise(0.75),
        x_mixture(0.9),
        inlier_mixture(5, 5, correlation=math.sqrt(-math.expm1(-2.0)), inlier_fraction=0.2),
        swiss_roll(0.75),
        wiggly(binormal),
        bimodal(binormal),
        half_cube(binormal),
        asinh(cauchy),
        spiral(_sparse_at(5, 1.0)),
    )


def accuracy_suite() -> tuple[Task, ...]:
    """The public accuracy suite: 22 tasks to tune and check an estimator on.

    Modelled on the "Beyond normal" benchmark (Czyż et al. 2023) and its mixtures (2024),
    sized so that every task is cheap to sample at ``n = 5000``: Gaussians (1 x 1 at
    correlation 0.75; sparse 5 x 5 at 0.5, 1, 2 and 4 nats; dense 5 x 5 at correlation 0.5;
    sparse and dense 25 x 25 near 1 nat), Student-t (1 x 1 at 1 and 2 dof, 2 x 2 at 2 dof),
    uniform marginals (a 5 x 5 copula), additive uniform noise (``epsilon`` 0.1 and 0.75),
    Gaussian mixtures with a Monte Carlo truth (the X and a sparse 5 x 5 with 20% inliers),
    the swiss roll, and the wiggly, bimodal, half-cube, asinh and spiral transforms. Names
    are unique; each task's ``truth`` says where its MI comes from. Built once (the mixtures
    take a Monte Carlo pass of ``10^6`` draws each), then cached.

    Returns:
      A tuple of :class:`Task`; the docs' "Accuracy suite" table lists them.

    Example:
      >>> from jaxinfo import testing
      >>> suite = testing.accuracy_suite()
      >>> print(len(suite), suite[3].name, f"{suite[3].mutual_information:.4f}")
      22 gaussian-sparse-5x5-0.929873 2.0000
    """
    return _accuracy_suite()


def _lorenz63_derivative(state: jax.Array, sigma: float, rho: float, beta: float) -> jax.Array:
    x, y, z = state[..., 0], state[..., 1], state[..., 2]
    return jnp.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], axis=-1)


def _rk4_step(state: jax.Array, h: float, derivative: Callable) -> jax.Array:
    k1 = derivative(state)
    k2 = derivative(state + 0.5 * h * k1)
    k3 = derivative(state + 0.5 * h * k2)
    k4 = derivative(state + h * k3)
    return state + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


# RK4 is stable for h * |lambda| up to about 2.8 on the negative real axis (2.83 on the
# imaginary one); 2.3 leaves a margin and admits the paper's single step of 0.1 at rho = 28.
_RK4_STABLE_STEP_RATE = 2.3


def _lorenz63_fastest_rate(sigma: float, rho: float, beta: float) -> float:
    """``max |lambda|`` of the Jacobian at the origin (22.8 at the classical parameters).

    A step unstable there is refused up front. At the classical parameters it also bounds
    the attractor (steps up to 0.12 stay bounded); at large ``rho`` the attractor is stiffer,
    and the divergence check after the integration catches what this bound lets through.
    """
    jacobian = np.array([[-sigma, sigma, 0.0], [rho, -1.0, 0.0], [0.0, 0.0, -beta]])
    return float(np.max(np.abs(np.linalg.eigvals(jacobian))))


def _check_rk4_step(dt: float, substeps: int, rate: float, stable_step_rate: float):
    """Refuses RK4 steps ``dt / substeps`` above ``stable_step_rate / rate`` (they blow up)."""
    step = dt / substeps
    limit = stable_step_rate / max(rate, 1e-12)
    if step > limit:
        raise ValueError(
            f"The RK4 step `dt / substeps` = {step:.4g} is above its stability limit for "
            f"these parameters, {limit:.4g} ({stable_step_rate:g} / the fastest linear rate "
            f"{rate:.4g}): the states would blow up to NaN. Pass "
            f"`substeps` >= {math.ceil(dt / limit)} or a smaller `dt`."
        )


def lorenz63(
    key: jax.Array,
    num_trajectories: int,
    num_steps: int,
    *,
    dt: float = 0.1,
    substeps: int = 10,
    burn_in: int = 200,
    sigma: float = 10.0,
    rho: float = 28.0,
    beta: float = 8.0 / 3.0,
    dtype=None,
) -> jax.Array:
    """Trajectories of the Lorenz-63 system, integrated with classical RK4 in JAX.

    ``x' = sigma (y - x)``, ``y' = x (rho - z) - y``, ``z' = x y - beta z``. Each trajectory
    starts at a standard-normal point offset to ``(0, 0, 25)``, runs ``burn_in`` recorded
    steps onto the attractor (discarded), then records ``num_steps`` states ``dt`` apart,
    each reached by ``substeps`` RK4 steps of ``dt / substeps`` (the paper's single step of
    0.1 is coarse for RK4 at ``rho = 28``). The Koopman-representation benchmark of Cheng et
    al. (2025) uses ``dt = 0.1`` and the classical parameters.

    RK4 diverges (to NaN) for steps ``h = dt / substeps`` beyond about ``2.8 / r``, ``r`` the
    fastest rate of the flow linearised at the origin (``r = 22.8`` classically, so
    ``h <~ 0.12``): steps above ``2.3 / r`` (0.1008 classically, which admits the paper's
    single step of 0.1) raise. Far from the classical parameters (large ``rho``) smaller
    steps can still diverge; a concrete result with non-finite states then raises too.

    Args:
      key: PRNG key for the initial points (``jax.random.key(seed)``, not an int).
      num_trajectories: how many independent trajectories.
      num_steps: recorded states per trajectory.
      dt: time between recorded states.
      substeps: RK4 steps per recorded step; ``dt / substeps <= 2.3 / r``.
      burn_in: recorded steps discarded before the first kept state.
      sigma: Prandtl number.
      rho: Rayleigh number.
      beta: geometric factor.
      dtype: float dtype (default: JAX's default float).

    Returns:
      ``[num_trajectories, num_steps, 3]`` states.

    Raises:
      TypeError: ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: an RK4 step above the stability limit, or (concrete key) a trajectory
        that still diverged.

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> testing.lorenz63(jax.random.key(0), 2, 100).shape
      (2, 100, 3)
    """
    key = validation.as_prng_key(key)
    num_trajectories = _check_dim(num_trajectories, "num_trajectories")
    num_steps = _check_dim(num_steps, "num_steps")
    substeps = _check_dim(substeps, "substeps")
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 0:
        raise ValueError(f"`burn_in` must be a non-negative int; got {burn_in!r}.")
    dt = _check_real(dt, "dt", low=0.0, open_bounds=True)
    sigma, rho, beta = (
        _check_real(v, n) for v, n in ((sigma, "sigma"), (rho, "rho"), (beta, "beta"))
    )
    rate = _lorenz63_fastest_rate(sigma, rho, beta)
    _check_rk4_step(dt, substeps, rate, _RK4_STABLE_STEP_RATE)
    dtype = jnp.zeros(()).dtype if dtype is None else jnp.dtype(dtype)
    start = jax.random.normal(key, (num_trajectories, 3), dtype) + jnp.asarray([0, 0, 25], dtype)
    path = _integrate_lorenz63(start, num_steps, burn_in, dt, substeps, sigma, rho, beta)
    values = validation.concrete_value(path)
    if values is not None and not np.all(np.isfinite(values)):
        raise ValueError(
            f"The RK4 integration diverged (non-finite states) with `dt / substeps` = "
            f"{dt / substeps:.4g} for sigma = {sigma}, rho = {rho}, beta = {beta}. Pass more "
            "`substeps`."
        )
    return path


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _integrate_lorenz63(start, num_steps, burn_in, dt, substeps, sigma, rho, beta):
    h = dt / substeps

    def derivative(state):
        return _lorenz63_derivative(state, sigma, rho, beta)

    def record(state, _):
        state = jax.lax.fori_loop(0, substeps, lambda _, s: _rk4_step(s, h, derivative), state)
        return state, state

    _, path = jax.lax.scan(record, start, None, length=burn_in + num_steps)
    return jnp.moveaxis(path[burn_in:], 0, 1)


# Inside RK4's stability region for every eigenvalue in the closed left half-plane: the region
# reaches 2.83 on the imaginary axis and 2.785 on the negative real one, and its radius dips
# to 2.615 in between (near 125 degrees), where a damped pendulum's eigenvalues can lie.
_RK4_HALF_DISC_RATE = 2.6


def _pendulum_fastest_rate(omega_squared: float, damping: float) -> float:
    """The fastest contracting rate of the pendulum's flow linearised anywhere on S^1 x R.

    The Jacobian at angle ``theta`` has eigenvalues solving
    ``lambda^2 + damping lambda + (g / l) cos(theta) = 0``; the largest ``|lambda|`` with
    ``Re lambda <= 0`` is at the inverted position, ``(damping + sqrt(damping^2 + 4 g / l))
    / 2`` (``sqrt(g / l)`` undamped, the same as the small-oscillation frequency).
    """
    return 0.5 * (damping + math.sqrt(damping**2 + 4.0 * omega_squared))


def pendulum(
    key: jax.Array,
    num_trajectories: int,
    num_steps: int,
    *,
    dt: float = 0.1,
    substeps: int = 10,
    gravity: float = 9.81,
    length: float = 1.0,
    damping: float = 0.0,
    max_energy: float | None = None,
    observation: PendulumObservation = "cartesian",
) -> jax.Array:
    """Trajectories of the simple pendulum, integrated with classical RK4 in JAX.

    ``theta'' = -(g / l) sin(theta) - damping theta'``. The phase space is ``S^1 x R``
    (angle on the circle, angular velocity on the line), as in the pendulum ablation of the
    Koopman-representation paper of Cheng et al. (2025). The energy per unit mass
    ``E = l^2 theta'^2 / 2 - g l cos(theta)`` is conserved without damping: ``E < g l``
    librates (swings), ``E > g l`` rotates (goes over the top).

    Initial states: ``E`` uniform on ``[-g l, max_energy]``, then ``theta`` uniform on the
    angles that energy reaches (``|theta| <= arccos(-E / (g l))``, the whole circle once
    ``E >= g l``) and ``theta'`` of either sign with the rest of the energy as kinetic. The
    default ``max_energy = 3 g l`` splits the trajectories evenly between libration and
    rotation, up to speeds ``sqrt(8 g / l)`` at the bottom; ``max_energy <= g l`` gives
    libration only. The first recorded state is the initial one; each next is ``dt`` later,
    reached by ``substeps`` RK4 steps of ``h = dt / substeps``.

    RK4 is stable for ``h |lambda| <= 2.83`` on the imaginary axis (undamped swings,
    ``|lambda| = sqrt(g / l)``) and ``2.785`` on the negative real axis (the contracting
    direction at the inverted position), and its stability region holds the left half-disc
    of radius 2.615. Steps above ``2.6 / r`` raise, ``r`` the fastest contracting rate of the
    linearised flow, ``(damping + sqrt(damping^2 + 4 g / l)) / 2`` (``sqrt(g / l)``
    undamped; the frequency falls with amplitude, so the linear one bounds it).

    Args:
      key: PRNG key for the initial states (``jax.random.key(seed)``, not an int).
      num_trajectories: how many independent trajectories.
      num_steps: recorded states per trajectory, the initial one included.
      dt: time between recorded states.
      substeps: RK4 steps per recorded step; ``dt / substeps <= 2.6 / r``.
      gravity: ``g > 0``.
      length: ``l > 0``.
      damping: linear friction coefficient ``>= 0`` (energy then decays).
      max_energy: the largest initial energy per unit mass, ``> -g l`` (default ``3 g l``).
      observation: ``"cartesian"`` for ``[cos theta, sin theta, theta']`` (continuous on the
        circle), ``"angle"`` for ``[theta, theta']`` with ``theta`` wrapped to ``(-pi, pi]``.

    Returns:
      ``[num_trajectories, num_steps, 3]`` (cartesian) or ``[..., 2]`` (angle) states in
      JAX's default float dtype.

    Raises:
      TypeError: ``key`` not a PRNG key (e.g. an integer seed), a non-int count, a non-real
        parameter.
      ValueError: a count < 1, ``gravity`` or ``length`` <= 0, ``damping`` < 0,
        ``max_energy <= -g l``, an unknown ``observation``, or an RK4 step above the
        stability limit.

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> testing.pendulum(jax.random.key(0), 2, 100).shape
      (2, 100, 3)
    """
    key = validation.as_prng_key(key)
    num_trajectories = _check_dim(num_trajectories, "num_trajectories")
    num_steps = _check_dim(num_steps, "num_steps")
    substeps = _check_dim(substeps, "substeps")
    dt = _check_real(dt, "dt", low=0.0, open_bounds=True)
    gravity = _check_real(gravity, "gravity", low=0.0, open_bounds=True)
    length = _check_real(length, "length", low=0.0, open_bounds=True)
    damping = _check_real(damping, "damping", low=0.0)
    bottom = -gravity * length
    max_energy = 3.0 * gravity * length if max_energy is None else max_energy
    max_energy = _check_real(
        max_energy,
        "max_energy",
        low=bottom,
        open_bounds=True,
        hint="The lowest energy, at rest at the bottom, is -gravity * length.",
    )
    observation = validation.check_choice(observation, "observation", PENDULUM_OBSERVATIONS)
    rate = _pendulum_fastest_rate(gravity / length, damping)
    _check_rk4_step(dt, substeps, rate, _RK4_HALF_DISC_RATE)
    return _sample_pendulum(
        key,
        num_trajectories,
        num_steps,
        substeps,
        observation,
        dt,
        gravity,
        length,
        damping,
        max_energy,
    )


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _sample_pendulum(
    key,
    num_trajectories,
    num_steps,
    substeps,
    observation,
    dt,
    gravity,
    length,
    damping,
    max_energy,
):
    """One program for the draw, the integration and the observation (parameters traced)."""
    dtype = jnp.zeros(()).dtype
    k_energy, k_angle, k_sign = jax.random.split(key, 3)
    g_l, omega_squared, h = gravity * length, gravity / length, dt / substeps
    energy = jax.random.uniform(k_energy, (num_trajectories,), dtype, -g_l, max_energy)
    reach = jnp.arccos(jnp.clip(-energy / g_l, -1.0, 1.0))
    theta = reach * jax.random.uniform(k_angle, (num_trajectories,), dtype, -1.0, 1.0)
    speed = jnp.sqrt(2.0 * jnp.maximum(energy + g_l * jnp.cos(theta), 0.0)) / length
    sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, (num_trajectories,)), 1.0, -1.0)
    start = jnp.stack([theta, sign.astype(dtype) * speed], axis=-1)

    def derivative(state):
        theta, velocity = state[..., 0], state[..., 1]
        return jnp.stack([velocity, -omega_squared * jnp.sin(theta) - damping * velocity], -1)

    def record(state, _):
        state = jax.lax.fori_loop(0, substeps, lambda _, s: _rk4_step(s, h, derivative), state)
        return state, state

    _, path = jax.lax.scan(record, start, None, length=num_steps - 1)
    path = jnp.concatenate([start[:, None], jnp.moveaxis(path, 0, 1)], axis=1)
    angle, velocity = path[..., 0], path[..., 1]  # angle unwrapped
    if observation == "angle":
        wrapped = jnp.pi - jnp.mod(jnp.pi - angle, 2.0 * jnp.pi)  # in (-pi, pi]
        return jnp.stack([wrapped, velocity], axis=-1)
    return jnp.stack([jnp.cos(angle), jnp.sin(angle), velocity], axis=-1)


def trajectory_windows(trajectories: jax.Array, length: int, *, stride: int = 1) -> jax.Array:
    """All windows of ``length`` consecutive steps, ``stride`` apart, of every trajectory.

    Args:
      trajectories: ``[N, T, d]``.
      length: steps per window (``<= T``).
      stride: steps between window starts.

    Returns:
      ``[N * num_windows, length, d]``, trajectory-major.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinfo import testing
      >>> testing.trajectory_windows(jnp.zeros((2, 10, 3)), 4, stride=3).shape
      (6, 4, 3)
    """
    trajectories = jnp.asarray(trajectories)
    if trajectories.ndim != 3:
        raise ValueError(f"`trajectories` must be [N, T, d]; got shape {trajectories.shape}.")
    length = _check_dim(length, "length")
    stride = _check_dim(stride, "stride")
    steps = trajectories.shape[1]
    if length > steps:
        raise ValueError(f"`length` must be at most T = {steps}; got {length}.")
    starts = np.arange(0, steps - length + 1, stride)
    index = starts[:, None] + np.arange(length)[None, :]
    windows = trajectories[:, index]  # [N, W, length, d]
    return windows.reshape(-1, length, trajectories.shape[-1])


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransferEntropyTask:
    """A pair of time series ``(x, y)`` with known transfer entropies (nats).

    Args:
      name: short label, e.g. ``"var1-a0.5-b0.5-c0.8"``.
      sample: ``sample(key, T) -> (x, y)``, time series of shapes ``[T, dim_x]`` and
        ``[T, dim_y]`` drawn from the stationary process.
      transfer_entropy: the true ``T(X -> Y) = I(Y_t; X_past | Y_past)`` for the histories and
        delay below.
      reverse_transfer_entropy: the true ``T(Y -> X)`` for the same histories and delay.
      target_history: target history length ``k`` the truths are for.
      source_history: source history length ``l`` the truths are for.
      delay: source lag ``u`` the truths are for (the source past ends at ``t - u``).
      truth: where the values come from.

    Returns:
      A frozen dataclass (hashable). ``sample`` refuses an ``n`` that is not a positive
      Python int and a ``key`` that is not a JAX PRNG key.

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> task = testing.linear_gaussian_var1()
      >>> x, y = task.sample(jax.random.key(0), 100)
      >>> print(x.shape, y.shape, f"{task.transfer_entropy:.4f}", task.reverse_transfer_entropy)
      (100, 1) (100, 1) 0.2807 0.0
    """

    name: str
    sample: Callable[[jax.Array, int], tuple[jax.Array, jax.Array]]
    transfer_entropy: float
    reverse_transfer_entropy: float
    target_history: int = 1
    source_history: int = 1
    delay: int = 1
    truth: str = "closed form"

    def __post_init__(self):
        """Wraps ``sample`` with the checks of ``key`` and ``n``."""
        object.__setattr__(self, "sample", _checked_sampler(self.sample))


def _var1_sampler(transition: np.ndarray, noise_scale: np.ndarray, stationary: np.ndarray):
    """``sample(key, T)`` of ``s_t = A s_{t-1} + e_t``, ``s_0`` from the stationary law."""
    start_factor = np.linalg.cholesky(stationary)

    def sample(key, n):
        k0, k1 = jax.random.split(key)
        dtype = jnp.zeros(()).dtype
        a = jnp.asarray(transition, dtype)
        start = jnp.matmul(
            jnp.asarray(start_factor, dtype), jax.random.normal(k0, (2,), dtype), precision=HIGHEST
        )
        noise = jax.random.normal(k1, (n - 1, 2), dtype) * jnp.asarray(noise_scale, dtype)

        def step(state, e):
            state = jnp.matmul(a, state, precision=HIGHEST) + e
            return state, state

        _, path = jax.lax.scan(step, start, noise)
        path = jnp.concatenate([start[None], path])
        return path[:, :1], path[:, 1:]

    return sample


def linear_gaussian_var1(
    *, a: float = 0.5, b: float = 0.5, c: float = 0.8, noise_x: float = 1.0, noise_y: float = 1.0
) -> TransferEntropyTask:
    r"""A linear-Gaussian VAR(1) where ``x`` drives ``y`` and not back.

    .. math::
       x_t = a\,x_{t-1} + \varepsilon^x_t, \qquad
       y_t = b\,y_{t-1} + c\,x_{t-1} + \varepsilon^y_t,

    with independent ``N(0, noise_x^2)`` and ``N(0, noise_y^2)`` innovations. The stationary
    covariance ``S`` of ``s_t = (x_t, y_t)`` solves the discrete Lyapunov equation
    ``S = A S A^T + Q`` (``A = [[a, 0], [c, b]]``, ``Q = diag(noise_x^2, noise_y^2)``). With
    one step of history each and delay 1 (the defaults of the transfer-entropy functions)
    ``y_t`` given ``(y_{t-1}, x_{t-1})`` has variance exactly ``noise_y^2``, so

    .. math::
       T(X \to Y) = \tfrac12 \log \frac{\operatorname{Var}(y_t \mid y_{t-1})}{\sigma_y^2},
       \qquad
       \operatorname{Var}(y_t \mid y_{t-1}) = S_{yy} - \frac{(b S_{yy} + c S_{xy})^2}{S_{yy}},

    and ``T(Y -> X) = 0``: ``x_t - a x_{t-1}`` is independent of the whole past. The series
    start from the stationary law, so no burn-in is needed.

    Args:
      a: autoregression of ``x``, ``|a| < 1``.
      b: autoregression of ``y``, ``|b| < 1``.
      c: coupling ``x_{t-1} -> y_t``.
      noise_x: innovation standard deviation of ``x`` (``> 0``).
      noise_y: innovation standard deviation of ``y`` (``> 0``).

    Returns:
      A :class:`TransferEntropyTask` for ``target_history = source_history = delay = 1``.

    Raises:
      TypeError: a non-real parameter.
      ValueError: ``|a| >= 1`` or ``|b| >= 1`` (not stationary), a noise scale ``<= 0``, a
        non-finite ``c``.

    Example:
      >>> from jaxinfo import testing
      >>> print(f"{testing.linear_gaussian_var1(a=0.5, b=0.5, c=0.8).transfer_entropy:.4f}")
      0.2807
    """
    hint = "The process is stationary only for |a| < 1 and |b| < 1."
    a = _check_real(a, "a", low=-1.0, high=1.0, open_bounds=True, hint=hint)
    b = _check_real(b, "b", low=-1.0, high=1.0, open_bounds=True, hint=hint)
    c = _check_real(c, "c")
    noise_x = _check_real(noise_x, "noise_x", low=0.0, open_bounds=True)
    noise_y = _check_real(noise_y, "noise_y", low=0.0, open_bounds=True)
    transition = np.array([[a, 0.0], [c, b]])
    stationary = scipy.linalg.solve_discrete_lyapunov(transition, np.diag([noise_x**2, noise_y**2]))
    s_xy, s_yy = stationary[0, 1], stationary[1, 1]
    residual = s_yy - (b * s_yy + c * s_xy) ** 2 / s_yy  # Var(y_t | y_{t-1})
    return TransferEntropyTask(
        name=f"var1-a{a:g}-b{b:g}-c{c:g}",
        sample=_var1_sampler(transition, np.array([noise_x, noise_y]), stationary),
        transfer_entropy=max(0.5 * math.log(residual / noise_y**2), 0.0),
        reverse_transfer_entropy=0.0,
        truth="closed form (stationary covariance from the discrete Lyapunov equation)",
    )


def _koopman_gains(operator: np.ndarray, noise: np.ndarray, lag: int):
    """Eigenpairs of ``G = K^nT M_n^{-1} K^n``: eq. 7 is ``1/2 log det(I + C^{1/2} G C^{1/2})``."""
    step = np.linalg.matrix_power(operator, lag)
    accumulated = sum(
        np.linalg.matrix_power(operator, i) @ noise @ np.linalg.matrix_power(operator, i).T
        for i in range(lag)
    )
    gains = step.T @ np.linalg.solve(accumulated, step)
    values, vectors = np.linalg.eigh(0.5 * (gains + gains.T))
    return np.maximum(values, 0.0), vectors


def _root(function: Callable[[float], float], low: float, high: float) -> float:
    """The root of ``function`` bracketed by ``[low, high]`` (Brent's method)."""
    return float(cast(float, scipy.optimize.brentq(function, low, high, xtol=1e-15)))


def _allocate_power(gains: np.ndarray, alpha: float, gamma: float, power: float) -> np.ndarray:
    """The eigenvalues ``p`` of the optimal ``C``: maximise the scalar problem on ``sum p = P``.

    ``F(p) = alpha/2 sum log(1 + g_i p_i) + gamma H(p / P)`` is concave, so its maximiser is
    the stationary point ``dF/dp_i = mu`` with the ``mu`` that spends the budget. With
    ``gamma = 0`` that is water-filling, ``p_i = max(0, nu - 1/g_i)``; with ``gamma > 0`` each
    ``p_i(mu)`` is the root of a decreasing function (every ``p_i > 0``: the entropy's slope
    is infinite at 0), found by bisection in ``log p``, and ``mu`` by bisection on the sum.
    """
    if gamma == 0.0:
        active = gains > 0

        def spent(level: float) -> float:
            return float(np.sum(np.maximum(level - 1.0 / gains[active], 0.0)))

        level = _root(lambda v: spent(v) - power, 0.0, power + float(np.max(1.0 / gains[active])))
        p = np.zeros_like(gains)
        p[active] = np.maximum(level - 1.0 / gains[active], 0.0)
        return p

    def allocation(mu: float) -> np.ndarray:
        low = np.full_like(gains, math.log(power) - 800.0)
        high = np.full_like(gains, math.log(power) + 60.0)
        for _ in range(200):
            middle = 0.5 * (low + high)
            p = np.exp(middle)
            slope = alpha * gains / (2.0 * (1.0 + gains * p)) - gamma / power * (
                middle - math.log(power) + 1.0
            )
            above = slope > mu
            low, high = np.where(above, middle, low), np.where(above, high, middle)
        return np.exp(0.5 * (low + high))

    def excess(mu: float) -> float:
        return float(np.sum(allocation(mu))) - power

    lower, upper = -1.0, 1.0
    while excess(lower) < 0:
        lower *= 2.0
    while excess(upper) > 0:
        upper *= 2.0
    mu = _root(excess, lower, upper)
    p = allocation(mu)
    return p * (power / np.sum(p))


def gaussian_koopman_optimal_covariance(
    operator, noise_covariance, *, alpha: float, gamma: float, power: float = 1.0, lag: int = 1
) -> np.ndarray:
    r"""The latent covariance that maximises the Koopman Lagrangian's two information terms.

    For the linear-Gaussian latent model ``z_{t+1} = K z_t + eps`` with fixed ``K`` and
    ``eps ~ N(0, Sigma)``, the maximiser over PSD ``C`` with ``tr C = power`` of

    .. math::
       \alpha\, I_n(C) + \gamma\, S(C / \operatorname{tr} C), \qquad
       I_n(C) = \tfrac12 \log\det\big(I + M_n^{-1/2} K^n C K^{nT} M_n^{-1/2}\big)

    (eq. 7, :func:`jaxinfo.gaussian_koopman_mutual_information`). Cheng et al.'s Props 4-5:
    ``C`` shares the eigenvectors of ``G = K^{nT} M_n^{-1} K^n`` and its eigenvalues ``p``
    solve a scalar problem in the gains ``g`` (``G``'s eigenvalues). With ``gamma = 0`` it is
    water-filling, ``p_i = max(0, nu - 1/g_i)``: weak modes get nothing, the mode collapse
    the information term alone drives; ``gamma > 0`` gives every mode power, and
    ``d_eff = exp S(C / tr C)`` falls as ``alpha / gamma`` grows. Only the ratio matters, and
    ``power`` sets how far the water level reaches.

    Args:
      operator: ``K`` ``[d, d]`` (column-vector convention).
      noise_covariance: ``Sigma`` ``[d, d]``, symmetric positive definite.
      alpha: weight of the information (``>= 0``).
      gamma: weight of the entropy (``>= 0``; not both 0: the optimum is then any ``C``).
      power: the trace budget ``tr C > 0``.
      lag: ``n >= 1``.

    Returns:
      ``C`` ``[d, d]`` (float64 NumPy), ``tr C = power``.

    Example:
      >>> import numpy as np
      >>> from jaxinfo import testing
      >>> c = testing.gaussian_koopman_optimal_covariance(
      ...     np.diag([0.9, 0.5, 0.1]), 0.1 * np.eye(3), alpha=1.0, gamma=0.0)
      >>> print(np.round(np.diag(c), 4))  # water-filling: the weakest mode gets nothing
      [0.6383 0.3617 0.    ]
    """
    k = _as_real_array(operator, "operator", "[d, d]", 2)
    s = _as_real_array(noise_covariance, "noise_covariance", "[d, d]", 2)
    if k.shape[0] != k.shape[1] or s.shape != k.shape:
        raise ValueError(
            "`operator` and `noise_covariance` must both be square [d, d] with one d; got "
            f"{k.shape} and {s.shape}."
        )
    if not np.allclose(s, s.T) or np.linalg.eigvalsh(0.5 * (s + s.T))[0] <= 0:
        raise ValueError("`noise_covariance` must be symmetric positive definite.")
    alpha = _check_real(alpha, "alpha", low=0.0)
    gamma = _check_real(
        gamma,
        "gamma",
        low=0.0,
        hint="(The released code's sign, gamma < 0, "
        "minimises the entropy: its optimum is a vertex, not this problem.)",
    )
    if alpha == 0.0 and gamma == 0.0:
        raise ValueError("`alpha` and `gamma` cannot both be 0: every covariance is then optimal.")
    power = _check_real(power, "power", low=0.0, open_bounds=True)
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 1:
        raise ValueError(f"`lag` must be an int >= 1; got {lag!r}.")
    gains, vectors = _koopman_gains(k, s, lag)
    if alpha == 0.0 or not np.any(gains > 0):
        p = np.full_like(gains, power / gains.size)
    else:
        p = _allocate_power(gains, alpha, gamma, power)
    return (vectors * p) @ vectors.T
