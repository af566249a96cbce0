"""Public kernel helpers: input validation, the bandwidth rules and exact self-pairs."""

from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinfo import kernels

KERNELS = [
    kernels.Gaussian(1.0),
    kernels.Gaussian("median"),
    kernels.Laplacian(1.0),
    kernels.Linear(),
    kernels.Cosine(),
]
IDS = ["gaussian", "gaussian-median", "laplacian", "linear", "cosine"]


def _points(n=6, d=2, seed=0):
    return jax.random.normal(jax.random.key(seed), (n, d))


# One compilation per rule instead of dozens of eager dispatches.
_bandwidth = jax.jit(kernels.bandwidth_from_rule, static_argnums=0)


def test_unknown_bandwidth_rule_is_refused():
    x = _points()
    with pytest.raises(
        ValueError, match=r"`rule` must be one of \('median', 'silverman', 'scott'\)"
    ):
        kernels.bandwidth_from_rule(cast(Any, "foo"), x)
    assert np.isfinite(_bandwidth("scott", x))  # the mask is optional
    with pytest.raises(TypeError, match="`mask` must be a boolean"):
        kernels.bandwidth_from_rule("median", x, jnp.ones(6))
    with pytest.raises(ValueError, match="`x` must have shape"):
        kernels.bandwidth_from_rule("scott", x[:, 0])


@pytest.mark.parametrize("rule", kernels.BANDWIDTH_RULES)
def test_bandwidth_of_non_finite_data_is_nan_not_the_fallback(rule):
    x = _points().at[2, 1].set(jnp.nan)
    mask = jnp.arange(6) != 2  # the bad row masked out: a real bandwidth
    assert np.isnan(_bandwidth(rule, x, np.ones(6, bool)))
    assert np.isfinite(_bandwidth(rule, x, mask))
    assert _bandwidth(rule, jnp.ones((6, 2)), mask) == 1.0  # degenerate: the fallback


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_kernel_entry_points_refuse_non_matrix_points(kernel):
    x = _points()
    for call in (kernel.gram, kernel.diagonal, lambda a: kernel.gram(x, a)):
        with pytest.raises(ValueError, match=r"`[xy]` must have shape \[n, d\].*`[xy]\[:, None\]`"):
            call(x[:, 0])
        with pytest.raises(TypeError, match="`[xy]` must be a floating-point array"):
            call(jnp.ones((3, 2), jnp.int32))
    with pytest.raises(ValueError, match="`x` and `y` must have the same number of features"):
        kernel.gram(x, _points(4, 3))
    if isinstance(kernel, kernels.Linear):
        with pytest.raises(ValueError, match=r"`x` must have shape \[n, d\]"):
            kernel.features(x[:, 0])
    else:
        with pytest.raises(ValueError, match=r"`x` must have shape \[n, d\]"):
            kernel.log_gram(x[:, 0])


def test_squared_distances_validates_and_has_a_zero_self_diagonal():
    x = 3.0 + _points(32, 3)
    with pytest.raises(ValueError, match=r"`x` and `y` must have the same number of features.*"):
        kernels.squared_distances(x, _points(4, 2))
    with pytest.raises(ValueError, match=r"`y` must have shape \[n, d\]"):
        kernels.squared_distances(x, x[:, 0])
    sq = kernels.squared_distances(x, x)
    np.testing.assert_array_equal(np.diag(sq), 0.0)
    exact = np.sum((np.asarray(x)[:, None] - np.asarray(x)[None]) ** 2, axis=-1)
    np.testing.assert_allclose(sq, exact, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_gram_self_pairs_are_exact_eagerly_and_under_jit(kernel):
    # Offset data and a tiny bandwidth: before, the expansion's round-off on the diagonal
    # gave K_ii = 0.62 eagerly and 0.39 under jit for the Gaussian (sigma = 1e-3).
    if isinstance(kernel, kernels.Gaussian | kernels.Laplacian) and kernel.bandwidth == 1.0:
        kernel = type(kernel)(1e-3)
    x = 3.0 + _points(64, 3, seed=1)
    expected = np.asarray(kernel.diagonal(x))
    if not isinstance(kernel, kernels.Linear) or isinstance(kernel, kernels.Cosine):
        np.testing.assert_array_equal(expected, 1.0)
    for gram in (kernel.gram, jax.jit(kernel.gram), lambda a: kernel.gram(a, a)):
        np.testing.assert_array_equal(np.diag(gram(x)), expected)
    if not isinstance(kernel, kernels.Linear):
        np.testing.assert_array_equal(np.diag(jax.jit(kernel.log_gram)(x)), 0.0)


def test_cosine_diagonal_is_one_zero_or_nan():
    x = jnp.array([[3.0, 4.0], [0.0, 0.0], [jnp.nan, 1.0], [1e-3, 2e-3]])
    np.testing.assert_array_equal(kernels.Cosine().diagonal(x), [1.0, 0.0, np.nan, 1.0])
