"""Ground-truth tasks: every sampler matches the values it declares."""

from __future__ import annotations

import itertools
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from jaxinfo import testing


@pytest.mark.parametrize("name", testing.__all__)
def test_testing_names_have_docstrings(name):
    # Their docs/api.md entries: test_public_api.test_every_public_name_has_one_api_entry.
    assert getattr(testing, name).__doc__


def _gaussian_mi(x, y):
    """MI of the Gaussian with the empirical covariance (NumPy)."""
    dx = x.shape[1]
    cov = np.cov(np.concatenate([x, y], axis=1), rowvar=False)

    def logdet(m):
        return np.linalg.slogdet(m)[1]

    return 0.5 * (logdet(cov[:dx, :dx]) + logdet(cov[dx:, dx:]) - logdet(cov))


@pytest.mark.parametrize("interaction", ["dense", "sparse"])
def test_correlated_gaussians_covariance_and_mi(interaction):
    task = testing.correlated_gaussians(3, 2, correlation=0.4, interaction=interaction)
    x, y = map(np.asarray, task.sample(jax.random.key(0), 100_000))
    cov = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    expected = np.eye(5)
    if interaction == "dense":
        expected = np.full((5, 5), 0.4) + 0.6 * np.eye(5)
    else:
        expected[0, 3] = expected[3, 0] = expected[1, 4] = expected[4, 1] = 0.4
    np.testing.assert_allclose(cov, expected, atol=0.015)
    assert abs(_gaussian_mi(x, y) - task.mutual_information) < 0.01
    log_2pie = np.log(2 * np.pi * np.e)
    assert task.entropy_y is not None
    np.testing.assert_allclose(
        task.entropy_y, 0.5 * (2 * log_2pie + np.linalg.slogdet(expected[3:, 3:])[1])
    )


def test_copula_has_uniform_marginals_and_same_mi():
    task = testing.gaussian_copula_uniform(2, 1, correlation=0.5)
    x, y = map(np.asarray, task.sample(jax.random.key(1), 100_000))
    for column in np.concatenate([x, y], axis=1).T:
        assert stats.kstest(column, "uniform").pvalue > 1e-3
    z_x, z_y = stats.norm.ppf(x), stats.norm.ppf(y)
    assert abs(_gaussian_mi(z_x, z_y) - task.mutual_information) < 0.01
    base = testing.correlated_gaussians(2, 1, correlation=0.5)
    assert task.mutual_information == base.mutual_information
    # H(Phi(Z)) = H(Z) + E sum log phi(z_i): Monte Carlo from the same draw.
    mc = base.entropy_x + np.mean(np.sum(stats.norm.logpdf(z_x), axis=1))
    assert abs(mc - task.entropy_x) < 0.01


@pytest.mark.parametrize("epsilon", [0.1, 0.75])
def test_additive_uniform_noise_closed_form(epsilon):
    task = testing.additive_uniform_noise(epsilon)
    x, y = map(np.asarray, task.sample(jax.random.key(2), 50_000))
    noise = y - x
    assert noise.min() >= -epsilon - 1e-6 and noise.max() <= epsilon + 1e-6
    assert stats.kstest(noise[:, 0], "uniform", args=(-epsilon, 2 * epsilon)).pvalue > 1e-3

    def density(t):  # U(0, 1) convolved with U(-eps, eps)
        lo, hi = max(t - epsilon, 0.0), min(t + epsilon, 1.0)
        return max(hi - lo, 0.0) / (2 * epsilon)

    def integrand(t):
        p = density(t)
        return -p * np.log(p) if p > 0 else 0.0

    edges = sorted({-epsilon, epsilon, 1 - epsilon, 1 + epsilon})
    h_y = sum(integrate.quad(integrand, a, b)[0] for a, b in itertools.pairwise(edges))
    assert task.entropy_y is not None
    np.testing.assert_allclose(task.entropy_y, h_y, rtol=1e-6)
    np.testing.assert_allclose(task.mutual_information, h_y - np.log(2 * epsilon), rtol=1e-6)


@pytest.mark.parametrize("dim,dof", [(1, 3.0), (2, 5.0)])
def test_student_t_mi_and_entropy_by_monte_carlo(dim, dof):
    task = testing.student_t(dim, dof)
    x, y = (np.asarray(a, np.float64) for a in task.sample(jax.random.key(3), 200_000))
    # scipy is unannotated: pyright infers `shape: int` from its default (1), not a matrix.
    joint = stats.multivariate_t(np.zeros(2 * dim), np.eye(2 * dim), df=dof)  # pyright: ignore[reportArgumentType]
    marginal = stats.multivariate_t(np.zeros(dim), np.eye(dim), df=dof)  # pyright: ignore[reportArgumentType]
    log_joint = joint.logpdf(np.concatenate([x, y], axis=1))
    log_x, log_y = marginal.logpdf(x), marginal.logpdf(y)
    pointwise = log_joint - log_x - log_y
    se = pointwise.std() / np.sqrt(len(x))
    assert abs(pointwise.mean() - task.mutual_information) < 4 * se + 1e-3
    assert abs(-log_x.mean() - task.entropy_x) < 4 * log_x.std() / np.sqrt(len(x)) + 1e-3
    # uncorrelated although dependent
    assert abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) < 0.02


@pytest.mark.parametrize("transform", [testing.half_cube, testing.asinh])
def test_monotone_transforms_keep_order(transform):
    task = testing.correlated_gaussians(2, 1)
    key = jax.random.key(4)
    x, y = task.sample(key, 500)
    moved = transform(task)
    xt, yt = moved.sample(key, 500)
    assert moved.mutual_information == task.mutual_information and moved.entropy_x is None
    for a, b in ((x, xt), (y, yt)):
        for j in range(a.shape[1]):
            assert np.array_equal(np.argsort(a[:, j]), np.argsort(b[:, j]))
            assert not np.allclose(a[:, j], b[:, j])


def test_spiral_is_an_invertible_rotation():
    task = testing.correlated_gaussians(3, 1, correlation=0.3)
    key = jax.random.key(5)
    x, y = task.sample(key, 400)
    moved = testing.spiral(task, speed=0.5)
    xt, yt = moved.sample(key, 400)
    np.testing.assert_array_equal(yt, y)
    np.testing.assert_allclose(jnp.linalg.norm(xt, axis=1), jnp.linalg.norm(x, axis=1), rtol=1e-5)
    angle = 0.5 * jnp.sum(x * x, axis=1)  # rotate back by the angle of the (same) norm
    c, s = jnp.cos(-angle), jnp.sin(-angle)
    back0 = c * xt[:, 0] - s * xt[:, 1]
    back1 = s * xt[:, 0] + c * xt[:, 1]
    np.testing.assert_allclose(back0, x[:, 0], atol=1e-4)
    np.testing.assert_allclose(back1, x[:, 1], atol=1e-4)
    np.testing.assert_array_equal(xt[:, 2], x[:, 2])
    with pytest.raises(ValueError, match="dim_x >= 2"):
        testing.spiral(testing.correlated_gaussians(1, 1))


def test_bad_task_arguments():
    with pytest.raises(ValueError, match="positive-definite"):
        testing.correlated_gaussians(3, 3, correlation=-0.5)
    with pytest.raises(ValueError, match="interaction"):
        testing.correlated_gaussians(interaction="banded")
    with pytest.raises(ValueError, match="epsilon"):
        testing.additive_uniform_noise(0.0)
    with pytest.raises(ValueError, match="dof"):
        testing.student_t(1, dof=-1.0)


# Wrong types on purpose (cast to Any): the runtime checks are under test.
@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: testing.correlated_gaussians(correlation=float("nan")), ValueError, "correlation"),
        (lambda: testing.correlated_gaussians(correlation=1.0), ValueError, "correlation"),
        (
            lambda: testing.correlated_gaussians(correlation=cast(Any, "0.5")),
            TypeError,
            "correlation",
        ),
        (lambda: testing.correlated_gaussians(correlation=True), TypeError, "correlation"),
        (lambda: testing.correlated_gaussians(cast(Any, "2"), 1), TypeError, "dim_x"),
        (lambda: testing.correlated_gaussians(1, 0), ValueError, "dim_y"),
        (
            lambda: testing.correlated_gaussians(interaction=cast(Any, None)),
            ValueError,
            "interaction",
        ),
        (
            lambda: testing.gaussian_copula_uniform(correlation=float("inf")),
            ValueError,
            "correlation",
        ),
        (lambda: testing.additive_uniform_noise(float("nan")), ValueError, "epsilon"),
        (lambda: testing.additive_uniform_noise(cast(Any, "0.1")), TypeError, "epsilon"),
        (lambda: testing.student_t(1, dof=float("inf")), ValueError, "dof"),
        (lambda: testing.student_t(1, dof=cast(Any, "3")), TypeError, "dof"),
        (lambda: testing.student_t(cast(Any, 1.5)), TypeError, "dim"),
        (
            lambda: testing.spiral(testing.correlated_gaussians(2, 1), speed=float("nan")),
            ValueError,
            "speed",
        ),
        (
            lambda: testing.spiral(testing.correlated_gaussians(2, 1), speed=cast(Any, "fast")),
            TypeError,
            "speed",
        ),
        (lambda: testing.half_cube(cast(Any, "gaussian")), TypeError, "task"),
        (lambda: testing.asinh(cast(Any, None)), TypeError, "task"),
        (
            lambda: testing.Task(
                name="t", sample=cast(Any, None), mutual_information=0.1, dim_x=1, dim_y=1
            ),
            TypeError,
            "sample",
        ),
        (
            lambda: testing.Task(
                name="t", sample=lambda k, n: (k, k), mutual_information=-1.0, dim_x=1, dim_y=1
            ),
            ValueError,
            "mutual_information",
        ),
    ],
)
def test_task_constructors_validate_their_numbers(make, error, match):
    with pytest.raises(error, match=f"`{match}`"):
        make()


def test_sample_size_must_be_a_positive_int():
    task = testing.half_cube(testing.correlated_gaussians())
    key = jax.random.key(0)
    for n, error in ((-1, ValueError), (0, ValueError), (2.0, TypeError), (True, TypeError)):
        with pytest.raises(error, match="`n` must be a"):
            task.sample(key, cast(Any, n))  # a float or bool on purpose
    x, y = jax.jit(task.sample, static_argnums=1)(key, 3)
    assert x.shape == y.shape == (3, 1)


def test_student_t_tiny_dof_is_refused_where_samples_overflow():
    # dof = 0.05: gamma(0.025) draws underflowed to 0 in 11% of cases (v = z / 0 = -inf).
    # Sampled in the log domain they are finite, but 2% of the true samples exceed the float32
    # range: refused. The Monte Carlo test above checks the log-domain sampler at dof 3 and 5.
    with pytest.raises(ValueError, match=r"`dof` = 0.05 .*float32.*dof >= 0\.3"):
        testing.student_t(1, 0.05).sample(jax.random.key(0), 1000)


def test_additive_noise_below_the_float32_resolution_is_refused():
    # epsilon = 1e-6 spans ~17 float32 ulps of 1: y was x plus a handful of noise levels
    with pytest.raises(ValueError, match=r"`epsilon` = 1e-06 cannot be sampled in float32"):
        testing.additive_uniform_noise(1e-6).sample(jax.random.key(0), 10)


def test_student_t_truth_has_no_cancellation_at_large_dof():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60

    def f(a):
        half = mpmath.mpf(a) / 2
        return mpmath.loggamma(half) - half * mpmath.digamma(half)

    for dim, dof in ((1, 1e5), (3, 50.0), (2, 1e9)):
        task = testing.student_t(dim, dof)
        exact = float(f(dof) + f(dof + 2 * dim) - 2 * f(dof + dim))
        assert task.mutual_information > 0  # before: -1.2e-10 at dof 1e5, -2.0 at 1e15
        np.testing.assert_allclose(task.mutual_information, exact, rtol=1e-12)
    gaussian = 0.5 * np.log(2 * np.pi * np.e)
    entropy = testing.student_t(1, 1e20).entropy_x
    assert entropy is not None
    np.testing.assert_allclose(entropy, gaussian, rtol=1e-15)
