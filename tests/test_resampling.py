"""confidence_interval and permutation_test: explicit loops, formulas, coverage, null p-values."""

from __future__ import annotations

import collections
import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from registry import ENTRIES
from scipy import stats

import jaxinfo
from jaxinfo import kernels, testing
from jaxinfo._src import resampling

TASK = testing.correlated_gaussians(1, 1, correlation=0.6)


def _matrix_mi(x, y):
    return jaxinfo.matrix_mutual_information(
        x, y, alpha=2, kernel_x=kernels.Gaussian(1.0), kernel_y=kernels.Gaussian(1.0)
    )


def _column_mean(x):
    return jnp.mean(x[:, 0])


@pytest.fixture(scope="module")
def pair():
    return TASK.sample(jax.random.key(3), 40)


def _explicit(estimator, arrays, key, num_draws, size, replace, paired=True):
    """The documented draws, one jitted call each in a Python loop."""
    single = jax.jit(estimator)
    values = []
    for b in range(num_draws):
        draw_key = jax.random.fold_in(key, b)
        if paired:
            rows = resampling._drawn_rows(draw_key, arrays[0].shape[0], size, replace)
            values.append(single(*(a[rows] for a in arrays)))
        else:
            keys = jax.random.split(draw_key, len(arrays))
            values.append(
                single(
                    *(
                        a[resampling._drawn_rows(k, a.shape[0], a.shape[0] // 2, replace)]
                        for a, k in zip(arrays, keys, strict=True)
                    )
                )
            )
    return np.array(values)


@pytest.mark.parametrize("method", ["subsample", "bootstrap"])
def test_redrawn_values_equal_an_explicit_loop(pair, method):
    key = jax.random.key(11)
    interval = jaxinfo.confidence_interval(
        jaxinfo.gaussian_mutual_information, *pair, key=key, num_resamples=6, method=method
    )
    size = 20 if method == "subsample" else 40
    expected = _explicit(
        jaxinfo.gaussian_mutual_information, pair, key, 6, size, method == "bootstrap"
    )
    np.testing.assert_allclose(interval.resampled_values, expected, rtol=1e-6)
    assert interval.resample_size == size
    np.testing.assert_allclose(
        interval.value, jaxinfo.gaussian_mutual_information(*pair), rtol=1e-6
    )


def _mean_difference(x, y):
    return jnp.mean(x) - jnp.mean(y)


def test_unpaired_redraws_each_array_on_its_own(pair):
    x, y = pair[0], pair[1][:30] + 1.0
    key = jax.random.key(2)
    interval = jaxinfo.confidence_interval(
        _mean_difference, x, y, key=key, num_resamples=4, paired=False
    )
    expected = _explicit(_mean_difference, (x, y), key, 4, None, False, paired=False)
    np.testing.assert_allclose(interval.resampled_values, expected, rtol=1e-6)


def test_interval_is_the_rescaled_basic_interval(pair):
    interval = jaxinfo.confidence_interval(
        jaxinfo.gaussian_mutual_information, *pair, key=jax.random.key(0), confidence=0.8
    )
    factor = math.sqrt(20 * 39 / (40 * 20))
    redrawn = np.asarray(interval.resampled_values)
    deviations = factor * (redrawn - redrawn.mean())
    np.testing.assert_allclose(interval.standard_error, np.std(deviations, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(
        interval.low, float(interval.value) - np.quantile(deviations, 0.9), rtol=1e-5
    )
    np.testing.assert_allclose(
        interval.high, float(interval.value) - np.quantile(deviations, 0.1), rtol=1e-5
    )
    assert interval.method == "subsample" and interval.confidence == 0.8


@pytest.mark.parametrize("method", ["subsample", "bootstrap"])
def test_standard_error_of_a_mean_is_sigma_over_root_n(method):
    """The rate correction: redraws of any size give the n-row spread of a mean."""
    x = jax.random.normal(jax.random.key(5), (400, 1))
    for size in (100, 300):
        interval = jaxinfo.confidence_interval(
            _column_mean,
            x,
            key=jax.random.key(size),
            num_resamples=1000,
            method=method,
            resample_size=size,
        )
        expected = float(jnp.std(x)) / math.sqrt(400)
        assert float(interval.standard_error) == pytest.approx(expected, rel=0.08)


def test_batch_size_and_mesh_give_the_same_draws(pair):
    key = jax.random.key(4)
    estimator = jaxinfo.gaussian_mutual_information
    reference = jaxinfo.confidence_interval(
        estimator, *pair, key=key, num_resamples=10
    ).resampled_values
    mesh = jax.make_mesh((8,), ("draws",))
    options: dict[str, Any]
    for options in ({"batch_size": 3}, {"batch_size": 10}, {"mesh": mesh}):
        values = jaxinfo.confidence_interval(
            estimator, *pair, key=key, num_resamples=10, **cast(Any, options)
        ).resampled_values
        np.testing.assert_allclose(values, reference, rtol=1e-6, err_msg=str(options))
    permuted = jaxinfo.permutation_test(estimator, *pair, key=key, num_permutations=10, mesh=mesh)
    single = jaxinfo.permutation_test(estimator, *pair, key=key, num_permutations=10)
    np.testing.assert_allclose(permuted.null_values, single.null_values, rtol=1e-6)


def test_runs_under_jit_and_reads_value_attributes(pair):
    Result = collections.namedtuple("Result", ["value", "other"])

    def wrapped(x, y):
        return Result(jaxinfo.gaussian_mutual_information(x, y), jnp.zeros(3))

    @jax.jit
    def both(x, y):
        return jaxinfo.confidence_interval(wrapped, x, y, key=jax.random.key(1), num_resamples=8)

    eager = jaxinfo.confidence_interval(wrapped, *pair, key=jax.random.key(1), num_resamples=8)
    np.testing.assert_allclose(both(*pair).high, eager.high, rtol=1e-6)


def test_where_equals_slicing(pair):
    mask = np.arange(40) % 3 != 0
    key = jax.random.key(8)
    masked = jaxinfo.confidence_interval(
        jaxinfo.gaussian_mutual_information, *pair, key=key, num_resamples=5, where=mask
    )
    sliced = jaxinfo.confidence_interval(
        jaxinfo.gaussian_mutual_information,
        pair[0][mask],
        pair[1][mask],
        key=key,
        num_resamples=5,
    )
    np.testing.assert_allclose(masked.resampled_values, sliced.resampled_values, rtol=1e-6)
    tested = jaxinfo.permutation_test(
        jaxinfo.gaussian_mutual_information, *pair, key=key, num_permutations=5, where=mask
    )
    np.testing.assert_allclose(
        tested.statistic, jaxinfo.gaussian_mutual_information(pair[0][mask], pair[1][mask])
    )


def test_permutation_test_p_value_and_null():
    x, y = TASK.sample(jax.random.key(1), 60)
    key = jax.random.key(9)
    test = jaxinfo.permutation_test(
        jaxinfo.gaussian_mutual_information, x, y, key=key, num_permutations=19
    )
    single = jax.jit(jaxinfo.gaussian_mutual_information)
    expected = [
        single(x, y[jax.random.permutation(jax.random.fold_in(key, b), 60)]) for b in range(19)
    ]
    np.testing.assert_allclose(test.null_values, expected, rtol=1e-6)
    exceed = np.sum(np.asarray(test.null_values) >= float(test.statistic))
    assert float(test.p_value) == pytest.approx((1 + exceed) / 20)
    assert float(test.p_value) == pytest.approx(1 / 20)  # I = 0.22 nats at n = 60: no null beats it


def test_nan_null_values_give_a_nan_p_value(pair):
    """A NaN null value would count as "smaller" and shrink the p-value: it is NaN instead."""
    y = pair[1].at[:, 0].set(jnp.linspace(-1.0, 1.0, 40))

    def nan_when_permuted(x, y):
        return jnp.where(y[0, 0] == -1.0, jaxinfo.gaussian_mutual_information(x, y), jnp.nan)

    test = jaxinfo.permutation_test(nan_when_permuted, pair[0], y, key=jax.random.key(0))
    assert np.isfinite(float(test.statistic)) and np.isnan(float(test.p_value))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"estimator": 3}, TypeError, "`estimator` must be a function"),
        ({"method": "jackknife"}, ValueError, "`method` must be one of"),
        ({"num_resamples": 1}, ValueError, "`num_resamples` must be an int >= 2"),
        ({"confidence": 1.0}, ValueError, "`confidence` must be below 1"),
        ({"confidence": 0.0}, ValueError, "`confidence` must be"),
        ({"resample_size": 40}, ValueError, "`resample_size` must be below the number"),
        ({"resample_size": 41, "method": "bootstrap"}, ValueError, "at most the number"),
        ({"key": 0}, TypeError, "`key` must be a JAX PRNG key"),
        ({"mesh": "devices"}, TypeError, "`mesh` must be a `jax.sharding.Mesh`"),
        ({"batch_size": 0}, ValueError, "`batch_size` must be an int >= 1"),
        ({"paired": False, "resample_size": 5}, ValueError, "apply only with paired=True"),
        ({"where": np.ones(39, bool)}, ValueError, "`where` must have shape"),
        ({"estimator": lambda x, y: x}, TypeError, "must return a scalar"),
    ],
)
def test_confidence_interval_errors_name_the_argument(pair, options, error, message):
    arguments: dict[str, Any] = {
        "estimator": jaxinfo.gaussian_mutual_information,
        "key": jax.random.key(0),
        "num_resamples": 4,
    }
    arguments.update(options)
    estimator = arguments.pop("estimator")
    with pytest.raises(error, match=message):
        jaxinfo.confidence_interval(estimator, *pair, **cast(Any, arguments))


def test_errors_of_rows_and_traced_masks(pair):
    with pytest.raises(ValueError, match="same number of rows"):
        jaxinfo.confidence_interval(
            jaxinfo.gaussian_mutual_information, pair[0], pair[1][:30], key=jax.random.key(0)
        )
    with pytest.raises(TypeError, match="needs at least one sample array"):
        jaxinfo.confidence_interval(jaxinfo.gaussian_entropy, key=jax.random.key(0))
    # The estimator's own message speaks of the redrawn set's n, so the wrapper says so.
    x, y = pair[0][:6], pair[1][:6]
    with pytest.raises(ValueError, match=r"redrawn set of 3 rows \(the data has 6;.*got k = 3"):
        jaxinfo.confidence_interval(jaxinfo.ksg_mutual_information, x, y, key=jax.random.key(0))

    @jax.jit
    def traced(mask):
        return jaxinfo.permutation_test(
            jaxinfo.gaussian_mutual_information, *pair, key=jax.random.key(0), where=mask
        ).p_value

    with pytest.raises(TypeError, match="`where` must be concrete"):
        traced(jnp.ones(40, bool))
    with pytest.raises(ValueError, match="`num_permutations` must be an int >= 1"):
        jaxinfo.permutation_test(
            jaxinfo.gaussian_mutual_information, *pair, key=jax.random.key(0), num_permutations=0
        )


def test_matrix_order2_population_value():
    """The closed form the coverage target uses, against a large-n estimate (float64)."""
    truth = testing.matrix_mutual_information_order2(correlation=0.6, bandwidth=1.0)
    assert truth == pytest.approx(0.5 * (2 * math.log(5.0) - math.log(25.0 - 16.0 * 0.36)))
    x, y = TASK.sample(jax.random.key(0), 3000)
    assert float(_matrix_mi(x, y)) == pytest.approx(truth, abs=0.01)


# Registry entries whose first draws are compared with an explicit loop in the default run:
# one per family (the rest with -m slow).
REPRESENTATIVES = {"matrix_renyi_entropy[gauss,a=2.0]", "ksg_mutual_information[k=3]"}


def _registry_params():
    for entry in ENTRIES:
        marks = () if entry.name in REPRESENTATIVES else (pytest.mark.slow,)
        yield pytest.param(entry, id=entry.name, marks=marks)


@pytest.mark.parametrize("entry", list(_registry_params()))
def test_every_registry_estimator_redraws_like_a_loop(entry):
    n = max(24, 4 * entry.min_samples)
    arrays = entry.make_inputs(jax.random.key(1), n)
    key = jax.random.key(2)
    interval = jaxinfo.confidence_interval(entry.fn, *arrays, key=key, num_resamples=3)
    expected = _explicit(entry.fn, arrays, key, 3, n // 2, replace=False)
    np.testing.assert_allclose(interval.resampled_values, expected, rtol=2e-5, atol=1e-6)
    assert np.isfinite(float(interval.standard_error))


COVERAGE_ESTIMATORS = {
    "gaussian": (jaxinfo.gaussian_mutual_information, TASK.mutual_information),
    "ksg": (jaxinfo.ksg_mutual_information, TASK.mutual_information),
    "matrix_order2": (
        _matrix_mi,
        testing.matrix_mutual_information_order2(correlation=0.6, bandwidth=1.0),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COVERAGE_ESTIMATORS))
def test_ninety_percent_intervals_cover_85_to_95_percent(name):
    estimator, truth = COVERAGE_ESTIMATORS[name]
    covered = []
    for r in range(200):
        x, y = TASK.sample(jax.random.key(r), 400)
        interval = jaxinfo.confidence_interval(estimator, x, y, key=jax.random.key(10_000 + r))
        covered.append(float(interval.low) <= truth <= float(interval.high))
    assert 0.85 <= np.mean(covered) <= 0.95


@pytest.mark.slow
@pytest.mark.parametrize(
    "estimator", [jaxinfo.ksg_mutual_information, jaxinfo.gaussian_mutual_information]
)
def test_null_p_values_are_uniform(estimator):
    independent = testing.correlated_gaussians(1, 1, correlation=0.0)
    p_values = []
    for r in range(200):
        x, y = independent.sample(jax.random.key(r), 100)
        test = jaxinfo.permutation_test(
            estimator, x, y, key=jax.random.key(5000 + r), num_permutations=99
        )
        p_values.append(float(test.p_value))
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
