"""The released code's temporal InfoNCE options, and Prop. 4's linear-Gaussian optimum.

The windowed contrast of Cheng et al.'s released code (candidates from the anchor's own
window, pooled positives, interior anchors) is checked against loops written from its
formula; the optimal latent covariance of ``jaxinfo.testing`` against water-filling by hand,
against gradient ascent on the library's eq. 7, and in its dependence on ``alpha / gamma``.
"""

import itertools
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxinfo
from jaxinfo import testing
from jaxinfo._src.koopman import ridge_operator

# The released code's combination by default; each change alone and the other mixtures
# repeat its code paths (-m slow, CI time).
DEFAULT_OPTIONS = {("trajectory", "pooled", "interior")}
OPTIONS = [
    pytest.param(*combo, marks=() if combo in DEFAULT_OPTIONS else (pytest.mark.slow,))
    for combo in itertools.product(
        ("batch", "trajectory"), ("separate", "pooled"), ("all", "interior")
    )
]


def logsumexp(values) -> float:
    top = float(np.max(values))
    return top + float(np.log(np.sum(np.exp(np.asarray(values) - top))))


def _loop_infonce(z, window, tau, negatives, positives, anchors):
    """Loss and chance level with explicit loops over anchors (cosine similarity)."""
    b, t, _ = z.shape
    flat = z.reshape(b * t, -1)
    flat = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    s = flat @ flat.T / tau
    losses, chances = [], []
    for i in range(b * t):
        traj, step = divmod(i, t)
        if anchors == "interior" and not window <= step < t - window:
            continue
        pool = [j for j in range(b * t) if j != i]
        if negatives == "trajectory":
            pool = [j for j in pool if j // t == traj]
        near = [j for j in pool if j // t == traj and abs(j % t - step) <= window]
        if positives == "separate":
            partition = logsumexp(s[i, pool])
            losses.append(-np.mean([s[i, j] - partition for j in near]))
            chances.append(np.log(len(pool)))
        else:
            losses.append(logsumexp(s[i, pool]) - logsumexp(s[i, near]))
            chances.append(np.log(len(pool) / len(near)))
    return float(np.mean(losses)), float(np.mean(chances))


@pytest.mark.parametrize(("negatives", "positives", "anchors"), OPTIONS)
def test_windowed_contrast_equals_loops(x64, negatives, positives, anchors):
    z = np.random.default_rng(0).normal(size=(3, 8, 4))
    options = {"negatives": negatives, "positives": positives, "anchors": anchors}
    expected, chance = _loop_infonce(z, 2, 0.3, **options)
    value = jaxinfo.temporal_infonce_cross_entropy(
        jnp.asarray(z), window=2, temperature=0.3, **options
    )
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    # The Lagrangian's information is the chance level minus that loss.
    x = jnp.asarray(z[..., :3])
    _, terms = jaxinfo.koopman_information_lagrangian(
        x, jnp.asarray(z), jnp.eye(4), lambda v: v[..., :3], window=2, temperature=0.3, **options
    )
    np.testing.assert_allclose(terms["temporal_information"], chance - expected, rtol=1e-12)


@pytest.mark.parametrize(("negatives", "positives", "anchors"), OPTIONS)
def test_uninformative_latents_read_zero_information(x64, negatives, positives, anchors):
    """Equal logits everywhere: every option's estimate is exactly its chance level, 0."""
    x = jax.random.normal(jax.random.key(0), (3, 9, 2), jnp.float64)
    z = jnp.ones((3, 9, 4), jnp.float64)
    where = jnp.ones((3, 9), bool).at[1, 4].set(False)  # uneven candidate and positive counts
    _, terms = jaxinfo.koopman_information_lagrangian(
        x,
        z,
        jnp.eye(4),
        lambda v: v[..., :2],
        negatives=negatives,
        positives=positives,
        anchors=anchors,
        where=where,
    )
    np.testing.assert_allclose(terms["temporal_information"], 0.0, atol=1e-12)


def test_trajectory_negatives_ignore_other_trajectories(x64):
    """Candidates from the anchor's own window: other windows cannot change the loss."""
    z = jax.random.normal(jax.random.key(1), (2, 8, 3), jnp.float64)
    other = z.at[1].set(jax.random.normal(jax.random.key(2), (8, 3), jnp.float64))
    loss = jaxinfo.temporal_infonce_cross_entropy
    options = {"window": 2, "negatives": "trajectory"}
    np.testing.assert_allclose(
        loss(z[:1], **options), loss(jnp.stack([z[0], z[0]]), **options), rtol=1e-12
    )
    assert abs(float(loss(z, **options)) - float(loss(other, **options))) > 1e-3
    np.testing.assert_allclose(
        2 * loss(z, **options), loss(z[:1], **options) + loss(z[1:], **options), rtol=1e-12
    )


def test_windowed_options_are_checked():
    z = jnp.ones((2, 5, 3))
    with pytest.raises(ValueError, match="`negatives`"):
        jaxinfo.temporal_infonce_cross_entropy(z, negatives=cast(Any, "window"))
    with pytest.raises(ValueError, match="`positives`"):
        jaxinfo.temporal_infonce_cross_entropy(z, positives=cast(Any, "sum"))
    with pytest.raises(ValueError, match="`anchors`"):
        jaxinfo.temporal_infonce_cross_entropy(z, anchors=cast(Any, "edge"))
    with pytest.raises(ValueError, match='anchors="interior"'):
        jaxinfo.temporal_infonce_cross_entropy(z, window=3, anchors="interior")
    x = jnp.ones((2, 7, 3))
    with pytest.raises(ValueError, match="negatives"):
        jaxinfo.koopman_information_lagrangian(
            x, x, jnp.eye(3), lambda v: v, method="gaussian", negatives="trajectory"
        )


def test_gaussian_information_is_invariant_to_an_invertible_linear_encoder(x64):
    """Eq. 7 on latents ``W z`` with ``K' = W K W^-1`` equals eq. 7 on ``z``.

    So for a deterministic encoder the Gaussian term cannot prefer one spread of the
    latent spectrum over another: Prop. 4's collapse needs the noise fixed in latent space.
    """
    key_z, key_w = jax.random.split(jax.random.key(3))
    z = jax.random.normal(key_z, (6, 12, 4), jnp.float64)
    w = jax.random.normal(key_w, (4, 4), jnp.float64) + 3 * jnp.eye(4)
    fit = ridge_operator(z, ridge=1e-3)
    x = z[..., :2]
    decode = lambda v: v[..., :2]  # noqa: E731
    _, plain = jaxinfo.koopman_information_lagrangian(x, z, fit, decode, method="gaussian")
    _, mapped = jaxinfo.koopman_information_lagrangian(
        x, z @ w.T, w @ fit @ jnp.linalg.inv(w), decode, method="gaussian"
    )
    np.testing.assert_allclose(
        mapped["temporal_information"], plain["temporal_information"], rtol=1e-9
    )
    assert abs(float(mapped["entropy"]) - float(plain["entropy"])) > 1e-2


def _objective(k, c, s, alpha, gamma):
    values = jnp.linalg.eigvalsh(c)
    q = jnp.clip(values / jnp.sum(values), 1e-300, None)
    entropy = -jnp.sum(q * jnp.log(q))
    return alpha * jaxinfo.gaussian_koopman_mutual_information(k, c, s) + gamma * entropy


def _effective_dimension(c):
    q = np.clip(np.linalg.eigvalsh(c) / np.trace(c), 0.0, None)
    q = q[q > 0]
    return float(np.exp(-np.sum(q * np.log(q))))


def test_optimal_covariance_is_water_filling_by_hand():
    """Gains 4, 1, 1/4 and budget 1: level 9/8 fills the first two modes, 7/8 and 1/8."""
    k = np.diag([2.0, 1.0, 0.5])
    c = testing.gaussian_koopman_optimal_covariance(k, np.eye(3), alpha=1.0, gamma=0.0)
    np.testing.assert_allclose(c, np.diag([0.875, 0.125, 0.0]), atol=1e-12)


def test_optimal_covariance_beats_every_feasible_perturbation(x64):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(4, 4))
    k = 0.9 * a / np.linalg.norm(a, 2)
    root = rng.normal(size=(4, 4))
    s = 0.2 * (root @ root.T / 4 + 0.5 * np.eye(4))
    for alpha, gamma, lag in ((1.0, 0.0, 1), (1.0, 0.3, 1), (2.0, 0.1, 2)):
        best = testing.gaussian_koopman_optimal_covariance(
            k, s, alpha=alpha, gamma=gamma, power=2.0, lag=lag
        )
        np.testing.assert_allclose(np.trace(best), 2.0, rtol=1e-12)
        top = float(_objective_lag(k, best, s, alpha, gamma, lag))
        for _ in range(20):
            step = rng.normal(size=(4, 4))
            other = best + 0.05 * (step @ step.T)
            other *= 2.0 / np.trace(other)
            assert float(_objective_lag(k, other, s, alpha, gamma, lag)) < top


def _objective_lag(k, c, s, alpha, gamma, lag):
    values = np.clip(np.linalg.eigvalsh(c) / np.trace(c), 1e-300, None)
    entropy = -np.sum(values * np.log(values))
    information = jaxinfo.gaussian_koopman_mutual_information(
        jnp.asarray(k), jnp.asarray(c), jnp.asarray(s), lag=lag
    )
    return alpha * float(information) + gamma * entropy


def test_gradient_ascent_on_eq7_reaches_the_analytic_optimum(x64):
    """Adam on ``C = P L L^T / tr(L L^T)`` with the library's eq. 7 finds the same ``d_eff``."""
    k = jnp.diag(jnp.array([0.95, 0.8, 0.6, 0.3, 0.1]))
    s = 0.1 * jnp.eye(5)
    alpha, gamma, power = 1.0, 0.2, 1.0
    best = testing.gaussian_koopman_optimal_covariance(k, s, alpha=alpha, gamma=gamma)

    def loss(factor):
        c = factor @ factor.T
        return -_objective(k, power * c / jnp.trace(c), s, alpha, gamma)

    factor = jax.random.normal(jax.random.key(5), (5, 5), jnp.float64)
    optimizer = optax.adam(0.02)
    state = optimizer.init(factor)

    @jax.jit
    def step(factor, state):
        grads = jax.grad(loss)(factor)
        updates, state = optimizer.update(grads, state)
        return optax.apply_updates(factor, updates), state

    with jax.numpy_dtype_promotion("standard"):  # optax's Adam is not strict-promotion clean
        for _ in range(3000):
            factor, state = step(factor, state)
    found = factor @ factor.T
    found = power * found / jnp.trace(found)
    np.testing.assert_allclose(
        -loss(factor), _objective(k, jnp.asarray(best), s, alpha, gamma), rtol=1e-7
    )
    np.testing.assert_allclose(
        _effective_dimension(np.asarray(found)), _effective_dimension(best), rtol=1e-4
    )


def test_effective_dimension_falls_with_alpha_over_gamma():
    """Prop. 4: more weight on the information concentrates the spectrum; the entropy spreads it."""
    k = np.diag([0.95, 0.8, 0.6, 0.3, 0.1])
    s = 0.1 * np.eye(5)
    ratios = [0.0, 0.3, 1.0, 3.0, 10.0, 100.0]
    dims = [
        _effective_dimension(testing.gaussian_koopman_optimal_covariance(k, s, alpha=r, gamma=1.0))
        for r in ratios
    ]
    np.testing.assert_allclose(dims[0], 5.0, rtol=1e-12)  # entropy alone: isotropic
    assert all(a > b for a, b in zip(dims, dims[1:], strict=False))
    water = _effective_dimension(
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=1.0, gamma=0.0)
    )
    assert water < dims[-1] < water + 0.05  # the gamma -> 0 limit is water-filling
    # Only the ratio matters.
    np.testing.assert_allclose(
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=6.0, gamma=2.0),
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=3.0, gamma=1.0),
        atol=1e-9,
    )


def test_optimal_covariance_checks_its_arguments():
    k, s = np.eye(2), np.eye(2)
    with pytest.raises(ValueError, match="`gamma`"):
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=1.0, gamma=-0.1)
    with pytest.raises(ValueError, match="both be 0"):
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=0.0, gamma=0.0)
    with pytest.raises(ValueError, match="`noise_covariance`"):
        testing.gaussian_koopman_optimal_covariance(k, -s, alpha=1.0, gamma=0.0)
    with pytest.raises(ValueError, match="one d"):
        testing.gaussian_koopman_optimal_covariance(k, np.eye(3), alpha=1.0, gamma=0.0)
    with pytest.raises(ValueError, match="`power`"):
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=1.0, gamma=0.0, power=0.0)
    with pytest.raises(ValueError, match="`lag`"):
        testing.gaussian_koopman_optimal_covariance(k, s, alpha=1.0, gamma=0.0, lag=0)
