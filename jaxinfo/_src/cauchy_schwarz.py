"""Cauchy–Schwarz divergence and Cauchy–Schwarz quadratic mutual information.

Kernel (Parzen) plug-in estimators. Every term is a log of a kernel sum, accumulated in the
log domain row block by row block (``logsumexp``), so a small bandwidth never gives
``log 0``, memory is O(n * block) with ``block_size``, and with ``axis_name`` each device
reduces its own rows against the all-gathered ``[n, d]`` inputs, followed by one stacked
cross-device log-sum-exp (no ``[n, n]`` matrix is ever gathered).
"""

from __future__ import annotations

from numbers import Real

import jax
import jax.numpy as jnp

from jaxinfo._src import collectives, validation
from jaxinfo._src.kernels import (
    Kernel,
    as_kernel,
    blocked_row_sums,
    gather_samples,
    log_gram_exact_self,
    masked_logsumexp,
    valid_pairs,
)


def _qmi_terms(log_k, log_q, row_k, row_q, pairs, valid):
    """A block's log-sums of CS-QMI: ``sum K o Q``, ``sum K``, ``sum Q``, ``sum_i (K1)_i (Q1)_i``.

    ``row_k``, ``row_q`` are the block's log row sums (reused: the marginal sums need no
    second pass over the slab).
    """
    return jnp.stack(
        [
            masked_logsumexp(log_k + log_q, pairs),
            masked_logsumexp(row_k, valid),
            masked_logsumexp(row_q, valid),
            masked_logsumexp(row_k + row_q, valid),
        ]
    )


def _qmi_value(terms):
    # Powers of n: -2 (joint) - 4 (marginals) + 6 (cross) = 0, so they cancel.
    joint, marg_x, marg_y, cross = terms
    return joint + marg_x + marg_y - 2.0 * cross


def _normalized(value, self_x, self_y):
    """``I(X;Y) / sqrt(I(X;X) I(Y;Y))`` (0 where a self-information vanishes)."""
    denominator = jnp.sqrt(jnp.maximum(self_x * self_y, 0.0))
    return jnp.where(denominator > 0, value / jnp.where(denominator > 0, denominator, 1.0), 0.0)


def cauchy_schwarz_divergence(
    x,
    y,
    *,
    kernel: Kernel | None = None,
    base: float | None = None,
    where_x=None,
    where_y=None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Cauchy–Schwarz divergence between the distributions of two samples.

    .. math::
       \hat D_{CS}(p \| q) = \log \frac{1}{m^2}\sum_{ij} k(x_i, x_j)
       + \log \frac{1}{n^2}\sum_{ij} k(y_i, y_j) - 2 \log \frac{1}{mn}\sum_{ij} k(x_i, y_j),

    the kernel plug-in estimator of :math:`-\log\frac{(\int pq)^2}{\int p^2 \int q^2}`
    (symmetric, ``>= 0``, ``0`` for identical sample sets). The normalising constants cancel,
    so ``m != n`` is fine. Every sum is a log-sum-exp: with a tiny bandwidth the naive
    estimator returns ``inf``, this one a finite value.

    Args:
      x: samples ``[m, d]`` from ``p``.
      y: samples ``[n, d]`` from ``q``.
      kernel: a positive kernel with a log-domain Gram (``Gaussian``, ``Laplacian``);
        default ``Gaussian(bandwidth="median")`` resolved on the pooled samples.
      base: logarithm base; default nats (the reference codes use nats).
      where_x, where_y: boolean row masks ``[m]`` and ``[n]``.
      axis_name: mesh axis of the rows of both ``x`` and ``y`` inside ``shard_map``.
      block_size: rows per block; memory O((m + n) * block) for value and gradient.

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
      >>> g = jaxinfo.kernels.Gaussian(1.0)
      >>> print(f"{jaxinfo.cauchy_schwarz_divergence(x, y, kernel=g):.4f}")
      0.5427

    References:
      Jenssen, Príncipe, Erdogmus & Eltoft, "The Cauchy–Schwarz divergence and Parzen
      windowing", J. Franklin Inst. 343(6), 2006.
    """
    validation.log_base_divisor(base)
    x, y, mask_x, mask_y = validation.two_samples(x, y, where_x, where_y, axis_name)
    sx = gather_samples((x,), mask_x, axis_name)
    sy = gather_samples((y,), mask_y, axis_name)
    (x_all,), (y_all,), wx_all, wy_all = sx.all, sy.all, sx.weights, sy.weights
    pooled_mask = jnp.concatenate([wx_all, wy_all]) > 0
    kernel = as_kernel(kernel).resolve(jnp.concatenate([x_all, y_all]), pooled_mask)

    def x_block(rows, w):
        rows, ids = rows
        _, pairs_xx = valid_pairs(w, wx_all)
        _, pairs_xy = valid_pairs(w, wy_all)
        return jnp.stack(
            [
                masked_logsumexp(log_gram_exact_self(kernel, rows, x_all, ids), pairs_xx),
                masked_logsumexp(log_gram_exact_self(kernel, rows, y_all), pairs_xy),
            ]
        )

    def y_block(rows, w):
        rows, ids = rows
        _, pairs = valid_pairs(w, wy_all)
        return masked_logsumexp(log_gram_exact_self(kernel, rows, y_all, ids), pairs)[None]

    terms = jnp.concatenate(
        [
            blocked_row_sums(x_block, sx.local_rows, sx.local_weights, block_size, log_domain=True),
            blocked_row_sums(y_block, sy.local_rows, sy.local_weights, block_size, log_domain=True),
        ]
    )
    log_xx, log_xy, log_yy = collectives.logsumexp(terms, axis_name)
    # log(1/m^2) + log(1/n^2) - 2 log(1/(mn)) = 0: the sample sizes cancel.
    return validation.convert_units(log_xx + log_yy - 2.0 * log_xy, base)


def _qmi_log_terms(x, y, kernel_x, kernel_y, mask, axis_name, block_size, with_self):
    """Log-sums of CS-QMI(x, y) (and, with ``with_self``, of CS-QMI(x, x) and (y, y)) in one pass."""
    s = gather_samples((x, y), mask, axis_name)
    (x_all, y_all), w_all = s.all, s.weights
    kernel_x = kernel_x.resolve(x_all, s.mask)
    kernel_y = kernel_y.resolve(y_all, s.mask)

    def block(rows, w):
        xr, yr, row_ids = rows
        valid, pairs = valid_pairs(w, w_all)
        log_k = log_gram_exact_self(kernel_x, xr, x_all, row_ids)
        log_q = log_gram_exact_self(kernel_y, yr, y_all, row_ids)
        row_k = masked_logsumexp(log_k, pairs, axis=1)
        row_q = masked_logsumexp(log_q, pairs, axis=1)
        terms = [_qmi_terms(log_k, log_q, row_k, row_q, pairs, valid)]
        if with_self:
            terms += [
                _qmi_terms(log_k, log_k, row_k, row_k, pairs, valid),
                _qmi_terms(log_q, log_q, row_q, row_q, pairs, valid),
            ]
        return jnp.concatenate(terms)

    terms = blocked_row_sums(block, s.local_rows, s.local_weights, block_size, log_domain=True)
    return collectives.logsumexp(terms, axis_name)


def cauchy_schwarz_mutual_information(
    x,
    y,
    *,
    kernel_x: Kernel | None = None,
    kernel_y: Kernel | None = None,
    normalized: bool = False,
    base: float | None = None,
    where=None,
    axis_name: str | None = None,
    block_size: int | None = None,
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
    of the CS information bottleneck (unitless; ``base`` is then ignored).

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      kernel_x, kernel_y: positive kernels (``Gaussian``, ``Laplacian``); default
        ``Gaussian(bandwidth="median")`` on each variable.
      normalized: return the normalised CS-QMI.
      base: logarithm base; default nats (the CS-IB reference reports bits: ``base=2``).
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: rows per block; memory O(n * block) for value and gradient.

    Returns:
      Scalar CS-QMI.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (200, 1))
      >>> y = x + 0.3 * jax.random.normal(kn, (200, 1))
      >>> g = jaxinfo.kernels.Gaussian(1.0)
      >>> print(f"{jaxinfo.cauchy_schwarz_mutual_information(x, y, kernel_x=g, kernel_y=g):.4f}")
      0.2519

    References:
      Príncipe, "Information Theoretic Learning", Springer 2010, ch. 2; Yu, Yu, Principe et
      al., "Cauchy–Schwarz divergence information bottleneck for regression", ICLR 2024.
    """
    validation.log_base_divisor(base)
    (x, y), mask = validation.paired_samples((x, y), ("x", "y"), where, axis_name)
    kernel_x = as_kernel(kernel_x, "kernel_x")
    kernel_y = as_kernel(kernel_y, "kernel_y")
    terms = _qmi_log_terms(x, y, kernel_x, kernel_y, mask, axis_name, block_size, normalized)
    if not normalized:
        return validation.convert_units(_qmi_value(terms), base)
    return _normalized(*(_qmi_value(terms[i : i + 4]) for i in (0, 4, 8)))


CONDITIONAL_ESTIMATORS = ("symmetric", "single_cross", "csib_code")


def _conditional_log_terms(p, q, kernel_x, kernel_y, axis_name, block_size):
    """``log s_p, log s_q, log c_pq, log c_qp`` of the two-sample conditional CS estimator.

    ``p`` and ``q`` are ``(x, y, mask)`` triples of local rows. For a row ``j`` of ``p``:
    ``s_p += sum_i K^p_ji L^p_ji / (sum_i K^p_ji)^2`` and
    ``c_pq += sum_i K^pq_ji L^pq_ji / (sum_i K^p_ji sum_i K^pq_ji)``; symmetrically for ``q``.
    """
    sp, sq = (gather_samples((x, y), mask, axis_name) for x, y, mask in (p, q))
    pooled = jnp.concatenate([sp.weights, sq.weights]) > 0
    kernel_x = kernel_x.resolve(jnp.concatenate([sp.all[0], sq.all[0]]), pooled)
    kernel_y = kernel_y.resolve(jnp.concatenate([sp.all[1], sq.all[1]]), pooled)

    def side(own, other):
        (own_x, own_y), own_w = own.all, own.weights
        (other_x, other_y), other_w = other.all, other.weights

        def block(rows, w):
            xr, yr, row_ids = rows
            valid, own_pairs = valid_pairs(w, own_w)
            _, other_pairs = valid_pairs(w, other_w)
            log_k = log_gram_exact_self(kernel_x, xr, own_x, row_ids)
            log_k_cross = log_gram_exact_self(kernel_x, xr, other_x)
            row_k = masked_logsumexp(log_k, own_pairs, axis=1)
            own_num = masked_logsumexp(
                log_k + log_gram_exact_self(kernel_y, yr, own_y, row_ids), own_pairs, axis=1
            )
            cross_num = masked_logsumexp(
                log_k_cross + log_gram_exact_self(kernel_y, yr, other_y), other_pairs, axis=1
            )
            cross_den = row_k + masked_logsumexp(log_k_cross, other_pairs, axis=1)
            return jnp.stack(
                [
                    masked_logsumexp(own_num - 2.0 * row_k, valid),
                    masked_logsumexp(cross_num - cross_den, valid),
                ]
            )

        return blocked_row_sums(
            block, own.local_rows, own.local_weights, block_size, log_domain=True
        )

    terms = jnp.concatenate([side(sp, sq), side(sq, sp)])
    s_p, c_pq, s_q, c_qp = collectives.logsumexp(terms, axis_name)
    return s_p, s_q, c_pq, c_qp


def _shared_conditional_setup(x, y, y_pred, mask, kernel_x, kernel_y, extra, axis_name):
    """Rows and resolved kernels of a shared-x conditional divergence (plus ``extra`` arrays).

    The y kernel is resolved on targets and predictions pooled.
    """
    s = gather_samples((x, y, y_pred, *extra), mask, axis_name)
    x_all, y_all, p_all = s.all[:3]
    pooled = jnp.concatenate([s.weights, s.weights]) > 0
    kernel_x = kernel_x.resolve(x_all, s.mask)
    kernel_y = kernel_y.resolve(jnp.concatenate([y_all, p_all]), pooled)
    return s, kernel_x, kernel_y


def _shared_conditional_terms(
    kernel_y, log_k, row_k, rows, cols, row_ids, pairs, valid, code_weights
):
    """A block's ``log s_p, log s_q, log c_pq, log c_qp`` when both sides share the inputs x.

    With one x, ``K^p = K^q = K^pq`` and every weight is ``(sum_i K_ji)^2`` (or
    ``sum_i K_ji^2`` for the CS-IB code), so a single x-Gram slab serves all four sums.
    """
    y_rows, p_rows = rows
    y_all, p_all = cols
    den = masked_logsumexp(2.0 * log_k, pairs, axis=1) if code_weights else 2.0 * row_k

    def term(log_l):
        return masked_logsumexp(masked_logsumexp(log_k + log_l, pairs, axis=1) - den, valid)

    return jnp.stack(
        [
            term(log_gram_exact_self(kernel_y, y_rows, y_all, row_ids)),
            term(log_gram_exact_self(kernel_y, p_rows, p_all, row_ids)),
            term(log_gram_exact_self(kernel_y, y_rows, p_all)),
            term(log_gram_exact_self(kernel_y, p_rows, y_all)),
        ]
    )


def _conditional_value(terms, estimator):
    s_p, s_q, c_pq, c_qp = terms
    if estimator == "symmetric":
        return s_p + s_q - c_pq - c_qp
    return s_p + s_q - 2.0 * c_qp


def _check_conditional_args(y, y_pred, estimator):
    if estimator not in CONDITIONAL_ESTIMATORS:
        raise ValueError(f"`estimator` must be one of {CONDITIONAL_ESTIMATORS}; got {estimator!r}.")
    if y.shape[1] != y_pred.shape[1]:
        raise ValueError(
            f"`y` and `y_pred` must have the same number of columns; got {y.shape[1]} and "
            f"{y_pred.shape[1]}."
        )


def conditional_cauchy_schwarz_divergence(
    x,
    y,
    y_pred,
    *,
    kernel_x: Kernel | None = None,
    kernel_y: Kernel | None = None,
    estimator: str = "symmetric",
    base: float | None = None,
    where=None,
    axis_name: str | None = None,
    block_size: int | None = None,
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
      kernel_x, kernel_y: positive kernels; default ``Gaussian(bandwidth="median")``
        (the y kernel is resolved on targets and predictions pooled).
      estimator: ``"symmetric"``, ``"single_cross"`` or ``"csib_code"`` (static).
      base, where, axis_name, block_size: as in :func:`cauchy_schwarz_divergence`.

    Returns:
      Scalar divergence.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (128, 3))
      >>> y = jax.numpy.sin(x[:, :1])
      >>> y_pred = y + 0.3 * jax.random.normal(kn, (128, 1))
      >>> g = jaxinfo.kernels.Gaussian(1.0)
      >>> d = jaxinfo.conditional_cauchy_schwarz_divergence(x, y, y_pred, kernel_x=g, kernel_y=g)
      >>> print(f"{d:.4f}")
      0.0104

    References:
      Yu, Li, Løkse, Jenssen & Príncipe, "The conditional Cauchy–Schwarz divergence with
      applications to time-series data and sequential decision making", IEEE TPAMI 2025.
    """
    validation.log_base_divisor(base)
    arrays, mask = validation.paired_samples((x, y, y_pred), ("x", "y", "y_pred"), where, axis_name)
    _check_conditional_args(arrays[1], arrays[2], estimator)
    s, kernel_x, kernel_y = _shared_conditional_setup(
        *arrays,
        mask,
        as_kernel(kernel_x, "kernel_x"),
        as_kernel(kernel_y, "kernel_y"),
        (),
        axis_name,
    )
    (x_all, y_all, p_all), w_all = s.all, s.weights

    def block(rows, w):
        xr, yr, pr, row_ids = rows
        valid, pairs = valid_pairs(w, w_all)
        log_k = log_gram_exact_self(kernel_x, xr, x_all, row_ids)
        row_k = masked_logsumexp(log_k, pairs, axis=1)
        return _shared_conditional_terms(
            kernel_y,
            log_k,
            row_k,
            (yr, pr),
            (y_all, p_all),
            row_ids,
            pairs,
            valid,
            estimator == "csib_code",
        )

    terms = collectives.logsumexp(
        blocked_row_sums(block, s.local_rows, s.local_weights, block_size, log_domain=True),
        axis_name,
    )
    return validation.convert_units(_conditional_value(terms, estimator), base)


def conditional_cauchy_schwarz_divergence_two_sample(
    x_p,
    y_p,
    x_q,
    y_q,
    *,
    kernel_x: Kernel | None = None,
    kernel_y: Kernel | None = None,
    base: float | None = None,
    where_p=None,
    where_q=None,
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
      x_p, y_p: paired samples ``[m, d_x]``, ``[m, d_y]`` from ``p``.
      x_q, y_q: paired samples ``[n, d_x]``, ``[n, d_y]`` from ``q``.
      kernel_x, kernel_y: positive kernels; default ``Gaussian(bandwidth="median")``.
      base, axis_name, block_size: as in :func:`cauchy_schwarz_divergence`.
      where_p, where_q: boolean row masks of the two sets.

    Returns:
      Scalar divergence, 0 when the two sets are identical.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (200, 1))
      >>> noise = jax.random.normal(kn, (200, 1))
      >>> g = jaxinfo.kernels.Gaussian(1.0)
      >>> d = jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
      ...     x[:100], x[:100] + 0.1 * noise[:100], x[100:], -x[100:] + 0.1 * noise[100:],
      ...     kernel_x=g, kernel_y=g)
      >>> print(f"{d:.4f}")
      1.5178
    """
    validation.log_base_divisor(base)
    (x_p, y_p), mask_p = validation.paired_samples((x_p, y_p), ("x_p", "y_p"), where_p, axis_name)
    (x_q, y_q), mask_q = validation.paired_samples((x_q, y_q), ("x_q", "y_q"), where_q, axis_name)
    if x_p.shape[1] != x_q.shape[1] or y_p.shape[1] != y_q.shape[1]:
        raise ValueError(
            f"the two sets must have the same feature dimensions; got x: {x_p.shape[1]} vs "
            f"{x_q.shape[1]}, y: {y_p.shape[1]} vs {y_q.shape[1]}."
        )
    dtype = jnp.result_type(x_p.dtype, x_q.dtype)
    s_p, s_q, c_pq, c_qp = _conditional_log_terms(
        (x_p.astype(dtype), y_p.astype(dtype), mask_p),
        (x_q.astype(dtype), y_q.astype(dtype), mask_q),
        as_kernel(kernel_x, "kernel_x"),
        as_kernel(kernel_y, "kernel_y"),
        axis_name,
        block_size,
    )
    return validation.convert_units(s_p + s_q - c_pq - c_qp, base)


def cauchy_schwarz_conditional_mutual_information(
    x,
    y,
    z,
    *,
    kernel_x: Kernel | None = None,
    kernel_y: Kernel | None = None,
    kernel_z: Kernel | None = None,
    base: float | None = None,
    where=None,
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
      x, y: samples ``[n, d_x]``, ``[n, d_y]``.
      z: conditioning samples ``[n, d_z]``.
      kernel_x, kernel_y, kernel_z: positive kernels; default ``Gaussian(bandwidth="median")``
        per variable. The reference uses one width for all three: η · sqrt(median / 2) of the
        pooled squared distances, η = 0.05.
      base, where, axis_name, block_size: as in :func:`cauchy_schwarz_mutual_information`.

    Returns:
      Scalar conditional mutual information.

    Example:
      >>> import jax, jaxinfo
      >>> kz, kx, ky = jax.random.split(jax.random.key(0), 3)
      >>> z = jax.random.normal(kz, (300, 1))
      >>> x = z + 0.5 * jax.random.normal(kx, (300, 1))
      >>> y = x + 0.5 * jax.random.normal(ky, (300, 1))
      >>> g = jaxinfo.kernels.Gaussian(0.5)
      >>> i = jaxinfo.cauchy_schwarz_conditional_mutual_information(
      ...     x, y, z, kernel_x=g, kernel_y=g, kernel_z=g)
      >>> print(f"{i:.4f}")
      0.0227

    References:
      Zhang, Yu et al., "Cauchy–Schwarz divergence transfer entropy", ICASSP 2025.
    """
    validation.log_base_divisor(base)
    (x, y, z), mask = validation.paired_samples((x, y, z), ("x", "y", "z"), where, axis_name)
    names = ("kernel_x", "kernel_y", "kernel_z")
    kernels_xyz = [
        as_kernel(k, name) for k, name in zip((kernel_x, kernel_y, kernel_z), names, strict=True)
    ]
    s = gather_samples((x, y, z), mask, axis_name)
    all_rows, w_all = s.all, s.weights
    kernels_xyz = [k.resolve(a, s.mask) for k, a in zip(kernels_xyz, all_rows, strict=True)]

    def block(rows, w):
        *blocks, row_ids = rows
        log_k, log_l, log_m = (
            log_gram_exact_self(kern, r, a, row_ids)
            for kern, r, a in zip(kernels_xyz, blocks, all_rows, strict=True)
        )
        valid, pairs = valid_pairs(w, w_all)
        m = masked_logsumexp(log_m, pairs, axis=1)
        km = masked_logsumexp(log_k + log_m, pairs, axis=1)
        lm = masked_logsumexp(log_l + log_m, pairs, axis=1)
        klm = masked_logsumexp(log_k + log_l + log_m, pairs, axis=1)
        return jnp.stack(
            [
                masked_logsumexp(klm + 2.0 * m, valid),
                masked_logsumexp(2.0 * km + 2.0 * lm - klm, valid),
                masked_logsumexp(m + km + lm, valid),
            ]
        )

    terms = blocked_row_sums(block, s.local_rows, s.local_weights, block_size, log_domain=True)
    self_joint, self_product, cross = collectives.logsumexp(terms, axis_name)
    # Each sum is of degree 3 in row sums, so the 1/n normalisations cancel.
    return validation.convert_units(self_joint + self_product - 2.0 * cross, base)


def _as_target_matrix(value):
    """CS-IB targets: a 1-D ``[n]`` target becomes ``[n, 1]`` (never a scalar dot product)."""
    arr = value if isinstance(value, jax.Array) else jnp.asarray(value)
    return arr[:, None] if arr.ndim == 1 else arr


def cauchy_schwarz_information_bottleneck_loss(
    x,
    y,
    y_pred,
    t,
    *,
    beta,
    kernel_x: Kernel | None = None,
    kernel_y: Kernel | None = None,
    kernel_t: Kernel | None = None,
    estimator: str = "symmetric",
    base: float | None = None,
    where=None,
    axis_name: str | None = None,
    block_size: int | None = None,
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
      kernel_x, kernel_y, kernel_t: positive kernels; default ``Gaussian(bandwidth="median")``.
        The reference training script uses ``Gaussian(1.0)`` for all on standardised inputs.
      estimator: conditional CS estimator, see :func:`conditional_cauchy_schwarz_divergence`.
      base: unit of the prediction term (the reference reports bits: ``base=2``); the
        normalised compression term is unitless.
      where, axis_name, block_size: as in :func:`cauchy_schwarz_mutual_information`.

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
      0.0070 0.0028 0.4203

    References:
      Yu, Yu, Løkse, Jenssen & Príncipe, "Cauchy–Schwarz divergence information bottleneck
      for regression", ICLR 2024.
    """
    y, y_pred = _as_target_matrix(y), _as_target_matrix(y_pred)
    if y.shape != y_pred.shape:
        raise ValueError(
            f"`y` and `y_pred` must have the same shape; got {tuple(y.shape)} and "
            f"{tuple(y_pred.shape)}. Squeeze or reshape the model output to match the targets."
        )
    if isinstance(beta, Real) and beta < 0:
        raise ValueError(f"`beta` must be >= 0; got {float(beta)}.")
    validation.log_base_divisor(base)
    names = ("x", "y", "y_pred", "t")
    (x, y, y_pred, t), mask = validation.paired_samples((x, y, y_pred, t), names, where, axis_name)
    _check_conditional_args(y, y_pred, estimator)
    s, kernel_x, kernel_y = _shared_conditional_setup(
        x,
        y,
        y_pred,
        mask,
        as_kernel(kernel_x, "kernel_x"),
        as_kernel(kernel_y, "kernel_y"),
        (t,),
        axis_name,
    )
    (x_all, y_all, p_all, t_all), w_all = s.all, s.weights
    kernel_t = as_kernel(kernel_t, "kernel_t").resolve(t_all, s.mask)

    def block(rows, w):
        # One x-Gram slab and one t-Gram slab serve the prediction and compression terms.
        xr, yr, pr, tr, row_ids = rows
        valid, pairs = valid_pairs(w, w_all)
        log_k = log_gram_exact_self(kernel_x, xr, x_all, row_ids)
        log_q = log_gram_exact_self(kernel_t, tr, t_all, row_ids)
        row_k = masked_logsumexp(log_k, pairs, axis=1)
        row_q = masked_logsumexp(log_q, pairs, axis=1)
        return jnp.concatenate(
            [
                _shared_conditional_terms(
                    kernel_y,
                    log_k,
                    row_k,
                    (yr, pr),
                    (y_all, p_all),
                    row_ids,
                    pairs,
                    valid,
                    estimator == "csib_code",
                ),
                _qmi_terms(log_k, log_q, row_k, row_q, pairs, valid),
                _qmi_terms(log_k, log_k, row_k, row_k, pairs, valid),
                _qmi_terms(log_q, log_q, row_q, row_q, pairs, valid),
            ]
        )

    terms = collectives.logsumexp(
        blocked_row_sums(block, s.local_rows, s.local_weights, block_size, log_domain=True),
        axis_name,
    )
    prediction = validation.convert_units(_conditional_value(terms[:4], estimator), base)
    compression = _normalized(*(_qmi_value(terms[i : i + 4]) for i in (4, 8, 12)))
    beta = jnp.asarray(beta, prediction.dtype)
    return prediction + beta * compression, {"prediction": prediction, "compression": compression}
