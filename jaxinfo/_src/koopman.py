"""The Koopman information Lagrangian (Cheng et al. 2025) and the latent effective dimension.

A Koopman autoencoder encodes states ``x_t`` to latents ``z_t`` whose dynamics are linear,
``z_{t+1} ~ K z_t``. The Lagrangian adds two information terms to its prediction losses:
the information between temporally neighbouring latents (temporal InfoNCE, or the
linear-Gaussian closed form of the paper's eq. 7) and the von Neumann entropy of the
trace-normalised latent covariance, whose exponential is the effective dimension. The
entropy term keeps the latent spectrum from collapsing onto a few modes.

Conventions: trajectories are windows ``[B, T, ...]``; ``K`` acts on column vectors
(``z_{t+1} = K z_t``, i.e. ``z @ K.T`` on rows); squared errors are per-step means over
features summed over a window's steps and averaged over windows, the scale the released
code's weights (alpha = 2, gamma = 0.1) were tuned for.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import (
    collectives,
    deprecation,
    guards,
    moments,
    numerics,
    programs,
    spectral,
    validation,
)
from jaxinfo._src.options import (
    SIMILARITIES,
    TEMPORAL_INFORMATION,
    Similarity,
    TemporalAnchors,
    TemporalInformation,
    TemporalNegatives,
    TemporalPositives,
)
from jaxinfo._src.variational import require_temporal_pairs, temporal_infonce_terms


def _spread(z: jax.Array, weights: jax.Array, axis_name: str | None):
    """Global count, centred scatter ``[d, d]`` and whether the rows have collapsed.

    Collapsed: the centred spread is round-off of the rows' magnitude (all rows equal, up
    to the rounding of their mean). Every function of the covariance's shape is then
    undefined (``0 / 0``); callers substitute the limit of a point mass.
    """
    count, scatter = moments.second_moment(z, weights, axis_name, centre=True)
    magnitude = collectives.psum(jnp.sum(weights[:, None] * z * z), axis_name)
    eps = jnp.finfo(z.dtype).eps
    floor = (numerics.ROUNDOFF_FLOOR * eps) ** 2 * magnitude + jnp.finfo(z.dtype).tiny
    collapsed = jax.lax.stop_gradient(spectral.trace(scatter) <= floor)
    return count, scatter, collapsed


def _covariance_entropy(scatter: jax.Array, collapsed: jax.Array) -> jax.Array:
    """``S(C / tr C)`` in nats, 0 (a point mass) for collapsed rows, finite gradient."""
    eye = jnp.eye(scatter.shape[-1], dtype=scatter.dtype)
    entropy = spectral.entropy_from_psd(jnp.where(collapsed, eye, scatter), 1.0)
    return jnp.where(collapsed, 0.0, entropy)


def _require_features(array: jax.Array, name: str, width: str) -> None:
    """An empty feature axis has no covariance (and ``reshape(-1, 0)`` has no answer)."""
    if array.shape[-1] < 1:
        raise ValueError(
            f"`{name}` must have at least one feature ({width} >= 1) on the last axis; got "
            f"shape {tuple(array.shape)}."
        )


def _latent_rows(latents: ArrayLike, where: ArrayLike | None, axis_name: str | None):
    """Latents ``[..., d]`` as validated rows ``[n, d]`` (zeroed where masked) and the mask."""
    z = validation.as_float_array(latents, "latents")
    if z.ndim < 2:
        raise ValueError(
            f"`latents` must have shape [..., d] with samples on the leading axes; got "
            f"{tuple(z.shape)}."
        )
    _require_features(z, "latents", "d")
    if where is not None:
        mask = validation.as_boolean(where, "where", "valid samples")
        if mask.shape != z.shape[:-1]:
            raise ValueError(
                f"`where` must have the latents' leading shape {tuple(z.shape[:-1])}; "
                f"got {tuple(mask.shape)}."
            )
        where = mask.reshape(-1)
    (rows,), mask = validation.paired_samples(
        (z.reshape(-1, z.shape[-1]),), ("latents",), where, axis_name
    )
    return rows, mask


@programs.one_program
def effective_dimension(
    latents: ArrayLike,
    *,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    r"""Effective dimension ``exp S(C / tr C)`` of the rows' covariance (Roy & Vetterli 2007).

    ``S`` is the von Neumann entropy of the centred latent covariance used as a density
    matrix, the anti-collapse term of :func:`koopman_information_lagrangian`; it equals
    :func:`jaxinfo.von_neumann_entropy` with a linear kernel on centred rows. It runs from
    1 (every row on one line, or all rows equal) to ``d`` (an isotropic cloud).

    Args:
      latents: ``[..., d]``; every leading index is one sample (``[B, T, d]`` windows or
        ``[n, d]`` rows).
      where: boolean of the leading shape marking valid samples.
      axis_name: mesh axis of the leading axis inside ``shard_map`` (global value).

    Returns:
      Scalar in ``[1, d]``; NaN for non-finite valid rows or fewer than two.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (4096, 3)) * jnp.array([1.0, 1.0, 0.0])
      >>> print(f"{jaxinfo.effective_dimension(z):.2f}")
      2.00
    """
    rows, mask = _latent_rows(latents, where, axis_name)
    weights = jnp.ones(rows.shape[0], rows.dtype) if mask is None else mask.astype(rows.dtype)
    _, scatter, collapsed = _spread(rows, weights, axis_name)
    holds = guards.rows_hold_answer((rows,), mask, axis_name)
    return guards.answer(holds, jnp.exp(_covariance_entropy(scatter, collapsed)))


def _power(matrix: jax.Array, exponent: int) -> jax.Array:
    return jnp.linalg.matrix_power(matrix, exponent) if exponent > 1 else matrix


def _log_det(spd: jax.Array) -> jax.Array:
    """``log det`` of symmetric positive-definite ``[..., d, d]`` through the Cholesky factor."""
    factor = jnp.linalg.cholesky(spectral.symmetrize(spd))
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(factor, axis1=-2, axis2=-1)), axis=-1)


def _gaussian_information(operator, covariance, noise, lag: int) -> jax.Array:
    """Eq. 7: ``1/2 log det(M_n + K^n C K^nT) - 1/2 log det M_n``, ``M_n = sum K^i S K^iT``.

    Batched over leading axes (which broadcast): only the last two axes are transposed.
    """
    propagated = noise
    accumulated = noise
    for _ in range(lag - 1):
        propagated = operator @ propagated @ operator.mT
        accumulated = accumulated + propagated
    step = _power(operator, lag)
    signal = step @ covariance @ step.mT
    return 0.5 * (_log_det(accumulated + signal) - _log_det(accumulated))


def _is_covariance(matrix: jax.Array, definite: bool) -> jax.Array:
    """Per matrix: symmetric part PSD up to round-off (``definite``: every eigenvalue > 0).

    Non-finite matrices count as valid: their NaN answer is the non-finite-input rule's.
    """
    values = jnp.linalg.eigvalsh(spectral.symmetrize(jax.lax.stop_gradient(matrix)))
    top = jnp.max(jnp.abs(values), axis=-1)
    floor = 0.0 if definite else -jnp.sqrt(jnp.finfo(values.dtype).eps) * top
    valid = (values[..., 0] > floor) if definite else (values[..., 0] >= floor)
    return valid | ~jnp.all(jnp.isfinite(matrix), axis=(-2, -1))


def _check_covariance(matrix: jax.Array, name: str, definite: bool) -> jax.Array:
    """Which matrices of a batch are (semi-)definite; concrete violations raise, naming ``name``."""
    valid = _is_covariance(matrix, definite)
    concrete = validation.concrete_value(valid)
    if concrete is not None and not np.all(concrete):
        rule = (
            "positive definite (every eigenvalue > 0)"
            if definite
            else "positive semi-definite (no eigenvalue below -sqrt(eps) * max |eigenvalue|)"
        )
        raise ValueError(
            f"`{name}` must be symmetric {rule}; {np.size(concrete) - np.sum(concrete)} of "
            f"{np.size(concrete)} matrices are not. Pass a covariance matrix"
            f"{' (add a small ridge to a singular one)' if definite else ''}; under jit the "
            "value is NaN."
        )
    return valid


@programs.one_program
def gaussian_koopman_mutual_information(
    operator: ArrayLike,
    covariance: ArrayLike,
    noise_covariance: ArrayLike,
    *,
    lag: int = 1,
) -> jax.Array:
    r"""``I(z_{t-n}; z_t)`` of the linear-Gaussian latent model ``z_{t+1} = K z_t + eps``.

    The closed form of Cheng et al. (2025), eq. 7, with ``z_{t-n} ~ N(m, C)`` and
    ``eps ~ N(0, Sigma)``:

    .. math::
       I = \tfrac12 \log\det\big(I + M_n^{-1/2} K^n C K^{nT} M_n^{-1/2}\big),
       \qquad M_n = \sum_{i=0}^{n-1} K^i \Sigma K^{iT}.

    Every argument may carry leading batch axes ``[..., d, d]``; they broadcast against
    each other.

    Args:
      operator: ``K`` ``[..., d, d]`` acting on column vectors.
      covariance: ``C`` ``[..., d, d]``, symmetric PSD.
      noise_covariance: ``Sigma`` ``[..., d, d]``, symmetric positive definite.
      lag: ``n >= 1`` (static).

    Returns:
      Nats, of the broadcast batch shape (a scalar for unbatched matrices). A ``C`` that is
      not PSD or a ``Sigma`` that is not positive definite raises ``ValueError`` when the
      matrices are concrete and gives NaN under ``jit``; non-finite entries give NaN.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> k, c, s = 0.9 * jnp.eye(1), jnp.eye(1), 0.19 * jnp.eye(1)  # stationary AR(1)
      >>> print(f"{jaxinfo.gaussian_koopman_mutual_information(k, c, s):.4f}")  # -log(1-0.81)/2
      0.8304
    """
    k = validation.as_square_matrix(operator, "operator")
    c = validation.as_square_matrix(covariance, "covariance")
    s = validation.as_square_matrix(noise_covariance, "noise_covariance")
    shapes = f"got {tuple(k.shape)}, {tuple(c.shape)} and {tuple(s.shape)}"
    if not k.shape[-1] == c.shape[-1] == s.shape[-1]:
        raise ValueError(
            "`operator`, `covariance` and `noise_covariance` must all be [..., d, d] with one "
            f"d; {shapes}."
        )
    try:
        np.broadcast_shapes(k.shape[:-2], c.shape[:-2], s.shape[:-2])
    except ValueError:
        raise ValueError(
            "The batch axes of `operator`, `covariance` and `noise_covariance` (all but the "
            f"last two) must broadcast against each other; {shapes}."
        ) from None
    lag = validation.check_positive_int(lag, "lag")
    dtype = jnp.result_type(k, c, s)
    k, c, s = k.astype(dtype), c.astype(dtype), s.astype(dtype)
    valid = _check_covariance(c, "covariance", definite=False) & _check_covariance(
        s, "noise_covariance", definite=True
    )
    return jnp.where(valid, _gaussian_information(k, c, s, lag), jnp.nan)


class _Windows:
    """Validated windows: states ``[B, T, dx]``, latents ``[B, T, d]``, the step mask."""

    def __init__(self, states, latents, operator, where, window: int, rollout_steps: int):
        self.x = validation.as_float_array(states, "states")
        self.z = validation.as_float_array(latents, "latents")
        if self.x.ndim != 3 or self.z.ndim != 3 or self.x.shape[:2] != self.z.shape[:2]:
            raise ValueError(
                "`states` [B, T, dx] and `latents` [B, T, d] must be windows with one B and T; "
                f"got {tuple(self.x.shape)} and {tuple(self.z.shape)}."
            )
        num_windows, steps, latent = self.z.shape
        if num_windows < 1:
            raise ValueError(
                "`states` and `latents` need at least one window (B >= 1); got shapes "
                f"{tuple(self.x.shape)} and {tuple(self.z.shape)}."
            )
        _require_features(self.x, "states", "dx")
        _require_features(self.z, "latents", "d")
        if steps < 2 * window + 1:
            raise ValueError(
                f"Windows need at least 2 * window + 1 = {2 * window + 1} steps (an anchor with "
                f"`window` neighbours on each side); got T = {steps}. Use longer windows or a "
                "smaller `window`."
            )
        if rollout_steps > steps - 1:
            raise ValueError(
                f"`rollout_steps` must be at most T - 1 = {steps - 1}; got {rollout_steps}."
            )
        k = validation.as_float_array(operator, "operator")
        if k.shape != (latent, latent):
            raise ValueError(
                f"`operator` must be [d, d] = ({latent}, {latent}) for latents of width "
                f"{latent}; got {tuple(k.shape)}."
            )
        dtype = jnp.result_type(self.x, self.z, k)
        self.x, self.z, self.k = self.x.astype(dtype), self.z.astype(dtype), k.astype(dtype)
        if where is None:
            self.mask = None
            self.valid = jnp.ones((num_windows, steps), bool)
        else:
            self.mask = validation.as_boolean(where, "where", "valid steps")
            if self.mask.shape != (num_windows, steps):
                raise ValueError(
                    f"`where` must have shape [B, T] = ({num_windows}, {steps}); "
                    f"got {tuple(self.mask.shape)}."
                )
            self.valid = self.mask
            self.x = jnp.where(self.valid[..., None], self.x, 0.0)
            self.z = jnp.where(self.valid[..., None], self.z, 0.0)

    def pairs(self, lag: int) -> jax.Array:
        """Steps ``t`` whose ``t + lag`` is in the window and both are valid: ``[B, T - lag]``."""
        return self.valid[:, :-lag] & self.valid[:, lag:]


def ridge_operator(
    latents: jax.Array,
    *,
    ridge: float,
    where: jax.Array | None = None,
    axis_name: str | None = None,
) -> jax.Array:
    """Least-squares ``K`` with ``z_{t+1} ~ K z_t`` over every valid pair of the batch.

    ``K = (Z'^T Z / N) (Z^T Z / N + ridge I)^{-1}`` with ``Z`` the rows ``z_t`` and ``Z'``
    their successors, ``N`` the number of pairs: the ridge is relative to the per-pair
    second moment, so it means the same at any batch size. One pooled fit (the batch's
    least-squares solution), where the released code averages per-window fits.
    """
    z = validation.as_float_array(latents, "latents")
    valid = jnp.ones(z.shape[:2], bool) if where is None else jnp.asarray(where, bool)
    pairs = (valid[:, :-1] & valid[:, 1:]).reshape(-1).astype(z.dtype)
    now = z[:, :-1].reshape(-1, z.shape[-1]) * pairs[:, None]
    after = z[:, 1:].reshape(-1, z.shape[-1]) * pairs[:, None]
    count = jnp.maximum(collectives.psum(jnp.sum(pairs), axis_name), 1.0)
    gram = collectives.psum(jnp.matmul(now.T, now, precision=numerics.HIGHEST), axis_name)
    cross = collectives.psum(jnp.matmul(after.T, now, precision=numerics.HIGHEST), axis_name)
    regularised = gram / count + ridge * jnp.eye(z.shape[-1], dtype=z.dtype)
    # K A = B with A symmetric: solve A K^T = B^T. No valid pair: no fit (NaN, not K = 0).
    fit = jnp.linalg.solve(spectral.symmetrize(regularised), cross.T / count).T
    return jnp.where(collectives.psum(jnp.sum(pairs), axis_name) > 0, fit, jnp.nan)


def _step_errors(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """Per-step mean squared error over the feature axis."""
    return jnp.mean((prediction - target) ** 2, axis=-1)


@deprecation.renamed_keywords(mutual_information="method")
def koopman_information_lagrangian(
    states: ArrayLike,
    latents: ArrayLike,
    operator: ArrayLike,
    decode: Callable[[jax.Array], jax.Array],
    *,
    alpha: ArrayLike = 2.0,
    beta: ArrayLike = 0.0,
    gamma: ArrayLike = 0.1,
    window: int = 3,
    temperature: ArrayLike | None = None,
    similarity: Similarity | None = None,
    negatives: TemporalNegatives | None = None,
    positives: TemporalPositives | None = None,
    anchors: TemporalAnchors | None = None,
    method: TemporalInformation = "infonce",
    rollout_steps: int = 0,
    reconstruction_weight: ArrayLike = 1.0,
    prediction_weight: ArrayLike = 1.0,
    rollout_weight: ArrayLike = 1.0,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    r"""Koopman information Lagrangian (Cheng et al. 2025, Algorithm 2) on trajectory windows.

    .. math::
       L = w_r L_\text{rec} + w_p L_\text{pred} + w_h L_\text{rollout}
       + \beta \sum_t \|z_{t+1} - K z_t\|^2 - \alpha\, \hat I(z_t; z_{t \pm k})
       - \gamma\, S\big(C / \operatorname{tr} C\big)

    * ``L_rec``: ``x_t`` against ``decode(z_t)``; ``L_pred``: ``x_{t+1}`` against
      ``decode(K z_t)``; ``L_rollout``: the mean over ``h = 1..H`` of ``x_{t+h}`` against
      ``decode(K^h z_t)`` (``H = rollout_steps``, 0 switches it off). Each squared-error term
      is a per-step mean over features, summed over a window's steps, averaged over windows.
    * ``I_hat`` (nats): ``"infonce"``: ``log(N - 1) - L_NCE`` with
      :func:`jaxinfo.temporal_infonce_cross_entropy` (positives within ``window`` steps, the other
      ``N - 1`` steps of the batch as candidates; the paper's batch negatives, the released
      code's cosine similarity and temperature 0.1); ``negatives``, ``positives`` and
      ``anchors`` switch to the released code's windowed contrast, and ``log(N - 1)`` becomes
      the anchors' mean chance level (0 information when the latents carry none).
      ``"gaussian"``: eq. 7
      (:func:`gaussian_koopman_mutual_information`) averaged over lags ``1..window``, with
      ``C`` the latent covariance and ``Sigma`` the covariance of ``z_{t+1} - K z_t`` (plus
      a round-off ridge): cheap for low-dimensional latents, no negatives.
    * ``S``: von Neumann entropy of the centred latent covariance over all valid steps;
      ``exp S`` is :func:`effective_dimension`. The paper's sign (``-gamma S``, maximising
      entropy against collapse) is the default; the released code minimises ``S``, which is
      ``gamma < 0`` here.

    Defaults are the paper's Table 12 for physical simulation (``alpha = 2``,
    ``gamma = 0.1``, ``window = 3``, no latent-consistency term). Collapsed latents (all
    equal) give ``S = 0``, ``I_hat_gaussian = 0`` and finite gradients.

    Args:
      states: ``x`` windows ``[B, T, dx]``.
      latents: ``z = encode(x)`` ``[B, T, d]``.
      operator: ``K`` ``[d, d]`` (learned, or a detached fit of these latents).
      decode: maps latents ``[..., d]`` to states ``[..., dx]`` (e.g. a Flax decoder).
      alpha: weight of the temporal information (``>= 0``, may be traced).
      beta: weight of the latent consistency ``sum_t |z_{t+1} - K z_t|^2 / d`` (``>= 0``).
      gamma: weight of the latent entropy (any sign; may be traced).
      window: neighbourhood ``k`` of the information term (static int ``>= 1``); windows
        need ``T >= 2 k + 1``.
      temperature: InfoNCE temperature; default 0.1. Only with ``method="infonce"``
        (passing it with ``"gaussian"`` raises).
      similarity: ``"cosine"`` (default) or ``"dot"``; only with ``method="infonce"``.
      negatives: ``"batch"`` (default, the paper) or ``"trajectory"`` (the released code:
        candidates from the anchor's own window only); only with ``method="infonce"``.
      positives: ``"separate"`` (default) or ``"pooled"`` (the released code); only with
        ``method="infonce"``.
      anchors: ``"all"`` (default) or ``"interior"`` (the released code: steps with
        ``window`` neighbours on both sides); only with ``method="infonce"``.
      method: estimator of ``I_hat``, ``"infonce"`` or ``"gaussian"`` (formerly
        ``mutual_information=``, deprecated).
      rollout_steps: horizon ``H`` of the decoded rollout term (static, ``0..T - 1``).
      reconstruction_weight: ``w_r``.
      prediction_weight: ``w_p``.
      rollout_weight: ``w_h``.
      where: boolean ``[B, T]`` marking valid steps (padded windows). Pad with finite values:
        a NaN state reaches the gradient through your encoder before this mask can stop it.
        It must leave two valid steps of one window at most ``window`` apart (adjacent for
        ``"gaussian"``): a concrete mask that does not raises, under ``jit`` the value is NaN.
      axis_name: mesh axis of the windows inside ``shard_map``: covariances, InfoNCE
        candidates and every average are over the global batch.

    Returns:
      ``(loss, terms)`` with ``terms`` = ``reconstruction``, ``prediction``, ``rollout``,
      ``latent_consistency``, ``temporal_information`` (nats), ``entropy`` (nats) and
      ``effective_dimension``; NaN throughout for non-finite valid inputs.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> x = jax.random.normal(jax.random.key(0), (4, 9, 3))
      >>> z = jnp.concatenate([x, x ** 2], axis=-1)  # a toy encoder
      >>> decode = lambda v: v[..., :3]
      >>> loss, terms = jaxinfo.koopman_information_lagrangian(x, z, jnp.eye(6), decode)
      >>> print(f"{terms['reconstruction']:.1f} {terms['prediction']:.2f}")
      0.0 13.89

    References:
      X. Cheng, W. Yuan et al., "Information shapes Koopman representation", ICLR 2026
      (arXiv:2510.13025).
    """
    window = validation.check_positive_int(window, "window")
    if isinstance(rollout_steps, bool) or not isinstance(rollout_steps, int) or rollout_steps < 0:
        raise ValueError(f"`rollout_steps` must be a non-negative int; got {rollout_steps!r}.")
    validation.check_choice(method, "method", TEMPORAL_INFORMATION)
    if method != "infonce":
        validation.check_unused_options(
            "method",
            method,
            "infonce",
            temperature=temperature,
            similarity=similarity,
            negatives=negatives,
            positives=positives,
            anchors=anchors,
        )
    temperature = 0.1 if temperature is None else temperature
    similarity = validation.check_choice(
        "cosine" if similarity is None else similarity, "similarity", SIMILARITIES
    )
    if not callable(decode):
        raise TypeError(
            "`decode` must be a callable mapping latents [..., d] to states [..., dx] (e.g. "
            f"`model.decode`); got {type(decode).__name__} {decode!r}."
        )
    w = _Windows(states, latents, operator, where, window, rollout_steps)
    # The covariance needs two valid steps, InfoNCE an anchor with a positive (`window`
    # apart at most), the residual covariance of "gaussian" a valid step pair (lag 1).
    require_temporal_pairs(w.mask, window if method == "infonce" else 1, "latents", axis_name)
    weights = {
        "alpha": validation.check_number(alpha, "alpha", low=0.0),
        "beta": validation.check_number(beta, "beta", low=0.0),
        "gamma": validation.check_number(gamma, "gamma"),
        "reconstruction_weight": validation.check_number(
            reconstruction_weight, "reconstruction_weight", low=0.0
        ),
        "prediction_weight": validation.check_number(
            prediction_weight, "prediction_weight", low=0.0
        ),
        "rollout_weight": validation.check_number(rollout_weight, "rollout_weight", low=0.0),
    }

    def checked_decode(z: jax.Array, target: jax.Array) -> jax.Array:
        decoded = validation.as_array(decode(z), "decode(latents)")
        if decoded.shape != target.shape:
            raise ValueError(
                f"`decode` must map latents {tuple(z.shape)} to the states' shape "
                f"{tuple(target.shape)}; got {tuple(decoded.shape)}. Check that the decoder's "
                "input width is the encoder's output width and its output width is dx."
            )
        return decoded.astype(w.x.dtype)

    num_windows = collectives.psum(jnp.sum(jnp.any(w.valid, axis=1)).astype(w.x.dtype), axis_name)

    def window_sum(errors: jax.Array, valid: jax.Array) -> jax.Array:
        total = collectives.psum(jnp.sum(jnp.where(valid, errors, 0.0)), axis_name)
        return total / jnp.maximum(num_windows, 1.0)

    reconstruction = window_sum(_step_errors(checked_decode(w.z, w.x), w.x), w.valid)
    ahead = w.z @ w.k.T
    prediction = window_sum(
        _step_errors(checked_decode(ahead[:, :-1], w.x[:, 1:]), w.x[:, 1:]), w.pairs(1)
    )
    consistency = window_sum(_step_errors(ahead[:, :-1], w.z[:, 1:]), w.pairs(1))
    rollout = jnp.zeros((), w.x.dtype)
    if rollout_steps:
        propagated = w.z
        for lag in range(1, rollout_steps + 1):
            propagated = propagated[:, :-1] @ w.k.T
            target = w.x[:, lag:]
            decoded = checked_decode(propagated, target)
            rollout = rollout + window_sum(_step_errors(decoded, target), w.pairs(lag))
        rollout = rollout / rollout_steps

    rows = w.z.reshape(-1, w.z.shape[-1])
    row_weights = w.valid.reshape(-1).astype(rows.dtype)
    count, scatter, collapsed = _spread(rows, row_weights, axis_name)
    entropy = _covariance_entropy(scatter, collapsed)
    if method == "infonce":
        nce, chance = temporal_infonce_terms(
            w.z,
            window=window,
            temperature=temperature,
            similarity=similarity,
            negatives="batch" if negatives is None else negatives,
            positives="separate" if positives is None else positives,
            anchors="all" if anchors is None else anchors,
            where=w.mask,
            axis_name=axis_name,
        )
        information = chance - nce
    else:
        information = _latent_gaussian_information(w, scatter / count, collapsed, window, axis_name)

    holds = guards.rows_hold_answer(
        (rows, w.x.reshape(-1, w.x.shape[-1])),
        None if w.mask is None else w.valid.reshape(-1),
        axis_name,
    )
    terms = {
        "reconstruction": reconstruction,
        "prediction": prediction,
        "rollout": rollout,
        "latent_consistency": consistency,
        "temporal_information": information,
        "entropy": entropy,
    }
    terms = guards.answer(holds, terms)
    dtype = w.x.dtype
    loss = (
        weights["reconstruction_weight"] * terms["reconstruction"]
        + weights["prediction_weight"] * terms["prediction"]
        + weights["rollout_weight"] * terms["rollout"]
        + weights["beta"] * terms["latent_consistency"]
        - weights["alpha"] * terms["temporal_information"]
        - weights["gamma"] * terms["entropy"]
    ).astype(dtype)
    terms["effective_dimension"] = jnp.exp(terms["entropy"])
    return loss, terms


def _latent_gaussian_information(w: _Windows, covariance, collapsed, window: int, axis_name):
    """Eq. 7 averaged over lags ``1..window``; the residual covariance gets a round-off ridge."""
    residual = (w.z[:, 1:] - w.z[:, :-1] @ w.k.T).reshape(-1, w.z.shape[-1])
    pair_weights = w.pairs(1).reshape(-1).astype(residual.dtype)
    count, noise = moments.second_moment(residual, pair_weights, axis_name, centre=True)
    noise = noise / jnp.maximum(count, 1.0)
    eye = jnp.eye(covariance.shape[-1], dtype=covariance.dtype)
    ridge = numerics.ROUNDOFF_FLOOR * jnp.finfo(covariance.dtype).eps * spectral.trace(covariance)
    safe_covariance = jnp.where(collapsed, eye, covariance)
    safe_noise = jnp.where(collapsed, eye, noise + jax.lax.stop_gradient(ridge) * eye)
    values = [
        _gaussian_information(w.k, safe_covariance, safe_noise, n) for n in range(1, window + 1)
    ]
    return jnp.where(collapsed, 0.0, sum(values) / window)
