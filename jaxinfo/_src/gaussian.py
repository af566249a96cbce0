"""Gaussian (log-determinant) entropy and mutual information, and Gaussian-copula MI.

Covariances come from masked moments reduced with one ``psum`` per pass over the rows (the
mean first, then the centred scatter matrix), so with ``axis_name`` each device reduces only
its own rows. We normalise by ``n`` (maximum likelihood): that is the Gaussian plug-in
entropy; the MI does not depend on the normalisation at all. Log-determinants go through
Cholesky, which is differentiable everywhere it succeeds.

Log-determinants are taken of correlation matrices (the variances factor out exactly), so
round-off and the singularity test below do not depend on the scale of each column.

Singular covariances have ``log det = -inf``; the plug-in answer is then ``-inf`` (entropy)
or ``+inf`` (MI, a canonical correlation of 1), never a finite number:

- ``n <= d`` valid rows without shrinkage: the sample covariance has rank ``<= n - 1 < d``
  whatever the data. A static row count raises ``ValueError`` naming ``shrinkage=``, like
  too few rows; an unknown count (traced mask, ``axis_name``) or a traced ``shrinkage`` of 0
  gives NaN.
- Singular data (a constant, duplicated or collinear column): a floor
  ``delta = 32 eps tr(R)`` on the diagonal (under ``stop_gradient``) keeps Cholesky finite,
  and a pivot that ends at the floor (``<= 4 delta``: a column explained by the earlier
  ones to within the working precision) marks the covariance singular. The entropy is then
  ``-inf``, the MI ``+inf`` where the joint matrix has more such pivots than the marginals
  (a null direction inside ``x`` or ``y`` alone cancels: a constant column carries no
  information). The gradient is zero there, never NaN. ``shrinkage`` is the statistical fix.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import collectives, guards, moments, numerics, programs, samples, validation


def _scatter(z: jax.Array, mask, axis_name) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(count, scatter, roundoff)`` of the valid rows, global over devices.

    ``scatter = sum_i (z_i - m)(z_i - m)^T``; ``roundoff`` is the diagonal a constant column
    leaves after centring in floating point (``_standardise``).
    """
    weights = samples.row_weights(mask, z.shape[0], z.dtype)
    count, scatter = moments.second_moment(z, weights, axis_name, centre=True)
    if axis_name is None:
        z = collectives.replicate(z)
    mean = collectives.psum(jnp.sum(z * weights[:, None], axis=0), axis_name) / count
    roundoff = jnp.square(numerics.ROUNDOFF_FLOOR * jnp.finfo(z.dtype).eps * mean) * count
    return count, scatter, jax.lax.stop_gradient(roundoff)


def _check_shrinkage(shrinkage):
    return validation.check_number(
        shrinkage,
        "shrinkage",
        low=0.0,
        high=1.0,
        hint="0 keeps the sample covariance, 1 gives the scaled identity.",
    )


# A Cholesky pivot (squared) at most this many floors is a null direction: an exactly
# collinear column ends at (1 + |beta|^2) delta (beta its regression coefficients, 1 for a
# duplicate), and a genuine residual that small would be set by the floor, not the data.
_NULL_PIVOT = 4.0


def _shrink(cov: jax.Array, shrinkage) -> jax.Array:
    """``(1 - s) cov + s tr(cov)/d I``."""
    d = cov.shape[0]
    s = jnp.asarray(shrinkage, cov.dtype)
    return (1.0 - s) * cov + s * (jnp.trace(cov) / d) * jnp.eye(d, dtype=cov.dtype)


def _standardise(cov: jax.Array, roundoff: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(R, log_var)``: ``cov = D^1/2 R D^1/2``.

    A column whose variance is at the round-off of its mean (``32 eps |mean|`` spread: a
    constant column, centred in floating point) is constant: its row of ``R`` is zero.
    """
    var = jnp.diagonal(cov)
    constant = var <= roundoff
    var = jnp.where(constant, jnp.ones((), cov.dtype), var)
    scale = jnp.where(constant, 0.0, 1.0 / numerics.safe_sqrt(var))
    return cov * scale[:, None] * scale[None, :], jnp.where(constant, 0.0, jnp.log(var))


class _Pivots(NamedTuple):
    """Cholesky pivots of a floored correlation matrix and which of them are null."""

    log: jax.Array  # log of the squared pivots: sum = log det
    null: jax.Array  # pivot at the floor (``_NULL_PIVOT``)


def _floored(corr: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(corr + delta I, delta)``: the floor that keeps Cholesky finite (module notes)."""
    info = jnp.finfo(corr.dtype)
    floor = numerics.ROUNDOFF_FLOOR * info.eps * jnp.trace(corr) + info.tiny
    floor = jax.lax.stop_gradient(floor)
    return corr + floor * jnp.eye(corr.shape[0], dtype=corr.dtype), floor


def _pivots(floored: jax.Array, floor: jax.Array) -> _Pivots:
    """Pivots of a floored matrix (or of a diagonal block of one: the same floor)."""
    squared = jnp.square(jnp.diagonal(jnp.linalg.cholesky(floored)))
    return _Pivots(jnp.log(squared), squared <= _NULL_PIVOT * floor)


def _full_rank(count: jax.Array, d: int, shrinkage) -> jax.Array:
    """Traced: ``count`` rows can span ``d`` dimensions (``count > d``) or shrinkage is on."""
    return (count > d) | (jnp.asarray(shrinkage) > 0)


def _check_rank(
    shrinkage, num_rows: int, d: int, axis_name, what: str, counted_by: str | None
) -> None:
    """Static: ``n <= d`` rows without shrinkage give a singular covariance (module notes)."""
    value = validation.concrete_value(shrinkage)
    if axis_name is None and value is not None and float(value) == 0.0 and num_rows <= d:
        raise ValueError(
            f"the {what} needs more samples than dimensions (n > d) without shrinkage; got "
            f"n = {num_rows}{validation.rows_under(counted_by)}, d = {d}: the covariance has "
            "rank <= n - 1 < d (singular, log det = -inf), so there is no finite estimate. "
            "Pass shrinkage= (e.g. shrinkage=0.1) or more samples."
        )


def _wishart_bias(d: int, count: jax.Array, start: int = 0) -> jax.Array:
    """``E[log det S] - log det Sigma`` for the ML covariance ``S`` of ``n`` Gaussian samples.

    Summed over dimensions ``start + 1 .. d``: ``sum_i [psi((n - i)/2) + log(2/n)]``.
    """
    i = jnp.arange(start + 1, d + 1, dtype=count.dtype)
    return jnp.sum(jax.scipy.special.digamma((count - i) / 2.0) + jnp.log(2.0 / count))


def _min_rows(bias_correction: bool, d: int) -> int:
    """Valid rows the estimate needs: two, or ``d + 1`` for the Wishart bias correction."""
    return d + 1 if bias_correction else 2


def _check_bias_correction(
    bias_correction, num_rows: int, d: int, axis_name, counted_by: str | None
) -> None:
    validation.check_bool(bias_correction, "bias_correction")
    if bias_correction and axis_name is None and num_rows <= d:
        raise ValueError(
            "`bias_correction=True` needs more samples than dimensions (n > d); "
            f"got n = {num_rows}{validation.rows_under(counted_by)}, "
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
      shrinkage: ``s`` in ``[0, 1]``; needed when ``n <= d`` (else singular), advisable when
        ``d`` is close to ``n``. May be traced.
      bias_correction: subtract the exact expected bias of ``log det`` of a Wishart matrix
        (``sum_i psi((n - i)/2) + d log(2/n)``); makes the estimate unbiased for Gaussian data.
        Needs ``n > d``. Static.
      base: logarithm base (``2`` for bits); default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map`` (moments are ``psum``-reduced).

    Returns:
      Scalar entropy; ``-inf`` with a zero gradient for singular data (a constant or
      collinear column, module notes); NaN for ``n <= d`` rows without shrinkage under ``jit``.

    Raises:
      ValueError: ``x`` not ``[n, d]``, ``n < 2``, ``shrinkage`` outside ``[0, 1]``, or
        ``n <= d`` (valid) rows with ``shrinkage=0`` (pass ``shrinkage=``).

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
    num_rows, counted_by = validation.valid_rows(mask, x.shape[0], "where")
    _check_bias_correction(bias_correction, num_rows, d, axis_name, counted_by)
    _check_rank(shrinkage, num_rows, d, axis_name, "covariance of `x`", counted_by)
    count, scatter, roundoff = _scatter(x, mask, axis_name)
    holds = rows.holds(_min_rows(bias_correction, d)) & _full_rank(count, d, shrinkage)
    corr, log_var = _standardise(_shrink(scatter / count, shrinkage), roundoff / count)
    pivots = _pivots(*_floored(corr))
    logdet = jnp.sum(log_var) + jnp.sum(pivots.log)
    if bias_correction:
        logdet = logdet - _wishart_bias(d, count)
    value = 0.5 * (d * math.log(2.0 * math.pi * math.e) + logdet)
    value = jnp.where(jnp.any(pivots.null), -jnp.inf, value)
    return rows.result(value, holds)


def _conditional_nats(
    z, x, y, mask, shrinkage, bias_correction, axis_name
) -> tuple[jax.Array, jax.Array]:
    """``(CMI, count)``: ``0.5 (log det R_zx + log det R_zy - log det R_z - log det R_zxy)``.

    One joint correlation ``R`` of ``[z, x, y]``: its first ``d_z + d_x`` pivots are those of
    ``R_z`` and ``R_zx``, so those two terms cancel against the joint and the CMI is
    ``0.5 (log det R_{y|z} - log det R_{y|zx})``: the trailing pivots of the ``[z, y]`` block
    and of ``R``. With no ``z`` columns this is the MI. Working on correlations makes
    shrinkage scale-invariant per column (``tr R / d = 1``) and conditions Cholesky; the
    unshrunk value equals the covariance formula exactly (the variances cancel). Shrinking the
    joint matrix and taking its blocks keeps the estimate ``>= 0`` (conditioning on more
    columns never increases a log-det).
    """
    dz, dx = z.shape[1], x.shape[1]
    count, scatter, roundoff = _scatter(jnp.concatenate([z, x, y], axis=1), mask, axis_name)
    corr, floor = _floored(_shrink(_standardise(scatter, roundoff)[0], shrinkage))
    d = corr.shape[0]
    if dz:
        zy = np.concatenate([np.arange(dz), np.arange(dz + dx, d)])
        block = corr[np.ix_(zy, zy)]
    else:
        block = corr[dx:, dx:]
    joint, marginal = _pivots(corr, floor), _pivots(block, floor)
    value = 0.5 * (jnp.sum(marginal.log[dz:]) - jnp.sum(joint.log[dz + dx :]))
    # >= 0 by the inequality above; Cholesky round-off on a singular R (rank-1 data) can
    # land a few 1e-3 below.
    value = jnp.maximum(value, 0.0)
    if bias_correction:
        # b(zx) + b(zy) - b(z) - b(zxy), b(m) = _wishart_bias(m): the terms i <= dz + dx
        # cancel between zx and the joint, those i <= dz between zy and z.
        value = value - 0.5 * (
            _wishart_bias(d - dx, count, start=dz) - _wishart_bias(d, count, start=dz + dx)
        )
    # A null direction of the joint matrix that [z, y] has not: a partial canonical
    # correlation 1.
    dependent = jnp.sum(joint.null[dz + dx :]) > jnp.sum(marginal.null[dz:])
    return jnp.where(dependent, jnp.inf, value), count


def _mi_nats(x, y, mask, shrinkage, bias_correction, axis_name) -> tuple[jax.Array, jax.Array]:
    """``(MI, count)``: :func:`_conditional_nats` with nothing to condition on.

    ``0.5 (log det R_y - log det R_{y|x})`` from the pivots of one joint ``R``; the
    Wishart terms ``b(d_x) + b(d_y) - b(d_x + d_y)`` likewise.
    """
    none = x[:, :0]  # x's sharding and device variance
    return _conditional_nats(none, x, y, mask, shrinkage, bias_correction, axis_name)


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
      Scalar MI. Perfectly dependent columns (``y = x``) give ``+inf`` with a zero gradient
      (module notes); ``n <= d_x + d_y`` rows without shrinkage give NaN under ``jit``.

    Raises:
      ValueError: mismatched sample counts, ``n < 2``, ``shrinkage`` outside ``[0, 1]``, or
        ``n <= d_x + d_y`` (valid) rows with ``shrinkage=0`` (pass ``shrinkage=``).

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
    holds = _check_pair(rows, bias_correction, shrinkage)
    value, count = _mi_nats(x, y, mask, shrinkage, bias_correction, axis_name)
    return rows.result(value, holds & _full_rank(count, x.shape[1] + y.shape[1], shrinkage))


def _check_pair(
    rows: guards.Checked, bias_correction, shrinkage, names: tuple[str, ...] = ("x", "y")
) -> jax.Array:
    """Static checks of a joint (paired or conditional) estimate; returns the traced answer flag."""
    dims = [a.shape[1] for a in rows.arrays]
    d = sum(dims)
    count, counted_by = validation.valid_rows(rows.mask, rows.arrays[0].shape[0], "where")
    _check_bias_correction(bias_correction, count, d, rows.axis_name, counted_by)
    quoted = [f"`{n}`" for n in names]
    listed = " and ".join([", ".join(quoted[:-1]), quoted[-1]])
    what = f"joint covariance of {listed} (d = {' + '.join(map(str, dims))})"
    _check_rank(shrinkage, count, d, rows.axis_name, what, counted_by)
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
    holds = _check_pair(rows, bias_correction, shrinkage)
    x, y = collectives.gather_rows(x, axis_name), collectives.gather_rows(y, axis_name)
    mask = collectives.gather_rows(mask, axis_name)
    valid = samples.valid_rows(mask, x.shape[0])
    scores = _normal_scores(jnp.concatenate([x, y], axis=1), valid)
    dx = x.shape[1]
    value, count = _mi_nats(scores[:, :dx], scores[:, dx:], mask, shrinkage, bias_correction, None)
    return rows.result(value, holds & _full_rank(count, scores.shape[1], shrinkage))


_TRIPLE = ("x", "y", "z")


@programs.one_program
def gaussian_conditional_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    *,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Conditional mutual information ``I(X; Y | Z)`` of a Gaussian fitted to the samples.

    .. math::
       I(X; Y \mid Z) = \tfrac12\left(\log\det\Sigma_{xz} + \log\det\Sigma_{yz}
       - \log\det\Sigma_z - \log\det\Sigma_{xyz}\right)
       = -\tfrac12 \sum_i \log(1 - \rho_i^2),

    from one joint covariance of ``[z, x, y]`` (``rho_i`` the partial canonical
    correlations of ``x`` and ``y`` given ``z``). Exact for jointly Gaussian data; for any
    other distribution it is the CMI of the Gaussian with the same covariance (linear
    conditioning: it is 0 whenever the partial correlations of ``x`` and ``y`` given ``z``
    are). Differentiable. Shrinkage is applied to the joint correlation matrix and its blocks
    give the other terms, so the estimate stays ``>= 0``. ``bias_correction=True`` subtracts
    the exact expected plug-in bias for Gaussian data (four Wishart ``log det`` terms).

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      z: the conditioning samples ``[n, d_z]`` paired with ``x``.
      shrinkage: ``s`` in ``[0, 1]`` towards the identity correlation; may be traced.
      bias_correction: subtract the Wishart ``log det`` biases (static; needs
        ``n > d_x + d_y + d_z``).
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.

    Returns:
      Scalar CMI. A ``y`` that is a linear function of ``x`` and ``z`` (but not of ``z``
      alone) gives ``+inf`` with a zero gradient (module notes); ``n <= d_x + d_y + d_z``
      rows without shrinkage give NaN under ``jit``.

    Raises:
      ValueError: mismatched sample counts, ``n < 2``, ``shrinkage`` outside ``[0, 1]``, or
        ``n <= d_x + d_y + d_z`` (valid) rows with ``shrinkage=0`` (pass ``shrinkage=``).

    Example:
      >>> import jax, jaxinfo
      >>> task = jaxinfo.testing.conditional_gaussians(coupling=0.5, confounding=1.0)
      >>> x, y, z = task.sample(jax.random.key(0), 5000)
      >>> cmi = jaxinfo.gaussian_conditional_mutual_information(x, y, z)
      >>> print(f"{cmi:.3f} {task.conditional_mutual_information:.3f}")
      0.113 0.112
    """
    shrinkage = _check_shrinkage(shrinkage)
    rows = guards.checked((x, y, z), _TRIPLE, where, axis_name, base)
    (x, y, z), mask = rows.arrays, rows.mask
    holds = _check_pair(rows, bias_correction, shrinkage, _TRIPLE)
    value, count = _conditional_nats(z, x, y, mask, shrinkage, bias_correction, axis_name)
    d = x.shape[1] + y.shape[1] + z.shape[1]
    return rows.result(value, holds & _full_rank(count, d, shrinkage))


@programs.one_program
def gaussian_copula_conditional_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    *,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Gaussian-copula conditional mutual information: the Gaussian CMI of normal scores.

    Every column of ``x``, ``y`` and ``z`` is replaced by ``Phi^{-1}(rank / (n + 1))``
    (average ranks for ties), then :func:`gaussian_conditional_mutual_information` is
    applied (Ince et al. 2017, the ``cmi_ggg`` of their GCMI toolbox). Invariant under
    strictly increasing transforms of each column; exact when the joint copula is Gaussian.
    Ranks are piecewise constant, so the inputs pass through ``stop_gradient`` and
    ``jax.grad`` gives zeros.

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      z: the conditioning samples ``[n, d_z]`` paired with ``x``.
      shrinkage: as in :func:`gaussian_conditional_mutual_information`.
      bias_correction: as in :func:`gaussian_conditional_mutual_information`.
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows (ranks are among valid rows only).
      axis_name: mesh axis of the rows inside ``shard_map`` (ranks need whole columns, so
        the ``[n, d]`` inputs are all-gathered).

    Returns:
      Scalar CMI (gradient zero).

    Raises:
      ValueError: as in :func:`gaussian_conditional_mutual_information`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> task = jaxinfo.testing.conditional_gaussians(coupling=0.5, confounding=1.0)
      >>> x, y, z = task.sample(jax.random.key(0), 5000)
      >>> cmi = jaxinfo.gaussian_copula_conditional_mutual_information(jnp.exp(x), y**3, z)
      >>> print(f"{cmi:.3f}")
      0.113
    """
    shrinkage = _check_shrinkage(shrinkage)
    rows = guards.checked((x, y, z), _TRIPLE, where, axis_name, base)
    holds = _check_pair(rows, bias_correction, shrinkage, _TRIPLE)
    x, y, z = (collectives.gather_rows(a, axis_name) for a in rows.arrays)
    mask = collectives.gather_rows(rows.mask, axis_name)
    valid = samples.valid_rows(mask, x.shape[0])
    scores = _normal_scores(jnp.concatenate([z, x, y], axis=1), valid)
    dz, dx = z.shape[1], x.shape[1]
    value, count = _conditional_nats(
        scores[:, :dz],
        scores[:, dz : dz + dx],
        scores[:, dz + dx :],
        mask,
        shrinkage,
        bias_correction,
        None,
    )
    return rows.result(value, holds & _full_rank(count, scores.shape[1], shrinkage))
