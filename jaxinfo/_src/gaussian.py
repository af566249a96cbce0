"""Gaussian (log-determinant) entropy and mutual information, and Gaussian-copula MI.

Covariances come from masked moments reduced with one ``psum`` per pass over the rows (the
mean first, then the centred scatter matrix), so with ``axis_name`` each device reduces only
its own rows. We normalise by ``n`` (maximum likelihood): that is the Gaussian plug-in
entropy; the MI does not depend on the normalisation at all. Log-determinants go through
Cholesky, which is differentiable everywhere it succeeds.

Singular covariances (``d >= n``, duplicated or constant columns) have ``log det = -inf``.
Instead of a NaN from a failed Cholesky we add a floor ``delta = 32 eps tr(Sigma)`` (under
``stop_gradient``, negligible for well-conditioned data): a singular covariance then gives a
finite, very negative entropy (each null direction contributes ``~0.5 log(32 eps tr)``)
and a finite gradient. ``shrinkage`` is the statistical fix.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import collectives, guards, moments, numerics, programs, samples, validation


def _scatter(z: jax.Array, mask, axis_name) -> tuple[jax.Array, jax.Array]:
    """Global count of valid rows and centred scatter matrix ``sum_i (z_i - m)(z_i - m)^T``."""
    weights = samples.row_weights(mask, z.shape[0], z.dtype)
    return moments.second_moment(z, weights, axis_name, centre=True)


def _check_shrinkage(shrinkage):
    return validation.check_number(
        shrinkage,
        "shrinkage",
        low=0.0,
        high=1.0,
        hint="0 keeps the sample covariance, 1 gives the scaled identity.",
    )


def _regularise(cov: jax.Array, shrinkage) -> jax.Array:
    """``(1 - s) cov + s tr(cov)/d I`` plus the floor that keeps Cholesky finite."""
    d = cov.shape[0]
    trace = jnp.trace(cov)
    eye = jnp.eye(d, dtype=cov.dtype)
    s = jnp.asarray(shrinkage, cov.dtype)
    cov = (1.0 - s) * cov + s * (trace / d) * eye
    info = jnp.finfo(cov.dtype)
    floor = jax.lax.stop_gradient(numerics.ROUNDOFF_FLOOR * info.eps * trace + info.tiny)
    return cov + floor * eye


def _logdet(cov: jax.Array) -> jax.Array:
    chol = jnp.linalg.cholesky(cov)
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))


def _wishart_bias(d: int, count: jax.Array, start: int = 0) -> jax.Array:
    """``E[log det S] - log det Sigma`` for the ML covariance ``S`` of ``n`` Gaussian samples.

    Summed over dimensions ``start + 1 .. d``: ``sum_i [psi((n - i)/2) + log(2/n)]``.
    """
    i = jnp.arange(start + 1, d + 1, dtype=count.dtype)
    return jnp.sum(jax.scipy.special.digamma((count - i) / 2.0) + jnp.log(2.0 / count))


def _min_rows(bias_correction: bool, d: int) -> int:
    """Valid rows the estimate needs: two, or ``d + 1`` for the Wishart bias correction."""
    return d + 1 if bias_correction else 2


def _check_bias_correction(bias_correction, num_rows: int, d: int, axis_name) -> None:
    validation.check_bool(bias_correction, "bias_correction")
    if bias_correction and axis_name is None and num_rows <= d:
        raise ValueError(
            "`bias_correction=True` needs more samples than dimensions (n > d); "
            f"got n = {num_rows}, "
            f"d = {d}. Pass more samples or use bias_correction=False with shrinkage."
        )


@programs.one_program
def gaussian_entropy(
    x: ArrayLike,
    *,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Differential entropy of a Gaussian fitted to the samples.

    .. math::
       H = \tfrac12 \log\det(2\pi e\,\hat\Sigma)
         = \tfrac d2 \log(2\pi e) + \tfrac12\log\det\hat\Sigma,

    with the maximum-likelihood covariance (divided by ``n``), optionally shrunk towards the
    scaled identity, ``(1 - s)\hat\Sigma + s\,\mathrm{tr}(\hat\Sigma)/d\,I``. Exact for
    Gaussian data, an upper bound on the entropy of any distribution with that covariance.
    Differentiable (a standard loss for decorrelation / whitening objectives).

    Args:
      x: samples ``[n, d]``.
      shrinkage: ``s`` in ``[0, 1]``; use it when ``d`` is close to or above ``n``. May be traced.
      bias_correction: subtract the exact expected bias of ``log det`` of a Wishart matrix
        (``sum_i psi((n - i)/2) + d log(2/n)``); makes the estimate unbiased for Gaussian data.
        Needs ``n > d``. Static.
      base: logarithm base (``2`` for bits); default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map`` (moments are ``psum``-reduced).

    Returns:
      Scalar entropy. A singular covariance (``shrinkage=0``) gives a finite, very negative
      value (see the module notes), never NaN.

    Raises:
      ValueError: ``x`` not ``[n, d]``, ``n < 2``, ``shrinkage`` outside ``[0, 1]``.

    Example:
      >>> import jax, jaxinfo
      >>> x = 2.0 * jax.random.normal(jax.random.key(0), (5000, 1))
      >>> print(f"{jaxinfo.gaussian_entropy(x):.3f}")  # truth 0.5 log(2 pi e 4) = 2.112
      2.130

    References:
      Ahmed & Gokhale, "Entropy expressions and their estimators for multivariate
      distributions", IEEE Trans. Inf. Theory 35(3), 1989 (the bias correction).
    """
    shrinkage = _check_shrinkage(shrinkage)
    rows = guards.checked((x,), ("x",), where, axis_name, base)
    ((x,), mask) = rows.arrays, rows.mask
    d = x.shape[1]
    _check_bias_correction(
        bias_correction, validation.valid_row_count(mask, x.shape[0]), d, axis_name
    )
    holds = rows.holds(_min_rows(bias_correction, d))
    count, scatter = _scatter(x, mask, axis_name)
    logdet = _logdet(_regularise(scatter / count, shrinkage))
    if bias_correction:
        logdet = logdet - _wishart_bias(d, count)
    return rows.result(0.5 * (d * math.log(2.0 * math.pi * math.e) + logdet), holds)


def _mi_nats(x, y, mask, shrinkage, bias_correction, axis_name) -> jax.Array:
    """``0.5 (log det R_x + log det R_y - log det R)`` from the joint correlation matrix ``R``.

    Working on correlations makes shrinkage scale-invariant per column (``tr R / d = 1``)
    and conditions Cholesky; the unshrunk value equals the covariance formula exactly.
    Shrinking the joint matrix and taking its blocks keeps the estimate ``>= 0`` (Fischer).
    """
    dx = x.shape[1]
    count, scatter = _scatter(jnp.concatenate([x, y], axis=1), mask, axis_name)
    var = jnp.diagonal(scatter)
    scale = 1.0 / numerics.safe_sqrt(jnp.where(var > 0, var, 1.0))
    corr = _regularise(scatter * scale[:, None] * scale[None, :], shrinkage)
    value = 0.5 * (_logdet(corr[:dx, :dx]) + _logdet(corr[dx:, dx:]) - _logdet(corr))
    # >= 0 by Fischer's inequality; Cholesky round-off on a singular R (rank-1 data) can
    # land a few 1e-3 below.
    value = jnp.maximum(value, 0.0)
    if bias_correction:
        d = corr.shape[0]
        # b(dx) + b(dy) - b(dx + dy): the terms i <= dx cancel between x and the joint.
        value = value - 0.5 * (_wishart_bias(d - dx, count) - _wishart_bias(d, count, start=dx))
    return value


@programs.one_program
def gaussian_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Mutual information of a Gaussian fitted to paired samples (the CCA estimator).

    .. math::
       I(X; Y) = \tfrac12\left(\log\det\Sigma_x + \log\det\Sigma_y - \log\det\Sigma\right)
       = -\tfrac12 \sum_i \log(1 - \rho_i^2),

    from one joint covariance ``Sigma`` of ``[x, y]`` (``rho_i`` the canonical correlations).
    Exact for jointly Gaussian data and a lower bound on the MI of any distribution with
    that covariance. Differentiable. Shrinkage is applied to the joint correlation matrix
    (scale-invariant); its blocks give the marginal terms, so the estimate stays ``>= 0``.
    The plug-in is biased upwards by about ``d_x d_y / (2n)`` (0.06 nats at 25 x 25,
    n = 5000); ``bias_correction=True`` removes it exactly for Gaussian data.

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      shrinkage: ``s`` in ``[0, 1]`` towards the identity correlation; may be traced.
      bias_correction: subtract the Wishart ``log det`` biases (static; needs ``n > d_x + d_y``).
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.

    Returns:
      Scalar MI. Perfectly dependent columns (``y = x``) give a large finite value (the
      covariance floor), not ``inf``.

    Raises:
      ValueError: mismatched sample counts, ``n < 2``, ``shrinkage`` outside ``[0, 1]``.

    Example:
      >>> import jax, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (5000, 1))
      >>> y = x + jax.random.normal(kn, (5000, 1))  # truth 0.5 log 2 = 0.347
      >>> print(f"{jaxinfo.gaussian_mutual_information(x, y):.3f}")
      0.347
    """
    shrinkage = _check_shrinkage(shrinkage)
    rows = guards.checked((x, y), ("x", "y"), where, axis_name, base)
    (x, y), mask = rows.arrays, rows.mask
    holds = _check_pair(rows, bias_correction)
    return rows.result(_mi_nats(x, y, mask, shrinkage, bias_correction, axis_name), holds)


def _check_pair(rows: guards.Checked, bias_correction) -> jax.Array:
    """Static checks of a paired MI estimate; returns the traced answer flag."""
    x, y = rows.arrays
    d = x.shape[1] + y.shape[1]
    count = validation.valid_row_count(rows.mask, x.shape[0])
    _check_bias_correction(bias_correction, count, d, rows.axis_name)
    return rows.holds(_min_rows(bias_correction, d))


def _normal_scores(z: jax.Array, valid: jax.Array) -> jax.Array:
    """Per-column ``ndtri(rank / (n + 1))`` of the valid rows (ties get their average rank)."""
    below, at_or_below = moments.column_ranks(z, valid)
    rank = 0.5 * (below + at_or_below + 1).astype(z.dtype)  # 1-based average rank
    count = jnp.sum(valid.astype(z.dtype))
    scores = jax.scipy.special.ndtri(rank / (count + 1.0))
    return jnp.where(valid[:, None], scores, 0.0)


@programs.one_program
def gaussian_copula_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Gaussian-copula mutual information (GCMI): Gaussian MI of rank-normalised samples.

    Each column is replaced by ``Phi^{-1}(rank / (n + 1))`` (average ranks for ties), then
    :func:`gaussian_mutual_information` is applied. Invariant under strictly increasing
    transforms of each column; exact when the copula is Gaussian, a lower bound of the MI
    otherwise (Ince et al. 2017). Ranks are piecewise constant, so the estimate has no
    useful gradient: the inputs pass through ``stop_gradient`` and ``jax.grad`` gives zeros.

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      shrinkage: as in :func:`gaussian_mutual_information`.
      bias_correction: as in :func:`gaussian_mutual_information`.
      base: as in :func:`gaussian_mutual_information`.
      where: boolean ``[n]`` marking valid rows (ranks are among valid rows only).
      axis_name: mesh axis of the rows inside ``shard_map`` (ranks need whole columns, so
        the ``[n, d]`` inputs are all-gathered).

    Returns:
      Scalar MI (gradient zero).

    Raises:
      ValueError: as in :func:`gaussian_mutual_information`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> kx, kn = jax.random.split(jax.random.key(0))
      >>> x = jax.random.normal(kx, (5000, 1))
      >>> y = x + jax.random.normal(kn, (5000, 1))
      >>> print(f"{jaxinfo.gaussian_copula_mutual_information(jnp.exp(x), y ** 3):.3f}")
      0.346

    References:
      Ince, Giordano, Kayser, Rousselet, Gross & Schyns, "A statistical framework for
      neuroimaging data analysis based on mutual information estimated via a Gaussian
      copula", Human Brain Mapping 38(3), 2017.
    """
    shrinkage = _check_shrinkage(shrinkage)
    rows = guards.checked((x, y), ("x", "y"), where, axis_name, base)
    (x, y), mask = rows.arrays, rows.mask
    holds = _check_pair(rows, bias_correction)
    x, y = collectives.gather_rows(x, axis_name), collectives.gather_rows(y, axis_name)
    mask = collectives.gather_rows(mask, axis_name)
    valid = samples.valid_rows(mask, x.shape[0])
    scores = _normal_scores(jnp.concatenate([x, y], axis=1), valid)
    dx = x.shape[1]
    value = _mi_nats(scores[:, :dx], scores[:, dx:], mask, shrinkage, bias_correction, None)
    return rows.result(value, holds)
