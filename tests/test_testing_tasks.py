"""Ground-truth tasks: every sampler matches the values it declares."""

from __future__ import annotations

import itertools
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

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


# ---- provenance, mixtures, swiss roll, wiggly and bimodal marginals, the accuracy suite ----


def test_truth_provenance_defaults_and_is_kept_by_transforms():
    task = testing.Task(
        name="t", sample=lambda k, n: (k, k), mutual_information=0.1, dim_x=1, dim_y=1
    )
    assert task.truth == "closed form" and task.truth_standard_error == 0.0
    student = testing.student_t(1, 1.0)
    assert student.truth == "closed form (Arellano-Valle et al. 2013)"
    assert testing.asinh(student).truth == student.truth
    gaussian = testing.correlated_gaussians(2, 2)
    for moved in (testing.half_cube(gaussian), testing.wiggly(gaussian), testing.bimodal(gaussian)):
        assert moved.truth == gaussian.truth and moved.truth_standard_error == 0.0
    mixture = testing.x_mixture(0.9)
    moved = testing.wiggly(mixture)
    assert (
        moved.truth == mixture.truth and moved.truth_standard_error == mixture.truth_standard_error
    )


def _mixture_pointwise(points, weights, means, covariances):
    """log p of a Gaussian mixture with scipy (independent of the module's NumPy code)."""
    densities = [
        w * stats.multivariate_normal(mean, cov).pdf(points)
        for w, mean, cov in zip(weights, means, covariances, strict=True)
    ]
    return np.log(np.sum(densities, axis=0))


def test_gaussian_mixture_of_one_component_is_the_gaussian_closed_form():
    cov = np.array([[1.0, 0.3, 0.6], [0.3, 1.0, 0.2], [0.6, 0.2, 1.0]])
    task = testing.gaussian_mixture([1.0], [[0.5, -1.0, 2.0]], [cov], dim_x=2)
    exact = 0.5 * (np.linalg.slogdet(cov[:2, :2])[1] - np.linalg.slogdet(cov)[1])
    assert task.dim_x == 2 and task.dim_y == 1
    assert 0 < task.truth_standard_error < 2e-3
    assert abs(task.mutual_information - exact) < 4 * task.truth_standard_error
    assert task.truth.startswith("Monte Carlo, 1,000,000 samples, standard error")
    x, y = map(np.asarray, task.sample(jax.random.key(0), 20_000))
    np.testing.assert_allclose(np.mean(np.concatenate([x, y], 1), 0), [0.5, -1.0, 2.0], atol=0.03)
    np.testing.assert_allclose(np.cov(np.concatenate([x, y], 1), rowvar=False), cov, atol=0.03)


def test_x_mixture_truth_against_numerical_integration():
    task = testing.x_mixture(0.9)
    c = 0.9
    norm = 1 / (2 * np.pi * np.sqrt(1 - c * c))

    def integrand(y, x):
        # p(x, y) log(p(x, y) / (phi(x) phi(y))): both marginals are standard normal
        p = (
            0.5
            * norm
            * (
                np.exp(-(x * x - 2 * c * x * y + y * y) / (2 * (1 - c * c)))
                + np.exp(-(x * x + 2 * c * x * y + y * y) / (2 * (1 - c * c)))
            )
        )
        q = np.exp(-(x * x + y * y) / 2) / (2 * np.pi)
        return p * np.log(p / q) if p > 0 else 0.0

    # The integrand is even in x and in y: 4 times the positive quadrant.
    exact = 4 * integrate.dblquad(integrand, 0, 9, 0, 9, epsabs=1e-9)[0]
    assert abs(task.mutual_information - exact) < 4 * task.truth_standard_error
    x, y = map(np.asarray, task.sample(jax.random.key(1), 50_000))
    assert stats.kstest(x[:, 0], "norm").pvalue > 1e-3
    assert stats.kstest(y[:, 0], "norm").pvalue > 1e-3
    assert task.entropy_x == task.entropy_y == pytest.approx(0.5 * np.log(2 * np.pi * np.e))
    assert abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) < 0.02  # uncorrelated, yet dependent
    assert abs(np.corrcoef(x[:, 0] ** 2, y[:, 0] ** 2)[0, 1] - c * c) < 0.03


def test_inlier_mixture_truth_against_an_independent_monte_carlo():
    f, c = 0.2, 0.9
    task = testing.inlier_mixture(2, 2, correlation=c, inlier_fraction=f)
    gauss = testing.correlated_gaussians(2, 2, correlation=c, interaction="sparse")
    assert 0 < task.mutual_information < (1 - f) * gauss.mutual_information  # convexity
    assert (task.entropy_x, task.entropy_y) == (gauss.entropy_x, gauss.entropy_y)
    joint = np.eye(4)
    joint[0, 2] = joint[2, 0] = joint[1, 3] = joint[3, 1] = c
    x, y = (np.asarray(a, np.float64) for a in task.sample(jax.random.key(2), 100_000))
    log_joint = _mixture_pointwise(
        np.concatenate([x, y], 1), [1 - f, f], np.zeros((2, 4)), [joint, np.eye(4)]
    )
    # both components have standard-normal marginals
    pointwise = log_joint - stats.norm.logpdf(x).sum(1) - stats.norm.logpdf(y).sum(1)
    se = pointwise.std() / np.sqrt(len(x))
    assert abs(pointwise.mean() - task.mutual_information) < 4 * np.hypot(
        se, task.truth_standard_error
    )
    # an inlier fraction near 0 tends to the Gaussian
    near = testing.inlier_mixture(2, 2, correlation=c, inlier_fraction=1e-9)
    assert abs(near.mutual_information - gauss.mutual_information) < 4 * near.truth_standard_error


def test_mixture_truth_is_computed_once():
    from jaxinfo import testing as module

    cache = module._mixture_monte_carlo  # pyright: ignore[reportPrivateUsage]
    first = testing.x_mixture(0.5)
    hits = cache.cache_info().hits
    second = testing.x_mixture(0.5)
    assert cache.cache_info().hits == hits + 1
    assert second.mutual_information == first.mutual_information > 0


def test_swiss_roll_inverts_to_the_uniform_pair():
    task = testing.swiss_roll(0.75)
    base = testing.gaussian_copula_uniform(1, 1, correlation=0.75)
    key = jax.random.key(3)
    x, y = map(np.asarray, task.sample(key, 50_000))
    u, v = map(np.asarray, base.sample(key, 50_000))
    assert x.shape == (50_000, 2) and y.shape == (50_000, 1)
    assert task.entropy_x is None and task.entropy_y == 0.0  # y ~ U(0, 1)
    np.testing.assert_array_equal(y, v)
    t = np.linalg.norm(x, axis=1)  # |x| = t: the map is injective
    assert t.min() >= 1.5 * np.pi * (1 - 1e-6) and t.max() <= 4.5 * np.pi * (1 + 1e-6)
    np.testing.assert_allclose((t / (1.5 * np.pi) - 1) / 2, u[:, 0], atol=2e-6)
    angle = np.arctan2(x[:, 1], x[:, 0])
    np.testing.assert_allclose(np.cos(angle - t), 1.0, atol=1e-5)  # the angle is t mod 2 pi
    z = stats.norm.ppf(np.clip(u, 1e-7, 1 - 1e-7))
    gaussian_mi = _gaussian_mi(z, stats.norm.ppf(v))
    assert abs(gaussian_mi - task.mutual_information) < 0.01
    np.testing.assert_allclose(task.mutual_information, -0.5 * np.log(1 - 0.75**2), rtol=1e-12)


def _invert_increasing(f, values, low, high, iterations=80):
    """Bisection (NumPy float64) for f(t) = values, f increasing, root in [low, high]."""
    low, high = (
        np.broadcast_to(low, values.shape).copy(),
        np.broadcast_to(high, values.shape).copy(),
    )
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        below = f(middle) < values
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return 0.5 * (low + high)


def test_wiggly_is_increasing_and_inverts_to_the_base():
    task = testing.correlated_gaussians(2, 2, correlation=0.5)
    moved = testing.wiggly(task)
    key = jax.random.key(4)
    x, y = (np.asarray(a, np.float64) for a in task.sample(key, 20_000))
    xt, yt = (np.asarray(a, np.float64) for a in moved.sample(key, 20_000))
    terms = {
        "x": ((0.4, 1.0, 0.0), (0.2, 1.7, 1.0), (0.03, 3.3, -2.5)),
        "y": ((-0.4, 0.4, 0.0), (0.17, 1.3, 3.5), (0.02, 4.3, -2.5)),
    }
    for base, image, which in ((x, xt, "x"), (y, yt, "y")):
        amplitude = sum(abs(a) for a, _, _ in terms[which])

        def wiggle(v, which=which):
            return v + sum(a * np.sin(w * v + p) for a, w, p in terms[which])

        np.testing.assert_allclose(image, wiggle(base), atol=1e-5)
        back = _invert_increasing(wiggle, image, image - amplitude, image + amplitude)
        np.testing.assert_allclose(back, base, atol=1e-5)
        grid = np.linspace(-20, 20, 100_001)
        assert np.all(np.diff(wiggle(grid)) > 0)  # strictly increasing
        assert not np.allclose(image, base, atol=0.05)
    assert abs(_gaussian_mi(x, y) - moved.mutual_information) < 0.02
    with pytest.raises(ValueError, match=r"`x_terms` must have sum \|amplitude \* frequency\| < 1"):
        testing.wiggly(task, x_terms=((0.5, 2.0, 0.0),))


def _mixture_log_cdf(t, components) -> tuple[np.ndarray, np.ndarray]:
    """log F(t) and log (1 - F(t)) of a 1-D Gaussian mixture (NumPy float64)."""
    log_cdf = [np.log(w) + special.log_ndtr((t - m) / s) for w, m, s in components]
    log_sf = [np.log(w) + special.log_ndtr((m - t) / s) for w, m, s in components]
    return np.logaddexp.reduce(log_cdf, axis=0), np.logaddexp.reduce(log_sf, axis=0)


def _normal_scores(t, components):
    """Phi^{-1}(F(t)) for the mixture CDF F, in both tails (NumPy float64)."""
    log_cdf, log_sf = _mixture_log_cdf(t, components)
    return np.where(
        log_cdf < np.log(0.5), special.ndtri(np.exp(log_cdf)), -special.ndtri(np.exp(log_sf))
    )


_BIMODAL = {"x": ((0.3, 0.0, 1.0), (0.7, 5.0, 1.0)), "y": ((0.5, -1.0, 1.0), (0.5, 3.0, 1.0))}


@pytest.mark.parametrize("dtype", ["float32", pytest.param("float64", marks=pytest.mark.slow)])
def test_bimodal_inverts_to_the_base_and_has_mixture_marginals(dtype, request):
    if dtype == "float64":
        request.getfixturevalue("x64")
    n = 10_000
    task = testing.correlated_gaussians(1, 2, correlation=0.4)
    moved = testing.bimodal(task)
    key = jax.random.key(5)
    x, y = task.sample(key, n)
    xt, yt = moved.sample(key, n)
    assert xt.dtype == yt.dtype == jnp.dtype(dtype)
    tol = 2e-4 if dtype == "float32" else 1e-9
    scores = {}
    for base, image, which in ((x, xt, "x"), (y, yt, "y")):
        image = np.asarray(image, np.float64)
        scores[which] = _normal_scores(image, _BIMODAL[which])
        np.testing.assert_allclose(scores[which], base, atol=tol)
        for column in image.T:
            cdf = lambda t, which=which: np.exp(_mixture_log_cdf(t, _BIMODAL[which])[0])  # noqa: E731
            assert stats.kstest(column, cdf).pvalue > 1e-3
    assert abs(_gaussian_mi(scores["x"], scores["y"]) - moved.mutual_information) < 0.02
    # the tails: |v| up to 12 in float32 (Phi(v) itself rounds to 1 from v ~ 5.4), 30 in
    # float64; a grid of the sample's shape reuses the compiled inverse
    top = 12.0 if dtype == "float32" else 30.0
    v = jnp.linspace(-top, top, n, dtype=dtype)[:, None]
    grid = testing.Task(
        name="grid", sample=lambda k, n: (v, v), mutual_information=0.0, dim_x=1, dim_y=1
    )
    gx = np.asarray(testing.bimodal(grid).sample(key, n)[0], np.float64)
    assert np.all(np.diff(gx[:, 0]) > 0)
    np.testing.assert_allclose(_normal_scores(gx, _BIMODAL["x"]), v, atol=5 * tol, rtol=1e-5)
    if dtype == "float32":  # the same values under an outer jit
        jitted = jax.jit(moved.sample, static_argnums=1)(key, 16)
        for a, b in zip(jitted, moved.sample(key, 16), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_accuracy_suite_names_dims_and_closed_forms():
    suite = testing.accuracy_suite()
    assert testing.accuracy_suite() is suite  # cached
    names = [task.name for task in suite]
    assert len(names) == len(set(names)) and 18 <= len(suite) <= 24
    by_name = {task.name: task for task in suite}
    assert all(task.mutual_information > 0.05 for task in suite)
    for nats in (0.5, 1.0, 2.0, 4.0):
        c = np.sqrt(1 - np.exp(-nats))
        (task,) = [t for t in suite if t.name == f"gaussian-sparse-5x5-{c:g}"]
        np.testing.assert_allclose(task.mutual_information, nats, rtol=1e-12)
    np.testing.assert_allclose(
        by_name["gaussian-sparse-25x25-0.79506"].mutual_information, 1.0, rtol=1e-12
    )
    np.testing.assert_allclose(
        by_name["gaussian-dense-1x1-0.75"].mutual_information, -0.5 * np.log(1 - 0.75**2)
    )
    # dense 5x5 at c: eigenvalues 1 + 4c, 1 - c (x4) of S_x and 1 + 9c, 1 - c (x9) of S
    c = 0.5
    dense = np.log(1 + 4 * c) - 0.5 * np.log(1 + 9 * c) - 0.5 * np.log(1 - c)
    np.testing.assert_allclose(
        by_name["gaussian-dense-5x5-0.5"].mutual_information, dense, rtol=1e-12
    )
    expected = {
        "student-t-1x1-dof1": 0.2241714275292359,
        "student-t-2x2-dof2": np.log(2) - 0.5,
        "additive-uniform-0.1": 0.1 - np.log(0.2),
        "additive-uniform-0.75": 1 / 3,
        "swiss-roll-2x1-0.75": -0.5 * np.log(1 - 0.75**2),
        "asinh(student-t-1x1-dof1)": 0.2241714275292359,
    }
    for name, value in expected.items():
        np.testing.assert_allclose(by_name[name].mutual_information, value, rtol=1e-9)
    for name in ("x-mixture-1x1-0.9", "inlier-mixture-sparse-5x5-0.929873-0.2"):
        assert by_name[name].truth_standard_error > 0 and "Monte Carlo" in by_name[name].truth
    for task in suite:
        if "(" in task.name:  # a transform keeps its base task's truth
            base = by_name.get(task.name[task.name.index("(") + 1 : -1])
            assert base is None or base.mutual_information == task.mutual_information


@pytest.mark.slow  # 7-9 s each: compiling 22 samplers
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_accuracy_suite_samples_finite_arrays(dtype, request):
    if dtype == "float64":
        request.getfixturevalue("x64")
    for i, task in enumerate(testing.accuracy_suite()):
        x, y = task.sample(jax.random.key(i), 64)
        assert x.shape == (64, task.dim_x) and y.shape == (64, task.dim_y), task.name
        assert x.dtype == y.dtype == jnp.dtype(dtype), task.name
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(y)), task.name
        assert np.std(np.asarray(x), axis=0).min() > 0, task.name


@pytest.mark.parametrize("dim,dof", [(1, 1.0), (1, 2.0), (2, 2.0)])
def test_student_t_low_dof_mi_by_monte_carlo(dim, dof):
    task = testing.student_t(dim, dof)
    x, y = (np.asarray(a, np.float64) for a in task.sample(jax.random.key(7), 100_000))
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    joint = stats.multivariate_t(np.zeros(2 * dim), np.eye(2 * dim), df=dof)  # pyright: ignore[reportArgumentType]
    marginal = stats.multivariate_t(np.zeros(dim), np.eye(dim), df=dof)  # pyright: ignore[reportArgumentType]
    pointwise = joint.logpdf(np.concatenate([x, y], 1)) - marginal.logpdf(x) - marginal.logpdf(y)
    se = pointwise.std() / np.sqrt(len(x))
    assert abs(pointwise.mean() - task.mutual_information) < 4 * se + 1e-3


@pytest.mark.parametrize("interaction", ["dense", "sparse"])
def test_gaussians_and_spiral_at_25x25(interaction):
    c = 0.35 if interaction == "dense" else 0.79506
    task = testing.correlated_gaussians(25, 25, correlation=c, interaction=interaction)
    key = jax.random.key(8)
    n = 20_000
    x, y = (np.asarray(a, np.float64) for a in task.sample(key, n))
    # the plug-in Gaussian MI is biased up by about dim_x dim_y / (2 n) = 0.016
    assert abs(_gaussian_mi(x, y) - 625 / (2 * n) - task.mutual_information) < 0.03
    xt, yt = (np.asarray(a, np.float64) for a in testing.spiral(task).sample(key, n))
    np.testing.assert_array_equal(yt, y)
    np.testing.assert_allclose(np.linalg.norm(xt, axis=1), np.linalg.norm(x, axis=1), rtol=1e-5)
    angle = 0.5 * np.sum(x * x, axis=1)  # |x|^2 ~ 25: angles of ~12 rad still invert
    back = np.cos(angle) * xt[:, 0] + np.sin(angle) * xt[:, 1]
    np.testing.assert_allclose(back, x[:, 0], atol=2e-4)


_COV = [[1.0, 0.5], [0.5, 1.0]]


# Wrong types on purpose (cast to Any): the runtime checks are under test.
@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: testing.gaussian_mixture([0.5, 0.4], [[0, 0], [1, 1]], [_COV, _COV], 1),
            ValueError,
            "weights",
        ),
        (lambda: testing.gaussian_mixture([1.0], [[0, 0]], [_COV], 2), ValueError, "dim_x"),
        (lambda: testing.gaussian_mixture([1.0], [[0, 0]], [_COV], 0), ValueError, "dim_x"),
        (
            lambda: testing.gaussian_mixture([1.0], [[0, 0]], [_COV], cast(Any, 1.0)),
            TypeError,
            "dim_x",
        ),
        (lambda: testing.gaussian_mixture([1.0], [[0, 0, 0]], [_COV], 1), ValueError, "means"),
        (lambda: testing.gaussian_mixture([1.0], [0, 0], [_COV], 1), ValueError, "means"),
        (
            lambda: testing.gaussian_mixture([1.0], [[0, float("nan")]], [_COV], 1),
            ValueError,
            "means",
        ),
        (
            lambda: testing.gaussian_mixture(cast(Any, "a"), [[0, 0]], [_COV], 1),
            TypeError,
            "weights",
        ),
        (
            lambda: testing.gaussian_mixture([1.0], [[0, 0]], [[[1, 0.5], [0.4, 1]]], 1),
            ValueError,
            "covariances",
        ),
        (
            lambda: testing.gaussian_mixture([1.0], [[0, 0]], [[[1, 2], [2, 1]]], 1),
            ValueError,
            "covariances",
        ),
        (
            lambda: testing.gaussian_mixture([1.0], [[0, 0]], [_COV], 1, name=cast(Any, 3)),
            TypeError,
            "name",
        ),
        (lambda: testing.x_mixture(1.0), ValueError, "correlation"),
        (lambda: testing.x_mixture(cast(Any, "0.9")), TypeError, "correlation"),
        (lambda: testing.inlier_mixture(inlier_fraction=0.0), ValueError, "inlier_fraction"),
        (lambda: testing.inlier_mixture(inlier_fraction=1.0), ValueError, "inlier_fraction"),
        (
            lambda: testing.inlier_mixture(inlier_fraction=cast(Any, None)),
            TypeError,
            "inlier_fraction",
        ),
        (lambda: testing.inlier_mixture(0, 1), ValueError, "dim_x"),
        (lambda: testing.swiss_roll(float("nan")), ValueError, "correlation"),
        (lambda: testing.swiss_roll(-1.0), ValueError, "correlation"),
        (lambda: testing.wiggly(cast(Any, None)), TypeError, "task"),
        (
            lambda: testing.wiggly(testing.correlated_gaussians(), y_terms=((0.5, 3.0, 0.0),)),
            ValueError,
            "y_terms",
        ),
        (
            lambda: testing.wiggly(
                testing.correlated_gaussians(), x_terms=cast(Any, (0.1, 1.0, 0.0))
            ),
            TypeError,
            "x_terms",
        ),
        (
            lambda: testing.wiggly(
                testing.correlated_gaussians(), x_terms=((0.1, float("inf"), 0.0),)
            ),
            ValueError,
            "x_terms",
        ),
        (lambda: testing.bimodal(cast(Any, "task")), TypeError, "task"),
        (
            lambda: testing.bimodal(
                testing.correlated_gaussians(), x_components=((0.5, 0.0, 1.0),)
            ),
            ValueError,
            "x_components",
        ),
        (
            lambda: testing.bimodal(
                testing.correlated_gaussians(), y_components=((0.5, 0.0, 1.0), (0.5, 1.0, 0.0))
            ),
            ValueError,
            "y_components",
        ),
        (
            lambda: testing.bimodal(
                testing.correlated_gaussians(), y_components=cast(Any, "bimodal")
            ),
            TypeError,
            "y_components",
        ),
        (
            lambda: testing.Task(
                name="t",
                sample=lambda k, n: (k, k),
                mutual_information=0.1,
                dim_x=1,
                dim_y=1,
                truth=cast(Any, None),
            ),
            TypeError,
            "truth",
        ),
        (
            lambda: testing.Task(
                name="t",
                sample=lambda k, n: (k, k),
                mutual_information=0.1,
                dim_x=1,
                dim_y=1,
                truth_standard_error=-1.0,
            ),
            ValueError,
            "truth_standard_error",
        ),
    ],
)
def test_new_task_constructors_refuse_bad_arguments(make, error, match):
    with pytest.raises(error, match=f"`{match}`"):
        make()


def test_docs_table_is_the_accuracy_suite():
    import pathlib
    import re

    page = (pathlib.Path(__file__).parents[1] / "docs" / "testing.md").read_text()
    section = page[page.index("## The accuracy suite") :]
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) x (\d+) \| ([\d.]+) \|", section, flags=re.M)
    suite = testing.accuracy_suite()
    assert [name for name, *_ in rows] == [task.name for task in suite]
    for (_, dim_x, dim_y, mi), task in zip(rows, suite, strict=True):
        assert (int(dim_x), int(dim_y)) == (task.dim_x, task.dim_y), task.name
        assert mi == f"{task.mutual_information:.4f}", task.name
