"""Upper-bound estimates of mutual information from a conditional's log-likelihoods: CLUB, L1Out.

``log_likelihoods[i, j] = log q(y_j | x_i)`` for a batch of ``n`` pairs, with the paired rows
on the diagonal, so the matrix has the layout of a critic's score matrix and goes through
the same preamble as the lower bounds (:func:`jaxinfo._src.variational._batch`: validation,
the ``where`` row mask, ``base``, and with ``axis_name`` this device's rows against every
column). The lower bounds are maximised to raise the information; these are minimised to
lower it, and they hold as bounds when ``q`` is the true conditional ``p(y | x)`` (CLUB also
for a learned ``q`` close enough to it: :func:`club_estimate`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import batching, collectives, numerics, programs
from jaxinfo._src.variational import _batch

_LOG_LIKELIHOOD_MATRIX = "a log-likelihood matrix [n, n] (log_likelihoods[i, j] = log q(y_j | x_i))"


def _log_likelihood_batch(log_likelihoods, where, axis_name, base):
    return _batch(
        log_likelihoods, where, axis_name, base, "log_likelihoods", _LOG_LIKELIHOOD_MATRIX
    )


@programs.one_program
@batching.one_call_at_a_time
def club_estimate(
    log_likelihoods: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""CLUB (contrastive log-ratio upper bound) estimate of ``I(X; Y)``, to minimise.

    Named ``_estimate``: it bounds ``I(X; Y)`` from above for the true conditional (and a
    learned one close enough to it, below), not for every ``q`` (docs/conventions.md).

    With ``L_{ij} = log q(y_j | x_i)``,

    .. math::
       I_{CLUB} = \operatorname{mean}_i L_{ii} - \operatorname{mean}_{i \ne j} L_{ij},

    the mean log-likelihood of the pairs minus that of the ``n(n - 1)`` off-diagonal
    (independent) pairs: an unbiased estimate of
    ``E_{p(x, y)} log q(y | x) - E_{p(x) p(y)} log q(y | x)``. Cheng et al.'s sample
    estimate averages the second term over all ``n^2`` pairs, the diagonal included; that
    is ``(n - 1) / n`` times this value, biased low by a factor, which is why the
    off-diagonal mean is used here. Linear in ``L``: the gradient never overflows.

    It is an upper bound on ``I(X; Y)`` (in expectation over batches) when ``q`` is the true
    conditional ``p(y | x)``; for the unit Gaussians of correlation ``rho`` its value is
    ``rho^2 / (1 - rho^2) >= -log(1 - rho^2) / 2``, with equality only at ``rho = 0``. For a
    learned ``q`` (its joint ``q(x, y) = q(y | x) p(x)``) it stays one while
    ``KL(p(x, y) || q(x, y)) <= KL(p(x) p(y) || q(x, y))`` (Cheng et al., Theorem 3.2),
    which a ``q`` trained by maximum likelihood approaches. Minimise it to minimise the
    information; the values are in nats unless ``base``.

    Args:
      log_likelihoods: ``[n, n]``, ``log_likelihoods[i, j] = log q(y_j | x_i)`` (paired
        rows on the diagonal), e.g.
        :meth:`jaxinfo.nn.GaussianConditional.log_likelihood_matrix`.
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid pairs (a masked pair is neither a pair nor a
        negative, in its row and in its column; masking equals slicing).
      axis_name: mesh axis of the rows inside ``shard_map``; ``log_likelihoods`` is then this
        device's ``[n / devices, n]`` rows (its ``x`` against every ``y``).

    Returns:
      Scalar upper bound (NaN where a valid entry is not finite or fewer than two pairs
      are valid).

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> index = jnp.arange(3.0)
      >>> log_likelihoods = -jnp.abs(index[:, None] - index[None, :])
      >>> print(f"{jaxinfo.club_estimate(log_likelihoods):.4f}")  # 0 - (-8 / 6)
      1.3333

    References:
      Cheng et al., "CLUB: A contrastive log-ratio upper bound of mutual information",
      ICML 2020.
    """
    batch = _log_likelihood_batch(log_likelihoods, where, axis_name, base)
    return batch.result(batch.mean_positive() - batch.mean_negatives(batch.scores))


@programs.one_program
@batching.one_call_at_a_time
def l1out_estimate(
    log_likelihoods: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Leave-one-out (L1Out) upper-bound estimate of ``I(X; Y)``, to minimise.

    Named ``_estimate``: it bounds ``I(X; Y)`` from above for the true conditional, not for
    every ``q`` (docs/conventions.md).

    With ``L_{ij} = log q(y_j | x_i)``,

    .. math::
       I_{L1Out} = \operatorname{mean}_i \Big[L_{ii}
       - \log \frac{1}{n - 1} \sum_{j \ne i} e^{L_{ji}}\Big]:

    each ``y_i`` is scored under its own ``x_i`` against the mixture of the other rows'
    conditionals, a leave-one-out estimate of the marginal ``p(y_i)`` (column ``i`` of
    ``L`` without its diagonal). With ``q = p(y | x)`` the mixture's log is an
    underestimate of ``log p(y_i)`` in expectation (Jensen), so the value bounds
    ``I(X; Y)`` from above for every ``n`` and tends to it as ``n`` grows; it is exactly 0
    when ``q(y | x)`` does not depend on ``x``. For a learned ``q`` it is an estimate, not a
    guaranteed bound. Evaluated with ``logsumexp`` down the columns (with ``axis_name``,
    one log-sum-exp collective of an ``[n]`` vector). Minimise it to minimise the
    information; the values are in nats unless ``base``.

    Args:
      log_likelihoods: as in :func:`club_estimate`.
      base: as in :func:`club_estimate`.
      where: as in :func:`club_estimate` (a masked row leaves every column's mixture).
      axis_name: as in :func:`club_estimate`.

    Returns:
      Scalar upper bound (NaN where a valid entry is not finite or fewer than two pairs
      are valid).

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> index = jnp.arange(3.0)
      >>> log_likelihoods = -jnp.abs(index[:, None] - index[None, :])
      >>> print(f"{jaxinfo.l1out_estimate(log_likelihoods):.4f}")
      1.2533

    References:
      Poole et al., "On variational bounds of mutual information", ICML 2019 (Sec. 2.4);
      Cheng et al., ICML 2020.
    """
    batch = _log_likelihood_batch(log_likelihoods, where, axis_name, base)
    # column i over the other valid rows j: this device's rows, then across devices
    local = numerics.masked_logsumexp(batch.scores, batch.negatives, axis=0)
    per_column = collectives.logsumexp(local, axis_name)  # [n], the same on every device
    count = batch.pair_count()
    mixture = jnp.sum(jnp.where(batch.columns, per_column, 0.0)) / count
    return batch.result(batch.mean_positive() - mixture + jnp.log(count - 1.0))
