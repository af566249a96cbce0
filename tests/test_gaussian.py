"""Gaussian entropy / MI and Gaussian-copula MI against closed forms at n = 5000."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo

N = 5000


def _logdet(m):
    return np.linalg.slogdet(m)[1]


def _dense_joint_covariance(dx, dy, seed=0, strength=1.5):
    """A dense correlation matrix of ``[x, y]`` and its true MI (nats), in NumPy float64."""
    rng = np.random.default_rng(seed)
    d = dx + dy
    # one shared factor (every pair correlated) plus a random second factor
    factors = np.stack([1.0 + 0.3 * rng.normal(size=d), rng.normal(size=d)], axis=1) * strength
    cov = factors @ factors.T + np.eye(d)
    scale = 1.0 / np.sqrt(np.diag(cov))
    cov = cov * scale[:, None] * scale[None, :]
    mi = 0.5 * (_logdet(cov[:dx, :dx]) + _logdet(cov[dx:, dx:]) - _logdet(cov))
    return cov, mi


def _sample(key, cov, dx, n=N):
    z = jax.random.multivariate_normal(
        key, jnp.zeros(cov.shape[0]), jnp.asarray(cov, jnp.float32), (n,)
    )
    return z[:, :dx], z[:, dx:]


def test_gaussian_entropy_closed_form(key):
    cov, _ = _dense_joint_covariance(2, 1)
    x = jnp.concatenate(_sample(key, cov, 2), axis=1)
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    assert abs(float(jaxinfo.gaussian_entropy(x)) - truth) < 0.03
    assert abs(float(jaxinfo.gaussian_entropy(x, bias_correction=True)) - truth) < 0.03
    np.testing.assert_allclose(
        jaxinfo.gaussian_entropy(x, base=2), jaxinfo.gaussian_entropy(x) / np.log(2.0), rtol=1e-6
    )
    # exact ML plug-in: 0.5 log det(2 pi e S) with S normalised by n
    s = np.cov(np.asarray(x, np.float64), rowvar=False, bias=True)
    np.testing.assert_allclose(
        jaxinfo.gaussian_entropy(x), 0.5 * np.linalg.slogdet(2 * np.pi * np.e * s)[1], rtol=1e-5
    )


@pytest.mark.parametrize(
    ("dx", "dy", "strength", "tol", "correct"),
    [(1, 1, 1.5, 0.02, False), (5, 5, 0.6, 0.02, False), (25, 25, 0.4, 0.05, True)],
)
def test_gaussian_mutual_information_dense(key, dx, dy, strength, tol, correct):
    cov, truth = _dense_joint_covariance(dx, dy, strength=strength)
    x, y = _sample(key, cov, dx)
    value = float(jaxinfo.gaussian_mutual_information(x, y, bias_correction=correct))
    assert truth > 0.1
    assert abs(value - truth) < tol, (value, truth)


def test_bias_correction_removes_the_dimension_bias(key):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (N, 25))
    y = jax.random.normal(ky, (N, 25))
    plain = float(jaxinfo.gaussian_mutual_information(x, y))
    corrected = float(jaxinfo.gaussian_mutual_information(x, y, bias_correction=True))
    assert 0.045 < plain < 0.08  # about d_x d_y / (2n) = 0.0625
    assert abs(corrected) < 0.01


def test_independent_variables_give_near_zero_mi(key):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (N, 2))
    y = jax.random.uniform(ky, (N, 1))
    for fn in (jaxinfo.gaussian_mutual_information, jaxinfo.gaussian_copula_mutual_information):
        assert abs(float(fn(x, y))) < 0.02


def test_copula_invariant_under_monotone_transforms_and_symmetric(key):
    cov, truth = _dense_joint_covariance(1, 1)
    x, y = _sample(key, cov, 1)
    base = jaxinfo.gaussian_copula_mutual_information(x, y)
    transformed = jaxinfo.gaussian_copula_mutual_information(jnp.exp(x), y**3)
    np.testing.assert_allclose(transformed, base, rtol=1e-5)
    np.testing.assert_allclose(jaxinfo.gaussian_copula_mutual_information(y, x), base, rtol=1e-5)
    assert abs(float(base) - truth) < 0.02
    # the Gaussian MI is not invariant: exp() of a Gaussian is no longer Gaussian
    assert abs(float(jaxinfo.gaussian_mutual_information(jnp.exp(x), y**3)) - truth) > 0.05
    grad = jax.grad(lambda a: jaxinfo.gaussian_copula_mutual_information(a, y))(x)
    assert np.all(np.asarray(grad) == 0)


def test_copula_ties_and_masking(key):
    x = jnp.round(jax.random.normal(key, (64, 1)))  # heavy ties
    y = x + 0.1 * jax.random.normal(jax.random.key(1), (64, 1))
    value = jaxinfo.gaussian_copula_mutual_information(x, y)
    assert np.isfinite(value) and float(value) > 0.5
    mask = jnp.arange(64) < 40
    np.testing.assert_allclose(
        jaxinfo.gaussian_copula_mutual_information(x.at[40:].set(jnp.nan), y, where=mask),
        jaxinfo.gaussian_copula_mutual_information(x[:40], y[:40]),
        rtol=1e-6,
    )


def test_mutual_information_is_symmetric(key):
    cov, _ = _dense_joint_covariance(3, 2)
    x, y = _sample(key, cov, 3, n=500)
    np.testing.assert_allclose(
        jaxinfo.gaussian_mutual_information(x, y),
        jaxinfo.gaussian_mutual_information(y, x),
        rtol=1e-5,
    )


def test_singular_covariance_is_infinite_with_zero_gradient_and_shrinkage_fixes_it(key):
    entropy_and_grad = jax.jit(
        jax.value_and_grad(lambda z, s: jaxinfo.gaussian_entropy(z, shrinkage=s))
    )
    a = jax.random.normal(key, (50, 3))
    x = a.at[:, 2].set(a[:, 0])  # duplicated column: log det = -inf
    value, grad = entropy_and_grad(x, 0.0)
    assert value == -np.inf and np.all(grad == 0)
    regular, _ = entropy_and_grad(a, 0.0)
    shrunk, grad = entropy_and_grad(x, 0.1)
    assert np.isfinite(shrunk) and float(shrunk) < float(regular) and np.all(np.isfinite(grad))
    wide = jax.random.normal(key, (5, 10))  # d > n: shrinkage is required
    v, g = entropy_and_grad(wide, 0.5)
    assert np.isfinite(v) and np.all(np.isfinite(g))
    assert np.isnan(entropy_and_grad(wide, 0.0)[0])  # traced shrinkage 0: no answer
    mi_and_grad = jax.jit(jax.value_and_grad(lambda z: jaxinfo.gaussian_mutual_information(z, z)))
    v, g = mi_and_grad(a)
    assert v == np.inf and np.all(g == 0)
    # a null direction inside one side cancels: the duplicate adds no information
    y = jax.random.normal(jax.random.fold_in(key, 1), (50, 2)) + a[:, :2]
    np.testing.assert_allclose(
        jaxinfo.gaussian_mutual_information(y, x),
        jaxinfo.gaussian_mutual_information(y, a[:, :2]),
        rtol=5e-3,  # the floor on the null pivot (0.0016 nats here)
    )


def test_shrinkage_can_be_traced_and_differentiated(key):
    x = jax.random.normal(key, (30, 4))
    grad = jax.jit(jax.grad(lambda s: jaxinfo.gaussian_entropy(x, shrinkage=s)))(0.3)
    assert np.isfinite(grad) and float(grad) > 0  # shrinking towards the identity raises det


def test_gaussian_bad_input(key):
    x = jax.random.normal(key, (10, 2))
    with pytest.raises(ValueError, match="shrinkage"):
        jaxinfo.gaussian_entropy(x, shrinkage=1.5)
    with pytest.raises(ValueError, match="same number of rows"):
        jaxinfo.gaussian_mutual_information(x, x[:5])
    with pytest.raises(ValueError, match="at least 2 samples"):
        jaxinfo.gaussian_copula_mutual_information(x[:1], x[:1])
    with pytest.raises(ValueError, match="n > d"):
        jaxinfo.gaussian_mutual_information(x[:4], x[:4], bias_correction=True)
    with pytest.raises(ValueError, match=r"shape \[n, d\]"):
        jaxinfo.gaussian_entropy(x[:, 0])
