"""Kernel objects, the one pairwise-distance routine and the bandwidth rules.

Kernels are small pytrees: a numeric bandwidth is a leaf (traceable, differentiable), a
bandwidth rule such as ``"median"`` is static metadata resolved from the data under
``stop_gradient`` by :meth:`Kernel.resolve`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxinfo._src import numerics, validation
from jaxinfo._src.moments import masked_moments
from jaxinfo._src.samples import row_weights

BANDWIDTH_RULES = ("median", "silverman", "scott")


def squared_distances(x: jax.Array, y: jax.Array) -> jax.Array:
    """Pairwise squared Euclidean distances ``[n, m]`` between rows of ``x`` and ``y``.

    Uses ``|a|^2 + |b|^2 - 2 a.b`` (one matmul, no ``[n, m, d]`` intermediate) on data
    centred by a common shift: distances are translation invariant, and without centring
    float32 loses all digits for data far from the origin. The matmul runs at HIGHEST
    precision (no TF32/bf16 passes on accelerators) and round-off is clamped at 0. No
    ``sqrt`` is taken, so duplicated points have finite gradients.
    """
    shift = jax.lax.stop_gradient(jnp.mean(y, axis=0))
    x = x - shift
    y = y - shift
    cross = jnp.matmul(x, y.T, precision=numerics.HIGHEST)
    sq_x = jnp.sum(x * x, axis=-1)
    sq_y = jnp.sum(y * y, axis=-1)
    return jnp.maximum(sq_x[:, None] + sq_y[None, :] - 2.0 * cross, 0.0)


def bandwidth_from_rule(rule: str, x: jax.Array, mask: jax.Array | None) -> jax.Array:
    """Data-driven bandwidth, computed under ``stop_gradient`` (it is a constant for ``grad``).

    - ``"median"``: median Euclidean distance over distinct valid pairs (Gretton et al.);
      builds all ``n^2`` distances, so pass a number for very large ``n``.
    - ``"silverman"``: ``(4 / (d + 2)) ** (1 / (d + 4)) * n ** (-1 / (d + 4)) * s``,
    - ``"scott"``: ``n ** (-1 / (d + 4)) * s``,

    with ``s`` the mean per-feature standard deviation. A degenerate result (all points
    equal) falls back to 1.
    """
    x = jax.lax.stop_gradient(x)
    if rule == "median":
        sq = squared_distances(x, x)
        n = x.shape[0]
        valid = jnp.triu(jnp.ones((n, n), dtype=bool), k=1)
        if mask is not None:
            valid = valid & mask[:, None] & mask[None, :]
        value = jnp.sqrt(jnp.nanmedian(jnp.where(valid, sq, jnp.nan)))
    else:
        count, _, std = masked_moments(x, row_weights(mask, x.shape[0], x.dtype))
        spread = jnp.mean(std)
        d = x.shape[1]
        factor = (4.0 / (d + 2.0)) ** (1.0 / (d + 4.0)) if rule == "silverman" else 1.0
        value = factor * count ** (-1.0 / (d + 4.0)) * spread
    return jnp.where(jnp.isfinite(value) & (value > 0), value, 1.0)


class Kernel:
    """Base class: a positive-definite kernel with a Gram builder.

    Subclasses implement :meth:`gram` and :meth:`diagonal`; kernels with a finite explicit
    feature map also implement :meth:`features` (enabling the ``[d, d]`` covariance path).
    """

    has_features: bool = False

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
        """Returns a kernel whose data-dependent parameters are fixed from ``x``."""
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
            validation.check_number(
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
        return type(self)(bandwidth_from_rule(self.bandwidth, x, where))

    def _sigma(self, x: jax.Array) -> jax.Array:
        if isinstance(self.bandwidth, str):
            return bandwidth_from_rule(self.bandwidth, x, None)
        return jnp.asarray(self.bandwidth, dtype=x.dtype)

    def diagonal(self, x):
        return jnp.ones(x.shape[0], x.dtype)


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

    def log_gram(self, x, y=None):
        y = x if y is None else y
        sigma = self._sigma(x)
        return -squared_distances(x, y) / (2.0 * sigma * sigma)

    def gram(self, x, y=None):
        return jnp.exp(self.log_gram(x, y))


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

    def log_gram(self, x, y=None):
        y = x if y is None else y
        sigma = self._sigma(x)
        return -numerics.safe_sqrt(squared_distances(x, y)) / sigma

    def gram(self, x, y=None):
        return jnp.exp(self.log_gram(x, y))


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

    def __repr__(self):
        return "Linear()"

    def features(self, x):
        return x

    def gram(self, x, y=None):
        y = x if y is None else y
        return jnp.matmul(self.features(x), self.features(y).T, precision=numerics.HIGHEST)

    def diagonal(self, x):
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
        norm = numerics.safe_sqrt(jnp.sum(x * x, axis=-1, keepdims=True))
        return x / jnp.where(norm > 0, norm, 1.0)

    def diagonal(self, x):
        return jnp.sum(self.features(x) ** 2, axis=-1)


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
