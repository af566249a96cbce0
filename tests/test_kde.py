"""KDE entropy and the nonlinear-IB pairwise-distance bound: formulas, truth, bounds, errors."""

from __future__ import annotations

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

import jaxinfo
from jaxinfo import testing


def _jit(fn, **options):
    return jax.jit(lambda *arrays: fn(*arrays, **options))


def _sq(x):
    return np.sum((x[:, None] - x[None]) ** 2, axis=-1)


def test_matches_brute_force_formulas(x64):
    x = np.random.default_rng(0).normal(size=(50, 2))
    n, d = x.shape
    h, s2 = 0.4, 0.3
    log_k = -_sq(x) / (2 * h * h) - 0.5 * d * np.log(2 * np.pi * h * h)
    np.fill_diagonal(log_k, -np.inf)
    expected = -np.mean(logsumexp(log_k, axis=1) - np.log(n - 1))
    assert abs(_jit(jaxinfo.kde_entropy, bandwidth=h)(x) - expected) < 1e-12
    bound = -np.mean(logsumexp(-_sq(x) / (2 * s2), axis=1) - np.log(n))
    ours = _jit(jaxinfo.gaussian_noise_mutual_information_upper_bound, noise_variance=s2)(x)
    assert abs(ours - bound) < 1e-12


def test_kde_entropy_close_to_gaussian_truth():
    task = testing.correlated_gaussians(2, 1, correlation=0.5)
    x, _ = task.sample(jax.random.key(1), 3000)
    value = _jit(jaxinfo.kde_entropy, block_size=1000)(x)
    assert abs(value - task.entropy_x) < 0.05, (float(value), task.entropy_x)


def test_bound_brackets_true_channel_information():
    """T = X + N(0, s^2): I(X; T) = (d / 2) log(1 + 1 / s^2) <= bound <= log n."""
    n, d, s2 = 2000, 2, 0.25
    x = jax.random.normal(jax.random.key(2), (n, d))
    bound = _jit(jaxinfo.gaussian_noise_mutual_information_upper_bound, noise_variance=s2)(x)
    truth = 0.5 * d * math.log(1 + 1 / s2)
    assert truth <= bound <= math.log(n), (float(bound), truth)
    tiny = _jit(jaxinfo.gaussian_noise_mutual_information_upper_bound, noise_variance=1e-8)(x[:100])
    np.testing.assert_allclose(tiny, math.log(100), rtol=1e-6)  # far apart: log n
    same = _jit(jaxinfo.gaussian_noise_mutual_information_upper_bound, noise_variance=1.0)
    assert abs(same(jnp.zeros((30, 2)))) < 1e-5  # identical encodings carry no information


def test_bound_gradient_in_noise_variance_is_finite_and_negative():
    x = jax.random.normal(jax.random.key(3), (200, 3))
    grad = jax.jit(
        jax.grad(
            lambda s2: jaxinfo.gaussian_noise_mutual_information_upper_bound(x, noise_variance=s2)
        )
    )(0.5)
    assert np.isfinite(grad) and grad < 0  # more noise, less information


def test_blocked_equals_unblocked_and_tiny_bandwidth_finite():
    x = jax.random.normal(jax.random.key(4), (101, 2))
    for fn, options in (
        (jaxinfo.kde_entropy, {"bandwidth": "scott"}),
        (jaxinfo.gaussian_noise_mutual_information_upper_bound, {"noise_variance": 0.2}),
    ):
        blocked = _jit(fn, block_size=9, **options)(x)
        np.testing.assert_allclose(blocked, _jit(fn, **options)(x), rtol=1e-5)
    value, grad = jax.jit(jax.value_and_grad(_jit(jaxinfo.kde_entropy, bandwidth=1e-4)))(x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_bad_inputs():
    x = jnp.ones((10, 2))
    with pytest.raises(ValueError, match="rule must be one of"):
        jaxinfo.kde_entropy(x, bandwidth=cast(Any, "mean"))
    with pytest.raises(ValueError, match="finite positive"):
        jaxinfo.kde_entropy(x, bandwidth=-1.0)
    with pytest.raises(ValueError, match="noise_variance"):
        jaxinfo.gaussian_noise_mutual_information_upper_bound(x, noise_variance=0.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        jaxinfo.kde_entropy(x[:1])
