"""The trained estimator's default (issue 25): marginal maps, the selection rule, the error bar."""

from __future__ import annotations

import math
import warnings
from typing import Any, cast

import jax
import numpy as np
import pytest

from jaxinfo import testing
from jaxinfo._src import marginal_transforms, selection
from jaxinfo.nn import estimate_mutual_information


def test_cross_checked_selection_is_unbiased_on_a_flat_noisy_curve():
    # 20 evaluations of a constant 1.0 plus noise on 6 chunks: the best of the curve reads
    # high by about sigma_mean * E[max of 20 normals] = 0.02 * 1.87; the rule does not.
    rng = np.random.default_rng(0)
    weights = np.full(6, 256.0)
    picked, maxima = [], []
    for _ in range(4000):
        values = rng.normal(1.0, 0.05, (20, 6))
        picked.append(selection.cross_checked(values, weights).value)
        maxima.append(np.max(values @ weights / weights.sum()))
    noise = 0.05 / math.sqrt(6)
    assert abs(np.mean(picked) - 1.0) < 4 * noise / math.sqrt(4000)
    assert np.mean(maxima) - 1.0 > 1.5 * noise  # the old rule's bias, measured the same way


def test_cross_checked_selection_finds_a_real_peak():
    steps = np.arange(15, dtype=np.float64)
    curve = 1.0 - 0.01 * (steps - 9.0) ** 2  # peak at evaluation 9
    rng = np.random.default_rng(1)
    values = curve[:, None] + rng.normal(0.0, 1e-3, (15, 8))
    picked = selection.cross_checked(values, np.full(8, 100.0))
    assert picked.evaluation == 9
    assert picked.value == pytest.approx(1.0, abs=2e-3)


def test_cross_checked_standard_error_is_the_chunk_standard_error():
    rng = np.random.default_rng(2)
    values = np.repeat(rng.normal(0.5, 0.1, (1, 7)), 4, axis=0)  # flat: every pick reads row 0
    picked = selection.cross_checked(values, np.full(7, 50.0))
    assert picked.value == pytest.approx(values[0].mean(), rel=1e-12)
    assert picked.standard_error == pytest.approx(values[0].std(ddof=1) / math.sqrt(7), rel=1e-12)


def test_cross_checked_selection_skips_nan_and_handles_one_chunk():
    values = np.array([[np.nan, np.nan], [0.3, 0.5], [0.2, 0.1]])
    picked = selection.cross_checked(values, np.array([10.0, 10.0]))
    assert picked.evaluation == 1 and picked.value == pytest.approx(0.4)
    single = selection.cross_checked(np.array([[0.1], [0.4], [0.2]]), np.array([5.0]))
    assert single.evaluation == 1 and single.value == 0.4 and math.isnan(single.standard_error)
    all_nan = selection.cross_checked(np.full((3, 4), np.nan), np.ones(4))
    assert math.isnan(all_nan.value)


@pytest.mark.parametrize("kind", ["asinh", "standardize", "normal_scores", None])
def test_marginal_maps_are_monotone_per_column_and_fitted_on_training_rows(kind):
    rng = np.random.default_rng(3)
    train = np.stack([rng.standard_cauchy(500), rng.uniform(size=500), np.full(500, 2.0)], 1)
    held = np.stack([rng.standard_cauchy(300), rng.uniform(-1, 2, 300), np.full(300, 2.0)], 1)
    apply = marginal_transforms.fit(train, kind)
    out = apply(held)
    assert np.all(np.isfinite(out))
    for column in range(2):  # strictly monotone: the order of distinct values is kept
        order = np.argsort(held[:, column])
        assert np.all(np.diff(out[order, column]) >= 0)
    assert np.all(out[:, 2] == out[0, 2])  # a constant column stays constant
    # the map depends on the training rows only
    again = marginal_transforms.fit(train, kind)(held[::-1])
    np.testing.assert_array_equal(again, out[::-1])


def test_asinh_map_is_nearly_linear_in_the_bulk_and_logarithmic_in_the_tails():
    train = np.random.default_rng(4).standard_normal((20_000, 1))
    apply = marginal_transforms.fit(train, "asinh")
    z = np.array([[-1.0], [0.5], [2.0]])
    np.testing.assert_allclose(apply(z), z, atol=0.12)  # robust z of N(0, 1) ~ z
    assert abs(apply(np.array([[1e8]]))[0, 0]) < 60  # 3 asinh(1e8 / 3) = 53


def test_normal_scores_of_the_training_rows_are_the_rank_quantiles():
    train = np.array([[3.0], [1.0], [2.0], [2.0]])
    out = marginal_transforms.fit(train, "normal_scores")(train)
    ranks = np.array([4.0, 1.0, 2.5, 2.5])  # ties share their average rank
    from scipy.stats import norm

    np.testing.assert_allclose(out[:, 0], norm.ppf(ranks / 5.0), rtol=1e-6)


def _cauchy(n, seed=1):
    task = testing.student_t(1, dof=1.0)
    x, y = task.sample(jax.random.key(seed), n)
    return task, x, y


def test_the_cauchy_task_does_not_blow_up_on_a_short_run():
    # Before issue 25 the z-scored default's held-out curve rose without bound on this task
    # (0.11, 0.27, 0.42 here; 2.6 nats at n = 5000 for a truth of 0.224)
    task, x, y = _cauchy(2000)
    result = estimate_mutual_information(x, y, max_steps=750, batch_size=64, progress=False)
    assert np.all(result.held_out_values < 0.3), result.held_out_values
    assert abs(result.value - task.mutual_information) < 0.06


@pytest.mark.slow
def test_the_cauchy_task_with_defaults_is_within_a_tenth_of_a_nat():
    for seed in (1, 2):
        task, x, y = _cauchy(5000, seed)
        result = estimate_mutual_information(x, y, progress=False)
        assert abs(result.value - task.mutual_information) < 0.1, (seed, result.value)


@pytest.mark.slow
def test_standard_error_is_finite_and_shrinks_with_the_sample():
    task = testing.correlated_gaussians(1, 1, correlation=0.75)
    errors = []
    for n in (800, 6400):
        x, y = task.sample(jax.random.key(5), n)
        result = estimate_mutual_information(
            x,
            y,
            max_steps=250,
            evaluate_every=125,
            batch_size=64,
            evaluation_batch_size=64,
            progress=False,
        )
        assert np.isfinite(result.standard_error) and result.standard_error > 0
        errors.append(result.standard_error)
    # 8x the held-out chunks: about sqrt(8) = 2.8x smaller; at least 1.8x
    assert errors[1] < errors[0] / 1.8, errors


def test_deprecated_standardize_maps_onto_marginals():
    from jaxinfo._src.estimation import _marginal_choice

    with pytest.warns(DeprecationWarning, match="standardize"):
        assert _marginal_choice("normal_scores", True) == "standardize"
    with pytest.warns(DeprecationWarning):
        assert _marginal_choice("normal_scores", False) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(TypeError, match="Pass `marginals` only"):
            _marginal_choice("asinh", True)
    # through the public function: the warning points at the caller, same value
    x, y = testing.correlated_gaussians().sample(jax.random.key(6), 300)
    options: dict[str, Any] = {"max_steps": 20, "evaluate_every": 10, "progress": False}
    with pytest.warns(DeprecationWarning, match="standardize") as caught:
        old = estimate_mutual_information(x, y, standardize=True, **options)
    assert caught[0].filename == __file__
    assert old.value == estimate_mutual_information(x, y, marginals="standardize", **options).value


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"marginals": "rank"}, ValueError, "`marginals` must be one of"),
        ({"weight_averaging": 1.0}, ValueError, "`weight_averaging` must lie in"),
        ({"weight_averaging": "0.9"}, TypeError, "weight_averaging"),
    ],
)
def test_new_options_are_checked(options, error, match):
    x, y = testing.correlated_gaussians().sample(jax.random.key(7), 100)
    with pytest.raises(error, match=match):
        estimate_mutual_information(x, y, **cast(Any, options))


def _gaussian_log_density(z, mean, cov):
    from scipy.stats import multivariate_normal

    return multivariate_normal(mean, cov).logpdf(z)


def test_gaussian_baseline_scores_are_the_fitted_gaussian_log_ratio(x64):
    from flax import nnx

    from jaxinfo.nn import ConcatCritic, GaussianBaselineCritic

    x, y = testing.correlated_gaussians(2, 3, correlation=0.4).sample(jax.random.key(8), 400)
    mlp = ConcatCritic(2, 3, param_dtype=np.float64, rngs=nnx.Rngs(0))
    critic = GaussianBaselineCritic(mlp, x, y)
    joint = np.concatenate([np.asarray(x), np.asarray(y)], axis=1)
    mean, cov = joint.mean(0), np.cov(joint, rowvar=False)
    xs, ys = np.asarray(x[:4]), np.asarray(y[:5])
    pairs = np.concatenate([np.repeat(xs, 5, 0), np.tile(ys, (4, 1))], axis=1)
    expected = (
        _gaussian_log_density(pairs, mean, cov)
        - _gaussian_log_density(pairs[:, :2], mean[:2], cov[:2, :2])
        - _gaussian_log_density(pairs[:, 2:], mean[2:], cov[2:, 2:])
    ).reshape(4, 5)
    np.testing.assert_allclose(critic.gaussian_scores(x[:4], y[:5]), expected, rtol=1e-10)
    # the residual adds on top; the Gaussian's weight (starting at 1) and the residual's
    # parameters are trainable, the fitted mean and quadratic are not
    np.testing.assert_allclose(
        critic(x[:4], y[:5]), expected + np.asarray(critic.residual(x[:4], y[:5])), rtol=1e-10
    )
    trainable = jax.tree.leaves(nnx.state(critic, nnx.Param))
    residual = jax.tree.leaves(nnx.state(critic.residual, nnx.Param))
    assert sum(a.size for a in trainable) == sum(a.size for a in residual) + 1


def test_gaussian_baseline_refuses_what_it_cannot_fit():
    from flax import nnx

    from jaxinfo.nn import ConcatCritic, GaussianBaselineCritic

    x, y = testing.correlated_gaussians(2, 2).sample(jax.random.key(9), 50)
    mlp = ConcatCritic(2, 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="built for x_features = 3; the rows have 2"):
        GaussianBaselineCritic(ConcatCritic(3, 2, rngs=nnx.Rngs(0)), np.ones((50, 2)), y)
    with pytest.raises(ValueError, match="more rows than dx \\+ dy = 4"):
        GaussianBaselineCritic(mlp, x[:4], y[:4])
    with pytest.raises(ValueError, match="singular"):
        GaussianBaselineCritic(mlp, x.at[:, 1].set(1.0), y)
    with pytest.raises(TypeError, match="`critic` must be a jaxinfo.nn.Critic"):
        GaussianBaselineCritic(cast(Any, "mlp"), x, y)
    with pytest.raises(ValueError, match="`shrinkage` must lie in"):
        GaussianBaselineCritic(mlp, x, y, shrinkage=1.0)


@pytest.mark.slow
def test_default_estimate_of_a_gaussian_is_within_its_error_bar():
    # the Gaussian baseline carries a Gaussian's log ratio: a short run is already close
    task = testing.correlated_gaussians(3, 3, correlation=0.5, interaction="sparse")
    x, y = task.sample(jax.random.key(10), 3000)
    result = estimate_mutual_information(x, y, max_steps=250, batch_size=128, progress=False)
    assert abs(result.value - task.mutual_information) < max(3 * result.standard_error, 0.03)


@pytest.mark.slow
def test_min_improvement_stops_a_creeping_curve_earlier():
    x, y = testing.correlated_gaussians(1, 1, correlation=0.75).sample(jax.random.key(11), 600)
    options: dict[str, Any] = {
        "max_steps": 400,
        "evaluate_every": 20,
        "patience": 2,
        "batch_size": 64,
        "progress": False,
    }
    strict = estimate_mutual_information(x, y, min_improvement=0.05, **options)
    loose = estimate_mutual_information(x, y, min_improvement=0.0, **options)
    # same seed, same curve: the 0.05-nat rule stops no later, and here strictly earlier
    np.testing.assert_array_equal(
        strict.held_out_values, loose.held_out_values[: len(strict.held_out_values)]
    )
    assert len(strict.steps) < len(loose.steps)
    with pytest.raises(ValueError, match="`min_improvement`"):
        estimate_mutual_information(x, y, min_improvement=-1.0)
