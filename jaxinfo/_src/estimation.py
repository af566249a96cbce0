"""Train a critic on paired samples and read out a variational estimate on held-out pairs.

The workflow of bmi's neural estimators and torch-mist's ``estimate_mi``: split the pairs
into a training and a held-out part, map each column with a transform fitted on the training
rows, train the critic with optax on random batches, evaluate the read-out on held-out chunks
every few hundred steps, stop when it has not improved for ``patience`` evaluations, and
report the cross-checked held-out value (:mod:`jaxinfo._src.selection`) with its standard
error over the chunks. The steps between two evaluations run as one jitted ``lax.scan``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxinfo._src import deprecation, marginal_transforms, selection, validation, variational
from jaxinfo._src.bench.progress import Progress
from jaxinfo._src.critics import ConcatCritic, Critic, GaussianBaselineCritic, check_scores
from jaxinfo._src.options import (
    MARGINAL_TRANSFORMS,
    VARIATIONAL_METHODS,
    MarginalTransform,
    VariationalMethod,
)

Scores = jax.Array
Objective = Callable[[Scores, jax.Array, variational.MineState], tuple[jax.Array, object]]


def _readout(method: str, clip: float) -> Callable[[Scores, jax.Array], jax.Array]:
    """The value reported on held-out pairs (``where`` masks the padding)."""
    if method == "infonce":
        return lambda s, w: variational.infonce_lower_bound(s, where=w)
    if method == "nwj":
        return lambda s, w: variational.nwj_lower_bound(s, where=w)
    if method in ("donsker_varadhan", "mine"):
        return lambda s, w: variational.donsker_varadhan_estimate(s, where=w)
    if method == "smile":
        return lambda s, w: variational.smile_estimate(s, clip=clip, where=w)
    return lambda s, w: variational.jensen_shannon_objective(s, where=w)


def _training_objective(method: str, clip: float, decay: float) -> Objective:
    """What the critic maximises, as ``(value, new_mine_state)``.

    The read-out itself (SMILE's and the JS read-out's carry the Jensen–Shannon
    gradient), or MINE's moving-average gradient for ``"mine"``.
    """

    def objective(scores, where, state):
        if method == "mine":
            return variational.mine_estimate(scores, state, decay=decay, where=where)
        return _readout(method, clip)(scores, where), state

    return objective


class MutualInformationEstimate(NamedTuple):
    """Result of :func:`estimate_mutual_information`.

    Attributes:
      value: the estimate (nats unless ``base`` was given): the held-out read-out, each
        held-out chunk read at the evaluation the other half of the chunks picked as its
        best (unbiased on a flat curve, where the best of all evaluations reads high).
      method: the estimator's name (``bound`` is its deprecated alias).
      steps: training step at each evaluation ``[e]``.
      train_values: mean training objective over the steps before each evaluation ``[e]``
        (for ``"smile"`` the Jensen–Shannon objective it is trained with, for ``"mine"`` DV).
      held_out_values: the held-out read-out over all chunks at each evaluation ``[e]``.
      best_step: the step picked by the first half of the chunks; ``critic`` holds its
        parameters. A NaN ``value`` means every evaluation was NaN (training diverged:
        lower the learning rate).
      critic: the critic with the parameters of ``best_step``.
      standard_error: the standard error of ``value`` over the held-out chunks (same unit):
        the evaluation noise of the trained critics. It does not include the
        seed-to-seed spread of training or a critic's bias (docs/nn.md: when to trust it).
        NaN with a single held-out chunk.
    """

    value: float
    method: str
    steps: np.ndarray
    train_values: np.ndarray
    held_out_values: np.ndarray
    best_step: int
    critic: Critic
    standard_error: float = math.nan

    @property
    def bound(self) -> str:
        """Deprecated name of :attr:`method`."""
        deprecation.warn_renamed("MutualInformationEstimate.bound", "method")
        return self.method


def as_float_columns(values, names) -> list[np.ndarray]:
    """Each variable as a finite float ``[n, d]`` NumPy array, all with the same rows.

    The trained estimators' input rule: every error names the argument as it was passed.
    """
    arrays = []
    for name, value in zip(names, values, strict=True):
        if value is None or isinstance(value, str | bytes):
            validation.as_array(value, name)  # raises, naming the argument
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":  # strings, objects: refused naming the argument
            arr = np.asarray(validation.as_array(value, name))
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f"`{name}` must be a floating-point array [n, d] (or [n] for scalars); got "
                f"dtype {arr.dtype}. Cast it first, e.g. `{name}.astype(np.float32)`."
            )
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(
                f"`{name}` must have shape [n, d] (or [n] for scalars); got shape {arr.shape}."
            )
        if arr.shape[1] == 0:  # else a network's width check names its own argument
            raise ValueError(f"`{name}` has no columns (shape {arr.shape}); it needs at least one.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"`{name}` holds NaN or inf; drop or impute those rows first.")
        arrays.append(arr)
    if len({a.shape[0] for a in arrays}) > 1:
        named = ", ".join(f"`{n}`" for n in names)
        counts = ", ".join(str(a.shape[0]) for a in arrays)
        raise ValueError(f"{named} must hold the same pairs (rows); got {counts}.")
    return arrays


def _as_pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x_arr, y_arr = as_float_columns((x, y), ("x", "y"))
    return x_arr, y_arr


def _split(n: int, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    num_held_out = round(held_out * n)
    if num_held_out < 2 or n - num_held_out < 2:
        raise ValueError(
            f"{n} pairs with held_out={held_out} leave {n - num_held_out} for training and "
            f"{num_held_out} held out; each part needs at least 2."
        )
    return order[num_held_out:], order[:num_held_out]


def _chunks(x: np.ndarray, y: np.ndarray, size: int):
    """Held-out pairs as ``[c, size, d]`` chunks plus the mask of the zero padding.

    At least two chunks (the cross-checked selection needs two halves) where the held-out
    part has four pairs or more.
    """
    n = x.shape[0]
    if n >= 4:
        size = min(size, -(-n // 2))
    count = -(-n // size)
    pad = count * size - n
    mask = np.arange(count * size) < n

    def pack(a):
        return np.concatenate([a, np.zeros((pad, a.shape[1]), a.dtype)]).reshape(count, size, -1)

    return pack(x), pack(y), mask.reshape(count, size)


def _default_critic(x_train: jax.Array, y_train: jax.Array, seed: int, dtype) -> Critic:
    """A fixed Gaussian log ratio plus bmi's joint ReLU MLP 16 -> 8 -> 1 as the residual.

    The MLP is small on purpose: it must generalise from a few thousand pairs (a 128-wide
    separable critic overfitted by 0.2-0.6 nats on the 5-d testing Gaussians). Alone it
    approximates a Gaussian's quadratic log ratio poorly (1.86 nats at a true 2); the fixed
    Gaussian term carries that part. Without enough rows for a covariance (``n <= 2 (dx +
    dy)``) or with a singular one, the MLP alone.
    """
    x_features, y_features = x_train.shape[1], y_train.shape[1]
    mlp = ConcatCritic(
        x_features, y_features, hidden=(16, 8), param_dtype=dtype, rngs=nnx.Rngs(seed)
    )
    if x_train.shape[0] <= 2 * (x_features + y_features):
        return mlp
    try:
        return GaussianBaselineCritic(mlp, x_train, y_train)
    except ValueError:  # a singular covariance: a constant or duplicated column
        return mlp


def _check_numbers(clip, decay, held_out, learning_rate) -> tuple[float, float, float]:
    """The numeric options as floats (``clip``, ``decay`` defaulted), or an error naming one.

    Checked before anything compiles: a negative learning rate ascends the loss (14834 nats
    for a true 0.51 at 2000 pairs), and a string would fail later in a comparison naming no option.
    """
    clip = 5.0 if clip is None else clip
    if not (isinstance(clip, float | int) and clip == math.inf):  # inf is DV (smile_estimate)
        hint = "Typical values: 1, 5; inf gives DV."
        clip = validation.check_number(clip, "clip", low=0.0, low_open=True, hint=hint)
    decay = _fraction(0.9 if decay is None else decay, "decay", "MINE uses 0.9.")
    held_out = _fraction(held_out, "held_out", "It is the fraction of pairs held out, e.g. 0.3.")
    check_learning_rate(learning_rate)
    return float(clip), decay, held_out


def check_learning_rate(learning_rate) -> None:
    """A positive step size; an optax schedule is the optimizer's to check."""
    if not callable(learning_rate):
        validation.check_number(
            learning_rate, "learning_rate", low=0.0, low_open=True, hint="Typical: 1e-4 to 1e-2."
        )


def check_optimizer(optimizer) -> None:
    """``None`` or anything with optax's ``init`` and ``update``."""
    if optimizer is not None and not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise TypeError(
            "`optimizer` must be an optax transformation, e.g. `optax.adam(1e-3)`; got "
            f"{type(optimizer).__name__}."
        )


def _fraction(value, name: str, hint: str) -> float:
    """A real number in the open interval (0, 1)."""
    value = float(validation.check_number(value, name, hint=hint))
    if not 0.0 < value < 1.0:
        raise ValueError(f"`{name}` must lie in (0, 1); got {value}. {hint}")
    return value


def _marginal_choice(marginals, standardize=None) -> MarginalTransform | None:
    """``marginals``, or the deprecated ``standardize`` flag translated into it."""
    if standardize is not None:
        validation.check_bool(standardize, "standardize")
        if marginals != "normal_scores":
            raise TypeError("Pass `marginals` only; `standardize` is its deprecated form.")
        deprecation.warn_renamed(
            "estimate_mutual_information(standardize=...)",
            '`marginals="standardize"` (True) or `marginals=None` (False)',
            stacklevel=5,  # past _marginal_choice, the function and its keyword shim
        )
        return "standardize" if standardize else None
    if marginals is None:
        return None
    return validation.check_choice(marginals, "marginals", MARGINAL_TRANSFORMS)


@deprecation.renamed_keywords(bound="method")
def estimate_mutual_information(
    x,
    y,
    *,
    method: VariationalMethod = "nwj",
    critic: Critic | None = None,
    clip: float | None = None,
    decay: float | None = None,
    batch_size: int = 256,
    max_steps: int = 10_000,
    learning_rate: float | optax.Schedule = 3e-3,
    optimizer: optax.GradientTransformation | None = None,
    held_out: float = 0.3,
    evaluate_every: int = 250,
    evaluation_batch_size: int | None = None,
    patience: int = 3,
    min_improvement: float = 2e-3,
    marginals: MarginalTransform | None = "normal_scores",
    weight_averaging: float | None = 0.99,
    standardize: bool | None = None,
    seed: int = 0,
    progress: bool | None = None,
    base: float | None = None,
) -> MutualInformationEstimate:
    """Estimate ``I(X; Y)`` by training a critic and reading out an estimate on held-out pairs.

    Each column is first mapped by ``marginals``, fitted on the training split (a strictly
    monotone map per column leaves the MI unchanged; the default keeps heavy tails from
    dominating the critic). Training runs on random batches of the training split
    (``batch_size`` pairs; the other rows of the batch are the negatives). Every
    ``evaluate_every`` steps the read-out is evaluated on the held-out split, in chunks of
    ``evaluation_batch_size`` pairs (default ``batch_size``; the estimate of InfoNCE is at
    most ``log`` of it; at least two chunks). Training stops after ``patience`` evaluations
    without a new best or at ``max_steps`` (rounded up to a multiple of ``evaluate_every``).
    The estimate reads each chunk at the evaluation the other half of the chunks picked as
    its best (a chunk never votes for the evaluation it is read at, so noise does not read
    high, as the best of all evaluations does), with its standard error over the chunks.

    Args:
      x: samples ``[n, dx]`` (or ``[n]``), rows paired with ``y``.
      y: samples ``[n, dy]`` (or ``[n]``).
      method: ``"nwj"`` (default: trained and read out as NWJ, a lower bound in
        expectation for every critic), ``"smile"`` (trained with the Jensen–Shannon
        objective, read out as SMILE, Song & Ermon's recipe), ``"infonce"``,
        ``"donsker_varadhan"``, ``"mine"`` (DV read-out, MINE gradient) or
        ``"jensen_shannon"`` (NWJ(S + 1) read-out). On the accuracy suite NWJ and the DV
        read-outs err least; SMILE's clip reads 4-nat tasks about 0.16 high (docs/nn.md).
      critic: a :class:`Critic`, trained in place; default a
        :class:`GaussianBaselineCritic` (the Gaussian log ratio of the mapped training
        pairs, fixed) around a :class:`ConcatCritic` with hidden widths (16, 8) (bmi's),
        initialised from ``seed``; the :class:`ConcatCritic` alone when the training
        split has at most ``2 (dx + dy)`` rows or a singular covariance.
      clip: SMILE's ``tau`` (> 0, or inf for DV); default 5. Only with ``method="smile"``
        (else it raises).
      decay: MINE's moving-average decay in (0, 1); default 0.9. Only with ``method="mine"``.
      batch_size: training pairs per step, an int >= 2 (capped at the training split).
      max_steps: most training steps, an int >= 1.
      learning_rate: Adam's step size (> 0, or an optax schedule) when ``optimizer`` is not
        given; checked either way.
      optimizer: any optax transformation (default ``optax.adam(learning_rate)``).
      held_out: fraction of the pairs held out for the read-out, in (0, 1).
      evaluate_every: training steps between evaluations, an int >= 1.
      evaluation_batch_size: pairs per held-out chunk, an int >= 2.
      patience: evaluations without improvement before stopping, an int >= 1.
      min_improvement: how much (nats) an evaluation must beat the best so far to count as
        an improvement, >= 0. With averaged parameters the held-out curve creeps up by a
        few 1e-4 nats per evaluation for thousands of steps; 2e-3 stops it there.
      marginals: the per-column map, fitted on the training rows: ``"asinh"`` (default;
        ``3 asinh(z / 3)`` of the robust z-score ``z = (v - median) / (IQR / 1.349)``:
        nearly linear within 3 robust deviations, logarithmic tails), ``"standardize"``
        (z-score), ``"normal_scores"`` (the normal quantile of the rank) or ``None`` (the
        raw values).
      weight_averaging: evaluate the exponential moving average of the parameters with
        this decay in (0, 1) (default 0.99: about the last 100 steps), or ``None`` for the
        raw parameters. Averaging removes the step-to-step noise of Adam from the critic.
      standardize: deprecated (removed in 0.3.0): ``True`` is ``marginals="standardize"``,
        ``False`` is ``marginals=None``.
      seed: an int >= 0; seeds the split, the batches and the default critic.
      progress: show a progress bar on stderr (default: when stderr is a terminal).
      base: logarithm base of the result (``None``: nats).

    Returns:
      A :class:`MutualInformationEstimate` (``.value`` is the estimate, ``.standard_error``
      its evaluation noise).

    Raises:
      TypeError: non-numeric or integer ``x``/``y``, an option of the wrong type (a string
        ``held_out``, a float ``max_steps``, a non-bool ``standardize``, ...), a ``critic``
        that is not a :class:`Critic`, an ``optimizer`` that is not an optax transformation.
      ValueError: shapes, unpaired rows, NaN or inf in the data, an option out of its range
        (each named), or an option the chosen ``method`` does not read. Every check runs
        before anything compiles.

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> from jaxinfo.nn import estimate_mutual_information
      >>> task = testing.correlated_gaussians(1, 1, correlation=0.8)  # I = 0.5108 nats
      >>> x, y = task.sample(jax.random.key(0), 2000)
      >>> result = estimate_mutual_information(x, y, method="nwj", max_steps=250)
      >>> print(abs(result.value - task.mutual_information) < 0.1)
      True
    """
    validation.check_choice(method, "method", VARIATIONAL_METHODS)
    x_all, y_all = _as_pairs(x, y)
    marginals = _marginal_choice(marginals, standardize)
    batch_size = validation.check_positive_int(batch_size, "batch_size", minimum=2)
    max_steps = validation.check_positive_int(max_steps, "max_steps")
    evaluate_every = validation.check_positive_int(evaluate_every, "evaluate_every")
    patience = validation.check_positive_int(patience, "patience")
    evaluation_batch_size = validation.check_positive_int(
        batch_size if evaluation_batch_size is None else evaluation_batch_size,
        "evaluation_batch_size",
        minimum=2,
    )
    seed = validation.check_positive_int(seed, "seed", minimum=0)
    if progress is not None:
        validation.check_bool(progress, "progress")
    if method != "smile":
        validation.check_unused_options("method", method, "smile", clip=clip)
    if method != "mine":
        validation.check_unused_options("method", method, "mine", decay=decay)
    clip, decay, held_out = _check_numbers(clip, decay, held_out, learning_rate)
    min_improvement = float(
        validation.check_number(
            min_improvement, "min_improvement", low=0.0, hint="It is in nats, e.g. 2e-3."
        )
    )
    if weight_averaging is not None:
        weight_averaging = _fraction(
            weight_averaging, "weight_averaging", "0.99 averages about the last 100 steps."
        )
    check_optimizer(optimizer)
    if critic is not None and not isinstance(critic, Critic):
        raise TypeError(
            "`critic` must be a `jaxinfo.nn.Critic` (subclass it and implement `__call__`); "
            f"got {type(critic).__name__}."
        )
    validation.log_base_divisor(base)

    train_rows, held_rows = _split(x_all.shape[0], held_out, seed)
    map_x = marginal_transforms.fit(x_all[train_rows], marginals)
    map_y = marginal_transforms.fit(y_all[train_rows], marginals)
    dtype = validation.compute_dtype(x_all.dtype)
    x_train = jnp.asarray(map_x(x_all[train_rows]), dtype)
    y_train = jnp.asarray(map_y(y_all[train_rows]), dtype)
    held = _chunks(
        map_x(x_all[held_rows]).astype(dtype),
        map_y(y_all[held_rows]).astype(dtype),
        min(evaluation_batch_size, len(held_rows)),
    )
    batch_size = min(batch_size, len(train_rows))

    if critic is None:
        critic = _default_critic(x_train, y_train, seed, dtype)
    check_scores(critic(x_train[:1], y_train[:2]), 1, 2)  # n != m: a transpose shows
    optimizer = optax.adam(learning_rate) if optimizer is None else optimizer
    graph, params, rest = nnx.split(critic, nnx.Param, ...)
    objective = _training_objective(method, clip, decay)
    readout = _readout(method, clip)
    average = _averager(weight_averaging)

    def loss(p, xb, yb, state):
        scores = nnx.merge(graph, p, rest)(xb, yb)
        value, new_state = objective(scores, jnp.ones(xb.shape[0], bool), state)
        return -value, (value, new_state)

    @jax.jit
    def train(p, averaged, opt_state, mine_state, key):
        def step(carry, step_key):
            p, averaged, opt_state, mine_state = carry
            rows = jax.random.choice(step_key, x_train.shape[0], (batch_size,), replace=False)
            grads, (value, mine_state) = jax.grad(loss, has_aux=True)(
                p, x_train[rows], y_train[rows], mine_state
            )
            updates, opt_state = optimizer.update(grads, opt_state, p)
            p = optax.apply_updates(p, updates)
            return (p, average(averaged, p), opt_state, mine_state), value

        keys = jax.random.split(key, evaluate_every)
        carry = (p, averaged, opt_state, mine_state)
        (p, averaged, opt_state, mine_state), values = jax.lax.scan(step, carry, keys)
        return p, averaged, opt_state, mine_state, jnp.mean(values)

    @jax.jit
    def evaluate(p, xs, ys, masks):
        model = nnx.merge(graph, p, rest)
        return jax.lax.map(lambda c: readout(model(c[0], c[1]), c[2]), (xs, ys, masks))

    # optax's Adam raises an int32 step count to a float power, which strict dtype promotion
    # refuses; the step is traced under standard promotion whatever the caller's setting.
    with jax.numpy_dtype_promotion("standard"):
        held_arrays = tuple(jnp.asarray(a) for a in held)
        weights = np.sum(held[2], axis=1).astype(np.float64)
        opt_state = optimizer.init(params)
        mine_state = variational.mine_initial_state(dtype)
        key = jax.random.key(seed)
        averaged = params
        steps, train_values, chunk_values, snapshots = [], [], [], []
        best_value, stale = -math.inf, 0
        bar = Progress(max_steps, enabled=progress)
        step = 0
        while step < max_steps and stale < patience:
            key, chunk_key = jax.random.split(key)
            params, averaged, opt_state, mine_state, train_value = train(
                params, averaged, opt_state, mine_state, chunk_key
            )
            step += evaluate_every
            values = np.asarray(evaluate(averaged, *held_arrays), np.float64)
            value = float(values @ weights / np.sum(weights))
            steps.append(step)
            train_values.append(float(train_value))
            chunk_values.append(values)
            snapshots.append(averaged)
            if value > best_value + min_improvement:  # NaN never counts
                best_value, stale = value, 0
            else:
                stale += 1
            # an evaluation more than `patience` behind the best can no longer be picked
            snapshots = _keep_recent_and_best(snapshots, chunk_values, weights, patience)
            bar.update(min(step, max_steps), f"held-out {value:.4f} best {best_value:.4f}")
    bar.close()
    picked = selection.cross_checked(np.stack(chunk_values), weights)
    nnx.update(critic, snapshots[picked.evaluation])
    divisor = validation.log_base_divisor(base) or 1.0
    held_values = np.stack(chunk_values) @ weights / np.sum(weights)
    return MutualInformationEstimate(
        value=picked.value / divisor,
        method=method,
        steps=np.asarray(steps),
        train_values=np.asarray(train_values),
        held_out_values=held_values / divisor,
        best_step=int(steps[picked.evaluation]),
        critic=critic,
        standard_error=picked.standard_error / divisor,
    )


def _averager(decay: float | None) -> Callable:
    """``average(averaged, params)``: one step of the moving average, or ``params``."""
    if decay is None:
        return lambda averaged, p: p
    return lambda averaged, p: jax.tree.map(lambda a, b: decay * a + (1.0 - decay) * b, averaged, p)


def _keep_recent_and_best(snapshots: list, chunk_values: list, weights, patience: int) -> list:
    """Drops (sets to ``None``) the parameters no half of the chunks can still pick.

    Either half picks its own best evaluation, so only those two and the last ``patience``
    evaluations (which may still become a best) need their parameters.
    """
    values = np.stack(chunk_values)
    first = np.arange(values.shape[1]) % 2 == 0
    keep = set(range(max(0, len(snapshots) - patience - 1), len(snapshots)))
    for half in (first, ~first) if values.shape[1] > 1 else (first,):
        curve = values[:, half] @ weights[half]
        if not np.all(np.isnan(curve)):
            keep.add(int(np.nanargmax(curve)))
    return [s if i in keep else None for i, s in enumerate(snapshots)]
