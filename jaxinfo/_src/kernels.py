"""Kernel objects, the one pairwise-distance routine and the bandwidth rules.

Kernels are small pytrees: a numeric bandwidth is a leaf (traceable, differentiable), a
bandwidth rule such as ``"median"`` is static metadata resolved from the data under
``stop_gradient`` by :meth:`Kernel.resolve`.
"""

from __future__ import annotations

import abc
import copy
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp

from jaxinfo._src import numerics, validation
from jaxinfo._src.bandwidths import BANDWIDTH_RULES, rule_on_all_rows
from jaxinfo._src.options import KERNEL_NAMES, KernelName


def checked_bandwidth(bandwidth, dtype) -> jax.Array:
    """A numeric bandwidth as an array of ``dtype``, NaN unless finite and positive.

    The constructor checks concrete values; this catches values that change after it (a
    learned bandwidth moved by ``optax.apply_updates`` or any ``tree_map``), where the
    value may be traced: the measure becomes NaN instead of a number from a meaningless
    kernel. The gradient of a valid bandwidth passes unchanged.
    """
    sigma = jnp.asarray(bandwidth, dtype=dtype)
    return jnp.where(jnp.isfinite(sigma) & (sigma > 0), sigma, jnp.nan)


def _as_points(x, name: str) -> jax.Array:
    """Validates a point set ``[n, d]`` (float, ``n >= 1``) for a kernel or distance."""
    return validation.as_samples(x, name, min_samples=1)


def _as_point_pair(x, y, x_name: str = "x", y_name: str = "y") -> tuple[jax.Array, jax.Array]:
    """Validates two point sets of one feature dimension and casts them to one dtype."""
    x, y = _as_points(x, x_name), _as_points(y, y_name)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`{x_name}` and `{y_name}` must have the same number of features (columns); "
            f"got shapes {tuple(x.shape)} and {tuple(y.shape)}. Pass points of one space."
        )
    dtype = jnp.promote_types(x.dtype, y.dtype)
    return x.astype(dtype), y.astype(dtype)


def _with_exact_diagonal(matrix: jax.Array, diagonal: jax.Array) -> jax.Array:
    """``matrix`` ``[n, n]`` with its diagonal replaced by the exact self-pair values."""
    n = matrix.shape[0]
    return jnp.where(jnp.eye(n, dtype=bool), diagonal[:, None], matrix)


def _centred(x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``x`` and ``y`` shifted by the mean of ``y`` (constant for ``grad``).

    Distances are translation invariant; the expansion ``|a|^2 + |b|^2 - 2 a.b`` is not, and
    without centring float32 loses all digits for data far from the origin.
    """
    shift = jax.lax.stop_gradient(jnp.mean(y, axis=0))
    return x - shift, y - shift


def scaled_distance_factors(
    x: jax.Array, y: jax.Array, scale: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Factors ``a`` ``[n, d + 2]``, ``b`` ``[m, d + 2]`` with ``a @ b.T = -scale |x_i - y_j|^2``.

    The distance expansion of :func:`squared_distances` (same centring) folded into one
    GEMM: ``a = [2 scale x, -scale |x|^2, 1]``, ``b = [y, 1, -scale |y|^2]``, so the product
    *is* the Gaussian's ``log k`` and a fused exp-and-sum consumes it directly (no separate
    broadcast adds, no per-element division by ``2 sigma^2``). Round-off can leave products
    slightly above 0; callers clamp.
    """
    x, y = _centred(x, y)
    ones_x, ones_y = jnp.ones((x.shape[0], 1), x.dtype), jnp.ones((y.shape[0], 1), y.dtype)
    sq_x = jnp.sum(x * x, axis=-1, keepdims=True)
    sq_y = jnp.sum(y * y, axis=-1, keepdims=True)
    a = jnp.concatenate([(2.0 * scale) * x, -scale * sq_x, ones_x], axis=1)
    b = jnp.concatenate([y, ones_y, -scale * sq_y], axis=1)
    return a, b


def squared_distances(x: jax.Array, y: jax.Array) -> jax.Array:
    """Pairwise squared Euclidean distances ``[n, m]`` between rows of ``x`` and ``y``.

    ``x`` ``[n, d]`` and ``y`` ``[m, d]`` are floating point with the same ``d``. Uses
    ``|a|^2 + |b|^2 - 2 a.b`` (one matmul, no ``[n, m, d]`` intermediate) on data centred by
    a common shift (the mean of ``y``, :func:`_centred`). The matmul runs at
    HIGHEST precision (no TF32/bf16 passes on accelerators) and round-off is clamped at 0.
    With ``y is x`` the diagonal is exactly 0. No ``sqrt`` is taken, so duplicated points
    have finite gradients.
    """
    same = y is x
    x, y = _centred(*_as_point_pair(x, y))
    cross = jnp.matmul(x, y.T, precision=numerics.HIGHEST)
    sq_x = jnp.sum(x * x, axis=-1)
    sq_y = jnp.sum(y * y, axis=-1)
    sq = jnp.maximum(sq_x[:, None] + sq_y[None, :] - 2.0 * cross, 0.0)
    return _with_exact_diagonal(sq, jnp.zeros(x.shape[0], x.dtype)) if same else sq


def _is_static(value) -> bool:
    """Whether a kernel attribute is static metadata (aux data) rather than a pytree child.

    Strings, booleans, integers, ``None``, types and functions (and tuples of them) are
    options that select code; everything else (floats, arrays, nested pytrees) holds values
    that ``jit`` traces and ``grad`` differentiates.
    """
    if isinstance(value, tuple | list):  # a list of options is caught as unhashable
        return all(_is_static(item) for item in value)
    return value is None or isinstance(value, str | bool | int | type) or callable(value)


def _flatten_attributes(kernel):
    """Children and aux data of a kernel from its instance attributes, in sorted order."""
    items = sorted(vars(kernel).items())
    children = tuple((name, value) for name, value in items if not _is_static(value))
    static = tuple((name, value) for name, value in items if _is_static(value))
    try:
        hash(static)
    except TypeError:
        raise TypeError(
            f"{type(kernel).__name__}: static attributes {[n for n, _ in static]} must be "
            "hashable (they key compiled programs); store tuples instead of lists."
        ) from None
    keyed = tuple((jax.tree_util.GetAttrKey(name), value) for name, value in children)
    return keyed, (tuple(name for name, _ in children), static)


def _unflatten_attributes(cls, aux, children):
    names, static = aux
    kernel = object.__new__(cls)
    for name, value in (*zip(names, children, strict=True), *static):
        object.__setattr__(kernel, name, value)  # also for frozen dataclasses
    return kernel


def replace_attribute(kernel, name: str, value):
    """A shallow copy of ``kernel`` with one attribute replaced (no ``__init__`` checks)."""
    new = copy.copy(kernel)
    object.__setattr__(new, name, value)
    return new


class Kernel(abc.ABC):
    """Contract for a positive-definite kernel: the one thing every kernel family consumes.

    A subclass implements :meth:`gram` and :meth:`diagonal`; that is enough for the matrix
    family (Renyi, von Neumann, Vendi, matrix MI and IB) and, for positive kernels, the
    Cauchy--Schwarz family (log-domain route, through :meth:`log_gram`). Optional:
    :meth:`log_gram` (finite ``log k`` where ``k`` underflows), :meth:`features` with
    ``has_features = True`` (the ``[d, d]`` covariance route), :meth:`resolve` (parameters
    fixed from the data). A kernel of the distance ``|a - b|`` alone subclasses
    :class:`DistanceKernel` instead and gets the fused linear-domain route too.

    Every subclass is a pytree by construction (no registration by hand; registering it
    again raises JAX's duplicate-registration error): floats, arrays and nested pytrees
    among its instance attributes are children (traced by ``jit``, differentiated by
    ``grad``); strings, booleans, integers, ``None`` and callables are static metadata
    and must be hashable. Built-in kernels take floating ``[n, d]`` points
    (``ValueError``/``TypeError`` otherwise), and ``gram(x)`` has the exact ``k(x_i, x_i)``
    on its diagonal.
    """

    has_features: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_pytree_with_keys(
            cls,
            _flatten_attributes,
            functools.partial(_unflatten_attributes, cls),
        )

    def __repr__(self):
        fields = ", ".join(f"{name}={value!r}" for name, value in sorted(vars(self).items()))
        return f"{type(self).__name__}({fields})"

    @abc.abstractmethod
    def gram(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        """Kernel matrix ``[n, m]`` between rows of ``x`` ``[n, d]`` and ``y`` ``[m, d]``.

        ``y=None`` means ``y = x``.
        """

    @abc.abstractmethod
    def diagonal(self, x: jax.Array) -> jax.Array:
        """``k(x_i, x_i)`` for every row, shape ``[n]``."""

    def log_gram(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        """``log k`` ``[n, m]``, read by the log-domain kernel sums (Cauchy--Schwarz family).

        The default is ``log(gram)``: exact for a positive kernel, ``-inf`` where ``k``
        underflows, NaN where it is negative. Override it with a closed form when ``k`` can
        underflow, or raise when the kernel is not positive (as ``Linear`` does).
        """
        return jnp.log(self.gram(x, y))

    def features(self, x: jax.Array) -> jax.Array:
        """Explicit feature map ``phi(x)`` with ``k(a, b) = phi(a) · phi(b)``."""
        raise NotImplementedError(f"{type(self).__name__} has no finite feature map.")

    def resolve(self, x: jax.Array, where: jax.Array | None = None) -> Kernel:
        """Returns a kernel whose data-dependent parameters are fixed from ``x``.

        ``x`` holds every row (gathered: identical on every device), ``where`` marks the
        valid ones. The default has nothing to fix.
        """
        del x, where
        return self


class DistanceKernel(Kernel):
    """Contract for ``k(a, b) = exp(log_kernel(|a - b|^2, sigma))`` with a bandwidth ``sigma``.

    A subclass implements :meth:`log_kernel`, which must be ``<= 0`` and ``0`` at distance
    0, so ``k <= 1 = k(x, x)``. In return it gets the bandwidth rules (``"median"`` etc.,
    resolved from the pooled data), the checks on ``sigma``, :meth:`gram`,
    :meth:`log_gram`, a unit :meth:`diagonal` and the fused linear-domain kernel sums of
    the Cauchy--Schwarz family: :meth:`log_gram_factors` (one GEMM of ``[n, d + 2]``
    factors giving ``-|x_i - y_j|^2``) and :meth:`log_kernel_of_product` (an exp over it,
    with no max shift since ``k <= 1``).

    Args:
      bandwidth: ``sigma > 0`` (a number or traced array, differentiable), or a rule from
        ``BANDWIDTH_RULES`` computed from the data under ``stop_gradient``.
    """

    def __init__(self, bandwidth: float | jax.Array | str = "median"):
        if isinstance(bandwidth, str):
            if bandwidth not in BANDWIDTH_RULES:
                raise ValueError(
                    f"`bandwidth` rule must be one of {BANDWIDTH_RULES}; got {bandwidth!r}. "
                    "Pass a positive number for a fixed bandwidth."
                )
        else:
            bandwidth = validation.check_number(
                bandwidth,
                "bandwidth",
                low=0.0,
                low_open=True,
                hint=f"Pass sigma > 0 or a rule from {BANDWIDTH_RULES}.",
            )
        self.bandwidth = bandwidth

    @abc.abstractmethod
    def log_kernel(self, squared_distance: jax.Array, bandwidth: jax.Array) -> jax.Array:
        """``log k`` from squared distances (``>= 0``) and a positive bandwidth ``sigma``."""

    def resolve(self, x, where=None):
        if not isinstance(self.bandwidth, str):
            return self
        # Not through __init__: a rule gives a positive sigma, or NaN for non-finite data,
        # which must reach the result as NaN rather than fail as a "bandwidth" option.
        return replace_attribute(self, "bandwidth", rule_on_all_rows(self.bandwidth, x, where))

    def _sigma(self, x: jax.Array) -> jax.Array:
        if isinstance(self.bandwidth, str):
            return rule_on_all_rows(self.bandwidth, x, None)
        return checked_bandwidth(self.bandwidth, x.dtype)

    def log_gram(self, x, y=None):
        if y is None or y is x:
            x = y = _as_points(x, "x")  # `y is x`: squared_distances zeroes the diagonal
        else:
            x, y = _as_point_pair(x, y)
        return self.log_kernel(squared_distances(x, y), self._sigma(x))

    def gram(self, x, y=None):
        return jnp.exp(self.log_gram(x, y))

    def diagonal(self, x):
        x = _as_points(x, "x")
        return jnp.ones(x.shape[0], x.dtype)

    def _distance_scale(self, sigma: jax.Array) -> jax.Array:
        """``c`` of :meth:`log_gram_factors` (``a @ b.T = -c |x - y|^2``); 1 by default."""
        return jnp.ones_like(sigma)

    def _log_kernel_of_product(self, t: jax.Array, sigma: jax.Array) -> jax.Array:
        """``log k`` from ``t = -c |x - y|^2`` (round-off may leave ``t`` above 0)."""
        return self.log_kernel(jnp.maximum(-t, 0.0) / self._distance_scale(sigma), sigma)

    def log_gram_factors(self, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Factors ``(a, b)`` with ``log k(x_i, y_j) = log_kernel_of_product(a_i . b_j)``.

        For fused kernel sums: one GEMM of ``[n, d + 2]`` factors (scaled so that the
        Gaussian needs no per-element arithmetic) and an exp over its product.
        """
        x, y = _as_point_pair(x, y)
        return scaled_distance_factors(x, y, self._distance_scale(self._sigma(x)))

    def log_kernel_of_product(self, t: jax.Array, x: jax.Array) -> jax.Array:
        """``log k`` from the product of :meth:`log_gram_factors` (``x``: the dtype/sigma)."""
        return self._log_kernel_of_product(t, self._sigma(x))


class Gaussian(DistanceKernel):
    """Gaussian (RBF) kernel ``k(a, b) = exp(-|a - b|^2 / (2 sigma^2))``.

    Args:
      bandwidth: ``sigma > 0`` (a number or traced array, differentiable), or a rule
        ``"median"``, ``"silverman"``, ``"scott"`` computed from the data under
        ``stop_gradient``. Code that writes ``exp(-d^2 / s)`` uses ``s = 2 sigma^2``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinfo import kernels
      >>> print(f"{kernels.Gaussian(bandwidth=1.0).gram(jnp.array([[0.0], [1.0]]))[0, 1]:.4f}")
      0.6065
    """

    def log_kernel(self, squared_distance, bandwidth):
        return -squared_distance / (2.0 * bandwidth * bandwidth)

    def _distance_scale(self, sigma):
        return 1.0 / (2.0 * sigma * sigma)

    def _log_kernel_of_product(self, t, sigma):
        return jnp.minimum(t, 0.0)  # the product is log k itself


class Laplacian(DistanceKernel):
    """Laplacian kernel ``k(a, b) = exp(-|a - b| / sigma)``.

    The Euclidean norm goes through a guarded square root: at duplicated points the
    gradient is 0 (a subgradient) instead of NaN.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinfo import kernels
      >>> print(f"{kernels.Laplacian(bandwidth=2.0).gram(jnp.array([[0.0], [2.0]]))[0, 1]:.4f}")
      0.3679
    """

    def log_kernel(self, squared_distance, bandwidth):
        return -numerics.safe_sqrt(squared_distance) / bandwidth

    def _log_kernel_of_product(self, t, sigma):
        return -numerics.safe_sqrt(-t) / sigma  # t = -|x - y|^2


class Linear(Kernel):
    """Linear kernel ``k(a, b) = a · b`` (not centred; centre the data yourself if needed).

    Its Gram matrix has a non-constant diagonal; the matrix entropies normalise by the trace
    (``A = K / tr K``). With ``d < n`` the spectrum is computed from the ``[d, d]`` matrix
    ``X^T X`` (same non-zero eigenvalues) instead of the ``[n, n]`` Gram.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinfo import kernels
      >>> kernels.Linear().gram(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
      Array([[ 5., 11.],
             [11., 25.]], dtype=float32)
    """

    has_features = True

    def log_gram(self, x, y=None):
        raise TypeError(
            f"{type(self).__name__} can be zero or negative, so it has no log-domain Gram; "
            "use a Gaussian or Laplacian kernel."
        )

    def features(self, x):
        return _as_points(x, "x")

    def gram(self, x, y=None):
        if y is None or y is x:
            features = self.features(x)
            gram = jnp.matmul(features, features.T, precision=numerics.HIGHEST)
            return _with_exact_diagonal(gram, self.diagonal(x))
        x, y = _as_point_pair(x, y)
        return jnp.matmul(self.features(x), self.features(y).T, precision=numerics.HIGHEST)

    def diagonal(self, x):
        x = _as_points(x, "x")
        return jnp.sum(x * x, axis=-1)


class Cosine(Linear):
    """Cosine-similarity kernel ``k(a, b) = a · b / (|a| |b|)`` (unit diagonal).

    The linear kernel on L2-normalised rows; an all-zero row has zero similarity to
    everything (and a zero gradient rather than NaN).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinfo import kernels
      >>> print(f"{kernels.Cosine().gram(jnp.array([[1.0, 0.0], [1.0, 1.0]]))[0, 1]:.4f}")
      0.7071
    """

    def features(self, x):
        x = _as_points(x, "x")
        norm = numerics.safe_sqrt(jnp.sum(x * x, axis=-1, keepdims=True))
        return x / jnp.where(norm > 0, norm, 1.0)

    def diagonal(self, x):
        # Exactly 1 (0 for an all-zero row, NaN for a non-finite one), not |x / |x||^2.
        sq = jnp.sum(self.features(x) ** 2, axis=-1)
        return jnp.where(sq > 0, jnp.ones_like(sq), sq)


# What every kernel argument accepts: a kernel object or the name of a default one.
KernelLike = Kernel | KernelName


def _kernel_from_name(name: str) -> Kernel:
    """The kernel a string shorthand stands for, with that class's default options."""
    kernel_classes: dict[str, type[Kernel]] = {
        "gaussian": Gaussian,
        "laplacian": Laplacian,
        "linear": Linear,
        "cosine": Cosine,
    }
    return kernel_classes[name]()


def as_kernel(
    kernel: KernelLike | None, name: str = "kernel", default: Kernel | None = None
) -> Kernel:
    """Validates a kernel argument.

    ``None`` selects ``default`` (Gaussian, median rule); a name from :data:`KERNEL_NAMES`
    selects that kernel with its default options (``"gaussian"`` is ``Gaussian()``, the
    median rule).
    """
    if kernel is None:
        return Gaussian("median") if default is None else default
    if isinstance(kernel, str):
        if kernel not in KERNEL_NAMES:
            raise ValueError(
                f"`{name}` must be a kernel object such as "
                f"`jaxinfo.kernels.Gaussian(bandwidth=1.0)` or one of the names {KERNEL_NAMES}; "
                f"got {kernel!r}."
            )
        return _kernel_from_name(kernel)
    if not isinstance(kernel, Kernel):
        raise TypeError(
            f"`{name}` must be a jaxinfo kernel (a `jaxinfo.kernels.Kernel`, e.g. "
            f"`jaxinfo.kernels.Gaussian(bandwidth=1.0)`) or one of the names {KERNEL_NAMES}; "
            f"got {type(kernel).__name__}."
        )
    return kernel
