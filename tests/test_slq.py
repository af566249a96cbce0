"""Randomized spectra (stochastic Lanczos quadrature): accuracy, invariants, gradients, errors."""

from __future__ import annotations

from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src import lanczos, spectral

N = 256
GAUSS = kernels.Gaussian(2.0)


def _data(n=N, d=4, dtype=jnp.float64, seed=0):
    return jax.random.normal(jax.random.key(seed), (n, d), dtype)


def _slq(key=0, **kw):
    return jaxinfo.StochasticLanczos(jax.random.key(key), **kw)


def _renyi(alpha):
    def fn(x, method, where=None):
        return jaxinfo.matrix_renyi_entropy(
            x, alpha=alpha, kernel=GAUSS, method=method, where=where
        )

    return fn


def _dse(t):
    def fn(x, method, where=None):
        return jaxinfo.diffusion_spectral_entropy(x, bandwidth=2.0, t=t, method=method, where=where)

    return fn


MEASURES = {
    "renyi0.5": _renyi(0.5),
    "renyi1.01": _renyi(1.01),
    "von_neumann": _renyi(1.0),
    "renyi3": _renyi(3.0),
    "dse_t1": _dse(1.0),
    "dse_t3": _dse(3.0),
}


def _measures(x, method, where=None):
    return jnp.stack([fn(x, method, where) for fn in MEASURES.values()])


@pytest.fixture(scope="module")
def reference():
    """Exact values and two SLQ estimates of every measure (one compilation each)."""
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        x = _data()
        exact = jax.jit(lambda v: _measures(v, "exact"))(x)
        estimate = jax.jit(_measures)
        first, second = estimate(x, _slq(0)), estimate(x, _slq(1))
        return np.asarray(exact), np.asarray(first), np.asarray(second)
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_accuracy_against_exact(reference):
    exact, first, second = reference
    for name, e, a, b in zip(MEASURES, exact, first, second, strict=True):
        # measured at n = 256 with the defaults over 4 keys: at most 2.5 % (alpha = 0.5)
        assert abs(a - e) <= 0.04 * abs(e), name
        assert abs(b - e) <= 0.04 * abs(e), name
        assert a != b, name  # different keys, different probes


@pytest.mark.slow  # 14 s on one core; accuracy, masks, sharding and NaN cover the route by default
def test_same_key_same_value_and_traced_key(x64):
    x = _data()
    fn = jax.jit(lambda v, method: _renyi(1.0)(v, method))
    a = fn(x, _slq(3))
    assert a == fn(x, _slq(3))  # the key is a traced pytree leaf: no recompilation needed
    np.testing.assert_allclose(_renyi(1.0)(x, _slq(3)), a, rtol=1e-10)  # eager equals jit


def test_exact_quadrature_when_krylov_space_is_exhausted(x64):
    """With num_steps >= n the quadrature is exact, so the estimate is Hutchinson's."""
    n = 8
    x = _data(n, 2)
    x = x.at[5].set(x[2])  # duplicated row: rank-deficient, Lanczos breaks down early
    a = GAUSS.gram(x) / n
    values, vectors = np.linalg.eigh(np.asarray(a))
    values = np.where(values > 1e-15, values, 0.0)
    f = (
        vectors
        @ np.diag(np.where(values > 0, values * np.log(values + (values == 0)), 0))
        @ vectors.T
    )
    probes = lanczos.rademacher_probes(jax.random.key(0), jnp.ones(n, bool), 5, jnp.float64)
    scales = jnp.full((5,), 1.0 / 5)
    hutchinson = float(np.mean(np.einsum("np,nm,mp->p", probes, f, probes)))
    operator = lanczos.Operator(lambda th, c, v: th @ v, lambda th, c: jnp.trace(th))
    integrand = lambda lam, p: spectral.renyi_integrand(lam, p, alpha=1.0)  # noqa: E731
    for steps in (n, n + 4):
        (value,) = lanczos.spectral_traces(
            operator, integrand, steps, a, None, None, (probes, scales)
        )
        assert abs(float(value) - hutchinson) < 1e-10


def test_masks_equal_slicing(x64):
    x = _data()
    mask = jnp.arange(N) % 4 != 1
    fn = jax.jit(_measures)
    masked = fn(x, _slq(2), mask)
    sliced = fn(x[np.asarray(mask)], _slq(2))
    np.testing.assert_allclose(masked, sliced, rtol=1e-9)


@pytest.mark.slow  # 11 s on one core; accuracy, masks, sharding and NaN cover the route by default
def test_vmap_equals_loop(x64):
    xs = jnp.stack([_data(64, 3, seed=s) for s in range(3)])
    fn = _renyi(1.01)
    batched = jax.jit(jax.vmap(lambda v: fn(v, _slq(0))))(xs)
    looped = jnp.stack([fn(v, _slq(0)) for v in xs])
    np.testing.assert_allclose(batched, looped, rtol=1e-9)


def _cosine(a, b):
    return float(jnp.sum(a * b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


@pytest.mark.slow  # 20 s on one core; accuracy, masks, sharding and NaN cover the route by default
def test_gradients_close_to_exact_and_finite_at_duplicates(x64):
    x = _data(128, 3)
    x = x.at[7].set(x[3])  # duplicated sample
    for fn, min_cosine in ((_renyi(3.0), 0.99), (_renyi(1.0), 0.5), (_dse(3.0), 0.9)):
        exact = jax.grad(lambda v, fn=fn: fn(v, "exact"))(x)
        estimate = jax.jit(jax.grad(lambda v, fn=fn: fn(v, _slq(0))))(x)
        assert jnp.all(jnp.isfinite(estimate))
        assert _cosine(estimate, exact) > min_cosine


@pytest.mark.slow  # 28 s on one core; accuracy, masks, sharding and NaN cover the route by default
def test_float32_and_float64():
    x = _data(128, 3, jnp.float32)
    value32 = _renyi(1.01)(x, _slq(0))
    assert value32.dtype == jnp.float32 and jnp.isfinite(value32)
    grad32 = jax.grad(lambda v: _dse(1.0)(v, _slq(0)))(x)
    assert grad32.dtype == jnp.float32 and jnp.all(jnp.isfinite(grad32))
    jax.config.update("jax_enable_x64", True)
    try:
        value64 = _renyi(1.01)(x.astype(jnp.float64), _slq(0))
    finally:
        jax.config.update("jax_enable_x64", False)
    assert value64.dtype == jnp.float64
    # not round-off close: float32 drops more sketch directions (a different, equally
    # unbiased estimate); both within the estimator's error
    assert abs(float(value32) - float(value64)) < 0.03 * float(value64)


def test_cheap_exact_routes_are_kept(x64):
    x = _data(64, 3)
    for kernel, alpha in ((GAUSS, 2.0), (kernels.Linear(), 1.0)):
        exact = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel)
        method = _slq(0)
        value = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel, method=method)
        assert value == exact


@pytest.mark.slow  # 19 s in CI; the exact route's NaN tests cover the shared guard by default
def test_nan_in_valid_row_gives_nan(x64):
    x = _data(32, 2).at[3, 0].set(jnp.nan)
    assert jnp.isnan(_renyi(1.0)(x, _slq(0)))
    assert jnp.isnan(_dse(1.0)(x, _slq(0)))


def test_bad_options_raise():
    # Wrong types on purpose (cast to Any): the runtime checks are under test.
    key = jax.random.key(0)
    for bad, error in ((0, ValueError), (1.5, TypeError)):
        with pytest.raises(error, match="num_probes"):
            jaxinfo.StochasticLanczos(key, num_probes=cast(Any, bad))
        with pytest.raises(error, match="num_steps"):
            jaxinfo.StochasticLanczos(key, num_steps=cast(Any, bad))
    with pytest.raises(TypeError, match="PRNG key"):
        jaxinfo.StochasticLanczos(cast(Any, 0))
    x = _data(16, 2, jnp.float32)
    with pytest.raises(ValueError, match='"exact"'):
        jaxinfo.von_neumann_entropy(x, method=cast(Any, "lanczos"))
    with pytest.raises(TypeError, match="method"):
        jaxinfo.diffusion_spectral_entropy(x, method=cast(Any, 3))
    with pytest.raises(ValueError, match="alpha=inf"):
        jaxinfo.matrix_renyi_entropy(x, alpha=float("inf"), method=_slq())
    with pytest.raises(ValueError, match="adaptive_k"):
        jaxinfo.diffusion_spectral_entropy(x, adaptive_k=3, method=_slq())
    with pytest.raises(AttributeError, match="frozen"):
        _slq().num_probes = 3  # type: ignore[misc]


def test_shard_map_equals_unsharded(x64):
    x = _data(64, 3)
    mask = jnp.arange(64) % 3 != 1

    def both(v, m, axis_name=None):
        method = _slq(0, num_probes=4, num_steps=10)
        return jaxinfo.von_neumann_entropy(
            v, kernel=GAUSS, where=m, axis_name=axis_name, method=method
        ) + jaxinfo.diffusion_spectral_entropy(
            v, bandwidth=2.0, where=m, axis_name=axis_name, method=method
        )

    expected, expected_grad = jax.jit(jax.value_and_grad(both))(x, mask)
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))
    sharded = jax.shard_map(
        lambda v, m: both(v, m, "d"), mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P()
    )
    value, grad = jax.jit(jax.value_and_grad(sharded))(x, mask)
    np.testing.assert_allclose(value, expected, rtol=1e-9)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-7, atol=1e-10)
