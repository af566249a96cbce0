"""Error bars and independence tests from redrawn rows, each one compiled program.

Both statistics call a user's estimator on ``B`` redrawn versions of the rows: confidence
intervals on subsamples (or bootstrap resamples), the independence test on ``y`` with its
rows permuted. The draws are one ``jax.vmap`` over the draw index inside one ``jax.jit``
(split over devices with ``shard_map`` when a mesh is given), never a Python loop. Rows are
gathered, not masked: every estimator accepts a smaller array, not every one accepts
``where``, and a subsample of ``m`` rows costs what ``m`` rows cost.

Draw ``b`` uses the key ``jax.random.fold_in(key, b)``: a subsample takes the first ``m``
entries of ``jax.random.permutation`` of the row indices, a bootstrap resample
``jax.random.randint`` indices, a permutation ``jax.random.permutation`` of ``y``'s rows
(docs/conventions.md, "Error bars and independence tests"). A loop over ``b`` with those
keys reproduces every value.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from jaxinfo._src import validation
from jaxinfo._src.options import RESAMPLING_METHODS, ResamplingMethod

# Fraction of the rows a default subsample keeps: half-samples without replacement vary
# like the full sample's bootstrap (the finite-population factor is then about 1).
DEFAULT_SUBSAMPLE_FRACTION = 0.5


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["value", "standard_error", "low", "high", "resampled_values"],
    meta_fields=["method", "confidence", "resample_size"],
)
@dataclasses.dataclass(frozen=True)
class ConfidenceInterval:
    """Result of :func:`confidence_interval` (a pytree: it can leave ``jax.jit``).

    Attributes:
      value: the estimator on all rows.
      standard_error: the spread of the redrawn values, rescaled to ``n`` rows.
      low, high: the interval's ends: ``value`` minus the upper and lower quantiles of
        the rescaled deviations of the redrawn values from their mean (a pivotal interval
        around ``value``; no bias correction).
      resampled_values: the estimator on each redrawn set ``[num_resamples]``.
      method: ``"subsample"`` or ``"bootstrap"``.
      confidence: the nominal coverage, e.g. 0.9.
      resample_size: rows in each redrawn set (of the first array when unpaired).
    """

    value: jax.Array
    standard_error: jax.Array
    low: jax.Array
    high: jax.Array
    resampled_values: jax.Array
    method: str
    confidence: float
    resample_size: int


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["statistic", "p_value", "null_values"],
    meta_fields=[],
)
@dataclasses.dataclass(frozen=True)
class PermutationTest:
    """Result of :func:`permutation_test` (a pytree).

    Attributes:
      statistic: the estimator on the observed pairs.
      p_value: ``(1 + #{null >= statistic}) / (1 + num_permutations)``; NaN when the
        statistic or any null value is NaN (a NaN would otherwise count as "smaller").
        In the estimator's dtype: in float32 ``1 / 20`` reads 0.0500000007, so test
        ``p <= 0.05`` with a little slack (or count ``null_values`` yourself).
      null_values: the estimator with ``y``'s rows permuted ``[num_permutations]``.
    """

    statistic: jax.Array
    p_value: jax.Array
    null_values: jax.Array


def _scalar(result: Any) -> jax.Array:
    """The estimator's value: a scalar, or the ``.value`` of a result object."""
    value = jnp.asarray(getattr(result, "value", result))
    if value.shape != ():
        raise TypeError(
            "`estimator` must return a scalar (or a result with a scalar `.value`); got "
            f"shape {tuple(value.shape)}. Reduce it, e.g. `lambda x, y: f(x, y).sum()`."
        )
    return value


def draws_per_step(batch_size: int | None, num_draws: int) -> int:
    """Draws evaluated together in one step of the map over draws.

    ``None`` picks by backend: one at a time on CPU, where a batched Gram or neighbour search
    runs slower than the same calls in sequence (benchmarks/README.md, "Confidence
    intervals"), and all at once on accelerators, which batching keeps busy.
    """
    if batch_size is None:
        return 1 if jax.default_backend() == "cpu" else num_draws
    return min(batch_size, num_draws)


def _map_draws(draw, num_draws: int, mesh: Mesh | None, batch_size: int | None):
    """``draw(b)`` for ``b < num_draws`` in one program, split over ``mesh``'s devices.

    The draws run ``batch_size`` at a time (:func:`draws_per_step`): ``lax.map`` over
    groups, each group one ``vmap``.
    """

    def run(indices):
        per_step = draws_per_step(batch_size, indices.shape[0])
        if per_step == 1:
            return jax.lax.map(draw, indices)
        if per_step >= indices.shape[0]:
            return jax.vmap(draw)(indices)
        return jax.lax.map(draw, indices, batch_size=per_step)

    if mesh is None:
        return run(jnp.arange(num_draws))
    axes = tuple(mesh.axis_names)
    per_device = -(-num_draws // mesh.size)  # whole draws on every device

    def own_draws():
        first = jax.lax.axis_index(axes) * per_device
        values = run(first + jnp.arange(per_device))
        return jax.lax.all_gather(values, axes, tiled=True)  # replicated: any mesh type

    mapped = jax.shard_map(
        own_draws, mesh=mesh, in_specs=(), out_specs=PartitionSpec(), check_vma=False
    )
    return mapped()[:num_draws]


def _drawn_rows(key: jax.Array, num_rows: int, size: int, replace: bool) -> jax.Array:
    if replace:
        return jax.random.randint(key, (size,), 0, num_rows)
    return jax.random.permutation(key, num_rows)[:size]


def rescaling(method: str, num_rows: int, size: int) -> float:
    """Factor from the spread of ``size``-row redraws to that of the ``num_rows``-row value.

    An asymptotically linear estimate varies like a mean: ``var_m = s^2 / m`` with
    replacement and ``s^2 / m * (n - m) / (n - 1)`` without (the finite-population factor),
    so the ``n``-row spread is ``sqrt(m / n)`` resp. ``sqrt(m (n - 1) / (n (n - m)))``
    times the redrawn one (Politis and Romano's rate correction, with that factor).
    """
    if method == "bootstrap":
        return math.sqrt(size / num_rows)
    return math.sqrt(size * (num_rows - 1) / (num_rows * (num_rows - size)))


@functools.partial(
    jax.jit,
    static_argnames=(
        "estimator",
        "num_resamples",
        "sizes",
        "paired",
        "replace",
        "mesh",
        "batch_size",
        "factor",
        "confidence",
    ),
)
def _interval(
    arrays,
    key,
    *,
    estimator,
    num_resamples,
    sizes,
    paired,
    replace,
    mesh,
    batch_size,
    factor,
    confidence,
):
    """The estimator on all rows and on every redrawn set, and the interval, in one program."""

    def draw(b):
        draw_key = jax.random.fold_in(key, b)
        if paired:
            rows = _drawn_rows(draw_key, arrays[0].shape[0], sizes[0], replace)
            redrawn = [a[rows] for a in arrays]
        else:
            keys = jax.random.split(draw_key, len(arrays))
            redrawn = [
                a[_drawn_rows(k, a.shape[0], m, replace)]
                for a, k, m in zip(arrays, keys, sizes, strict=True)
            ]
        return _scalar(_on_redrawn(estimator, redrawn, arrays))

    value = _scalar(estimator(*arrays))
    redrawn = _map_draws(draw, num_resamples, mesh, batch_size)
    # Spread around the redrawn mean, not around ``value``: a redrawn set's bias differs
    # from the full sample's by a noisy amount (KSG: coverage 0.78 with it, 0.92 without).
    deviations = factor * (redrawn - jnp.mean(redrawn))
    tail = (1 - confidence) / 2
    low = value - jnp.quantile(deviations, 1 - tail)
    high = value - jnp.quantile(deviations, tail)
    return value, jnp.std(deviations, ddof=1), low, high, redrawn


@functools.partial(jax.jit, static_argnames=("estimator", "num_permutations", "mesh", "batch_size"))
def _permuted_values(x, y, key, *, estimator, num_permutations, mesh, batch_size):
    """The statistic, its p-value and the permuted (null) values, in one program."""

    def draw(b):
        rows = jax.random.permutation(jax.random.fold_in(key, b), y.shape[0])
        return _scalar(estimator(x, y[rows]))

    statistic = _scalar(estimator(x, y))
    null = _map_draws(draw, num_permutations, mesh, batch_size)
    p_value = (1 + jnp.sum(null >= statistic)) / (1 + num_permutations)
    undefined = jnp.isnan(statistic) | jnp.any(jnp.isnan(null))
    return statistic, jnp.where(undefined, jnp.nan, p_value.astype(null.dtype)), null


def _on_redrawn(estimator, redrawn, arrays):
    """The estimator on a redrawn set; its trace-time errors say the set is smaller than the data.

    Without this, an estimator's "`x` has n = 3 samples" reads as a claim about the caller's
    6 rows.
    """
    try:
        return estimator(*redrawn)
    except (ValueError, TypeError) as err:
        sizes = " and ".join(sorted({str(a.shape[0]) for a in redrawn}))
        given = " and ".join(sorted({str(a.shape[0]) for a in arrays}))
        raise type(err)(
            f"The estimator failed on a redrawn set of {sizes} rows (the data has {given}; "
            f"`resample_size` sets it, default half the rows for subsampling): {err}"
        ) from err


def _check_estimator(estimator) -> Callable[..., Any]:
    if not callable(estimator):
        raise TypeError(
            "`estimator` must be a function of the sample arrays, e.g. "
            f"`jaxinfo.ksg_mutual_information`; got {type(estimator).__name__} {estimator!r}."
        )
    return estimator


def _row_arrays(arrays: Sequence[Any], names: Sequence[str]) -> list[jax.Array]:
    converted = [validation.as_array(a, name) for a, name in zip(arrays, names, strict=True)]
    for a, name in zip(converted, names, strict=True):
        if a.ndim < 1:
            raise ValueError(f"`{name}` must have a leading axis of rows; got a scalar.")
    return converted


def _select_rows(arrays: list[jax.Array], where, names: Sequence[str]) -> list[jax.Array]:
    """Keeps the rows ``where`` marks valid; ``where`` must be concrete (it sets the size)."""
    if where is None:
        return arrays
    mask = validation.as_mask(where, arrays[0].shape[0])
    concrete = validation.concrete_value(mask)
    if concrete is None:
        raise TypeError(
            "`where` must be concrete: it sets how many rows each redrawn set has. Call "
            "outside `jax.jit`, or slice the valid rows first."
        )
    return [a[np.flatnonzero(concrete)] for a in arrays]


def _check_mesh(mesh) -> Mesh | None:
    if mesh is None or isinstance(mesh, Mesh):
        return mesh
    raise TypeError(
        "`mesh` must be a `jax.sharding.Mesh` (the draws are split over all its devices) "
        f"or None; got {type(mesh).__name__}."
    )


def _resample_size(method: str, num_rows: int, size, name: str) -> int:
    """The rows per redrawn set: half the rows (subsample) or all of them (bootstrap)."""
    if size is None:
        return (
            max(int(num_rows * DEFAULT_SUBSAMPLE_FRACTION), 1)
            if method == "subsample"
            else num_rows
        )
    size = validation.check_positive_int(size, "resample_size")
    if method == "subsample" and size >= num_rows:
        raise ValueError(
            f"`resample_size` must be below the number of rows of `{name}` ({num_rows}) with "
            f'method="subsample" (a subsample of all rows never varies); got {size}.'
        )
    if size > num_rows:
        raise ValueError(
            f"`resample_size` must be at most the number of rows of `{name}` ({num_rows}); "
            f"got {size}."
        )
    return size


def confidence_interval(
    estimator: Callable[..., Any],
    *arrays,
    key,
    num_resamples: int = 200,
    confidence: float = 0.9,
    method: ResamplingMethod = "subsample",
    resample_size: int | None = None,
    paired: bool = True,
    where=None,
    mesh: Mesh | None = None,
    batch_size: int | None = None,
) -> ConfidenceInterval:
    """A confidence interval and standard error for any estimator, from redrawn rows.

    The estimator runs on all rows and on ``num_resamples`` redrawn row sets, all in one
    compiled, ``vmap``-ped program (split over ``mesh``'s devices when given).

    The default redraws half the rows without replacement (subsampling) and rescales the
    spread to ``n`` rows. It suits every estimator in jaxinfo. The plain bootstrap
    (``method="bootstrap"``) draws with replacement, so a resample repeats rows, and
    estimators that read distances between rows see zeros: kNN / KSG and the kernel and
    matrix families are then biased (docs/conventions.md, "Error bars and independence
    tests", has the coverage table).

    Args:
      estimator: a function of the sample arrays returning a scalar (or a result with a
        scalar ``.value``), e.g. ``jaxinfo.ksg_mutual_information`` or a ``lambda`` with
        options bound. It is a static argument of the compiled program: define it once,
        not inside a loop, or each call compiles anew.
      *arrays: sample arrays with rows on the leading axis.
      key: a JAX PRNG key; draw ``b`` uses ``jax.random.fold_in(key, b)``.
      num_resamples: redrawn sets (at least 2; 200 or more for a 90 % interval).
      confidence: nominal coverage of the interval, in (0, 1).
      method: ``"subsample"`` (without replacement, ``resample_size`` below ``n``) or
        ``"bootstrap"`` (with replacement).
      resample_size: rows per redrawn set; default half the rows (subsample) or all of
        them (bootstrap, which with fewer rows is the m-out-of-n bootstrap).
      paired: the arrays' rows belong together (``x[i]`` with ``y[i]``), so one set of
        row indices redraws them all. ``False`` redraws each array on its own (two
        independent samples, e.g. of a divergence), each at the same fraction of its rows.
      where: boolean row mask (paired arrays only); only valid rows are redrawn. It must
        be concrete.
      mesh: a ``jax.sharding.Mesh``: the draws are split over all its devices.
      batch_size: redrawn sets evaluated together (one ``vmap``); ``None``: one at a time
        on CPU, all at once on accelerators (docs/conventions.md).

    Returns:
      A :class:`ConfidenceInterval`: ``value``, ``standard_error``, ``low``, ``high`` and
      the redrawn values.

    Example:
      >>> import jax, jaxinfo
      >>> from jaxinfo import testing
      >>> task = testing.correlated_gaussians(1, 1, correlation=0.6)  # I = 0.223 nats
      >>> x, y = task.sample(jax.random.key(0), 500)
      >>> ci = jaxinfo.confidence_interval(
      ...     jaxinfo.ksg_mutual_information, x, y, key=jax.random.key(1)
      ... )
      >>> print(f"{ci.value:.3f} +- {ci.standard_error:.3f}, 90% in [{ci.low:.3f}, {ci.high:.3f}]")
      0.184 +- 0.045, 90% in [0.110, 0.261]
    """
    estimator = _check_estimator(estimator)
    method = validation.check_choice(method, "method", RESAMPLING_METHODS)
    num_resamples = validation.check_positive_int(num_resamples, "num_resamples", minimum=2)
    confidence = float(
        validation.check_number(confidence, "confidence", low=0.0, high=1.0, low_open=True)
    )
    if confidence >= 1:
        raise ValueError(f"`confidence` must be below 1, e.g. 0.9; got {confidence}.")
    paired = validation.check_bool(paired, "paired")
    mesh = _check_mesh(mesh)
    if batch_size is not None:
        batch_size = validation.check_positive_int(batch_size, "batch_size")
    key = validation.as_prng_key(key)
    if not arrays:
        raise TypeError("`confidence_interval` needs at least one sample array after `estimator`.")
    names = ["x", "y"] if len(arrays) == 2 else [f"arrays[{i}]" for i in range(len(arrays))]
    rows = _row_arrays(arrays, names)
    if paired:
        validation.check_same_num_samples(rows, names)
        rows = _select_rows(rows, where, names)
        sizes = (_resample_size(method, rows[0].shape[0], resample_size, names[0]),) * len(rows)
        factor = rescaling(method, rows[0].shape[0], sizes[0])
    else:
        if where is not None or resample_size is not None:
            raise ValueError(
                "`where` and `resample_size` apply only with paired=True; with "
                "paired=False slice each array first and keep the default sizes."
            )
        sizes = tuple(
            _resample_size(method, a.shape[0], None, name)
            for a, name in zip(rows, names, strict=True)
        )
        factor = min(rescaling(method, a.shape[0], m) for a, m in zip(rows, sizes, strict=True))
    value, standard_error, low, high, redrawn = _interval(
        tuple(rows),
        key,
        estimator=estimator,
        num_resamples=num_resamples,
        sizes=sizes,
        paired=paired,
        replace=method == "bootstrap",
        mesh=mesh,
        batch_size=batch_size,
        factor=factor,
        confidence=confidence,
    )
    return ConfidenceInterval(
        value=value,
        standard_error=standard_error,
        low=low,
        high=high,
        resampled_values=redrawn,
        method=method,
        confidence=confidence,
        resample_size=sizes[0],
    )


def permutation_test(
    estimator: Callable[..., Any],
    x,
    y,
    *,
    key,
    num_permutations: int = 199,
    where=None,
    mesh: Mesh | None = None,
    batch_size: int | None = None,
) -> PermutationTest:
    """The p-value of "X and Y are independent" from any dependence estimator.

    Permuting ``y``'s rows breaks the pairing and keeps both marginals, so the estimator on
    permuted pairs samples its own null distribution: the p-value is exact (valid at every
    ``n``) for any estimator, however biased. All permutations run in one compiled,
    ``vmap``-ped program (split over ``mesh``'s devices when given).

    Args:
      estimator: ``estimator(x, y)`` returning a scalar that grows with dependence (or a
        result with a scalar ``.value``), e.g. ``jaxinfo.ksg_mutual_information``. A static
        argument of the compiled program: define it once.
      x: samples with rows on the leading axis.
      y: samples paired with ``x`` row by row; its rows are permuted.
      key: a JAX PRNG key; permutation ``b`` is ``jax.random.permutation(
        jax.random.fold_in(key, b), n)``.
      num_permutations: permutations (at least 1); 199 resolves p down to 0.005.
      where: boolean row mask; only valid rows are used. It must be concrete.
      mesh: a ``jax.sharding.Mesh``: the permutations are split over all its devices.
      batch_size: permutations evaluated together, as in :func:`confidence_interval`.

    Returns:
      A :class:`PermutationTest`: ``statistic``, ``p_value`` and the null values.

    Example:
      >>> import jax, jaxinfo
      >>> from jaxinfo import testing
      >>> x, y = testing.correlated_gaussians(1, 1, correlation=0.6).sample(
      ...     jax.random.key(0), 500
      ... )
      >>> test = jaxinfo.permutation_test(
      ...     jaxinfo.ksg_mutual_information, x, y, key=jax.random.key(3)
      ... )
      >>> print(f"{test.p_value:.3f}")  # the smallest p-value 199 permutations resolve
      0.005
    """
    estimator = _check_estimator(estimator)
    num_permutations = validation.check_positive_int(num_permutations, "num_permutations")
    mesh = _check_mesh(mesh)
    if batch_size is not None:
        batch_size = validation.check_positive_int(batch_size, "batch_size")
    key = validation.as_prng_key(key)
    names = ("x", "y")
    rows = _row_arrays((x, y), names)
    validation.check_same_num_samples(rows, names)
    x, y = _select_rows(rows, where, names)
    statistic, p_value, null = _permuted_values(
        x,
        y,
        key,
        estimator=estimator,
        num_permutations=num_permutations,
        mesh=mesh,
        batch_size=batch_size,
    )
    return PermutationTest(statistic=statistic, p_value=p_value, null_values=null)
