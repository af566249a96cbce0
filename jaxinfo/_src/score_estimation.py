"""Score-based estimators: train one :class:`ScoreNetwork`, read a Girsanov estimate out.

MINDE (Franzese, Bounoua & Michiardi, ICLR 2024) for mutual information and entropy, SΩI
(Bounoua, Franzese & Michiardi, ICML 2024) for O-information. The trainer has the shape of
:func:`jaxinfo.nn.estimate_mutual_information`: split the rows into a training and a held-out
part, map each column with a transform fitted on the training rows, train on random batches
with the steps between two evaluations as one jitted ``lax.scan``, evaluate the denoising loss
on the held-out rows (the same times and noise every evaluation), stop after ``patience``
evaluations without improvement, keep the averaged parameters of the best evaluation. The
estimate is then read on the held-out rows with ``mc_samples`` draws of time and noise per
row, and its standard error is that of the mean of the per-row values.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, PartitionSpec

from jaxinfo._src import (
    estimation,
    gaussian_scores,
    marginal_transforms,
    score_objectives,
    validation,
    vp_sde,
)
from jaxinfo._src.bench.progress import Progress
from jaxinfo._src.options import (
    MINDE_VARIANTS,
    MarginalTransform,
    MindeVariant,
)
from jaxinfo._src.score_networks import ScoreNetwork


class ScoreEstimate(NamedTuple):
    """Result of :func:`minde_mutual_information`, :func:`minde_entropy`, :func:`soi_o_information`.

    Attributes:
      value: the estimate (nats unless ``base`` was given), the mean of the per-row
        Girsanov read-outs on the held-out rows.
      standard_error: the standard error of ``value`` over held-out rows and draws of time
        and noise: the read-out's Monte Carlo noise for the trained network. It does not
        include the seed-to-seed spread of training or the network's bias.
      method: ``"minde_conditional"``, ``"minde_joint"``, ``"minde_entropy"`` or ``"soi"``.
      steps: the training step of each evaluation ``[e]``, from 0 (before training).
      train_losses: the mean denoising loss over the steps before each evaluation ``[e]``
        (NaN at step 0).
      held_out_losses: the held-out denoising loss at each evaluation ``[e]``.
      best_step: the evaluation with the lowest held-out loss; ``network`` holds its
        (averaged) parameters.
      network: the trained :class:`ScoreNetwork`.
      parts: for :func:`soi_o_information`, ``total_correlation``,
        ``dual_total_correlation`` and ``s_information`` (same unit); else empty.
      seconds: wall time of the call (compilation included).
    """

    value: float
    standard_error: float
    method: str
    steps: np.ndarray
    train_losses: np.ndarray
    held_out_losses: np.ndarray
    best_step: int
    network: ScoreNetwork
    parts: dict
    seconds: float


class _Options(NamedTuple):
    batch_size: int
    max_steps: int
    evaluate_every: int
    patience: int
    mc_samples: int
    held_out: float
    weight_averaging: float | None
    optimizer: optax.GradientTransformation
    seed: int
    progress: bool | None
    mesh: Mesh | None
    gaussian_baseline: bool


# (network, x0, t, noise, sizes, schedule, *, baseline) -> per-row terms [b, P]
Readout = Callable[..., jax.Array]


class _Trained(NamedTuple):
    network: ScoreNetwork
    steps: np.ndarray
    train_losses: np.ndarray
    held_out_losses: np.ndarray
    best_step: int
    per_row: np.ndarray  # [n_held, P], averaged over the draws


def _sharded(loss_fn: Callable, mesh: Mesh | None) -> Callable:
    """``loss_fn`` with the batch split over ``mesh``'s first axis (the shares' mean).

    Differentiate the result, not ``loss_fn`` inside ``shard_map``: there the gradient of
    the replicated parameters comes back already summed over the devices (the transpose of
    their broadcast), and a ``pmean`` of it is ``devices`` times the batch gradient.
    """
    if mesh is None:
        return loss_fn
    axis = mesh.axis_names[0]

    def local(params, *batch):
        return jax.lax.pmean(loss_fn(params, *batch), axis)

    rows = PartitionSpec(axis)
    return jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(PartitionSpec(), rows, rows, rows, rows),
        out_specs=PartitionSpec(),
    )


def _train_chunk(train, sizes, kind: str, graph, rest, options, baseline) -> Callable:
    """The trainer's jitted ``train_chunk(params, averaged, opt_state, key)``.

    ``options.evaluate_every`` steps in one ``lax.scan``, each: a batch of rows drawn with
    replacement, one time and noise per row, one training mask per row, Adam on the mean
    denoising loss (with ``baseline``, the fitted Gaussian's prediction, or ``None``) and
    one step of the moving average. Returns the new parameters, average
    and optimizer state and the steps' mean loss. A function of its own so that
    benchmarks/score_step_time.py times the trainer's own program.
    """
    schedule = vp_sde.VPSchedule()
    masks, probabilities = score_objectives.training_masks(kind, len(sizes))
    masks_array, log_probabilities = jnp.asarray(masks), jnp.log(jnp.asarray(probabilities))
    dtype, features = train.dtype, train.shape[1]
    batch_size = min(options.batch_size, train.shape[0])

    def batch_loss(p, x0, t, noise, mask):
        model = nnx.merge(graph, p, rest)
        losses = score_objectives.denoising_loss(
            model, x0, t, noise, mask, sizes, schedule, baseline=baseline
        )
        return jnp.mean(losses)

    grad_fn = jax.value_and_grad(_sharded(batch_loss, options.mesh))
    optimizer = options.optimizer
    average = estimation._averager(options.weight_averaging)

    @jax.jit
    def train_chunk(p, averaged, opt_state, key):
        def step(carry, step_key):
            p, averaged, opt_state = carry
            row_key, draw_key, mask_key = jax.random.split(step_key, 3)
            rows = jax.random.randint(row_key, (batch_size,), 0, train.shape[0])
            t, noise = score_objectives.draw(schedule, draw_key, batch_size, features, dtype)
            which = jax.random.categorical(mask_key, log_probabilities, shape=(batch_size,))
            loss, grads = grad_fn(p, train[rows], t, noise, masks_array[which])
            updates, opt_state = optimizer.update(grads, opt_state, p)
            p = optax.apply_updates(p, updates)
            return (p, average(averaged, p), opt_state), loss

        keys = jax.random.split(key, options.evaluate_every)
        (p, averaged, opt_state), losses = jax.lax.scan(step, (p, averaged, opt_state), keys)
        return p, averaged, opt_state, jnp.mean(losses)

    return train_chunk


def _train(train, held, sizes, kind: str, readout: Readout, network: ScoreNetwork, options):
    """Trains ``network`` on the ``[n, d]`` rows ``train``; reads ``readout`` on ``held``."""
    schedule = vp_sde.VPSchedule()
    masks, probabilities = score_objectives.training_masks(kind, len(sizes))
    masks_array = jnp.asarray(masks)
    baseline = (
        gaussian_scores.fit(np.asarray(train), masks, sizes, train.dtype)
        if options.gaussian_baseline
        else None
    )
    dtype, features = train.dtype, train.shape[1]
    graph, params, rest = nnx.split(network, nnx.Param, ...)
    optimizer = options.optimizer
    train_chunk = _train_chunk(train, sizes, kind, graph, rest, options, baseline)

    held_t, held_noise = score_objectives.draw(
        schedule, jax.random.key(options.seed + 1), held.shape[0], features, dtype
    )
    mask_weights = jnp.asarray(probabilities, dtype)

    @jax.jit
    def held_out_loss(p):
        model = nnx.merge(graph, p, rest)

        def one_mask(mask):
            return jnp.mean(
                score_objectives.denoising_loss(
                    model, held, held_t, held_noise, mask, sizes, schedule, baseline=baseline
                )
            )

        return jax.lax.map(one_mask, masks_array) @ mask_weights

    @jax.jit
    def read(p, key):
        model = nnx.merge(graph, p, rest)

        def one_draw(draw_key):
            t, noise = score_objectives.draw(schedule, draw_key, held.shape[0], features, dtype)
            return readout(model, held, t, noise, sizes, schedule, baseline=baseline)

        return jnp.mean(jax.lax.map(one_draw, jax.random.split(key, options.mc_samples)), axis=0)

    with jax.numpy_dtype_promotion("standard"):  # optax's Adam (see estimation.py)
        opt_state = optimizer.init(params)
        key = jax.random.key(options.seed)
        decay = options.weight_averaging
        # the average starts at zero and is divided by 1 - decay^step (Adam's correction):
        # started at the initial parameters, a 0.999 average still weighs them 61 % after 500
        # steps and 8 % after 2500, which held every early evaluation near the initial fit
        averaged = params if decay is None else jax.tree.map(jnp.zeros_like, params)
        # step 0 is a candidate: the Gaussian baseline alone (or the network passed in) may
        # already be the best fit, and a few noisy steps must not replace it
        initial_loss = float(held_out_loss(params))
        steps, train_losses, held_losses = [0], [math.nan], [initial_loss]
        best_loss, best_params, best_step, stale, step = initial_loss, params, 0, 0, 0
        bar = Progress(options.max_steps, enabled=options.progress)
        while step < options.max_steps and stale < options.patience:
            key, chunk_key = jax.random.split(key)
            params, averaged, opt_state, train_loss = train_chunk(
                params, averaged, opt_state, chunk_key
            )
            step += options.evaluate_every
            evaluated = (
                averaged
                if decay is None
                else jax.tree.map(lambda a: a / (1.0 - decay**step), averaged)  # noqa: B023
            )
            loss = float(held_out_loss(evaluated))
            steps.append(step)
            train_losses.append(float(train_loss))
            held_losses.append(loss)
            if loss < best_loss:  # NaN never counts
                best_loss, best_params, best_step, stale = loss, evaluated, step, 0
            else:
                stale += 1
            bar.update(min(step, options.max_steps), f"held-out loss {loss:.4f}")
        bar.close()
        per_row = np.asarray(read(best_params, jax.random.fold_in(key, 7)), np.float64)
    nnx.update(network, best_params)
    return _Trained(
        network,
        np.asarray(steps),
        np.asarray(train_losses),
        np.asarray(held_losses),
        best_step,
        per_row,
    )


def _check_options(
    *,
    batch_size,
    max_steps,
    evaluate_every,
    patience,
    mc_samples,
    held_out,
    weight_averaging,
    learning_rate: float | optax.Schedule,
    optimizer: optax.GradientTransformation | None,
    seed,
    progress,
    mesh,
    base,
    gaussian_baseline,
) -> _Options:
    """Every option checked, each error naming it, before anything compiles."""
    batch_size = validation.check_positive_int(batch_size, "batch_size", minimum=2)
    held_out = estimation._fraction(held_out, "held_out", "It is the fraction held out, e.g. 0.3.")
    if weight_averaging is not None:
        weight_averaging = estimation._fraction(
            weight_averaging, "weight_averaging", "0.999 averages about the last 1000 steps."
        )
    estimation.check_learning_rate(learning_rate)
    estimation.check_optimizer(optimizer)
    if progress is not None:
        validation.check_bool(progress, "progress")
    if mesh is not None:
        if not isinstance(mesh, Mesh):
            raise TypeError(f"`mesh` must be a `jax.sharding.Mesh`; got {type(mesh).__name__}.")
        shards = mesh.shape[mesh.axis_names[0]]
        if batch_size % shards:
            raise ValueError(
                f"`batch_size` ({batch_size}) must be a multiple of the {shards} devices on "
                f"`mesh` axis {mesh.axis_names[0]!r}, which each take an equal share."
            )
    validation.log_base_divisor(base)
    return _Options(
        batch_size=batch_size,
        max_steps=validation.check_positive_int(max_steps, "max_steps"),
        evaluate_every=validation.check_positive_int(evaluate_every, "evaluate_every"),
        patience=validation.check_positive_int(patience, "patience"),
        mc_samples=validation.check_positive_int(mc_samples, "mc_samples"),
        held_out=held_out,
        weight_averaging=weight_averaging,
        optimizer=optax.adam(learning_rate) if optimizer is None else optimizer,
        seed=validation.check_positive_int(seed, "seed", minimum=0),
        progress=progress,
        mesh=mesh,
        gaussian_baseline=validation.check_bool(gaussian_baseline, "gaussian_baseline"),
    )


def _check_network(network, sizes: tuple[int, ...], seed: int, dtype) -> ScoreNetwork:
    if network is None:
        return ScoreNetwork(sizes, param_dtype=dtype, rngs=nnx.Rngs(seed))
    if not isinstance(network, ScoreNetwork):
        raise TypeError(
            f"`network` must be a `jaxinfo.nn.ScoreNetwork`; got {type(network).__name__}."
        )
    if tuple(network.sizes) != sizes:
        raise ValueError(
            f"`network` was built for variable widths {tuple(network.sizes)}; the data has "
            f"{sizes}. Build it as `ScoreNetwork({sizes}, rngs=...)`."
        )
    return network


def _prepared(columns, marginals, network, options: _Options):
    """Training and held-out rows ``[n, d]`` (mapped per column), the widths, the network."""
    n = columns[0].shape[0]
    train_rows, held_rows = estimation._split(n, options.held_out, options.seed)
    if options.mesh is not None and len(train_rows) < options.batch_size:
        raise ValueError(
            f"`batch_size` ({options.batch_size}) exceeds the {len(train_rows)} training rows; "
            "a sharded batch cannot be capped. Lower `batch_size`."
        )
    dtype = validation.compute_dtype(np.result_type(*columns))
    train, held = [], []
    for column in columns:
        transform = marginal_transforms.fit(column[train_rows], marginals)
        train.append(transform(column[train_rows]))
        held.append(transform(column[held_rows]))
    sizes = tuple(int(c.shape[1]) for c in columns)
    as_rows = lambda parts: jnp.asarray(np.concatenate(parts, axis=1), dtype)  # noqa: E731
    network = _check_network(network, sizes, options.seed, dtype)
    return as_rows(train), as_rows(held), sizes, network


_TRAINING_OPTIONS = (
    "batch_size",
    "max_steps",
    "evaluate_every",
    "patience",
    "mc_samples",
    "held_out",
    "weight_averaging",
    "learning_rate",
    "optimizer",
    "seed",
    "progress",
    "mesh",
    "base",
    "gaussian_baseline",
)


def _training_arguments(arguments: dict) -> dict:
    """The training options among a public function's arguments (``locals()``)."""
    return {name: arguments[name] for name in _TRAINING_OPTIONS}


def _estimate(method: str, trained: _Trained, value_rows: np.ndarray, base, start, parts=None):
    divisor = validation.log_base_divisor(base) or 1.0
    rows = value_rows / divisor
    standard_error = (
        float(np.std(rows, ddof=1) / math.sqrt(rows.size)) if rows.size > 1 else math.nan
    )
    return ScoreEstimate(
        value=float(np.mean(rows)),
        standard_error=standard_error,
        method=method,
        steps=trained.steps,
        train_losses=trained.train_losses,
        held_out_losses=trained.held_out_losses,
        best_step=trained.best_step,
        network=trained.network,
        parts={} if parts is None else {k: v / divisor for k, v in parts.items()},
        seconds=time.perf_counter() - start,
    )


_TRAINING_ARGS = """network: a :class:`ScoreNetwork` built for these widths, trained in place
        (default: one with MINDE's widths, initialised from ``seed``).
      batch_size: training rows per step, an int >= 2 (capped at the training rows).
      max_steps: most training steps, an int >= 1 (rounded up to ``evaluate_every``).
      learning_rate: Adam's step size (> 0 or an optax schedule) without ``optimizer``.
      optimizer: any optax transformation (default ``optax.adam(learning_rate)``).
      held_out: the fraction of rows held out for early stopping and the read-out, in (0, 1).
      evaluate_every: training steps between evaluations of the held-out loss.
      patience: evaluations without a lower held-out loss before training stops.
      mc_samples: draws of time and noise per held-out row in the read-out, an int >= 1.
      weight_averaging: the decay of the parameters' moving average that is evaluated and
        returned, in (0, 1) (default 0.999, MINDE's EMA; started at zero and divided by
        ``1 - decay**step``, so the initial parameters carry no extra weight), or ``None``
        for the raw parameters.
      gaussian_baseline: add the exact noise prediction of the Gaussian fitted to the
        (mapped) training rows to the network's output (default ``True``): a Gaussian law
        is then read exactly before training, and the network learns the departure from it.
      mesh: a ``jax.sharding.Mesh``: each training batch is split over its first axis and
        the gradients averaged (``batch_size`` a multiple of the devices on it).
      seed: an int >= 0; seeds the split, the network, the batches and the draws.
      progress: show a progress bar on stderr (default: when stderr is a terminal).
      base: logarithm base of the result (``None``: nats)."""


def minde_mutual_information(  # noqa: D417 (the training options: _TRAINING_ARGS)
    x,
    y,
    *,
    variant: MindeVariant = "conditional",
    marginals: MarginalTransform | None = "asinh",
    network: ScoreNetwork | None = None,
    batch_size: int = 256,
    max_steps: int = 20_000,
    learning_rate: float | optax.Schedule = 1e-3,
    optimizer: optax.GradientTransformation | None = None,
    held_out: float = 0.3,
    evaluate_every: int = 500,
    patience: int = 8,
    mc_samples: int = 10,
    weight_averaging: float | None = 0.999,
    gaussian_baseline: bool = True,
    mesh: Mesh | None = None,
    seed: int = 0,
    progress: bool | None = None,
    base: float | None = None,
) -> ScoreEstimate:
    """Estimate ``I(X; Y)`` with MINDE: train one score network, read out Girsanov's KL.

    ``variant="conditional"`` (MINDE-C) reads ``E_x KL(p(y | x) ‖ p(y))`` from the scores of
    ``y`` with ``x`` given and with ``x`` marginalised; ``"joint"`` (MINDE-J) reads
    ``KL(p(x, y) ‖ p(x) p(y))`` from the joint score and each marginal score. Both are sums
    of squared score differences, so the estimate is >= 0. Each column is first mapped by
    ``marginals`` (fitted on the training rows; a monotone map per column leaves the MI
    unchanged), which keeps heavy tails out of the diffusion. docs/score_based.md says when
    to prefer it to the critic bounds and KSG.

    Args:
      x: samples ``[n, dx]`` (or ``[n]``), rows paired with ``y``.
      y: samples ``[n, dy]`` (or ``[n]``).
      variant: ``"conditional"`` (default) or ``"joint"``.
      marginals: the per-column map: ``"asinh"`` (default: ``3 asinh(z / 3)`` of the robust
        z-score, linear within 3 robust deviations and logarithmic beyond, the critic
        trainer's default), ``"normal_scores"`` (the normal quantile of the rank),
        ``"standardize"`` or ``None``. On the heavy-tailed suite tasks the asinh map read
        0.076 / 0.179 / 0.223 for true 0.083 / 0.193 / 0.224 where normal scores read
        0.051 / 0.140 / 0.190: the rank map squeezes the tails that carry the dependence.
      {training}

    Returns:
      A :class:`ScoreEstimate`.

    Raises:
      TypeError: non-float ``x``/``y``, an option of the wrong type, a ``network`` that is
        not a :class:`ScoreNetwork`.
      ValueError: shapes, unpaired rows, NaN or inf, an option out of range (each named).

    Example:
      >>> import jax
      >>> from jaxinfo import testing
      >>> from jaxinfo.nn import minde_mutual_information
      >>> task = testing.correlated_gaussians(1, 1, correlation=0.8)  # I = 0.5108 nats
      >>> x, y = task.sample(jax.random.key(0), 2000)
      >>> result = minde_mutual_information(x, y, max_steps=500)
      >>> print(abs(result.value - task.mutual_information) < 0.1)
      True
    """
    start = time.perf_counter()
    variant = validation.check_choice(variant, "variant", MINDE_VARIANTS)
    columns = estimation.as_float_columns((x, y), ("x", "y"))
    marginals = estimation._marginal_choice(marginals)
    options = _check_options(**_training_arguments(locals()))
    train, held, sizes, network = _prepared(columns, marginals, network, options)

    readout = functools.partial(score_objectives.mutual_information_terms, variant=variant)
    trained = _train(train, held, sizes, variant, readout, network, options)
    return _estimate(f"minde_{variant}", trained, trained.per_row[:, 0], base, start)


def minde_entropy(  # noqa: D417 (the training options: _TRAINING_ARGS)
    x,
    *,
    marginals: MarginalTransform | None = "asinh",
    network: ScoreNetwork | None = None,
    batch_size: int = 256,
    max_steps: int = 20_000,
    learning_rate: float | optax.Schedule = 1e-3,
    optimizer: optax.GradientTransformation | None = None,
    held_out: float = 0.3,
    evaluate_every: int = 500,
    patience: int = 8,
    mc_samples: int = 10,
    weight_averaging: float | None = 0.999,
    gaussian_baseline: bool = True,
    mesh: Mesh | None = None,
    seed: int = 0,
    progress: bool | None = None,
    base: float | None = None,
) -> ScoreEstimate:
    """Estimate the differential entropy ``H(X)`` with MINDE (nats unless ``base``).

    ``H(p) = E_p[-log N(x; 0, I)] - KL(p ‖ N(0, I))``; the KL is Girsanov's integral of the
    squared difference between the learned score and the standard normal's (``-x_t`` at
    every time of the VP-SDE). Each column is first mapped by ``marginals`` (fitted on the
    training rows), and the entropy of the mapped rows is corrected by the change of
    variables, ``H(X) = H(T(X)) - E Σ_j log T_j'(x_j)``, the mean taken row by row on the
    held-out rows (so it enters the standard error).

    Args:
      x: samples ``[n, d]`` (or ``[n]``) of a continuous law; a constant column raises (its
        entropy is ``-inf``).
      marginals: the per-column map: ``"asinh"`` (default; its derivative is closed-form),
        ``"standardize"`` or ``None``; ``"normal_scores"`` raises (a rank map has no
        derivative). On 3-dof Student-t the standardised rows' heavy tails read 0.11-1.3
        nats high with standard errors up to 0.8; the asinh map reads within 0.05
        (docs/score_based.md).
      {training}

    Returns:
      A :class:`ScoreEstimate`.

    Raises:
      TypeError: non-float ``x``, an option of the wrong type.
      ValueError: shapes, NaN or inf, a constant column, an option out of range (named).

    Example:
      >>> import numpy as np
      >>> from jaxinfo.nn import minde_entropy
      >>> x = np.random.default_rng(0).normal(size=(2000, 2))  # H = log(2 pi e) = 2.8379
      >>> result = minde_entropy(x, max_steps=500)  # doctest: +SKIP
      >>> print(abs(result.value - np.log(2 * np.pi * np.e)) < 0.1)  # doctest: +SKIP
      True
    """
    start = time.perf_counter()
    (column,) = estimation.as_float_columns((x,), ("x",))
    options = _check_options(**_training_arguments(locals()))
    marginals = estimation._marginal_choice(marginals)
    if marginals == "normal_scores":
        raise ValueError(
            '`marginals="normal_scores"` has no derivative for the change of variables an '
            'entropy needs; use "asinh" (default), "standardize" or None.'
        )
    train_rows, held_rows = estimation._split(column.shape[0], options.held_out, options.seed)
    spread = column[train_rows].astype(np.float64).std(axis=0)
    if np.any(spread == 0):
        raise ValueError(
            f"`x` has a constant column (index {int(np.argmax(spread == 0))} on the training "
            "rows): its differential entropy is -inf. Drop it first."
        )
    log_derivative = marginal_transforms.fit_log_derivative(column[train_rows], marginals)
    log_jacobian = np.sum(log_derivative(column[held_rows].astype(np.float64)), axis=1)
    train, held, sizes, network = _prepared([column], marginals, network, options)

    trained = _train(
        train, held, sizes, "entropy", score_objectives.entropy_terms, network, options
    )
    values = trained.per_row[:, 0] - log_jacobian
    return _estimate("minde_entropy", trained, values, base, start)


def soi_o_information(  # noqa: D417 (the training options: _TRAINING_ARGS)
    *xs,
    marginals: MarginalTransform | None = "asinh",
    network: ScoreNetwork | None = None,
    batch_size: int = 256,
    max_steps: int = 20_000,
    learning_rate: float | optax.Schedule = 1e-3,
    optimizer: optax.GradientTransformation | None = None,
    held_out: float = 0.3,
    evaluate_every: int = 500,
    patience: int = 8,
    mc_samples: int = 10,
    weight_averaging: float | None = 0.999,
    gaussian_baseline: bool = True,
    mesh: Mesh | None = None,
    seed: int = 0,
    progress: bool | None = None,
    base: float | None = None,
) -> ScoreEstimate:
    """Estimate the O-information ``Ω(X_1; ...; X_V)`` with SΩI: one score network for all.

    ``TC = KL(p ‖ ∏ p_i)`` comes from the joint score against each variable's score alone,
    and the same for each leave-one-out set ``X_-j``; then ``Ω = (2 - V) TC + Σ_j TC(X_-j)``
    (Rosas et al. 2019), ``DTC = TC - Ω`` and ``S = TC + DTC`` (positive ``Ω``: redundancy
    dominates; negative: synergy). Every term is a KL between two laws diffused by the same
    SDE; SΩI's own dual-total-correlation read-out is not (docs/score_based.md).
    All four are in ``.parts``/``.value``. Pass each variable as one argument
    (``soi_o_information(x1, x2, x3)``, each ``[n]`` or ``[n, d_i]``; at least 3).

    Args:
      xs: the variables, rows paired.
      marginals: the per-column map (as in :func:`minde_mutual_information`; every measure
        here is unchanged by a monotone map of each column).
      {training}

    Returns:
      A :class:`ScoreEstimate` whose ``parts`` hold ``total_correlation``,
      ``dual_total_correlation`` and ``s_information``.

    Raises:
      TypeError: non-float variables, an option of the wrong type.
      ValueError: fewer than 3 variables, shapes, unpaired rows, NaN or inf, an option out
        of range (each named).

    Example:
      >>> import numpy as np
      >>> from jaxinfo.nn import soi_o_information
      >>> rng = np.random.default_rng(0)
      >>> z = rng.normal(size=2000)  # three noisy copies of z: redundancy, Omega > 0
      >>> xs = [z + 0.5 * rng.normal(size=2000) for _ in range(3)]
      >>> result = soi_o_information(*xs, max_steps=500)  # doctest: +SKIP
      >>> print(result.value > 0, sorted(result.parts))  # doctest: +SKIP
      True ['dual_total_correlation', 's_information', 'total_correlation']
    """
    start = time.perf_counter()
    if len(xs) < 3:
        raise ValueError(
            f"O-information needs at least 3 variables passed as separate arguments; got "
            f"{len(xs)}. Split the columns: `soi_o_information(*x.T)`."
        )
    names = tuple(f"xs[{i}]" for i in range(len(xs)))
    columns = estimation.as_float_columns(xs, names)
    marginals = estimation._marginal_choice(marginals)
    options = _check_options(**_training_arguments(locals()))
    train, held, sizes, network = _prepared(columns, marginals, network, options)

    readout = score_objectives.o_information_terms
    trained = _train(train, held, sizes, "o_information", readout, network, options)
    tc, leave_one_out = trained.per_row[:, 0], trained.per_row[:, 1]
    omega = (2.0 - len(sizes)) * tc + leave_one_out
    parts = {
        "total_correlation": float(np.mean(tc)),
        "dual_total_correlation": float(np.mean(tc - omega)),
        "s_information": float(np.mean(2.0 * tc - omega)),
    }
    return _estimate("soi", trained, omega, base, start, parts)


for _function in (minde_mutual_information, minde_entropy, soi_o_information):
    _function.__doc__ = (_function.__doc__ or "").replace("{training}", _TRAINING_ARGS)
