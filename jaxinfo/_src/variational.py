"""Variational bounds and estimates of mutual information from a critic's score matrix.

``scores[i, j] = f(x_i, y_j)`` for a batch of ``n`` pairs: the diagonal holds the positives
(samples of the joint), the off-diagonal entries pair ``x_i`` with another row's ``y_j``
(samples of the product of the marginals). Each is a mean of the positives minus a
log-partition term over negatives, evaluated with ``logsumexp`` (never ``exp(scores)``), so
scores of ``±1e4`` keep finite gradients (NWJ's ``e^S`` may overflow, its gradient never:
:func:`_exp_finite_gradient`). Poole et al., "On variational bounds of mutual information",
ICML 2019, give the family; the per-function references are in the docstrings. The names
say what the value is (docs/conventions.md): ``_lower_bound`` only where it is one for every
critic (InfoNCE, NWJ), ``_estimate`` for the biased DV family, ``_objective`` for a training
objective.

With ``axis_name`` (inside ``shard_map`` over the pairs) each device passes its rows
``scores[n_local, n]`` (its ``x`` against every ``y``: for a separable critic, gather the
``y`` embeddings, never an ``[n, n]`` matrix) and gets the exact global value.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import batching, collectives, deprecation, guards, numerics, programs, validation
from jaxinfo._src.kernels import Cosine
from jaxinfo._src.options import (
    SIMILARITIES,
    TEMPORAL_ANCHORS,
    TEMPORAL_NEGATIVES,
    TEMPORAL_POSITIVES,
    Similarity,
    TemporalAnchors,
    TemporalNegatives,
    TemporalPositives,
)


@jax.custom_vjp
def _exp_finite_gradient(u: jax.Array) -> jax.Array:
    """``e^u`` (``inf`` once it overflows, the true value rounded) with a gradient that never is.

    NWJ's partition term ``e^u`` has the gradient ``e^u grad u``: exact wherever it is
    representable, it saturates at the dtype's largest float where ``e^u`` overflows (scores
    of 1e4), so ``inf * 0`` never turns it into NaN. The product with the incoming cotangent
    is formed in the log domain, so a loss scaled up (``base=2``, a weight) cannot overflow
    it either. Reverse mode (``jax.grad``, ``jax.hessian``); ``jax.jvp`` raises.
    """
    return jnp.exp(u)


def _exp_finite_gradient_fwd(u):
    return jnp.exp(u), u


def _exp_finite_gradient_bwd(u, cotangent):
    magnitude = jnp.exp(jnp.log(jnp.abs(cotangent)) + u)
    scaled = jnp.sign(cotangent) * jnp.minimum(magnitude, jnp.finfo(cotangent.dtype).max)
    return (jnp.where(cotangent == 0, jnp.zeros((), cotangent.dtype), scaled),)


_exp_finite_gradient.defvjp(_exp_finite_gradient_fwd, _exp_finite_gradient_bwd)


class _Batch(NamedTuple):
    """A validated score matrix: this device's rows against every column, with masks."""

    scores: jax.Array  # [rows, n]
    positive: jax.Array  # [rows, n]: the pair's own column
    rows: jax.Array  # [rows]: valid rows
    negatives: jax.Array  # [rows, n]: valid pairs of different rows
    columns: jax.Array  # [n]: valid columns
    finite: jax.Array  # scalar: every valid score is finite (on every device)
    axis_name: str | None
    base: float | None

    def pair_count(self) -> jax.Array:
        """Number of valid pairs over all devices."""
        local = jnp.sum(self.rows.astype(self.scores.dtype))
        return collectives.psum(local, self.axis_name)

    def mean_positive(self, values: jax.Array | None = None) -> jax.Array:
        """Mean of ``values`` (default the scores) over the valid positives (the diagonal)."""
        values = self.scores if values is None else values
        diagonal = jnp.sum(jnp.where(self.positive, values, 0.0), axis=1)
        total = jnp.sum(jnp.where(self.rows, diagonal, 0.0))
        return collectives.psum(total, self.axis_name) / self.pair_count()

    def mean_negatives(self, values: jax.Array) -> jax.Array:
        """Mean of ``values`` over the valid off-diagonal pairs."""
        total = collectives.psum(jnp.sum(jnp.where(self.negatives, values, 0.0)), self.axis_name)
        count = self.pair_count()
        return total / (count * (count - 1.0))

    def log_mean_exp_negatives(self, scores: jax.Array | None = None) -> jax.Array:
        """``log mean exp`` of ``scores`` (default the batch's) over the off-diagonal pairs."""
        scores = self.scores if scores is None else scores
        local = numerics.masked_logsumexp(scores, self.negatives)
        count = self.pair_count()
        return collectives.logsumexp(local, self.axis_name) - jnp.log(count * (count - 1.0))

    def mean_row_log_softmax(self) -> jax.Array:
        """Mean over valid rows of ``scores_ii - logsumexp_j scores_ij`` (valid columns)."""
        diagonal = jnp.sum(jnp.where(self.positive, self.scores, 0.0), axis=1)
        log_partition = numerics.masked_logsumexp(self.scores, self.columns[None, :], axis=1)
        total = jnp.sum(jnp.where(self.rows, diagonal - log_partition, 0.0))
        return collectives.psum(total, self.axis_name) / self.pair_count()

    def holds(self) -> jax.Array:
        """Boolean scalar: the batch has an answer (two valid pairs, every score finite)."""
        return self.finite & (self.pair_count() >= 2)

    def answer(self, value):
        """NaN (value and pytree leaves) unless the batch :meth:`holds` an answer."""
        return guards.answer(self.holds(), value)

    def result(self, nats: jax.Array) -> jax.Array:
        """``nats`` in the unit of ``base``, NaN without an answer (:meth:`answer`)."""
        return validation.convert_units(self.answer(nats), self.base)


_SCORE_MATRIX = "a critic score matrix [n, n] (scores[i, j] = f(x_i, y_j))"


def _batch(
    scores, where, axis_name: str | None, base, name: str = "scores", what: str = _SCORE_MATRIX
) -> _Batch:
    """The preamble of every bound here: ``base``, then ``scores`` and ``where`` validated.

    ``scores`` is ``[n, n]``, or ``[n_local, n]`` with ``axis_name``. ``name`` and ``what``
    are the caller's argument name and what it holds, for the errors (the upper bounds read a
    log-likelihood matrix through the same preamble).
    """
    validation.log_base_divisor(base)
    validation.check_axis_name(axis_name)
    arr = validation.as_float_array(scores, name)
    if arr.ndim != 2:
        raise ValueError(
            f"`{name}` must be {what}; "
            f"got shape {tuple(arr.shape)}. Use `jax.vmap` over leading batch dimensions."
        )
    rows, n = arr.shape
    if axis_name is None and rows != n:
        raise ValueError(
            f"`{name}` must be square [n, n] with the positives on the diagonal; got shape "
            f"{tuple(arr.shape)}. Inside shard_map pass axis_name (rows are then local)."
        )
    if axis_name is not None and rows * collectives.axis_size(axis_name) != n:
        raise ValueError(
            f"with axis_name, `{name}` holds this device's rows against all columns, "
            f"[n / devices, n]; got shape {tuple(arr.shape)} on "
            f"{collectives.axis_size(axis_name)} devices."
        )
    if axis_name is None:
        validation.require_rows(n, 2, name)
    mask = validation.as_mask(where, rows)
    if mask is not None and axis_name is None:
        count, counted_by = validation.valid_rows(mask, rows, "where")
        validation.require_rows(count, 2, name, counted_by)
    valid_rows = jnp.ones(rows, bool) if mask is None else mask
    columns = collectives.gather_rows(valid_rows, axis_name)
    ids = collectives.global_row_ids(rows, axis_name)
    positive = ids[:, None] == jnp.arange(n)[None, :]
    negatives = valid_rows[:, None] & columns[None, :] & ~positive
    pairs = valid_rows[:, None] & columns[None, :]
    arr = jnp.where(pairs, arr, 0.0)  # garbage never leaks
    nonfinite = collectives.psum(jnp.sum(~jnp.isfinite(arr), dtype=jnp.int32), axis_name)
    finite = nonfinite == 0
    return _Batch(arr, positive, valid_rows, negatives, columns, finite, axis_name, base)


def _with_jensen_shannon_gradient(batch: _Batch, value: jax.Array) -> jax.Array:
    """``value`` carrying the gradient of the Jensen–Shannon (f-GAN) critic objective.

    ``J = mean_pos -softplus(-S) - mean_neg softplus(S)`` is bounded above and maximised by
    the log density ratio, so a critic trained on it stays finite; SMILE's own objective
    rewards ever larger positive scores once the clipped negatives saturate.
    """
    objective = batch.mean_positive(-jax.nn.softplus(-batch.scores)) - batch.mean_negatives(
        jax.nn.softplus(batch.scores)
    )
    return objective + jax.lax.stop_gradient(value - objective)


_NEGATIVES_OFF_DIAGONAL = "The negatives are the n(n - 1) off-diagonal entries."


@programs.one_program
@batching.one_call_at_a_time
def infonce_lower_bound(
    scores: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""InfoNCE (contrastive predictive coding) lower bound on ``I(X; Y)``.

    .. math::
       I_{NCE} = \log n + \frac1n \sum_i \Big[S_{ii} - \log \sum_j e^{S_{ij}}\Big],

    ``log n`` minus the cross-entropy of classifying each row's positive. Each row's
    denominator runs over the whole row, **the positive included** (needed for the bound), so
    the negatives of row ``i`` are the other ``n - 1`` entries of that row. Never above
    ``log n``: low variance, biased low once the MI nears ``log n``. The optimal critic is
    ``log p(y | x) + c(x)``.

    Args:
      scores: critic scores ``[n, n]``, ``scores[i, j] = f(x_i, y_j)``.
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid pairs (a masked pair is neither a positive nor a
        negative; masking equals slicing).
      axis_name: mesh axis of the rows inside ``shard_map``; ``scores`` is then this
        device's ``[n / devices, n]`` rows.

    Returns:
      Scalar bound.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.infonce_lower_bound(10.0 * jnp.eye(4)):.4f}")  # log 4 = 1.3863
      1.3862

    References:
      van den Oord, Li & Vinyals, "Representation learning with contrastive predictive
      coding", 2018; Poole et al., ICML 2019.
    """
    batch = _batch(scores, where, axis_name, base)
    return batch.result(jnp.log(batch.pair_count()) + batch.mean_row_log_softmax())


@programs.one_program
@batching.one_call_at_a_time
def nwj_lower_bound(
    scores: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Nguyen–Wainwright–Jordan (NWJ, f-divergence / MINE-f) lower bound on ``I(X; Y)``.

    .. math::
       I_{NWJ} = \operatorname{mean}_i S_{ii} - e^{-1} \operatorname{mean}_{i \ne j} e^{S_{ij}}.

    The optimal critic is ``1 + log p(x, y) / (p(x) p(y))`` (so a critic of the log density
    ratio needs ``scores + 1``). Unbiased for a fixed critic, but the partition term's
    variance grows like ``e^I``. The partition term is ``exp(lme - 1)`` with a log-mean-exp.
    The negatives are the ``n(n - 1)`` off-diagonal entries. Once ``e^S`` overflows (scores
    above about 88 in float32, 709 in float64) the value is ``-inf``, the true value rounded;
    the gradient stays finite: exact where representable, saturating at the largest float
    beyond (reverse mode: ``jax.grad``, ``jax.hessian``; ``jax.jvp`` raises).

    Args:
      scores: as in :func:`infonce_lower_bound`.
      base: as in :func:`infonce_lower_bound`.
      where: as in :func:`infonce_lower_bound`.
      axis_name: as in :func:`infonce_lower_bound`.

    Returns:
      Scalar bound.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.nwj_lower_bound(jnp.eye(3)):.4f}")
      0.6321

    References:
      Nguyen, Wainwright & Jordan, "Estimating divergence functionals and the likelihood
      ratio by convex risk minimization", IEEE Trans. Inf. Theory 56(11), 2010.
    """
    batch = _batch(scores, where, axis_name, base)
    partition = _exp_finite_gradient(batch.log_mean_exp_negatives() - 1.0)
    return batch.result(batch.mean_positive() - partition)


@programs.one_program
@batching.one_call_at_a_time
def donsker_varadhan_estimate(
    scores: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Donsker–Varadhan (DV) estimate of ``I(X; Y)`` (the value MINE reports).

    .. math::
       I_{DV} = \operatorname{mean}_i S_{ii} - \log \operatorname{mean}_{i \ne j} e^{S_{ij}}.

    Invariant to shifting the critic (optimum ``log p(x, y) / (p(x) p(y)) + c``) and tighter
    than NWJ for the same critic, but the log of a batch mean is biased upwards (Jensen):
    not a valid minibatch lower bound (hence ``_estimate``) and its gradient is biased; see
    :func:`mine_estimate` for the corrected gradient. The negatives are the ``n(n - 1)``
    off-diagonal entries.

    Args:
      scores: as in :func:`infonce_lower_bound`.
      base: as in :func:`infonce_lower_bound`.
      where: as in :func:`infonce_lower_bound`.
      axis_name: as in :func:`infonce_lower_bound`.

    Returns:
      Scalar estimate.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.donsker_varadhan_estimate(jnp.eye(3)):.4f}")
      1.0000

    References:
      Donsker & Varadhan, Comm. Pure Appl. Math. 36(2), 1983; Belghazi et al., "Mutual
      information neural estimation", ICML 2018.
    """
    batch = _batch(scores, where, axis_name, base)
    return batch.result(batch.mean_positive() - batch.log_mean_exp_negatives())


@programs.one_program
def smile_estimate(
    scores: ArrayLike,
    *,
    clip: ArrayLike = 5.0,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""SMILE estimate of ``I(X; Y)``: DV with the partition term's scores clipped.

    .. math::
       I_{SMILE} = \operatorname{mean}_i S_{ii}
       - \log \operatorname{mean}_{i \ne j} e^{\operatorname{clip}(S_{ij}, -\tau, \tau)}.

    Clipping bounds the partition term's variance by ``(e^tau - e^-tau)^2 / (4 n (n - 1))``
    at the price of a bias (either sign) for small ``tau``; ``tau = inf`` is DV. Only the
    negatives are clipped; they are the ``n(n - 1)`` off-diagonal entries.

    The gradient is that of the Jensen–Shannon objective of
    :func:`jensen_shannon_objective` (Song & Ermon's recipe: train with JS, read out
    SMILE), so ``-smile_estimate`` is a training loss. Not a bound for finite ``tau``
    (hence ``_estimate``). SMILE's own gradient is not: once
    the negatives' scores reach ``tau`` the partition term stops growing and the positives'
    scores diverge (a critic trained on it reached held-out "estimates" of 1e6 nats).

    Args:
      scores: as in :func:`infonce_lower_bound`.
      clip: ``tau > 0`` (may be traced; the paper uses 1, 5 or inf; default 5).
      base: as in :func:`infonce_lower_bound`.
      where: as in :func:`infonce_lower_bound`.
      axis_name: as in :func:`infonce_lower_bound`.

    Returns:
      Scalar estimate.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.smile_estimate(jnp.eye(3), clip=5.0):.4f}")
      1.0000

    References:
      Song & Ermon, "Understanding the limitations of variational mutual information
      estimators", ICLR 2020.
    """
    if not (isinstance(clip, float | int) and clip == math.inf):  # inf is DV
        clip = validation.check_number(
            clip, "clip", low=0.0, low_open=True, hint="Typical values: 1, 5; inf gives DV."
        )
    batch = _batch(scores, where, axis_name, base)
    tau = jnp.asarray(clip, batch.scores.dtype)
    clipped = jnp.clip(batch.scores, -tau, tau)
    nats = batch.mean_positive() - batch.log_mean_exp_negatives(clipped)
    return batch.result(_with_jensen_shannon_gradient(batch, nats))


@programs.one_program
def jensen_shannon_objective(
    scores: ArrayLike,
    *,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""The Jensen–Shannon (f-GAN) critic training objective, with an NWJ read-out as value.

    The critic's training objective is
    ``J = mean_i -softplus(-S_ii) - mean_{i != j} softplus(S_ij)``, whose optimum is the log
    density ratio; the returned value is the NWJ bound of ``scores + 1`` (which is then tight)
    and its gradient is ``J``'s (the estimator of Hjelm et al. and Poole et al.). Use it as the
    training loss (negated) of a critic, and read SMILE or DV for the estimate (hence
    ``_objective``: what it is for is its gradient). The negatives are the ``n(n - 1)``
    off-diagonal entries. Like NWJ's, the value is ``-inf`` once ``e^S`` overflows; the
    gradient (``J``'s) stays finite.

    Args:
      scores: as in :func:`infonce_lower_bound`.
      base: as in :func:`infonce_lower_bound`.
      where: as in :func:`infonce_lower_bound`.
      axis_name: as in :func:`infonce_lower_bound`.

    Returns:
      Scalar estimate (value NWJ(scores + 1), gradient of ``J``).

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> print(f"{jaxinfo.jensen_shannon_objective(jnp.eye(3) - 1.0):.4f}")
      0.6321

    References:
      Nowozin, Cseke & Tomioka, "f-GAN", NeurIPS 2016; Hjelm et al., "Learning deep
      representations by mutual information estimation and maximization", ICLR 2019.
    """
    batch = _batch(scores, where, axis_name, base)
    readout = 1.0 + batch.mean_positive() - jnp.exp(batch.log_mean_exp_negatives())
    return batch.result(_with_jensen_shannon_gradient(batch, readout))


class MineState(NamedTuple):
    """State of :func:`mine_estimate`: the moving average of the partition term.

    Attributes:
      log_average: ``log m_t``, the log of the exponential moving average of the batch mean
        of ``e^scores`` over the negatives (log domain: scores of 1e4 do not overflow).
      steps: number of batches folded into the average (the first initialises it). A batch
        without an answer (a non-finite score, fewer than two valid pairs) is not folded in.
    """

    log_average: jax.Array
    steps: jax.Array


def mine_initial_state(dtype=jnp.float32) -> MineState:
    """The state before the first batch (pure; put it in your training state).

    Args:
      dtype: float dtype of the moving average (float64 with x64 for float64 scores).

    Returns:
      A :class:`MineState` with ``steps = 0`` (the first batch then sets the average).

    Example:
      >>> import jaxinfo
      >>> print(int(jaxinfo.mine_initial_state().steps))
      0
    """
    return MineState(jnp.zeros((), _float_dtype(dtype, "dtype")), jnp.zeros((), jnp.int32))


def _float_dtype(dtype, name: str):
    """``dtype`` if it is a float dtype: an integer average would truncate ``log m_t``."""
    try:
        kind = None if dtype is None else jnp.dtype(dtype)
    except TypeError:
        kind = None
    if kind is None or not jnp.issubdtype(kind, jnp.floating):
        raise TypeError(
            f"`{name}` must be a floating-point dtype such as `jnp.float32` (or `jnp.float64` "
            f"with x64); got {getattr(dtype, '__name__', dtype)!r}."
        )
    return kind


@programs.one_program
def mine_estimate(
    scores: ArrayLike,
    state: MineState,
    *,
    decay: float = 0.9,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> tuple[jax.Array, MineState]:
    r"""MINE: the Donsker–Varadhan estimate with the moving-average corrected gradient.

    The DV gradient divides by the batch mean of ``e^T`` over the negatives, a biased
    estimate of the partition function. MINE replaces it by an exponential moving average
    ``m_t = decay m_{t-1} + (1 - decay) mean_neg e^T`` (the current batch included; the first
    batch initialises it). The returned value is :func:`donsker_varadhan_estimate`; its
    gradient is that of ``mean_pos T - mean_neg e^T / m_t`` with ``m_t`` held constant.
    Like DV's, the value is not a minibatch lower bound (hence ``_estimate``). The negatives
    are the ``n(n - 1)`` off-diagonal entries.

    A batch without an answer (NaN value: a non-finite score, fewer than two valid pairs) is
    not folded into the average: the state comes back unchanged, so one bad batch cannot
    poison the later ones. A state whose average is not finite (built by hand) counts as
    empty: the next batch initialises it (``steps`` restarts at 1).

    Args:
      scores: critic scores ``[n, n]``, ``scores[i, j] = T(x_i, y_j)``.
      state: :func:`mine_initial_state`, then the state this function returned last step.
      decay: ``gamma`` in ``(0, 1)`` (static; MINE and its reimplementations use 0.9).
      base: as in :func:`infonce_lower_bound`.
      where: as in :func:`infonce_lower_bound`.
      axis_name: as in :func:`infonce_lower_bound`.

    Returns:
      ``(value, new_state)``.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> state = jaxinfo.mine_initial_state()
      >>> value, state = jaxinfo.mine_estimate(jnp.eye(3), state)
      >>> print(f"{value:.4f} {int(state.steps)}")
      1.0000 1

    References:
      Belghazi et al., "Mutual information neural estimation", ICML 2018, Sec. 3.2.
    """
    decay = validation.static_number(decay, "decay")
    if not 0.0 < decay < 1.0:
        raise ValueError(f"`decay` must lie in (0, 1); got {decay}. MINE uses 0.9.")
    if not isinstance(state, MineState):
        raise TypeError(
            f"`state` must be a MineState (from jaxinfo.mine_initial_state()); "
            f"got {type(state).__name__}."
        )
    average = validation.as_array(state.log_average, "state.log_average")
    _float_dtype(average.dtype, "state.log_average")
    steps = validation.as_array(state.steps, "state.steps")
    batch = _batch(scores, where, axis_name, base)
    log_batch = batch.log_mean_exp_negatives()
    previous = jax.lax.stop_gradient(average.astype(log_batch.dtype))
    blended = jnp.logaddexp(math.log(decay) + previous, math.log(1.0 - decay) + log_batch)
    started = (steps > 0) & jnp.isfinite(previous)
    log_average = jax.lax.stop_gradient(jnp.where(started, blended, log_batch))
    value = batch.mean_positive() - log_batch
    # e^(log_batch - log_average) <= 1 / (1 - decay): m_t includes this batch, so no overflow.
    surrogate = batch.mean_positive() - jnp.exp(log_batch - log_average)
    nats = surrogate + jax.lax.stop_gradient(value - surrogate)  # DV's value, MINE's gradient
    folded = batch.holds()  # a batch without an answer leaves the state as it was
    new_state = MineState(
        jnp.where(folded, log_average.astype(average.dtype), average),
        jnp.where(folded, jnp.where(started, steps, 0) + 1, steps),
    )
    return batch.result(nats), new_state


def require_temporal_pairs(
    valid: jax.Array | None, lag: int, name: str, axis_name: str | None
) -> None:
    """A concrete step mask ``[B, T]`` must leave what a temporal term scores, as slicing would.

    Fewer than two valid steps raise the one "too few samples" error (naming ``name``); no
    two valid steps of one trajectory at most ``lag`` apart (no InfoNCE anchor has a
    positive, ``0 / 0``) raise naming the mask. Traced masks and per-device shards
    (``axis_name``) are not checked: the value is NaN instead.
    """
    if valid is None or axis_name is not None:
        return
    count, counted_by = validation.valid_rows(valid, valid.size, "where")
    validation.require_rows(count, 2, name, counted_by)
    values = validation.concrete_value(valid)
    if values is None:
        return
    gaps = range(1, min(lag, values.shape[1] - 1) + 1)
    if not any(np.any(values[:, :-gap] & values[:, gap:]) for gap in gaps):
        raise ValueError(
            f"`where` must leave two valid steps of one trajectory at most {lag} steps apart "
            f"(a pair for the temporal term); got {int(values.sum())} valid steps and no such "
            "pair. Mark more neighbouring steps valid."
        )


@programs.one_program
def temporal_infonce_cross_entropy(
    z: ArrayLike,
    *,
    window: int = 1,
    temperature: ArrayLike = 0.1,
    similarity: Similarity = "cosine",
    negatives: TemporalNegatives = "batch",
    positives: TemporalPositives = "separate",
    anchors: TemporalAnchors = "all",
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Multi-positive temporal InfoNCE (SupCon over time) of trajectories ``z[B, T, d]``.

    Every step ``(b, t)`` is an anchor; its positives ``P`` are the steps of the same
    trajectory within ``window`` steps (``0 < |t' - t| <= window``); its candidates ``A`` are
    all other steps of the batch (other positives stay in the denominator):

    .. math::
       L = \operatorname{mean}_i \frac{-1}{|P(i)|} \sum_{p \in P(i)}
       \Big[s_{ip} - \log \sum_{a \in A(i)} e^{s_{ia}}\Big],
       \qquad s_{ij} = \operatorname{sim}(z_i, z_j) / \tau,

    with the ``1 / |P|`` outside the log (Khosla et al.'s better variant). Cosine similarity
    keeps logits in ``[-1/tau, 1/tau]``; a dot product is unbounded (control the norms).
    ``log |A| - L`` is an InfoNCE-style estimate of the information between neighbouring
    steps, never above ``log |A|``. Memory ``O((B T)^2)``. ``L`` is the mean cross-entropy
    of each anchor's softmax over its candidates against its positives (the name says so);
    minimise it, or add ``-L`` to a larger ``(loss, aux)`` training loss.

    The released code of Cheng et al. (2025) scores differently; each difference is an option
    (all three together reproduce it): ``negatives="trajectory"`` keeps only the anchor's own
    trajectory as candidates, ``positives="pooled"`` scores ``-log sum_{p in P} softmax_p``
    (the log of the positives' summed probability, Khosla et al.'s ``L_in`` up to
    ``log |P|``), and ``anchors="interior"`` scores only the steps with ``window`` neighbours
    on both sides.

    Args:
      z: representations ``[B, T, d]`` (``B`` trajectories of ``T`` steps).
      window: positives within this many steps (static int ``>= 1``).
      temperature: ``tau > 0`` (may be traced; typical 0.1).
      similarity: ``"cosine"`` or ``"dot"``.
      negatives: ``"batch"`` (every other step of the batch) or ``"trajectory"`` (the other
        steps of the anchor's trajectory only; no cross-trajectory contrast).
      positives: ``"separate"`` (the mean over positives of their log-softmax) or
        ``"pooled"`` (the log of their summed softmax).
      anchors: ``"all"`` (every valid step with a valid positive) or ``"interior"`` (steps
        ``window <= t < T - window`` only; needs ``T >= 2 window + 1``).
      where: boolean ``[B, T]`` marking valid steps (masked steps are neither anchors,
        positives nor candidates). It must leave two valid steps of one trajectory at most
        ``window`` apart: a concrete mask that does not raises, under ``jit`` the loss is NaN.
      axis_name: mesh axis of the trajectories inside ``shard_map``: each device scores its
        own anchors against every step of the global batch (one all-gather of ``z``) and
        the loss is the global mean.

    Returns:
      Scalar loss in nats (lower is better).

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> t = jnp.linspace(0.0, 6.0, 16)
      >>> z = jnp.stack([jnp.stack([jnp.cos(t + p), jnp.sin(t + p)], -1) for p in (0, 2)])
      >>> print(f"{jaxinfo.temporal_infonce_cross_entropy(z, window=1, temperature=0.5):.4f}")
      2.3410

    References:
      van den Oord et al., "Representation learning with contrastive predictive coding",
      2018; Khosla et al., "Supervised contrastive learning", NeurIPS 2020; X. Cheng,
      W. Yuan et al., "Information shapes Koopman representation", ICLR 2026.
    """
    loss, _ = temporal_infonce_terms(
        z,
        window=window,
        temperature=temperature,
        similarity=similarity,
        negatives=negatives,
        positives=positives,
        anchors=anchors,
        where=where,
        axis_name=axis_name,
    )
    return loss


def temporal_infonce_terms(
    z: ArrayLike,
    *,
    window: int,
    temperature: ArrayLike,
    similarity: Similarity,
    negatives: TemporalNegatives,
    positives: TemporalPositives,
    anchors: TemporalAnchors,
    where: ArrayLike | None,
    axis_name: str | None,
) -> tuple[jax.Array, jax.Array]:
    """The temporal InfoNCE loss and the anchors' mean chance level, both in nats.

    The chance level is what the loss reads for representations that carry nothing (every
    logit equal): ``log |A|`` per anchor for separate positives, ``log(|A| / |P|)`` for
    pooled ones. ``chance - loss`` is then the information estimate, 0 at independence,
    whatever the masks, negatives or anchors make ``|A|`` and ``|P|``.
    """
    arr = validation.as_float_array(z, "z")
    if arr.ndim != 3:
        raise ValueError(
            f"`z` must be trajectories [B, T, d]; got shape {tuple(arr.shape)}. "
            "Use `z[None]` for a single trajectory."
        )
    window = validation.check_positive_int(window, "window")
    validation.check_choice(similarity, "similarity", SIMILARITIES)
    validation.check_choice(negatives, "negatives", TEMPORAL_NEGATIVES)
    validation.check_choice(positives, "positives", TEMPORAL_POSITIVES)
    validation.check_choice(anchors, "anchors", TEMPORAL_ANCHORS)
    temperature = validation.check_number(
        temperature, "temperature", low=0.0, low_open=True, hint="Typical values: 0.07 to 0.5."
    )
    num_traj, steps, features = arr.shape
    if num_traj < 1:
        raise ValueError(
            f"`z` needs at least one trajectory (B >= 1); got shape {tuple(arr.shape)}."
        )
    if steps < 2:
        raise ValueError(f"`z` needs at least 2 steps per trajectory; got T = {steps}.")
    if features < 1:
        raise ValueError(
            f"`z` must have at least one feature (d >= 1) on the last axis; got shape "
            f"{tuple(arr.shape)}."
        )
    if anchors == "interior" and steps < 2 * window + 1:
        raise ValueError(
            f'`anchors="interior"` needs T >= 2 * window + 1 = {2 * window + 1} steps (an anchor '
            f"with `window` neighbours on each side); got T = {steps}. Use longer trajectories, "
            'a smaller `window` or `anchors="all"`.'
        )
    valid = jnp.ones((num_traj, steps), bool)
    if where is not None:
        mask = validation.as_boolean(where, "where", "valid steps")
        if mask.shape != (num_traj, steps):
            raise ValueError(
                f"`where` must have shape [B, T] = ({num_traj}, {steps}); got {tuple(mask.shape)}."
            )
        require_temporal_pairs(mask, window, "z", axis_name)
        valid = mask
    flat = arr.reshape(num_traj * steps, features)
    flat_valid = valid.reshape(-1)
    flat = jnp.where(flat_valid[:, None], flat, 0.0)
    if similarity == "cosine":
        flat = Cosine().features(flat)  # the library's one L2 normalisation
    every = collectives.gather_rows(flat, axis_name)
    every_valid = collectives.gather_rows(flat_valid.astype(jnp.int32), axis_name) > 0
    tau = jnp.asarray(temperature, flat.dtype)
    logits = jnp.matmul(flat, every.T, precision=numerics.HIGHEST) / tau
    rows = collectives.global_row_ids(num_traj * steps, axis_name)
    cols = jnp.arange(every.shape[0])
    pair_valid = flat_valid[:, None] & every_valid[None, :]
    candidates = pair_valid & (rows[:, None] != cols[None, :])
    gap = jnp.abs(rows[:, None] % steps - cols[None, :] % steps)
    same_traj = rows[:, None] // steps == cols[None, :] // steps
    if negatives == "trajectory":
        candidates = candidates & same_traj
    in_window = candidates & same_traj & (gap <= window)
    if anchors == "interior":
        position = rows % steps
        interior = (position >= window) & (position < steps - window)
        in_window = in_window & interior[:, None]
    log_partition = numerics.masked_logsumexp(logits, candidates, axis=1)
    count = jnp.sum(in_window, axis=1).astype(flat.dtype)
    is_anchor = count > 0
    size = jnp.sum(candidates, axis=1).astype(flat.dtype)
    if positives == "separate":
        scored = jnp.sum(jnp.where(in_window, logits - log_partition[:, None], 0.0), axis=1)
        loss_i = -scored / jnp.where(is_anchor, count, 1.0)
        chance_i = jnp.log(jnp.maximum(size, 1.0))
    else:
        log_positive = numerics.masked_logsumexp(logits, in_window, axis=1)
        loss_i = log_partition - jnp.where(is_anchor, log_positive, 0.0)
        chance_i = jnp.log(jnp.maximum(size, 1.0)) - jnp.log(jnp.maximum(count, 1.0))
    totals = collectives.psum(
        jnp.stack(
            [
                jnp.sum(jnp.where(is_anchor, loss_i, 0.0)),
                jnp.sum(jnp.where(is_anchor, chance_i, 0.0)),
                jnp.sum(is_anchor.astype(flat.dtype)),
                jnp.sum(~jnp.isfinite(flat)).astype(flat.dtype),
            ]
        ),
        axis_name,
    )
    num_anchors = jnp.where(totals[2] > 0, totals[2], 1.0)
    answered = (totals[3] == 0) & (totals[2] > 0)
    loss = jnp.where(answered, totals[0] / num_anchors, jnp.nan)
    chance = jnp.where(answered, totals[1] / num_anchors, jnp.nan)
    return loss, chance


# Former names (docs/conventions.md, "What a name promises"); removed in the next minor version.
donsker_varadhan_lower_bound = deprecation.deprecated_alias(
    donsker_varadhan_estimate, "donsker_varadhan_lower_bound"
)
smile_lower_bound = deprecation.deprecated_alias(smile_estimate, "smile_lower_bound")
jensen_shannon_lower_bound = deprecation.deprecated_alias(
    jensen_shannon_objective, "jensen_shannon_lower_bound"
)
mine_lower_bound = deprecation.deprecated_alias(mine_estimate, "mine_lower_bound")
temporal_infonce_loss = deprecation.deprecated_alias(
    temporal_infonce_cross_entropy, "temporal_infonce_loss"
)
