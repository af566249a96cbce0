"""Issue 24 (trust, round two): probability vectors checked by default; singular Gaussians."""

from __future__ import annotations

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo

P = jnp.array([0.1, 0.2, 0.3, 0.4])
Q = jnp.array([0.25, 0.25, 0.4, 0.1])
FIX = "or pass validate=False to skip this check"

# Every probability-taking function, as fn(p, q, **options).
PROBABILITY_FUNCTIONS = {
    "shannon_entropy": lambda p, q, **kw: jaxinfo.shannon_entropy(p, **kw),
    "kl_divergence": lambda p, q, **kw: jaxinfo.kl_divergence(p, q, **kw),
    "js_divergence": lambda p, q, **kw: jaxinfo.js_divergence(p, q, **kw),
    "renyi_entropy": lambda p, q, **kw: jaxinfo.renyi_entropy(p, alpha=2.0, **kw),
}


# 1. Probability functions check their input by default.
def test_item1_misused_probabilities_raise_naming_argument_row_and_fix():
    # 2872f18 returned 1.03 and [-1.39, -8.84] (counts are not probabilities)
    with pytest.raises(ValueError, match=r"`p` has the negative entry -0.2 at position 1") as bad:
        jaxinfo.shannon_entropy(jnp.array([0.6, -0.2, 0.3, 0.3]))
    assert "shannon_entropy_from_logits" in str(bad.value) and FIX in str(bad.value)
    counts = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"`p\[0\]` sums to 3 instead of 1\. Normalise it"):
        jaxinfo.shannon_entropy(counts)
    with pytest.raises(ValueError, match=r"every row of `q` must sum to 1.*`q` sums to 2 instead"):
        jaxinfo.kl_divergence(P, 2.0 * Q)
    with pytest.raises(ValueError, match=r"`p\[1\]` sums to 7 instead of 1"):
        jaxinfo.js_divergence(jnp.array([[0.5, 0.5], [3.0, 4.0]]), jnp.array([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"jax\.nn\.softmax\(logits\)"):
        jaxinfo.renyi_entropy(jnp.log(P), alpha=2.0)
    # The explicit opt-out runs the arithmetic unchecked (the old numbers).
    np.testing.assert_allclose(
        jaxinfo.shannon_entropy(counts, validate=False), [-1.386294, -8.841015], rtol=1e-5
    )
    with pytest.raises(TypeError, match="`validate` must be True or False"):
        jaxinfo.shannon_entropy(P, validate=cast(Any, "no"))


@pytest.mark.parametrize("name", list(PROBABILITY_FUNCTIONS))
def test_item1_traced_rows_that_are_no_distribution_give_nan(name):
    fn = PROBABILITY_FUNCTIONS[name]
    p = jnp.stack([P, 2.0 * P, jnp.array([0.6, -0.2, 0.3, 0.3]), P])
    q = jnp.stack([Q, Q, Q, 3.0 * Q])  # the last row: only `q` is no distribution
    exact = fn(p[:1], q[:1])[0]
    takes_q = name in ("kl_divergence", "js_divergence")
    for value in (jax.jit(fn)(p, q), jax.vmap(fn)(p, q)):
        np.testing.assert_allclose(value[0], exact, rtol=1e-6)
        assert np.all(np.isnan(value[1:3])) and np.isnan(value[3]) == takes_q
    assert not np.any(np.isnan(jax.jit(lambda a, b: fn(a, b, validate=False))(p[:2], q[:2])))


@pytest.mark.parametrize("name", list(PROBABILITY_FUNCTIONS))
def test_item1_gradients_of_valid_rows_are_unchanged_and_finite(name):
    fn = PROBABILITY_FUNCTIONS[name]
    bad = jnp.array([0.6, -0.2, 0.0, 0.6])
    p = jnp.stack([P, bad, Q])

    def total(p, q):
        return jnp.nansum(fn(p, q))

    # q broadcast against every row of p: a bad p row must not poison q's gradient
    grad_p, grad_q = jax.grad(total, argnums=(0, 1))(p, Q)
    valid_p, valid_q = jax.grad(total, argnums=(0, 1))(p[jnp.array([0, 2])], Q)
    assert np.all(np.isfinite(grad_p)) and np.all(np.isfinite(grad_q))
    np.testing.assert_allclose(grad_p[jnp.array([0, 2])], valid_p, rtol=1e-6)
    np.testing.assert_allclose(grad_q, valid_q, rtol=1e-6)
    assert np.all(grad_p[1] == 0)


def test_item1_float32_normalised_rows_pass_and_masked_rows_are_exempt():
    for k in (2, 100, 10_000, 1_000_000):
        logits = 5.0 * jax.random.normal(jax.random.key(k), (2, k))
        for p in (jax.nn.softmax(logits), jnp.abs(logits) / jnp.abs(logits).sum(-1, keepdims=True)):
            assert np.all(np.isfinite(jaxinfo.shannon_entropy(p)))
            assert not np.any(np.isnan(jax.jit(jaxinfo.shannon_entropy)(p)))
    # bfloat16 rows are off 1 by up to eps / 2 = 2e-3: their tolerance follows their dtype
    coarse = jax.nn.softmax(jax.random.normal(jax.random.key(0), (4, 50))).astype(jnp.bfloat16)
    assert np.all(np.isfinite(jaxinfo.shannon_entropy(coarse)))
    with pytest.raises(ValueError, match="tolerance 3.5e-04"):
        jaxinfo.shannon_entropy(jnp.array([0.5, 0.501]))
    # a row with no included entry is padding, whatever it holds; included entries must be
    # a distribution (excluded ones may hold anything)
    p = jnp.array([[0.5, 0.5, jnp.nan], [7.0, -1.0, 3.0], [0.2, 0.8, -4.0]])
    where = jnp.array([[True, True, False], [False, False, False], [True, True, False]])
    expected = [math.log(2.0), 0.0, -(0.2 * math.log(0.2) + 0.8 * math.log(0.8))]
    np.testing.assert_allclose(jaxinfo.shannon_entropy(p, where=where), expected, rtol=1e-6)
    np.testing.assert_allclose(
        jax.jit(jaxinfo.shannon_entropy)(p, where=where), expected, rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"`p\[0\]` sums to 0.5 instead of 1"):
        jaxinfo.shannon_entropy(p, where=jnp.array([True, False, False]))
    traced = jax.jit(lambda w: jaxinfo.shannon_entropy(p, where=w))(where.at[0, 1].set(False))
    assert np.isnan(traced[0]) and np.isfinite(traced[1]) and np.isfinite(traced[2])


# 2. A covariance that is singular has no finite Gaussian entropy or MI.
def _xy(n=16):
    kx, ky = jax.random.split(jax.random.key(24))
    return jax.random.normal(kx, (n, 3)), jax.random.normal(ky, (n, 3))


GAUSSIAN_MI = {
    "gaussian_mutual_information": jaxinfo.gaussian_mutual_information,
    "gaussian_copula_mutual_information": jaxinfo.gaussian_copula_mutual_information,
}


def test_item2_too_few_rows_for_the_dimension_raise_naming_shrinkage():
    x, y = _xy()
    # 2872f18: 3 samples in 6 dimensions gave MI 10.3 (the data: 9.54)
    for name, fn in GAUSSIAN_MI.items():
        with pytest.raises(ValueError, match=r"got n = 3, d = 6.*Pass shrinkage=") as sliced:
            fn(x[:3], y[:3])
        assert "joint covariance of `x` and `y` (d = 3 + 3)" in str(sliced.value)
        with pytest.raises(ValueError) as masked:
            fn(x, y, where=jnp.arange(16) < 6)  # valid rows counted: n = 6 <= d = 6
        assert str(masked.value) == str(sliced.value).replace(
            "n = 3", "n = 6 valid under `where`"
        ), name
        assert np.isnan(jax.jit(lambda m, fn=fn: fn(x, y, where=m))(jnp.arange(16) < 6))
        assert np.isnan(jax.jit(lambda s, fn=fn: fn(x[:6], y[:6], shrinkage=s))(0.0))
        assert np.isfinite(fn(x[:3], y[:3], shrinkage=0.1))
        assert np.isfinite(fn(x[:7], y[:7]))
    with pytest.raises(ValueError, match=r"covariance of `x` needs more .* n = 3, d = 3"):
        jaxinfo.gaussian_entropy(x[:3])  # 2872f18: -1.82, a floor, not an estimate
    assert np.isnan(jax.jit(lambda m: jaxinfo.gaussian_entropy(x, where=m))(jnp.arange(16) < 3))
    assert np.isfinite(jaxinfo.gaussian_entropy(x[:4]))
    assert np.isfinite(jaxinfo.gaussian_entropy(x[:3], shrinkage=0.2))


def test_item2_singular_data_give_infinity_with_a_zero_gradient():
    x, y = _xy(64)
    duplicated = x.at[:, 2].set(x[:, 0])
    entropy = jax.jit(jax.value_and_grad(jaxinfo.gaussian_entropy))
    # 2872f18: -1.27 and -126.7 (the floor), finite numbers with no meaning
    for singular in (duplicated, x.at[:, 1].set(0.7), x.at[:, 2].set(x[:, 0] - 2.0 * x[:, 1])):
        value, grad = entropy(singular)
        assert value == -np.inf and np.all(grad == 0)
    # 2872f18: 14.9 for y = x
    mi = jax.jit(jax.value_and_grad(jaxinfo.gaussian_mutual_information, argnums=(0, 1)))
    value, grads = mi(x, x)
    assert value == np.inf and all(np.all(g == 0) for g in grads)
    assert jaxinfo.gaussian_copula_mutual_information(x, x) == np.inf
    np.testing.assert_allclose(  # a constant column carries no information
        jaxinfo.gaussian_mutual_information(x.at[:, 1].set(0.7), y),
        jaxinfo.gaussian_mutual_information(x[:, ::2], y),
        rtol=1e-4,
    )
    # with the variances factored out, column scales enter only through log det D
    scales = jnp.array([1e3, 1.0, 1e-3])  # 2872f18: off by 8.18 nats
    np.testing.assert_allclose(
        jaxinfo.gaussian_entropy(x * scales), jaxinfo.gaussian_entropy(x), rtol=1e-5
    )
