"""Kernel objects, the one pairwise-distance routine and the bandwidth rules.

Kernels are small pytrees: a numeric bandwidth is a leaf (traceable, differentiable), a
bandwidth rule such as ``"median"`` is static metadata resolved from the data under
``stop_gradient`` by :meth:`Kernel.resolve`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxinfo._src import numerics, validation
from jaxinfo._src.bandwidths import BANDWIDTH_RULES, rule_on_all_rows


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


class Kernel:
    """Base class: a positive-definite kernel with a Gram builder.

    Subclasses implement :meth:`gram` and :meth:`diagonal`; kernels with a finite explicit
    feature map also implement :meth:`features` (enabling the ``[d, d]`` covariance path).
    The built-in kernels take floating ``[n, d]`` points (``ValueError``/``TypeError``
    otherwise), and ``gram(x)`` (or ``y is x``) has the exact ``k(x_i, x_i)`` on its diagonal.
    """

    has_features: bool = False
    # k <= 1 = k(x, x) everywhere and log k comes from one GEMM (:meth:`log_gram_factors`):
    # linear-domain kernel sums then need no max shift (samples.Samples.reduce, linear_first).
    bounded_by_one: bool = False

    def gram(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        """Kernel matrix ``[n, m]`` between rows of ``x`` ``[n, d]`` and ``y`` ``[m, d]``."""
        raise NotImplementedError

    def diagonal(self, x: jax.Array) -> jax.Array:
        """``k(x_i, x_i)`` for every row, shape ``[n]``."""
        raise NotImplementedError

    def log_gram(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        """``log k`` ``[n, m]`` without forming ``k``.

        Sums of tiny kernel values stay finite through ``logsumexp``. Only for strictly
        positive kernels.
        """
        raise TypeError(
            f"{type(self).__name__} can be zero or negative, so it has no log-domain Gram; "
            "use a Gaussian or Laplacian kernel."
        )

    def features(self, x: jax.Array) -> jax.Array:
        """Explicit feature map ``phi(x)`` with ``k(a, b) = phi(a) · phi(b)``."""
        raise NotImplementedError(f"{type(self).__name__} has no finite feature map.")

    def resolve(self, x: jax.Array, where: jax.Array | None = None) -> Kernel:
        """Returns a kernel whose data-dependent parameters are fixed from ``x``.

        ``x`` holds every row (gathered: identical on every device), ``where`` marks the
        valid ones.
        """
        del x, where
        return self


class _BandwidthKernel(Kernel):
    """Shared pytree plumbing and validation for kernels with a bandwidth ``sigma``."""

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

    def tree_flatten(self):
        if isinstance(self.bandwidth, str):
            return (), self.bandwidth
        return (self.bandwidth,), None

    @classmethod
    def tree_unflatten(cls, rule, children):
        obj = object.__new__(cls)
        obj.bandwidth = rule if rule is not None else children[0]
        return obj

    def __repr__(self):
        return f"{type(self).__name__}(bandwidth={self.bandwidth!r})"

    def resolve(self, x, where=None):
        if not isinstance(self.bandwidth, str):
            return self
        # Not through __init__: a rule gives a positive sigma, or NaN for non-finite data,
        # which must reach the result as NaN rather than fail as a "bandwidth" option.
        sigma = rule_on_all_rows(self.bandwidth, x, where)
        return type(self).tree_unflatten(None, (sigma,))

    def _sigma(self, x: jax.Array) -> jax.Array:
        if isinstance(self.bandwidth, str):
            return rule_on_all_rows(self.bandwidth, x, None)
        return checked_bandwidth(self.bandwidth, x.dtype)

    def _log_kernel(self, sq: jax.Array, sigma: jax.Array) -> jax.Array:
        """``log k`` from squared distances."""
        raise NotImplementedError

    def log_gram(self, x, y=None):
        if y is None or y is x:
            x = y = _as_points(x, "x")  # `y is x`: squared_distances zeroes the diagonal
        else:
            x, y = _as_point_pair(x, y)
        return self._log_kernel(squared_distances(x, y), self._sigma(x))

    def gram(self, x, y=None):
        return jnp.exp(self.log_gram(x, y))

    def diagonal(self, x):
        x = _as_points(x, "x")
        return jnp.ones(x.shape[0], x.dtype)

    def _distance_scale(self, sigma: jax.Array) -> jax.Array:
        """``c`` of :meth:`log_gram_factors` (``a @ b.T = -c |x - y|^2``)."""
        return jnp.ones_like(sigma)

    def _log_kernel_of_product(self, t: jax.Array, sigma: jax.Array) -> jax.Array:
        """``log k`` from ``t = -c |x - y|^2`` (round-off may leave ``t`` above 0)."""
        return self._log_kernel(-t / self._distance_scale(sigma), sigma)

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


@jax.tree_util.register_pytree_node_class
class Gaussian(_BandwidthKernel):
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

    bounded_by_one = True

    def _log_kernel(self, sq, sigma):
        return -sq / (2.0 * sigma * sigma)

    def _distance_scale(self, sigma):
        return 1.0 / (2.0 * sigma * sigma)

    def _log_kernel_of_product(self, t, sigma):
        return jnp.minimum(t, 0.0)  # the product is log k itself


@jax.tree_util.register_pytree_node_class
class Laplacian(_BandwidthKernel):
    """Laplacian kernel ``k(a, b) = exp(-|a - b| / sigma)``.

    The Euclidean norm goes through a guarded square root: at duplicated points the
    gradient is 0 (a subgradient) instead of NaN.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinfo import kernels
      >>> print(f"{kernels.Laplacian(bandwidth=2.0).gram(jnp.array([[0.0], [2.0]]))[0, 1]:.4f}")
      0.3679
    """

    bounded_by_one = True

    def _log_kernel(self, sq, sigma):
        return -numerics.safe_sqrt(sq) / sigma

    def _log_kernel_of_product(self, t, sigma):
        return -numerics.safe_sqrt(-t) / sigma  # t = -|x - y|^2


@jax.tree_util.register_pytree_node_class
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

    def tree_flatten(self):
        return (), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls()

    def __repr__(self) -> str:
        return "Linear()"

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


@jax.tree_util.register_pytree_node_class
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

    def __repr__(self):
        return "Cosine()"

    def features(self, x):
        x = _as_points(x, "x")
        norm = numerics.safe_sqrt(jnp.sum(x * x, axis=-1, keepdims=True))
        return x / jnp.where(norm > 0, norm, 1.0)

    def diagonal(self, x):
        # Exactly 1 (0 for an all-zero row, NaN for a non-finite one), not |x / |x||^2.
        sq = jnp.sum(self.features(x) ** 2, axis=-1)
        return jnp.where(sq > 0, jnp.ones_like(sq), sq)


def as_kernel(kernel: Kernel | None, name: str = "kernel", default: Kernel | None = None) -> Kernel:
    """Validates a kernel argument; ``None`` selects ``default`` (Gaussian, median rule)."""
    if kernel is None:
        return Gaussian("median") if default is None else default
    if not isinstance(kernel, Kernel):
        raise TypeError(
            f"`{name}` must be a jaxinfo kernel such as `jaxinfo.kernels.Gaussian(bandwidth=1.0)`; "
            f"got {type(kernel).__name__}."
        )
    return kernel
