"""Variational MI bounds: NumPy transcriptions, the analytic optimal critic, MINE and JS.

Registry entries (tests/registry.py) add jit, vmap, gradients, masking and sharding.
"""

from __future__ import annotations

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

import jaxinfo

RHO = 0.8
TRUE_MI = -0.5 * math.log(1.0 - RHO**2)  # 0.5108 nats


def _optimal_scores(n: int, seed: int = 0) -> np.ndarray:
    """``log p(y_j | x_i) - log p(y_j)`` for unit Gaussians with correlation RHO."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = RHO * x + math.sqrt(1.0 - RHO**2) * rng.normal(size=n)
    quadratic = RHO**2 * x[:, None] ** 2 - 2.0 * RHO * x[:, None] * y[None, :]
    quadratic = quadratic + RHO**2 * y[None, :] ** 2
    return TRUE_MI - quadratic / (2.0 * (1.0 - RHO**2))


def _log_mean_exp(a: np.ndarray) -> float:
    return float(np.asarray(logsumexp(a)) - math.log(a.size))


def _numpy_bounds(s: np.ndarray) -> dict[str, float]:
    """Transcriptions of the formulas (Poole et al. 2019; Song & Ermon 2020)."""
    n = s.shape[0]
    off = ~np.eye(n, dtype=bool)
    diag = np.mean(np.diag(s))
    return {
        "infonce": math.log(n) + float(np.mean(np.diag(s) - logsumexp(s, axis=1))),
        "nwj": diag - math.exp(_log_mean_exp(s[off]) - 1.0),
        "dv": diag - _log_mean_exp(s[off]),
        "smile": diag - _log_mean_exp(np.clip(s, -5.0, 5.0)[off]),
    }


BOUNDS = {
    "infonce": jaxinfo.infonce_lower_bound,
    "nwj": jaxinfo.nwj_lower_bound,
    "dv": jaxinfo.donsker_varadhan_estimate,
    "smile": lambda s, **kw: jaxinfo.smile_estimate(s, clip=5.0, **kw),
}


@pytest.mark.parametrize("name", BOUNDS)
def test_bounds_equal_numpy_transcription(name, x64):
    s = _optimal_scores(300, seed=1) * 3.0  # off the optimum too
    np.testing.assert_allclose(BOUNDS[name](jnp.asarray(s)), _numpy_bounds(s)[name], rtol=1e-12)


def test_optimal_critic_bounds_are_within_005_of_the_truth(x64):
    s = jnp.asarray(_optimal_scores(2000))
    values = {
        "dv": jaxinfo.donsker_varadhan_estimate(s),
        "nwj": jaxinfo.nwj_lower_bound(s + 1.0),  # the NWJ optimum is 1 + log ratio
        "infonce": jaxinfo.infonce_lower_bound(s),
        "smile": jaxinfo.smile_estimate(s, clip=5.0),
        "js": jaxinfo.jensen_shannon_objective(s),  # reads out NWJ(s + 1)
        "mine": jaxinfo.mine_estimate(s, jaxinfo.mine_initial_state(jnp.float64))[0],
    }
    for name, value in values.items():
        assert abs(float(value) - TRUE_MI) < 0.05, (name, float(value))


def test_infonce_never_exceeds_log_n():
    n = 64
    scores = 50.0 * jnp.eye(n)  # an MI far above log n
    value = jaxinfo.infonce_lower_bound(scores)
    assert value <= math.log(n) + 1e-6
    np.testing.assert_allclose(value, math.log(n), rtol=1e-6)


def test_extreme_scores_stay_finite_and_nan_gives_nan():
    n = 8
    scores = jnp.where(jnp.eye(n, dtype=bool), 1e4, -1e4)
    for name, fn in BOUNDS.items():
        value, grad = jax.value_and_grad(lambda s, f=fn: f(s))(scores)
        assert np.isfinite(value) and np.all(np.isfinite(grad)), name
        assert np.isnan(fn(scores.at[2, 5].set(jnp.nan))), name
        assert np.isnan(fn(scores.at[3, 3].set(jnp.nan))), name
    assert np.isnan(jaxinfo.jensen_shannon_objective(scores.at[1, 0].set(jnp.nan)))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="square"):
        jaxinfo.infonce_lower_bound(jnp.zeros((3, 4)))
    with pytest.raises(ValueError, match="score matrix"):
        jaxinfo.nwj_lower_bound(jnp.zeros(4))
    with pytest.raises(ValueError, match="at least 2"):
        jaxinfo.donsker_varadhan_estimate(jnp.zeros((1, 1)))
    for clip in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="`clip`"):
            jaxinfo.smile_estimate(jnp.eye(3), clip=clip)
    assert np.isnan(jax.jit(lambda c: jaxinfo.smile_estimate(jnp.eye(3), clip=c))(-1.0))
    state = jaxinfo.mine_initial_state()
    for decay in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="`decay`"):
            jaxinfo.mine_estimate(jnp.eye(3), state, decay=decay)
    with pytest.raises(TypeError, match="MineState"):
        jaxinfo.mine_estimate(jnp.eye(3), cast(Any, (0.0, 0)))  # not a MineState on purpose


def test_smile_with_infinite_clip_is_dv():
    s = jnp.asarray(_optimal_scores(50)) * 4.0
    np.testing.assert_allclose(
        jaxinfo.smile_estimate(s, clip=math.inf), jaxinfo.donsker_varadhan_estimate(s)
    )


def test_mine_moving_average_and_corrected_gradient(x64):
    decay = 0.9
    s1, s2 = (jnp.asarray(_optimal_scores(40, seed)) for seed in (1, 2))
    off = ~np.eye(40, dtype=bool)
    value, state = jaxinfo.mine_estimate(s1, jaxinfo.mine_initial_state(jnp.float64))
    np.testing.assert_allclose(value, jaxinfo.donsker_varadhan_estimate(s1), rtol=1e-12)
    m1 = math.exp(_log_mean_exp(np.asarray(s1)[off]))  # the first batch initialises m
    np.testing.assert_allclose(math.exp(state.log_average), m1, rtol=1e-12)
    value, state2 = jaxinfo.mine_estimate(s2, state, decay=decay)
    m2 = decay * m1 + (1.0 - decay) * math.exp(_log_mean_exp(np.asarray(s2)[off]))
    np.testing.assert_allclose(math.exp(state2.log_average), m2, rtol=1e-12)
    assert int(state2.steps) == 2

    def surrogate(s):  # MINE, Sec. 3.2: the partition term divided by the moving average
        mask = jnp.asarray(off)
        negatives = jnp.sum(jnp.where(mask, jnp.exp(s), 0.0)) / (40 * 39)
        return jnp.mean(jnp.diag(s)) - negatives / m2

    grad = jax.grad(lambda s: jaxinfo.mine_estimate(s, state, decay=decay)[0])(s2)
    np.testing.assert_allclose(grad, jax.grad(surrogate)(s2), rtol=1e-10, atol=1e-14)


def test_jensen_shannon_value_is_nwj_of_shifted_scores_and_gradient_is_js(x64):
    s = jnp.asarray(_optimal_scores(30)) * 0.5
    np.testing.assert_allclose(
        jaxinfo.jensen_shannon_objective(s), jaxinfo.nwj_lower_bound(s + 1.0), rtol=1e-12
    )
    off = jnp.asarray(~np.eye(30, dtype=bool))

    def objective(s):
        positive = jnp.mean(-jax.nn.softplus(-jnp.diag(s)))
        return positive - jnp.sum(jnp.where(off, jax.nn.softplus(s), 0.0)) / (30 * 29)

    np.testing.assert_allclose(
        jax.grad(jaxinfo.jensen_shannon_objective)(s), jax.grad(objective)(s), rtol=1e-10
    )


def test_masked_pairs_equal_sliced_scores(x64):
    s = jnp.asarray(_optimal_scores(12))
    mask = jnp.arange(12) % 4 != 1
    kept = np.flatnonzero(np.asarray(mask))
    sliced = s[kept][:, kept]
    garbage = jnp.where(mask[:, None] & mask[None, :], s, jnp.nan)
    for name, fn in BOUNDS.items():
        np.testing.assert_allclose(fn(garbage, where=mask), fn(sliced), rtol=1e-12, err_msg=name)
    value, _ = jaxinfo.mine_estimate(garbage, jaxinfo.mine_initial_state(), where=mask)
    np.testing.assert_allclose(value, jaxinfo.donsker_varadhan_estimate(sliced), rtol=1e-12)


def _numpy_temporal(z: np.ndarray, window: int, tau: float) -> float:
    """SupCon over time, transcribed with loops (cosine similarity)."""
    b, t, _ = z.shape
    flat = z.reshape(b * t, -1)
    flat = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    s = flat @ flat.T / tau
    losses = []
    for i in range(b * t):
        others = [a for a in range(b * t) if a != i]
        log_partition = logsumexp(s[i, others])
        positives = [p for p in others if p // t == i // t and 0 < abs(p % t - i % t) <= window]
        losses.append(-np.mean([s[i, p] - log_partition for p in positives]))
    return float(np.mean(losses))


def test_temporal_infonce_equals_numpy_and_masks_whole_trajectories(x64):
    z = np.random.default_rng(3).normal(size=(3, 6, 4))
    for window in (1, 2):
        np.testing.assert_allclose(
            jaxinfo.temporal_infonce_cross_entropy(jnp.asarray(z), window=window, temperature=0.3),
            _numpy_temporal(z, window, 0.3),
            rtol=1e-12,
        )
    where = jnp.asarray(np.arange(3)[:, None] != 1).repeat(6, axis=1)
    garbage = jnp.asarray(z).at[1].set(jnp.nan)
    np.testing.assert_allclose(
        jaxinfo.temporal_infonce_cross_entropy(garbage, window=2, temperature=0.3, where=where),
        _numpy_temporal(z[[0, 2]], 2, 0.3),
        rtol=1e-12,
    )


def test_temporal_infonce_bad_input_and_degenerate_gradients():
    z = jax.random.normal(jax.random.key(0), (2, 5, 3))
    assert np.isnan(jaxinfo.temporal_infonce_cross_entropy(z.at[0, 1, 0].set(jnp.nan)))
    value, grad = jax.value_and_grad(jaxinfo.temporal_infonce_cross_entropy)(jnp.ones((2, 5, 3)))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert np.isnan(
        jax.jit(lambda t: jaxinfo.temporal_infonce_cross_entropy(z, temperature=t))(-1.0)
    )
    with pytest.raises(ValueError, match=r"\[B, T, d\]"):
        jaxinfo.temporal_infonce_cross_entropy(z[0])
    with pytest.raises(ValueError, match="`similarity`"):
        jaxinfo.temporal_infonce_cross_entropy(z, similarity=cast(Any, "l2"))
    with pytest.raises(ValueError, match="`temperature`"):
        jaxinfo.temporal_infonce_cross_entropy(z, temperature=0.0)


def test_smile_value_is_clipped_dv_and_its_gradient_is_the_js_objective(x64):
    """Song & Ermon's recipe: SMILE's own gradient diverges once negatives saturate."""
    s = jnp.asarray(_optimal_scores(40, seed=3))
    np.testing.assert_allclose(
        jaxinfo.smile_estimate(s, clip=1.0), _numpy_bounds_clipped(np.asarray(s), 1.0)
    )
    np.testing.assert_allclose(
        jax.grad(lambda a: jaxinfo.smile_estimate(a, clip=1.0))(s),
        jax.grad(jaxinfo.jensen_shannon_objective)(s),
        rtol=1e-12,
    )
    # Scores far above the clip everywhere: the value is huge, the gradient stays bounded.
    big = s + 50.0
    grad = jax.grad(lambda a: jaxinfo.smile_estimate(a, clip=5.0))(big)
    assert float(jaxinfo.smile_estimate(big, clip=5.0)) > 40.0
    assert float(jnp.max(jnp.abs(grad))) <= 1.0 / 40.0 + 1e-12


def _numpy_bounds_clipped(s: np.ndarray, clip: float) -> float:
    off = ~np.eye(s.shape[0], dtype=bool)
    return float(np.mean(np.diag(s)) - _log_mean_exp(np.clip(s, -clip, clip)[off]))
