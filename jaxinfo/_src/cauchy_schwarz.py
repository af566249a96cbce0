"""Cauchy–Schwarz divergence and Cauchy–Schwarz quadratic mutual information.

Kernel (Parzen) plug-in estimators. Every term is a log of a kernel sum, accumulated row block
by row block, so memory is O(n * block) with ``block_size``, and with ``axis_name`` each device
reduces its own rows against the all-gathered ``[n, d]`` inputs, followed by one cross-device
combine (no ``[n, n]`` matrix is ever gathered). The block functions are written once with the
domain-generic :class:`samples.Block` methods: with Gaussian/Laplacian kernels the sums run in
the linear domain (one GEMM and one fused exp-and-sum per slab) and fall back to the log domain
(``logsumexp``) where terms would underflow, so a small bandwidth never gives ``log 0``. As the
bandwidth vanishes every log-sum tends to its largest term (numerics.logsumexp stays exact there
too), so the estimators stay finite with finite gradients on every route (docs/cauchy_schwarz.md).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import batching, deprecation, guards, numerics, programs, samples, validation
from jaxinfo._src.kernels import DistanceKernel, Kernel, KernelLike, Linear, as_kernel
from jaxinfo._src.options import CONDITIONAL_METHODS, ConditionalMethod


class _QMISums(NamedTuple):
    """Log-sums of CS-QMI: ``sum K o Q``, ``sum K``, ``sum Q``, ``sum_i (K1)_i (Q1)_i``."""

    joint: jax.Array
    marginal_x: jax.Array
    marginal_y: jax.Array
    cross: jax.Array

    def value(self) -> jax.Array:
        """CS-QMI in nats. Powers of n: -2 (joint) - 4 (marginals) + 6 (cross) = 0."""
        return self.joint + self.marginal_x + self.marginal_y - 2.0 * self.cross

    def resolution(self) -> jax.Array:
        """Round-off of :meth:`value`: values at or below it are indistinguishable from 0.

        The log-sums are of order ``log n`` and cancel exactly for a constant variable.
        """
        scale = abs(self.joint) + abs(self.marginal_x) + abs(self.marginal_y)
        eps = jnp.finfo(self.joint.dtype).eps
        return jax.lax.stop_gradient(numerics.ROUNDOFF_FLOOR * eps * (scale + 2 * abs(self.cross)))


def _qmi_sums(b, k, q, row_k, row_q) -> _QMISums:
    """A block's :class:`_QMISums` from its two Gram slabs (domain-generic, see samples.Block).

    ``row_k``, ``row_q`` are its row sums, reused: the marginal sums need no second pass
    over the slab.
    """
    return _QMISums(
        b.total(b.row_sums(b.mul(k, q))),
        b.total(row_k),
        b.total(row_q),
        b.total(b.mul(row_k, row_q)),
    )


class _NormalizedQMISums(NamedTuple):
    """Log-sums of ``I(X; Y)``, ``I(X; X)`` and ``I(Y; Y)``: the normalised CS-QMI."""

    xy: _QMISums
    xx: _QMISums
    yy: _QMISums

    def normalized(self) -> jax.Array:
        """``I(X;Y) / sqrt(I(X;X) I(Y;Y))``; 0 where a self-information vanishes.

        A constant variable (a collapsed representation, common early in training) carries
        no information: its self-information is 0 up to round-off, and so is ``I(X;Y)``, whose
        ratio would be round-off noise. Below :meth:`_QMISums.resolution` the value is 0
        with a zero (finite) gradient.
        """
        value, self_x, self_y = self.xy.value(), self.xx.value(), self.yy.value()
        informative = (self_x > self.xx.resolution()) & (self_y > self.yy.resolution())
        denominator = jnp.sqrt(jnp.where(informative, self_x * self_y, 1.0))
        return jnp.where(informative, value / denominator, 0.0 * value)


def _normalized_qmi_sums(b, k, q, row_k, row_q) -> _NormalizedQMISums:
    """A block's normalised CS-QMI sums from its two Gram slabs and their row sums."""
    return _NormalizedQMISums(
        _qmi_sums(b, k, q, row_k, row_q),
        _qmi_sums(b, k, k, row_k, row_k),
        _qmi_sums(b, q, q, row_q, row_q),
    )


class _ConditionalSums(NamedTuple):
    """Log-sums of the conditional CS estimators: two self terms and two cross terms."""

    s_p: jax.Array
    s_q: jax.Array
    c_pq: jax.Array
    c_qp: jax.Array

    def value(self, method: str) -> jax.Array:
        """The divergence in nats for ``method`` (see :data:`CONDITIONAL_METHODS`)."""
        if method == "symmetric":
            return self.s_p + self.s_q - self.c_pq - self.c_qp
        return self.s_p + self.s_q - 2.0 * self.c_qp


@programs.one_program
@batching.one_call_at_a_time
def cauchy_schwarz_divergence(
    x: ArrayLike,
    y: ArrayLike,
    *,
    kernel: KernelLike | None = None,
    base: float | None = None,
    where_x: ArrayLike | None = None,
    where_y: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
    log_domain: bool = False,
) -> jax.Array:
    r"""Cauchy–Schwarz divergence between the distributions of two samples.

    .. math::
       \hat D_{CS}(p \| q) = \log \frac{1}{m^2}\sum_{ij} k(x_i, x_j)
       + \log \frac{1}{n^2}\sum_{ij} k(y_i, y_j) - 2 \log \frac{1}{mn}\sum_{ij} k(x_i, y_j),

    the kernel plug-in estimator of :math:`-\log\frac{(\int pq)^2}{\int p^2 \int q^2}`
    (symmetric, ``>= 0``, ``0`` for identical sample sets). The normalising constants cancel,
    so ``m != n`` is fine. With a tiny bandwidth the naive estimator returns ``inf``, this
    one a finite value: the sums are linear-domain kernel sums (one GEMM and one fused
    exp-and-sum per block) where that is exact and log-sum-exps where terms would underflow.
    As ``sigma -> 0`` the value grows like ``min_ij |x_i - y_j|^2 / sigma^2`` (the nearest
    cross pair), the same finite number on every route, with finite gradients.

    Args:
      x: samples ``[m, d]`` from ``p``.
      y: samples ``[n, d]`` from ``q``.
      kernel: a positive kernel with a log-domain Gram (``Gaussian``, ``Laplacian``);
        default ``Gaussian(bandwidth="median")`` resolved on the pooled samples.
      base: logarithm base; default nats (the reference codes use nats).
      where_x: boolean row mask ``[m]`` of ``x``.
      where_y: boolean row mask ``[n]`` of ``y``.
      axis_name: mesh axis of the rows of both ``x`` and ``y`` inside ``shard_map``.
      block_size: rows per block; ``None`` picks it from the temporary-memory
        budget (docs/conventions.md). Memory O((m + n) * block) for value and gradient.
      log_domain: every sum as a log-sum-exp (static; the route before 0.x, slower); the
        default gives the same value to round-off.

    Returns:
      Scalar divergence.

    Raises:
      ValueError: ``x``/``y`` not ``[n, d]`` or with different feature dimensions.
      TypeError: a kernel without a log-domain Gram (linear, cosine).

    Example:
      >>> import jax, jaxinfo
      >>> kx, ky = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (200, 2))
      >>> y = jax.random.normal(ky, (150, 2)) + 1.0
      >>> print(f"{jaxinfo.cauchy_schwarz_divergence(x, y):.4f}")  # float64: 0.29349
      0.2935

    References:
      Jenssen, Príncipe, Erdogmus & Eltoft, "The Cauchy–Schwarz divergence and Parzen
      windowing", J. Franklin Inst. 343(6), 2006.
    """
    p, q = guards.checked_two(x, y, where_x, where_y, axis_name, base)
    (x,), (y,) = p.arrays, q.arrays
    nats = _divergence_nats(
        x,
        y,
        p.mask,
        q.mask,
        _positive_kernel(kernel),
        axis_name=axis_name,
        block_size=block_size,
        log_domain=validation.check_bool(log_domain, "log_domain"),
    )
    return p.result(nats, p.holds() & q.holds())


def _positive_kernel(kernel: KernelLike | None, name: str = "kernel") -> Kernel:
    """A kernel argument of the CS family: positive, so its sums have logs (names ``name``).

    A linear or cosine kernel would fail deep inside with a message that names no argument.
    """
    kernel = as_kernel(kernel, name)
    if isinstance(kernel, Linear):
        raise TypeError(
            f"`{name}` must be a positive kernel with a log-domain Gram (a Gaussian, Laplacian "
            f"or other DistanceKernel); got {type(kernel).__name__}, which can be zero or "
            f"negative. Pass e.g. `{name}=jaxinfo.kernels.Gaussian(bandwidth=1.0)`."
        )
    return kernel


def _linear_first(log_domain: bool, *kernels: Kernel) -> bool:
    """Whether kernel sums may take the linear-domain route (samples.reduce_sets).

    Only distance kernels promise ``k <= 1`` (sums need no max shift) and the GEMM factors
    of :meth:`~jaxinfo.kernels.DistanceKernel.log_gram_factors`.
    """
    return not log_domain and all(isinstance(k, DistanceKernel) for k in kernels)


@functools.partial(jax.jit, static_argnames=("axis_name", "block_size", "log_domain"))
def _divergence_nats(x, y, mask_x, mask_y, kernel, *, axis_name, block_size, log_domain=False):
    sx = samples.gather((x,), mask_x, axis_name, block_size)
    sy = samples.gather((y,), mask_y, axis_name, block_size)
    (x_all,), (y_all,) = sx.all, sy.all
    pooled_mask = jnp.concatenate([sx.valid, sy.valid])
    kernel = kernel.resolve(jnp.concatenate([x_all, y_all]), pooled_mask)

    def own_block(b):  # sum k(x_i, x_j) over a set against itself
        return b.total(b.row_sums(b.kernel(kernel, 0)))

    def cross_block(b):
        return b.total(b.row_sums(b.kernel(kernel, 0, y_all, sy.column_weights)))

    # One Gram per reduction: sequential reductions reuse the same temporaries, while two
    # Grams in one block function keep both alive (5.2 against 2.3 slabs, value and grad).
    log_xx, log_xy, log_yy = samples.reduce_sets(
        [(sx, own_block, None), (sx, cross_block, sy.num_rows), (sy, own_block, None)],
        log_domain=True,
        linear_first=_linear_first(log_domain, kernel),
    )
    # log(1/m^2) + log(1/n^2) - 2 log(1/(mn)) = 0: the sample sizes cancel.
    return log_xx + log_yy - 2.0 * log_xy


@functools.partial(jax.jit, static_argnames=("axis_name", "block_size", "normalized", "log_domain"))
def _qmi_log_sums(
    x, y, mask, kernel_x, kernel_y, *, axis_name, block_size, normalized, log_domain=False
):
    s = samples.gather((x, y), mask, axis_name, block_size)
    kernel_x = kernel_x.resolve(s.all[0], s.mask)
    kernel_y = kernel_y.resolve(s.all[1], s.mask)

    def block(b):
        k, q = b.kernel(kernel_x, 0), b.kernel(kernel_y, 1)
        row_k, row_q = b.row_sums(k), b.row_sums(q)
        if normalized:
            return _normalized_qmi_sums(b, k, q, row_k, row_q)
        return _qmi_sums(b, k, q, row_k, row_q)

    # Every sum is over own-set kernels (>= k(x, x) = 1 per valid row): the linear domain
    # never underflows here.
    return s.reduce(
        block,
        log_domain=True,
        linear_first=_linear_first(log_domain, kernel_x, kernel_y),
        num_columns=2 * s.num_rows,  # two Grams
    )


@programs.one_program
@batching.one_call_at_a_time
def cauchy_schwarz_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    kernel_x: KernelLike | None = None,
    kernel_y: KernelLike | None = None,
    normalized: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
    log_domain: bool = False,
) -> jax.Array:
    r"""Cauchy–Schwarz quadratic mutual information (CS-QMI).

    .. math::
       \hat I_{CS}(X; Y) = \log\frac{\operatorname{tr}(KQ)}{n^2}
       + \log\frac{\mathbf 1^\top K \mathbf 1\,\mathbf 1^\top Q \mathbf 1}{n^4}
       - 2\log\frac{\mathbf 1^\top K Q \mathbf 1}{n^3},

    the CS divergence between the joint density and the product of the marginals
    (``>= 0`` by the Cauchy–Schwarz inequality, ``~0`` for independent samples as ``n`` grows).
    Computed in O(n^2) time (no ``n^3`` matrix products) from log-domain row sums.
    ``normalized=True`` returns ``I(X; Y) / sqrt(I(X; X) I(Y; Y))``, the compression term
    of the CS information bottleneck: a ratio without a unit, so ``base`` is refused with it.

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      kernel_x: positive kernels (``Gaussian``, ``Laplacian``); default
        ``Gaussian(bandwidth="median")`` on each variable.
      kernel_y: positive kernels (``Gaussian``, ``Laplacian``); default
        ``Gaussian(bandwidth="median")`` on each variable.
      normalized: return the normalised CS-QMI (a ratio without a unit).
      base: logarithm base; default nats (the CS-IB reference reports bits: ``base=2``).
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: rows per block; ``None`` picks it from the temporary-memory
        budget (docs/conventions.md). Memory O(n * block) for value and gradient.
      log_domain: as in :func:`cauchy_schwarz_divergence`.

    Returns:
      Scalar CS-QMI.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (200, 1))
      >>> y = x + 0.3 * jax.random.normal(kn, (200, 1))
      >>> print(f"{jaxinfo.cauchy_schwarz_mutual_information(x, y):.4f}")
      0.1972

    References:
      Príncipe, "Information Theoretic Learning", Springer 2010, ch. 2; Yu, Yu, Principe et
      al., "Cauchy–Schwarz divergence information bottleneck for regression", ICLR 2024.
    """
    normalized = validation.check_bool(normalized, "normalized")
    if normalized and base is not None:
        raise ValueError(
            f"`normalized=True` returns a ratio without a unit, so `base` has no meaning with "
            f"it; got base={base!r}. Drop `base` or pass normalized=False."
        )
    rows = guards.checked((x, y), ("x", "y"), where, axis_name, base)
    sums = _qmi_log_sums(
        *rows.arrays,
        rows.mask,
        _positive_kernel(kernel_x, "kernel_x"),
        _positive_kernel(kernel_y, "kernel_y"),
        axis_name=axis_name,
        block_size=block_size,
        normalized=normalized,
        log_domain=validation.check_bool(log_domain, "log_domain"),
    )
    return rows.result(sums.normalized() if normalized else sums.value())  # base is None


@functools.partial(jax.jit, static_argnames=("axis_name", "block_size"))
def _two_sample_conditional_sums(p, q, kernel_x, kernel_y, *, axis_name, block_size):
    """:class:`_ConditionalSums` of the two-sample conditional CS estimator.

    ``p`` and ``q`` are ``(x, y, mask)`` triples of local rows. For a row ``j`` of ``p``:
    ``s_p += sum_i K^p_ji L^p_ji / (sum_i K^p_ji)^2`` and
    ``c_pq += sum_i K^pq_ji L^pq_ji / (sum_i K^p_ji sum_i K^pq_ji)``; symmetrically for ``q``.
    """
    sp, sq = (samples.gather((x, y), mask, axis_name, block_size) for x, y, mask in (p, q))
    pooled = jnp.concatenate([sp.valid, sq.valid])
    kernel_x = kernel_x.resolve(jnp.concatenate([sp.all[0], sq.all[0]]), pooled)
    kernel_y = kernel_y.resolve(jnp.concatenate([sp.all[1], sq.all[1]]), pooled)

    def side(other):
        other_x, other_y = other.all

        def block(b):
            log_k = b.log_gram(kernel_x, 0)
            log_k_cross = b.log_gram(kernel_x, 0, other_x)
            row_k = b.row_logsumexp(log_k)
            own_num = b.row_logsumexp(log_k + b.log_gram(kernel_y, 1))
            cross_num = b.row_logsumexp(
                log_k_cross + b.log_gram(kernel_y, 1, other_y), other.weights
            )
            cross_den = row_k + b.row_logsumexp(log_k_cross, other.weights)
            return b.logsumexp(own_num - 2.0 * row_k), b.logsumexp(cross_num - cross_den)

        return block

    columns = 2 * (sp.num_rows + sq.num_rows)  # x and y Grams against both sets
    (s_p, c_pq), (s_q, c_qp) = samples.reduce_sets(
        [(sp, side(sq), columns), (sq, side(sp), columns)], log_domain=True
    )
    return _ConditionalSums(s_p, s_q, c_pq, c_qp)


def _shared_conditional_sums(b, kernel_y, k, row_k, code_weights) -> _ConditionalSums:
    """A block's :class:`_ConditionalSums` when both sides share the inputs x.

    Arrays 1 and 2 of the block are the targets and the predictions. With one x,
    ``K^p = K^q = K^pq`` and every weight is ``(sum_i K_ji)^2`` (or ``sum_i K_ji^2`` for the
    CS-IB code), so a single x-Gram slab serves all four sums. Domain-generic; the weights
    are own-set sums ``>= 1``, so each term is kernel values times factors ``<= 1`` (the
    condition of samples.reduce_sets' linear route).
    """
    den = b.row_sums(b.power(k, 2)) if code_weights else b.power(row_k, 2)

    def term(gram_y):
        return b.total(b.div(b.row_sums(b.mul(k, gram_y)), den))

    return _ConditionalSums(
        term(b.kernel(kernel_y, 1)),
        term(b.kernel(kernel_y, 2)),
        term(b.kernel(kernel_y, 1, 2)),  # targets against the paired predictions
        term(b.kernel(kernel_y, 2, 1)),
    )


def _resolve_shared_conditional(s, kernel_x, kernel_y):
    """Kernels of a shared-x conditional divergence; the y kernel on targets and predictions."""
    pooled = jnp.concatenate([s.valid, s.valid])
    kernel_x = kernel_x.resolve(s.all[0], s.mask)
    kernel_y = kernel_y.resolve(jnp.concatenate([s.all[1], s.all[2]]), pooled)
    return kernel_x, kernel_y


def _check_conditional_args(y, y_pred, method):
    validation.check_choice(method, "method", CONDITIONAL_METHODS)
    if y.shape[1] != y_pred.shape[1]:
        raise ValueError(
            f"`y` and `y_pred` must have the same number of columns; got {y.shape[1]} and "
            f"{y_pred.shape[1]}."
        )


@deprecation.renamed_keywords(estimator="method")
@programs.one_program
@batching.one_call_at_a_time
def conditional_cauchy_schwarz_divergence(
    x: ArrayLike,
    y: ArrayLike,
    y_pred: ArrayLike,
    *,
    kernel_x: KernelLike | None = None,
    kernel_y: KernelLike | None = None,
    method: ConditionalMethod = "symmetric",
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
    log_domain: bool = False,
) -> jax.Array:
    r"""Conditional CS divergence ``D_CS(p(y|x) || q(y_pred|x))`` with shared inputs ``x``.

    The CS information bottleneck's prediction term: ``y`` are targets, ``y_pred`` a model's
    predictions for the same inputs. Resubstitution estimators, with ``K = k_x(x_j, x_i)``,
    ``L = k_y(y_j, y_i)``, ``L' = k_y(y_pred_j, y_pred_i)`` and ``w_j = (sum_i K_ji)^2``:

    - ``"symmetric"`` (default; Yu et al. TPAMI 2025, = ``CondCSD`` of the UAI'24 code with
      ``x_1 = x_2``): ``log s + log s' - log c - log c'`` with both cross terms
      ``c = sum_j sum_i K_ji k(y_j, y_pred_i) / w_j`` and ``c'`` (``y`` and ``y_pred`` swapped).
      Symmetric in ``y`` and ``y_pred``.
    - ``"single_cross"`` (CS-IB slides, Prop. 1): ``log s + log s' - 2 log c'``.
    - ``"csib_code"`` (the released CS-IB ``loss_cs.CS_Div``): ``"single_cross"`` with
      weights ``sum_i K_ji^2``; only for parity with that code.

    All are 0 when ``y_pred == y``. Targets must be ``[n, d_y]``: reshape 1-D targets with
    ``y[:, None]`` (the released CS-IB script passes 1-D tensors, which silently turns its
    loss into a sum of squared errors).

    Args:
      x: inputs ``[n, d_x]``.
      y: targets ``[n, d_y]``.
      y_pred: predictions ``[n, d_y]``.
      kernel_x: positive kernels; default ``Gaussian(bandwidth="median")``
        (the y kernel is resolved on targets and predictions pooled).
      kernel_y: positive kernels; default ``Gaussian(bandwidth="median")``
        (the y kernel is resolved on targets and predictions pooled).
      method: ``"symmetric"``, ``"single_cross"`` or ``"csib_code"`` (static).
      base: as in :func:`cauchy_schwarz_divergence`.
      where: as in :func:`cauchy_schwarz_divergence`.
      axis_name: as in :func:`cauchy_schwarz_divergence`.
      block_size: as in :func:`cauchy_schwarz_divergence`.
      log_domain: as in :func:`cauchy_schwarz_divergence`.

    Returns:
      Scalar divergence.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (128, 3))
      >>> y = jax.numpy.sin(x[:, :1])
      >>> y_pred = y + 0.3 * jax.random.normal(kn, (128, 1))
      >>> d = jaxinfo.conditional_cauchy_schwarz_divergence(x, y, y_pred)
      >>> print(f"{d:.4f}")
      0.0079

    References:
      Yu, Li, Løkse, Jenssen & Príncipe, "The conditional Cauchy–Schwarz divergence with
      applications to time-series data and sequential decision making", IEEE TPAMI 2025.
    """
    rows = guards.checked((x, y, y_pred), ("x", "y", "y_pred"), where, axis_name, base)
    _check_conditional_args(rows.arrays[1], rows.arrays[2], method)
    sums = _shared_conditional_log_sums(
        rows.arrays,
        rows.mask,
        _positive_kernel(kernel_x, "kernel_x"),
        _positive_kernel(kernel_y, "kernel_y"),
        axis_name=axis_name,
        block_size=block_size,
        code_weights=method == "csib_code",
        log_domain=validation.check_bool(log_domain, "log_domain"),
    )
    return rows.result(sums.value(method))


@functools.partial(
    jax.jit, static_argnames=("axis_name", "block_size", "code_weights", "log_domain")
)
def _shared_conditional_log_sums(
    arrays, mask, kernel_x, kernel_y, *, axis_name, block_size, code_weights, log_domain=False
):
    s = samples.gather(arrays, mask, axis_name, block_size)
    kernel_x, kernel_y = _resolve_shared_conditional(s, kernel_x, kernel_y)

    def block(b):
        k = b.kernel(kernel_x, 0)
        return _shared_conditional_sums(b, kernel_y, k, b.row_sums(k), code_weights)

    return s.reduce(
        block,
        log_domain=True,
        linear_first=_linear_first(log_domain, kernel_x, kernel_y),
        num_columns=5 * s.num_rows,  # x, four y Grams
    )


@programs.one_program
@batching.one_call_at_a_time
def conditional_cauchy_schwarz_divergence_two_sample(
    x_p: ArrayLike,
    y_p: ArrayLike,
    x_q: ArrayLike,
    y_q: ArrayLike,
    *,
    kernel_x: KernelLike | None = None,
    kernel_y: KernelLike | None = None,
    base: float | None = None,
    where_p: ArrayLike | None = None,
    where_q: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Conditional CS divergence ``D_CS(p(y|x) || q(y|x))`` from two paired sample sets.

    .. math::
       \hat D = \log s_p + \log s_q - \log c_{pq} - \log c_{qp},

    with ``s_p = sum_j (sum_i K^p_ji L^p_ji) / (sum_i K^p_ji)^2`` over the ``p`` rows,
    ``c_pq = sum_j (sum_i K^pq_ji L^pq_ji) / (sum_i K^p_ji sum_i K^pq_ji)`` and symmetrically
    for ``q`` (Yu et al. TPAMI 2025; equal to ``CSutils.CondCSD`` of the UAI'24 code).

    Args:
      x_p: inputs ``[m, d_x]`` of the set from ``p``.
      y_p: outputs ``[m, d_y]`` paired with ``x_p``.
      x_q: inputs ``[n, d_x]`` of the set from ``q``.
      y_q: outputs ``[n, d_y]`` paired with ``x_q``.
      kernel_x: positive kernels; default ``Gaussian(bandwidth="median")``.
      kernel_y: positive kernels; default ``Gaussian(bandwidth="median")``.
      base: as in :func:`cauchy_schwarz_divergence`.
      axis_name: as in :func:`cauchy_schwarz_divergence`.
      block_size: as in :func:`cauchy_schwarz_divergence`.
      where_p: boolean row mask ``[m]`` of the ``p`` set.
      where_q: boolean row mask ``[n]`` of the ``q`` set.

    Returns:
      Scalar divergence, 0 when the two sets are identical.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (200, 1))
      >>> noise = jax.random.normal(kn, (200, 1))
      >>> d = jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
      ...     x[:100], x[:100] + 0.1 * noise[:100], x[100:], -x[100:] + 0.1 * noise[100:])
      >>> print(f"{d:.4f}")
      1.2216
    """
    p = guards.checked((x_p, y_p), ("x_p", "y_p"), where_p, axis_name, base, "where_p")
    q = guards.checked((x_q, y_q), ("x_q", "y_q"), where_q, axis_name, base, "where_q")
    (x_p, y_p), mask_p, (x_q, y_q), mask_q = p.arrays, p.mask, q.arrays, q.mask
    for p_name, q_name, p_array, q_array in (("x_p", "x_q", x_p, x_q), ("y_p", "y_q", y_p, y_q)):
        if p_array.shape[1] != q_array.shape[1]:
            raise ValueError(
                f"`{p_name}` and `{q_name}` must have the same number of features (columns); "
                f"got shapes {tuple(p_array.shape)} and {tuple(q_array.shape)}. Pass both "
                "sets in one space."
            )
    dtype = jnp.result_type(x_p.dtype, x_q.dtype)
    sums = _two_sample_conditional_sums(
        (x_p.astype(dtype), y_p.astype(dtype), mask_p),
        (x_q.astype(dtype), y_q.astype(dtype), mask_q),
        _positive_kernel(kernel_x, "kernel_x"),
        _positive_kernel(kernel_y, "kernel_y"),
        axis_name=axis_name,
        block_size=block_size,
    )
    return p.result(sums.value("symmetric"), p.holds() & q.holds())


@programs.one_program
@batching.one_call_at_a_time
def cauchy_schwarz_conditional_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    *,
    kernel_x: KernelLike | None = None,
    kernel_y: KernelLike | None = None,
    kernel_z: KernelLike | None = None,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Cauchy–Schwarz conditional mutual information ``I_CS(X; Y | Z)``.

    With ``K, L, M`` the Grams of ``x, y, z`` and row sums over ``i`` (``(A)_t = sum_i A_ti``):

    .. math::
       \hat I = \log \sum_t (K{\circ}L{\circ}M)_t (M)_t^2
       + \log \sum_t \frac{(K{\circ}M)_t^2 (L{\circ}M)_t^2}{(K{\circ}L{\circ}M)_t}
       - 2 \log \sum_t (M)_t (K{\circ}M)_t (L{\circ}M)_t,

    the resubstitution estimator of the CS divergence between ``p(x, y | z)`` and
    ``p(x | z) p(y | z)`` (CS transfer entropy when ``z`` is the target's past). It is ``>= 0``
    exactly (the Cauchy–Schwarz inequality on the three sums) and 0 when the conditional row
    sums factorise. Computed in O(n^2) from log-domain row sums, so tiny bandwidths stay finite
    (the reference notebook clamps each sum at 1e-6 instead, and one of its revisions squares
    ``L`` sums where ``M`` sums belong, which can give negative values; this follows the
    published proposition).

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      z: conditioning samples ``[n, d_z]``.
      kernel_x: positive kernels; default ``Gaussian(bandwidth="median")``
        per variable. The reference uses one width for all three: η · sqrt(median / 2) of the
        pooled squared distances, η = 0.05.
      kernel_y: positive kernels; default ``Gaussian(bandwidth="median")``
        per variable. The reference uses one width for all three: η · sqrt(median / 2) of the
        pooled squared distances, η = 0.05.
      kernel_z: positive kernels; default ``Gaussian(bandwidth="median")``
        per variable. The reference uses one width for all three: η · sqrt(median / 2) of the
        pooled squared distances, η = 0.05.
      base: as in :func:`cauchy_schwarz_mutual_information`.
      where: as in :func:`cauchy_schwarz_mutual_information`.
      axis_name: as in :func:`cauchy_schwarz_mutual_information`.
      block_size: as in :func:`cauchy_schwarz_mutual_information`.

    Returns:
      Scalar conditional mutual information.

    Example:
      >>> import jax, jaxinfo
      >>> kz, kx, ky = jax.random.split(jax.random.key(0), 3)
      >>> z = jax.random.normal(kz, (300, 1))
      >>> x = z + 0.5 * jax.random.normal(kx, (300, 1))
      >>> y = x + 0.5 * jax.random.normal(ky, (300, 1))
      >>> i = jaxinfo.cauchy_schwarz_conditional_mutual_information(x, y, z)
      >>> print(f"{i:.4f}")
      0.0027

    References:
      Zhang, Yu et al., "Cauchy–Schwarz divergence transfer entropy", ICASSP 2025.
    """
    rows = guards.checked((x, y, z), ("x", "y", "z"), where, axis_name, base)
    names = ("kernel_x", "kernel_y", "kernel_z")
    kernels_xyz = tuple(
        _positive_kernel(k, name)
        for k, name in zip((kernel_x, kernel_y, kernel_z), names, strict=True)
    )
    nats = _conditional_mutual_information_nats(
        rows.arrays, rows.mask, kernels_xyz, axis_name=axis_name, block_size=block_size
    )
    return rows.result(nats)


@functools.partial(jax.jit, static_argnames=("axis_name", "block_size"))
def _conditional_mutual_information_nats(arrays, mask, kernels_xyz, *, axis_name, block_size):
    s = samples.gather(arrays, mask, axis_name, block_size)
    kernels_xyz = [k.resolve(a, s.mask) for k, a in zip(kernels_xyz, s.all, strict=True)]

    def block(b):
        log_k, log_l, log_m = (b.log_gram(kernel, i) for i, kernel in enumerate(kernels_xyz))
        m = b.row_logsumexp(log_m)
        km = b.row_logsumexp(log_k + log_m)
        lm = b.row_logsumexp(log_l + log_m)
        klm = b.row_logsumexp(log_k + log_l + log_m)
        return (
            b.logsumexp(klm + 2.0 * m),
            b.logsumexp(2.0 * km + 2.0 * lm - klm),
            b.logsumexp(m + km + lm),
        )

    self_joint, self_product, cross = s.reduce(block, log_domain=True, num_columns=3 * s.num_rows)
    # Each sum is of degree 3 in row sums, so the 1/n normalisations cancel.
    return self_joint + self_product - 2.0 * cross


def _as_target_matrix(value, name: str):
    """CS-IB targets: a 1-D ``[n]`` target becomes ``[n, 1]`` (never a scalar dot product)."""
    arr = validation.as_array(value, name)
    return arr[:, None] if arr.ndim == 1 else arr


@deprecation.renamed_keywords(estimator="method")
@programs.one_program
@batching.one_call_at_a_time
def cauchy_schwarz_information_bottleneck_loss(
    x: ArrayLike,
    y: ArrayLike,
    y_pred: ArrayLike,
    t: ArrayLike,
    *,
    beta: ArrayLike,
    kernel_x: KernelLike | None = None,
    kernel_y: KernelLike | None = None,
    kernel_t: KernelLike | None = None,
    method: ConditionalMethod = "symmetric",
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
    log_domain: bool = False,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    r"""Cauchy–Schwarz information bottleneck loss for regression (CS-IB).

    .. math::
       \mathcal L = \hat D_{CS}\big(p(y \mid x) \,\|\, q_\theta(\hat y \mid x)\big)
       + \beta\, \hat I_{CS}^{\mathrm{norm}}(X; T),

    the prediction term (:func:`conditional_cauchy_schwarz_divergence`, which replaces the MSE)
    plus ``beta`` times the compression term (normalised CS-QMI between the inputs and the
    representation ``t``, :func:`cauchy_schwarz_mutual_information`). 1-D targets and
    predictions ``[n]`` are treated as ``[n, 1]``: the released CS-IB script's 1-D path silently
    trains on a sum of squared errors instead. Use it with ``jax.value_and_grad(...,
    has_aux=True)``.

    Args:
      x: inputs ``[n, d_x]``.
      y: targets ``[n]`` or ``[n, d_y]``.
      y_pred: predictions, same shape as ``y``.
      t: representation ``[n, d_t]`` (the bottleneck layer).
      beta: weight of the compression term (``>= 0``; may be traced, e.g. for a sweep).
      kernel_x: positive kernels; default ``Gaussian(bandwidth="median")``.
        The reference training script uses ``Gaussian(1.0)`` for all on standardised inputs.
      kernel_y: positive kernels; default ``Gaussian(bandwidth="median")``.
        The reference training script uses ``Gaussian(1.0)`` for all on standardised inputs.
      kernel_t: positive kernels; default ``Gaussian(bandwidth="median")``.
        The reference training script uses ``Gaussian(1.0)`` for all on standardised inputs.
      method: conditional CS method, see :func:`conditional_cauchy_schwarz_divergence`.
      base: unit of the prediction term (the reference reports bits: ``base=2``); the
        normalised compression term is unitless.
      where: as in :func:`cauchy_schwarz_mutual_information`.
      axis_name: as in :func:`cauchy_schwarz_mutual_information`.
      block_size: as in :func:`cauchy_schwarz_mutual_information`.
      log_domain: as in :func:`cauchy_schwarz_divergence`.

    Returns:
      ``(loss, {"prediction": ..., "compression": ...})``.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (128, 4))
      >>> y = jax.numpy.sin(x[:, 0])
      >>> t = jax.numpy.tanh(x @ jax.numpy.ones((4, 8)))
      >>> y_pred = y + 0.2 * jax.random.normal(kn, (128,))
      >>> loss, terms = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
      ...     x, y, y_pred, t, beta=0.01)
      >>> print(f"{loss:.4f} {terms['prediction']:.4f} {terms['compression']:.4f}")
      0.0071 0.0029 0.4203

    References:
      Yu, Yu, Løkse, Jenssen & Príncipe, "Cauchy–Schwarz divergence information bottleneck
      for regression", ICLR 2024.
    """
    y, y_pred = _as_target_matrix(y, "y"), _as_target_matrix(y_pred, "y_pred")
    if y.shape != y_pred.shape:
        raise ValueError(
            f"`y` and `y_pred` must have the same shape; got {tuple(y.shape)} and "
            f"{tuple(y_pred.shape)}. Squeeze or reshape the model output to match the targets."
        )
    beta = validation.check_number(beta, "beta", low=0.0, hint="beta weighs the compression term.")
    rows = guards.checked((x, y, y_pred, t), ("x", "y", "y_pred", "t"), where, axis_name, base)
    (x, y, y_pred, t), mask = rows.arrays, rows.mask
    _check_conditional_args(y, y_pred, method)
    prediction, compression = _information_bottleneck_terms(
        (x, y, y_pred, t),
        mask,
        _positive_kernel(kernel_x, "kernel_x"),
        _positive_kernel(kernel_y, "kernel_y"),
        _positive_kernel(kernel_t, "kernel_t"),
        axis_name=axis_name,
        block_size=block_size,
        method=method,
        log_domain=validation.check_bool(log_domain, "log_domain"),
    )
    return rows.loss(prediction, compression, beta)


@functools.partial(jax.jit, static_argnames=("axis_name", "block_size", "method", "log_domain"))
def _information_bottleneck_terms(
    arrays, mask, kernel_x, kernel_y, kernel_t, *, axis_name, block_size, method, log_domain
):
    """Prediction (nats) and normalised compression terms of the CS-IB loss in one pass."""
    s = samples.gather(arrays, mask, axis_name, block_size)
    kernel_x, kernel_y = _resolve_shared_conditional(s, kernel_x, kernel_y)
    kernel_t = kernel_t.resolve(s.all[3], s.mask)
    code_weights = method == "csib_code"

    def block(b):
        # One x-Gram slab and one t-Gram slab serve the prediction and compression terms.
        k, q = b.kernel(kernel_x, 0), b.kernel(kernel_t, 3)
        row_k, row_q = b.row_sums(k), b.row_sums(q)
        compression = _normalized_qmi_sums(b, k, q, row_k, row_q)
        prediction = _shared_conditional_sums(b, kernel_y, k, row_k, code_weights)
        return prediction, compression

    prediction, compression = s.reduce(
        block,
        log_domain=True,
        linear_first=_linear_first(log_domain, kernel_x, kernel_y, kernel_t),
        num_columns=6 * s.num_rows,  # x, t and the four target/prediction pairs
    )
    return prediction.value(method), compression.normalized()
