"""Information-bottleneck losses: each term against its definition, masks, beta, gradients."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import log_softmax

import jaxinfo

N, C, K = 12, 3, 4


@pytest.fixture
def batch(key):
    k1, k2, k3 = jax.random.split(key, 3)
    logits = jax.random.normal(k1, (N, C))
    labels = jnp.arange(N) % C
    mean = jax.random.normal(k2, (N, K))
    log_variance = 0.3 * jax.random.normal(k3, (N, K))
    return logits, labels, mean, log_variance


def _cross_entropy(logits, labels):
    logp = log_softmax(np.asarray(logits, np.float64), axis=1)
    return -np.mean(logp[np.arange(len(labels)), np.asarray(labels)])


def test_vib_terms_equal_their_definitions(batch):
    logits, labels, mean, log_variance = batch
    loss, aux = jaxinfo.variational_information_bottleneck_loss(
        logits, labels, mean, log_variance, beta=0.3
    )
    mu, lv = np.asarray(mean, np.float64), np.asarray(log_variance, np.float64)
    kl = 0.5 * np.sum(mu**2 + np.exp(lv) - lv - 1.0, axis=1).mean()
    np.testing.assert_allclose(aux["prediction"], _cross_entropy(logits, labels), rtol=1e-5)
    np.testing.assert_allclose(aux["compression"], kl, rtol=1e-5)
    np.testing.assert_allclose(loss, aux["prediction"] + 0.3 * aux["compression"], rtol=1e-6)
    _, bits = jaxinfo.variational_information_bottleneck_loss(
        logits, labels, mean, log_variance, beta=0.3, base=2
    )
    np.testing.assert_allclose(bits["compression"], kl / math.log(2.0), rtol=1e-5)


def test_nonlinear_and_matrix_ib_compose_the_library_estimators(batch):
    logits, labels, t, _ = batch
    x = jnp.concatenate([t, t**2], axis=1)
    loss, aux = jaxinfo.nonlinear_information_bottleneck_loss(
        logits, labels, t, beta=0.5, noise_variance=0.7, squared=True
    )
    bound = jaxinfo.gaussian_noise_mutual_information_upper_bound(t, noise_variance=0.7)
    np.testing.assert_allclose(aux["compression"], bound**2, rtol=1e-6)
    np.testing.assert_allclose(loss, aux["prediction"] + 0.5 * bound**2, rtol=1e-6)
    loss, aux = jaxinfo.matrix_information_bottleneck_loss(logits, labels, x, t, beta=0.01)
    mi = jaxinfo.matrix_mutual_information(x, t, alpha=1.01)
    np.testing.assert_allclose(aux["compression"], mi, rtol=1e-6)
    np.testing.assert_allclose(aux["prediction"], _cross_entropy(logits, labels), rtol=1e-5)


LOSSES = {
    "vib": lambda lg, lb, m, v, **kw: jaxinfo.variational_information_bottleneck_loss(
        lg, lb, m, v, **kw
    ),
    "nonlinear": lambda lg, lb, m, v, **kw: jaxinfo.nonlinear_information_bottleneck_loss(
        lg, lb, m, **kw
    ),
    "matrix": lambda lg, lb, m, v, **kw: jaxinfo.matrix_information_bottleneck_loss(
        lg, lb, v, m, **kw
    ),
}


# The matrix IB variants repeat matrix_mutual_information's own battery: slow target.
NAMES = [pytest.param(n, marks=[pytest.mark.slow] if n == "matrix" else []) for n in LOSSES]


@pytest.mark.parametrize("name", NAMES)
def test_masking_equals_slicing_and_bad_inputs(name, batch, x64):
    logits, labels, mean, log_variance = (
        a.astype(jnp.float64) if a.dtype != jnp.int32 else a for a in batch
    )
    fn = LOSSES[name]
    mask = jnp.arange(N) < 9
    padded = [a.at[9:].set(jnp.nan) for a in (logits, mean, log_variance)]
    masked, _ = fn(padded[0], labels, padded[1], padded[2], beta=0.2, where=mask)
    sliced, _ = fn(logits[:9], labels[:9], mean[:9], log_variance[:9], beta=0.2)
    np.testing.assert_allclose(masked, sliced, rtol=1e-10)
    assert np.isnan(fn(logits.at[2, 0].set(jnp.nan), labels, mean, log_variance, beta=0.2)[0])
    jitted = jax.jit(lambda b: fn(logits, labels, mean, log_variance, beta=b)[0])
    assert np.isfinite(jitted(0.2)) and np.isnan(jitted(-1.0))
    with pytest.raises(ValueError, match="`beta`"):
        fn(logits, labels, mean, log_variance, beta=-1.0)
    with pytest.raises(ValueError, match="`labels`"):
        fn(logits, labels + C, mean, log_variance, beta=0.2)
    bad = jax.jit(lambda lb: fn(logits, lb, mean, log_variance, beta=0.2)[0])(labels + C)
    assert np.isnan(bad)


@pytest.mark.parametrize("name", NAMES)
def test_collapsed_representation_has_finite_gradients(name, batch):
    logits, labels, mean, log_variance = batch
    constant = jnp.full_like(mean, 0.4)
    grads = jax.grad(
        lambda lg, m: LOSSES[name](lg, labels, m, log_variance, beta=0.1)[0], argnums=(0, 1)
    )(logits, constant)
    assert all(np.all(np.isfinite(g)) for g in grads)
