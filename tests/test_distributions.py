"""Entropies and divergences of probability vectors against closed forms and SciPy."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

import jaxinfo

P = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
Q = np.array([0.25, 0.25, 0.4, 0.1], np.float32)


def test_shannon_entropy_closed_forms():
    k = 8
    np.testing.assert_allclose(jaxinfo.shannon_entropy(jnp.full(k, 1.0 / k)), np.log(k), rtol=1e-6)
    point = jax.nn.one_hot(3, k)
    assert float(jaxinfo.shannon_entropy(point)) == 0.0
    np.testing.assert_allclose(jaxinfo.shannon_entropy(P), scipy_entropy(P), rtol=1e-6)
    np.testing.assert_allclose(
        jaxinfo.shannon_entropy(P, base=2), scipy_entropy(P, base=2), rtol=1e-6
    )


def test_batch_axes_and_where():
    batch = jnp.stack([jnp.asarray(P), jnp.asarray(Q)])
    np.testing.assert_allclose(
        jaxinfo.shannon_entropy(batch), [scipy_entropy(P), scipy_entropy(Q)], rtol=1e-6
    )
    padded = jnp.concatenate([jnp.asarray(P), jnp.array([jnp.nan, 5.0])])
    where = jnp.arange(6) < 4
    np.testing.assert_allclose(
        jaxinfo.shannon_entropy(padded, where=where), scipy_entropy(P), rtol=1e-6
    )
    grad = jax.grad(lambda p: jaxinfo.shannon_entropy(p, where=where))(padded)
    assert np.all(np.isfinite(grad)) and np.all(grad[4:] == 0)


def test_zero_probabilities_have_zero_finite_gradient():
    p = jnp.array([0.0, 0.5, 0.5, 0.0])
    for fn in (
        jaxinfo.shannon_entropy,
        lambda v: jaxinfo.renyi_entropy(v, alpha=0.5),
        lambda v: jaxinfo.renyi_entropy(v, alpha=1.0),
        lambda v: jaxinfo.kl_divergence(v, jnp.full(4, 0.25)),
    ):
        grad = jax.grad(fn)(p)
        assert np.all(np.isfinite(grad)) and grad[0] == 0 and grad[3] == 0
    grad = jax.grad(lambda v: jaxinfo.js_divergence(v, jnp.array([0.0, 0.0, 0.5, 0.5])))(p)
    assert np.all(np.isfinite(grad)) and grad[0] == 0


def test_kl_and_js_against_scipy():
    np.testing.assert_allclose(jaxinfo.kl_divergence(P, Q), scipy_entropy(P, Q), rtol=1e-5)
    np.testing.assert_allclose(
        jaxinfo.kl_divergence(Q, P, base=2), scipy_entropy(Q, P, base=2), rtol=1e-5
    )
    np.testing.assert_allclose(jaxinfo.js_divergence(P, Q), jensenshannon(P, Q) ** 2, rtol=1e-5)
    np.testing.assert_allclose(
        jaxinfo.js_divergence(P, Q, base=2), jensenshannon(P, Q, base=2) ** 2, rtol=1e-5
    )
    np.testing.assert_allclose(jaxinfo.js_divergence(P, Q), jaxinfo.js_divergence(Q, P), rtol=1e-6)
    assert abs(float(jaxinfo.kl_divergence(P, P))) < 1e-7
    # disjoint supports: KL infinite, JS = log 2 exactly
    a, b = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    assert np.isinf(jaxinfo.kl_divergence(a, b))
    np.testing.assert_allclose(jaxinfo.js_divergence(a, b), np.log(2.0), rtol=1e-6)


def test_js_divergence_is_accurate_for_nearly_equal_distributions(x64):
    p = jnp.asarray(P, jnp.float32)
    q = p + jnp.array([1e-4, -1e-4, 0.0, 0.0], jnp.float32)
    p64, q64 = np.asarray(p, np.float64), np.asarray(q, np.float64)
    expected = jensenshannon(p64, q64) ** 2
    np.testing.assert_allclose(jaxinfo.js_divergence(p, q), expected, rtol=1e-3)


@pytest.mark.parametrize("alpha", [0.5, 0.999, 1.0, 2.0, 3.0, np.inf])
def test_renyi_entropy_formula(alpha):
    p = np.asarray(P, np.float64)
    if alpha == 1.0:
        expected = scipy_entropy(p)
    elif np.isinf(alpha):
        expected = -np.log(p.max())
    else:
        expected = np.log(np.sum(p**alpha)) / (1.0 - alpha)
    # float32 rows sum to 1 only within eps, which alpha -> 1 amplifies by 1 / |1 - alpha|
    rtol = 1e-4 if alpha == 0.999 else 1e-5
    np.testing.assert_allclose(jaxinfo.renyi_entropy(P, alpha=alpha), expected, rtol=rtol)
    np.testing.assert_allclose(
        jaxinfo.renyi_entropy(jnp.full(5, 0.2), alpha=alpha, base=2), np.log2(5), rtol=1e-5
    )


def test_renyi_entropy_is_non_increasing_in_alpha():
    values = [float(jaxinfo.renyi_entropy(P, alpha=a)) for a in (0.5, 1.0, 2.0, 5.0, np.inf)]
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_entropy_from_logits_matches_probabilities_and_is_stable():
    logits = jnp.array([2.0, -1.0, 0.5, 0.0])
    np.testing.assert_allclose(
        jaxinfo.shannon_entropy_from_logits(logits),
        jaxinfo.shannon_entropy(jax.nn.softmax(logits)),
        rtol=1e-6,
    )
    huge = jnp.array([[1e4, 1e4 - 1.0, -jnp.inf, -1e4], [-jnp.inf, 3e4, 3e4, 3e4]])
    where = jnp.array([True, True, True, False])
    value, grad = jax.value_and_grad(
        lambda z: jnp.sum(jaxinfo.shannon_entropy_from_logits(z, where=where))
    )(huge)
    expected_first = scipy_entropy(np.exp([0.0, -1.0]) / np.exp([0.0, -1.0]).sum())
    np.testing.assert_allclose(value, expected_first + np.log(2.0), rtol=1e-5)
    assert np.all(np.isfinite(grad))
    assert grad[0, 2] == 0 and grad[0, 3] == 0 and grad[1, 0] == 0 and grad[1, 3] == 0


def test_entropy_from_logits_all_masked_row_is_zero_with_finite_gradient():
    logits = jnp.array([[-jnp.inf, -jnp.inf], [0.0, 0.0]])
    value, grad = jax.value_and_grad(lambda z: jnp.sum(jaxinfo.shannon_entropy_from_logits(z)))(
        logits
    )
    np.testing.assert_allclose(value, np.log(2.0), rtol=1e-6)
    assert np.all(np.isfinite(grad))


def test_dtypes():
    assert jaxinfo.shannon_entropy(jnp.asarray(P, jnp.bfloat16)).dtype == jnp.float32
    assert jaxinfo.shannon_entropy_from_logits(jnp.zeros(3, jnp.bfloat16)).dtype == jnp.float32


def test_validate_rejects_bad_probabilities():
    with pytest.raises(ValueError, match="negative entry -0.2"):
        jaxinfo.shannon_entropy(jnp.array([1.2, -0.2]))
    with pytest.raises(ValueError, match="`q` sums to 2 instead of 1"):
        jaxinfo.kl_divergence(P, jnp.array([0.5, 0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match=r"`p\[1\]` sums to 1.1 instead of 1"):
        jaxinfo.renyi_entropy(jnp.array([[0.5, 0.5], [0.5, 0.6]]), alpha=2.0)
    jaxinfo.js_divergence(P, Q, validate=True)  # valid input passes
    assert np.isnan(jax.jit(jaxinfo.shannon_entropy)(jnp.array([1.2, -0.2])))
    assert np.isfinite(jax.jit(jaxinfo.shannon_entropy)(P))


def test_bad_arguments():
    with pytest.raises(ValueError, match="same number of outcomes"):
        jaxinfo.kl_divergence(P, jnp.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="alpha"):
        jaxinfo.renyi_entropy(P, alpha=0.0)
    with pytest.raises(TypeError, match="floating-point"):
        jaxinfo.shannon_entropy(jnp.array([0, 1]))
    with pytest.raises(ValueError, match="base"):
        jaxinfo.shannon_entropy(P, base=1)
    with pytest.raises(ValueError, match="broadcast"):
        jaxinfo.shannon_entropy(P, where=jnp.ones(3, bool))
