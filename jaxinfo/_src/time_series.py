r"""Transfer entropy: the delay embedding of two time series and its conditional MI.

``T(X -> Y) = I(Y_t; X_past | Y_past)`` (Schreiber 2000) is a conditional mutual information
between rows of an embedding, so each route here only builds the rows and hands them to the
matching conditional-MI function. For a source ``x`` ``[T, d_x]`` and a target ``y``
``[T, d_y]`` with target history ``k``, source history ``l`` and delay ``u``, row ``t`` (for
``t = t0 .. T - 1``, ``t0 = max(k, u + l - 1)``) holds

- the future ``y_t``,
- the target past ``y_{t-1}, ..., y_{t-k}`` (flattened, most recent first),
- the source past ``x_{t-u}, ..., x_{t-u-l+1}`` (the source past ends ``u`` steps back).

Every slice is static, so the ``T - t0`` rows keep a static shape under ``jit`` and ``vmap``.

Masks: ``where`` marks valid time steps; a row is valid only if every step it touches is
(the lags ``0..k`` of the target and ``u..u+l-1`` of the source), so a gap or padding drops
exactly the rows that would read it, and masking a trailing stretch equals slicing it off.

Windows (``axis_name``): each device holds one contiguous window of the series. Rows are
built inside each window (a row that would reach into the previous window is not formed) and
the conditional MI reduces over the rows of every window. The value is that of the
unsharded estimate on the windows concatenated with ``t0`` masked steps between neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import collectives, gaussian, guards, neighbours, programs, validation
from jaxinfo._src.options import NeighbourSearch


class Embedding(NamedTuple):
    """The rows of a transfer entropy: ``I(future; source_past | target_past)``."""

    future: jax.Array  # [m, d_y]: y_t
    target_past: jax.Array  # [m, k d_y]: y_{t-1}, ..., y_{t-k}
    source_past: jax.Array  # [m, l d_x]: x_{t-u}, ..., x_{t-u-l+1}
    mask: jax.Array | None  # [m]: every step the row touches is valid


def first_row(target_history: int, source_history: int, delay: int) -> int:
    """``t0 = max(k, u + l - 1)``: the first step whose whole history lies in the series."""
    return max(target_history, delay + source_history - 1)


def embed(
    source: jax.Array,
    target: jax.Array,
    mask: jax.Array | None,
    *,
    target_history: int,
    source_history: int,
    delay: int,
) -> Embedding:
    """The rows ``t = t0 .. T - 1`` (module notes); ``mask`` marks valid time steps."""
    steps = target.shape[0]
    t0 = first_row(target_history, source_history, delay)

    def lagged(a, lag):
        return a[t0 - lag : steps - lag]

    target_lags = range(1, target_history + 1)
    source_lags = range(delay, delay + source_history)
    row_mask = None
    if mask is not None:
        touched = sorted({0, *target_lags, *source_lags})
        row_mask = jnp.all(jnp.stack([lagged(mask, lag) for lag in touched]), axis=0)
    return Embedding(
        lagged(target, 0),
        jnp.concatenate([lagged(target, lag) for lag in target_lags], axis=1),
        jnp.concatenate([lagged(source, lag) for lag in source_lags], axis=1),
        row_mask,
    )


def _check_histories(target_history, source_history, delay) -> tuple[int, int, int]:
    return (
        validation.check_positive_int(target_history, "target_history"),
        validation.check_positive_int(source_history, "source_history"),
        validation.check_positive_int(delay, "delay"),
    )


def _check_length(steps: int, k: int, m: int, u: int, axis_name) -> int:
    """``t0 < T``: at least one row (per window with ``axis_name``)."""
    t0 = first_row(k, m, u)
    if t0 >= steps:
        per = " per device (each window is embedded on its own)" if axis_name else ""
        raise ValueError(
            f"`target_history`={k}, `source_history`={m} and `delay`={u} reach "
            f"t0 = max(target_history, delay + source_history - 1) = {t0} steps back, so "
            f"`source` and `target` need more than {t0} time steps{per}; got T = {steps}. "
            "Pass a longer series or shorter histories."
        )
    return t0


# (rows, why) an estimator needs, from the embedded dimension.
RowRule = Callable[[int], tuple[int, str]]


def _check_rows(rows: Embedding, required: RowRule, t0: int, what: str, axis_name) -> None:
    """Static: the embedded rows (valid under a concrete ``where``) the estimator needs.

    Sliced and masked series get one message, the masked one naming ``where`` (the slicing
    rule of :func:`validation.require_rows`). With ``axis_name`` the global count is unknown
    and the estimator answers NaN instead.
    """
    if axis_name is not None:
        return
    dim = sum(a.shape[1] for a in rows[:3])
    count, counted_by = validation.valid_rows(rows.mask, rows.future.shape[0], "where")
    needed, why = required(dim)
    if count < needed:
        under = validation.rows_under(counted_by)
        fix = f" or mark more rows valid in `{counted_by}`" if counted_by else ""
        raise ValueError(
            f"`source` -> `target` gives {count} embedded rows{under} (steps t >= t0 = {t0} "
            f"with their history), and the {what} needs at least {needed}{why}. Pass a "
            f"longer series{fix}."
        )


def _transfer_entropy(
    conditional: Callable[..., jax.Array],
    source,
    target,
    histories: tuple[int, int, int],
    required: RowRule,
    what: str,
    *,
    base,
    where,
    axis_name,
    **options,
) -> jax.Array:
    """Validates, embeds and estimates ``I(future; source_past | target_past)``."""
    k, m, u = _check_histories(*histories)
    validation.log_base_divisor(base)
    (source, target), mask = validation.paired_samples(
        (source, target), ("source", "target"), where, axis_name
    )
    t0 = _check_length(target.shape[0], k, m, u, axis_name)
    if axis_name is None:  # explicit row sharding cannot slice to T - t0 rows
        source, target = collectives.replicate(source), collectives.replicate(target)
        mask = None if mask is None else collectives.replicate(mask)
    rows = embed(source, target, mask, target_history=k, source_history=m, delay=u)
    _check_rows(rows, required, t0, what, axis_name)
    value = conditional(
        rows.future,
        rows.source_past,
        rows.target_past,
        where=rows.mask,
        axis_name=axis_name,
        base=base,
        **options,
    )
    # Steps no row reads (the source's last u, the target's first t0 - k) are checked too:
    # a NaN in a valid step gives NaN.
    return guards.answer(guards.rows_hold_answer((source, target), mask, axis_name), value)


def _gaussian_rows(shrinkage, bias_correction) -> RowRule:
    """Rows the Gaussian CMI needs: more than dimensions unless shrinkage is on."""
    validation.check_bool(bias_correction, "bias_correction")
    shrinkage = validation.check_number(shrinkage, "shrinkage", low=0.0, high=1.0)
    value = validation.concrete_value(shrinkage)
    unshrunk = value is not None and float(value) == 0.0

    def rule(dim: int) -> tuple[int, str]:
        if bias_correction or unshrunk:
            reason = "with bias_correction=True" if bias_correction else "without shrinkage="
            return dim + 1, f" (more than the d = {dim} embedded dimensions {reason})"
        return 2, ""

    return rule


@programs.one_program
def gaussian_transfer_entropy(
    source: ArrayLike,
    target: ArrayLike,
    *,
    target_history: int = 1,
    source_history: int = 1,
    delay: int = 1,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Transfer entropy ``T(X -> Y)`` of a Gaussian fitted to the delay embedding.

    .. math::
       T(X \to Y) = I(Y_t;\, X_{t-u}^{(l)} \mid Y_{t-1}^{(k)})
       = \tfrac12 \log \frac{\det \Sigma(Y_t \mid Y^{(k)})}
       {\det \Sigma(Y_t \mid Y^{(k)}, X^{(l)})},

    :func:`gaussian_conditional_mutual_information` of the embedded rows (``y_t``, the
    source past ``x_{t-u}, ..., x_{t-u-l+1}``, the target past ``y_{t-1}, ..., y_{t-k}``).
    For Gaussian (or linear) processes this is Granger causality: half the log ratio of the
    residual variances of ``y_t`` regressed on its own past and on its own past plus the
    source past (Barnett, Barrett & Seth 2009); tested to 1e-10 against least squares.
    Differentiable.

    The arguments are ordered as the direction: ``source`` is X, ``target`` is Y, and
    the value is ``T(X -> Y)``; swap them for ``T(Y -> X)``.

    Args:
      source: the source series ``x``, shape ``[T, d_x]`` (time along the rows).
      target: the target series ``y``, shape ``[T, d_y]``.
      target_history: ``k >= 1``, steps of the target's own past conditioned on. Static.
      source_history: ``l >= 1``, steps of the source past. Static.
      delay: ``u >= 1``, the source past ends at ``t - u`` (the interaction delay). Static.
      shrinkage: as in :func:`gaussian_conditional_mutual_information`; may be traced.
      bias_correction: as in :func:`gaussian_conditional_mutual_information`. Static.
      base: logarithm base; default nats.
      where: boolean ``[T]`` marking valid time steps (padding, gaps): a row is used only if
        every step it touches is valid.
      axis_name: mesh axis over which the series is split into contiguous time windows,
        one per device, inside ``shard_map``: rows are formed inside each window (those
        that would reach into the previous window are dropped) and the estimate pools the
        rows of all windows (docs: "Transfer entropy").

    Returns:
      Scalar transfer entropy.

    Raises:
      ValueError: ``source`` and ``target`` of different lengths, a history or delay
        ``< 1``, ``T <= t0 = max(k, u + l - 1)``, fewer embedded rows than the estimator
        needs (``T - t0 > d`` without shrinkage), ``shrinkage`` outside ``[0, 1]``.

    Example:
      >>> import jax, jaxinfo
      >>> task = jaxinfo.testing.linear_gaussian_var1()  # x drives y
      >>> x, y = task.sample(jax.random.key(0), 5000)
      >>> te = jaxinfo.gaussian_transfer_entropy(x, y)
      >>> back = jaxinfo.gaussian_transfer_entropy(y, x)
      >>> print(f"{te:.3f} {task.transfer_entropy:.3f} {back:.3f}")
      0.287 0.281 0.000

    References:
      Schreiber, "Measuring information transfer", Phys. Rev. Lett. 85(2), 2000.
      Barnett, Barrett & Seth, "Granger causality and transfer entropy are equivalent for
      Gaussian variables", Phys. Rev. Lett. 103, 238701, 2009.
    """
    return _transfer_entropy(
        gaussian.gaussian_conditional_mutual_information,
        source,
        target,
        (target_history, source_history, delay),
        _gaussian_rows(shrinkage, bias_correction),
        "Gaussian transfer entropy",
        base=base,
        where=where,
        axis_name=axis_name,
        shrinkage=shrinkage,
        bias_correction=bias_correction,
    )


@programs.one_program
def gaussian_copula_transfer_entropy(
    source: ArrayLike,
    target: ArrayLike,
    *,
    target_history: int = 1,
    source_history: int = 1,
    delay: int = 1,
    shrinkage: ArrayLike = 0.0,
    bias_correction: bool = False,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Gaussian-copula transfer entropy ``T(X -> Y)``: the Gaussian TE of normal scores.

    :func:`gaussian_copula_conditional_mutual_information` of the delay embedding (rows as
    in :func:`gaussian_transfer_entropy`): each embedded column is replaced by
    ``Phi^{-1}(rank / (n + 1))`` among the valid rows. Invariant under strictly increasing
    transforms of each series; exact when the embedded copula is Gaussian (Ince et al.
    2017). Ranks are piecewise constant: ``jax.grad`` gives zeros.

    The arguments are ordered as the direction: ``source`` is X, ``target`` is Y, and
    the value is ``T(X -> Y)``; swap them for ``T(Y -> X)``.

    Args:
      source: the source series ``x``, shape ``[T, d_x]``.
      target: the target series ``y``, shape ``[T, d_y]``.
      target_history: as in :func:`gaussian_transfer_entropy`. Static.
      source_history: as in :func:`gaussian_transfer_entropy`. Static.
      delay: as in :func:`gaussian_transfer_entropy`. Static.
      shrinkage: as in :func:`gaussian_conditional_mutual_information`; may be traced.
      bias_correction: as in :func:`gaussian_conditional_mutual_information`. Static.
      base: logarithm base; default nats.
      where: boolean ``[T]`` marking valid time steps (as in
        :func:`gaussian_transfer_entropy`; ranks are among valid rows).
      axis_name: mesh axis of contiguous time windows inside ``shard_map`` (as in
        :func:`gaussian_transfer_entropy`; ranks need whole columns, so the embedded rows
        are all-gathered).

    Returns:
      Scalar transfer entropy (gradient zero).

    Raises:
      ValueError: as in :func:`gaussian_transfer_entropy`.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> task = jaxinfo.testing.linear_gaussian_var1()
      >>> x, y = task.sample(jax.random.key(0), 5000)
      >>> te = jaxinfo.gaussian_copula_transfer_entropy(jnp.exp(x), y**3)  # monotone maps
      >>> print(f"{te:.3f} {task.transfer_entropy:.3f}")
      0.287 0.281
    """
    return _transfer_entropy(
        gaussian.gaussian_copula_conditional_mutual_information,
        source,
        target,
        (target_history, source_history, delay),
        _gaussian_rows(shrinkage, bias_correction),
        "Gaussian-copula transfer entropy",
        base=base,
        where=where,
        axis_name=axis_name,
        shrinkage=shrinkage,
        bias_correction=bias_correction,
    )


@programs.one_program
def ksg_transfer_entropy(
    source: ArrayLike,
    target: ArrayLike,
    *,
    target_history: int = 1,
    source_history: int = 1,
    delay: int = 1,
    k: int = 3,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
    method: NeighbourSearch = "auto",
) -> jax.Array:
    r"""Kraskov (Frenzel–Pompe) k-nearest-neighbour transfer entropy ``T(X -> Y)``.

    :func:`ksg_conditional_mutual_information` of the delay embedding (rows as in
    :func:`gaussian_transfer_entropy`):

    .. math::
       \hat T = \psi(k) - \big\langle \psi(n_{y_t y^-} + 1) + \psi(n_{x^- y^-} + 1)
       - \psi(n_{y^-} + 1) \big\rangle,

    with max-norm neighbour counts strictly inside the distance to the k-th neighbour in
    the joint space of ``(y_t, x^-, y^-)``. The estimator of JIDT, IDTxl and infomeasure's
    ``"ksg"`` approach (equal to the latter to 1e-6 on the same rows). Consistent for any
    distribution; biased towards 0 at strong dependence and for long histories. Neighbour
    counts are piecewise constant: ``jax.grad`` gives zeros.

    The arguments are ordered as the direction: ``source`` is X, ``target`` is Y, and
    the value is ``T(X -> Y)``; swap them for ``T(Y -> X)``.

    Args:
      source: the source series ``x``, shape ``[T, d_x]``.
      target: the target series ``y``, shape ``[T, d_y]``.
      target_history: as in :func:`gaussian_transfer_entropy`. Static.
      source_history: as in :func:`gaussian_transfer_entropy`. Static.
      delay: as in :func:`gaussian_transfer_entropy`. Static.
      k: neighbour order, ``1 <= k <`` the number of embedded rows. Static.
      base: logarithm base; default nats.
      where: boolean ``[T]`` marking valid time steps (as in
        :func:`gaussian_transfer_entropy`).
      axis_name: mesh axis of contiguous time windows inside ``shard_map`` (as in
        :func:`gaussian_transfer_entropy`; neighbours are searched over every window's rows).
      block_size: as in :func:`ksg_conditional_mutual_information`.
      method: the neighbour search, as in :func:`ksg_conditional_mutual_information`.

    Returns:
      Scalar transfer entropy (gradient zero).

    Raises:
      ValueError: as in :func:`gaussian_transfer_entropy`; ``k`` at least the number of
        embedded rows.

    Example:
      >>> import jax, jaxinfo
      >>> task = jaxinfo.testing.linear_gaussian_var1()
      >>> x, y = task.sample(jax.random.key(0), 5000)
      >>> print(f"{jaxinfo.ksg_transfer_entropy(x, y):.3f} {task.transfer_entropy:.3f}")
      0.275 0.281
    """
    k = validation.check_positive_int(k, "k")

    def rule(dim: int) -> tuple[int, str]:
        return k + 1, f" (k + 1 = {k + 1}: a row's k-th neighbour must exist among the others)"

    return _transfer_entropy(
        neighbours.ksg_conditional_mutual_information,
        source,
        target,
        (target_history, source_history, delay),
        rule,
        "KSG transfer entropy",
        base=base,
        where=where,
        axis_name=axis_name,
        k=k,
        block_size=block_size,
        method=method,
    )
