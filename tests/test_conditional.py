"""Conditional mutual information: Gaussian, Gaussian-copula, Frenzel-Pompe kNN, the entry point.

Truth: the closed form of ``jaxinfo.testing.conditional_gaussians`` and the log-determinant
identity on the sample covariance; invariants (independent ``z``: CMI = MI; ``x`` and ``y``
conditionally independent: CMI = 0); peers (infomeasure, frites) through tests/data.
"""

import json
import pathlib
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo import testing

N = 5000


def _logdet(m):
    return np.linalg.slogdet(m)[1]


def _sample_cmi(x, y, z):
    """``0.5 (log det S_xz + log det S_yz - log det S_z - log det S_xyz)``, NumPy float64."""
    v = np.concatenate([np.asarray(a, np.float64) for a in (x, y, z)], axis=1)
    s = np.cov(v, rowvar=False, bias=True)
    dx, dy = x.shape[1], y.shape[1]
    xs, ys, zs = np.arange(dx), np.arange(dx, dx + dy), np.arange(dx + dy, v.shape[1])

    def ld(*blocks):
        i = np.concatenate(blocks)
        return _logdet(s[np.ix_(i, i)])

    return 0.5 * (ld(xs, zs) + ld(ys, zs) - ld(zs) - ld(xs, ys, zs))


# tol: about 3 standard deviations of the estimate at n = 5000 (0.007 at 2 x 3 x 2)
@pytest.mark.parametrize(
    ("dims", "tol"), [((1, 1, 1), 1e-2), pytest.param((2, 3, 2), 2e-2, marks=pytest.mark.slow)]
)
def test_gaussian_cmi_closed_form_and_sample_identity(key, x64, dims, tol):
    task = testing.conditional_gaussians(*dims, coupling=0.5, confounding=1.0)
    x, y, z = task.sample(key, N)
    value = float(jaxinfo.gaussian_conditional_mutual_information(x, y, z))
    assert abs(value - task.conditional_mutual_information) < tol
    # the formula, exactly, on the sample covariance
    np.testing.assert_allclose(value, _sample_cmi(x, y, z), rtol=1e-10)
    corrected = float(
        jaxinfo.gaussian_conditional_mutual_information(x, y, z, bias_correction=True)
    )
    assert abs(corrected - task.conditional_mutual_information) < tol
    assert corrected < value
    bits = jaxinfo.gaussian_conditional_mutual_information(x, y, z, base=2)
    np.testing.assert_allclose(bits, value / np.log(2.0), rtol=1e-12)


def test_gaussian_cmi_bias_correction_is_the_expected_bias(x64):
    """Over 400 small samples the corrected estimate averages the truth, the plug-in does not."""
    task = testing.conditional_gaussians(2, 2, 2, coupling=0.3, confounding=1.0)
    keys = jax.random.split(jax.random.key(1), 400)

    @jax.jit
    def both(keys):
        def one(k):
            x, y, z = task.sample(k, 40)
            return (
                jaxinfo.gaussian_conditional_mutual_information(x, y, z),
                jaxinfo.gaussian_conditional_mutual_information(x, y, z, bias_correction=True),
            )

        return jax.vmap(one)(keys)

    plug_in, corrected = both(keys)
    truth = task.conditional_mutual_information
    se = float(jnp.std(corrected)) / np.sqrt(400)
    assert abs(float(jnp.mean(corrected)) - truth) < 4 * se
    assert float(jnp.mean(plug_in)) - truth > 10 * se  # biased upwards by ~ d_x d_y / (2n)


def test_gaussian_cmi_independent_z_is_the_mi(key, x64):
    task = testing.conditional_gaussians(2, 1, 2, coupling=0.8, confounding=0.0)
    assert task.conditional_mutual_information == pytest.approx(task.mutual_information)
    x, y, _ = task.sample(key, N)
    z = jnp.zeros_like(x)  # a constant z carries nothing: exactly the MI
    np.testing.assert_allclose(
        jaxinfo.gaussian_conditional_mutual_information(x, y, z),
        jaxinfo.gaussian_mutual_information(x, y),
        rtol=1e-12,
    )
    z = jax.random.normal(jax.random.key(7), (N, 2), x.dtype)
    value = jaxinfo.gaussian_conditional_mutual_information(x, y, z)
    assert abs(float(value) - task.mutual_information) < 1e-2


def test_gaussian_cmi_conditionally_independent_is_zero(key, x64):
    task = testing.conditional_gaussians(1, 1, 1, coupling=0.0, confounding=1.5)
    assert task.conditional_mutual_information == 0.0 and task.mutual_information > 0.3
    x, y, z = task.sample(key, N)
    assert float(jaxinfo.gaussian_mutual_information(x, y)) > 0.3
    assert float(jaxinfo.gaussian_conditional_mutual_information(x, y, z)) < 2e-3
    # a monotone map of every column: the copula CMI is unchanged, the Gaussian one is not
    copula = jaxinfo.gaussian_copula_conditional_mutual_information
    np.testing.assert_allclose(copula(jnp.exp(x), y**3, jnp.sinh(z)), copula(x, y, z), rtol=1e-12)
    assert float(copula(x, y, z)) < 2e-3


@pytest.mark.slow  # the default run holds the copula CMI to frites' (peer test)
def test_copula_cmi_equals_gaussian_cmi_of_normal_scores(key, x64):
    from scipy.special import ndtri
    from scipy.stats import rankdata

    task = testing.conditional_gaussians(1, 2, 1)
    x, y, z = (np.asarray(a) for a in task.sample(key, 300))
    scores = [ndtri(rankdata(a, axis=0) / (a.shape[0] + 1.0)) for a in (x, y, z)]
    np.testing.assert_allclose(
        jaxinfo.gaussian_copula_conditional_mutual_information(x, y, z),
        _sample_cmi(*scores),
        rtol=1e-10,
    )


def test_gaussian_cmi_gradient_and_shrinkage(key, x64):
    task = testing.conditional_gaussians(1, 1, 2)
    x, y, z = task.sample(key, 200)

    @jax.jit
    def f(x):
        return jaxinfo.gaussian_conditional_mutual_information(x, y, z, shrinkage=0.1)

    grad = jax.jit(jax.grad(f))(x)
    direction = jax.random.normal(jax.random.key(3), x.shape, x.dtype)
    h = 1e-6
    numeric = (f(x + h * direction) - f(x - h * direction)) / (2 * h)
    np.testing.assert_allclose(jnp.sum(grad * direction), numeric, rtol=1e-5)
    zero = jax.jit(
        jax.grad(lambda x: jaxinfo.gaussian_copula_conditional_mutual_information(x, y, z))
    )(x)
    assert not np.any(zero)
    # shrinkage 1: identity correlation, no information
    assert float(jaxinfo.gaussian_conditional_mutual_information(x, y, z, shrinkage=1.0)) == 0.0


def test_gaussian_cmi_dependent_given_z_is_infinite(key):
    z = jax.random.normal(key, (100, 1))
    x = jax.random.normal(jax.random.key(1), (100, 1))
    y = x + 2.0 * z  # a function of x and z, not of z alone
    value = jaxinfo.gaussian_conditional_mutual_information(x, y, z)
    assert jnp.isposinf(value)
    grad = jax.jit(jax.grad(lambda x: jaxinfo.gaussian_conditional_mutual_information(x, y, z)))(x)
    assert np.all(np.isfinite(grad))
    # y a function of z alone: nothing left to share given z (finite, ~0)
    small = jaxinfo.gaussian_conditional_mutual_information(x, 3.0 * z, z)
    assert np.isfinite(small) and float(small) < 1e-2


def test_gaussian_cmi_bad_input(key):
    x = jax.random.normal(key, (10, 2))
    fns = (
        jaxinfo.gaussian_conditional_mutual_information,
        jaxinfo.gaussian_copula_conditional_mutual_information,
    )
    for fn in fns:
        with pytest.raises(ValueError, match="same number of rows"):
            fn(x, x, x[:5])
        with pytest.raises(ValueError, match=r"`z`.*\[n, d\]|\[n, d\].*`z`"):
            fn(x, x, x[:, 0])
        with pytest.raises(ValueError, match="shrinkage"):
            fn(x, x, x, shrinkage=1.5)
        with pytest.raises(ValueError, match=r"`x`, `y` and `z` \(d = 2 \+ 2 \+ 2\)"):
            fn(x[:6], x[:6], x[:6])
        with pytest.raises(ValueError, match="n > d"):
            fn(x[:6], x[:6], x[:6], bias_correction=True)
        with pytest.raises(TypeError, match="bias_correction"):
            fn(x, x, x, bias_correction=cast(Any, "yes"))


# Peer values: regenerate with `python benchmarks/peers_conditional.py` (in an environment
# with infomeasure 0.6.3 and frites 0.4.6); n = 400, float64.
_PEERS = pathlib.Path(__file__).parent / "data" / "peers_conditional"


def _peer_cases():
    """One shape in the default run, the others with -m slow (the same code paths)."""
    meta = json.loads(_PEERS.with_suffix(".json").read_text())
    return [
        pytest.param(name, peer, marks=() if name == "d212" else pytest.mark.slow)
        for name, peer in sorted(meta["values"].items())
    ]


@pytest.mark.parametrize(("name", "peer"), _peer_cases())
def test_agrees_with_infomeasure_and_frites(name, peer, x64):
    data = np.load(_PEERS.with_suffix(".npz"))
    x, y, z = (data[f"{name}_{v}"] for v in "xyz")
    for method in ("brute", "tree"):
        value = jaxinfo.ksg_conditional_mutual_information(x, y, z, k=3, method=method)
        np.testing.assert_allclose(value, peer["infomeasure_ksg_k3"], rtol=0, atol=1e-6)
    gaussian = jaxinfo.gaussian_conditional_mutual_information
    np.testing.assert_allclose(gaussian(x, y, z), peer["frites_gaussian"], atol=1e-6)
    np.testing.assert_allclose(
        gaussian(x, y, z, bias_correction=True),
        peer["frites_gaussian_bias_corrected"],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        jaxinfo.gaussian_copula_conditional_mutual_information(x, y, z, bias_correction=True),
        peer["frites_copula_bias_corrected"],
        atol=1e-6,
    )


def _fp_loop(x, y, z, k):
    """Frenzel-Pompe written out with explicit max-norm distances (NumPy float64)."""
    from scipy.special import digamma

    def cheb(a):
        return np.max(np.abs(a[:, None, :] - a[None, :, :]), axis=-1)

    dx, dy, dz = cheb(x), cheb(y), cheb(z)
    n = x.shape[0]
    joint = np.maximum(np.maximum(dx, dy), dz)
    np.fill_diagonal(joint, np.inf)
    eps = np.sort(joint, axis=1)[:, k - 1]
    total = 0.0
    for i in range(n):
        others = np.arange(n) != i
        nxz = np.sum((np.maximum(dx[i], dz[i]) < eps[i]) & others)
        nyz = np.sum((np.maximum(dy[i], dz[i]) < eps[i]) & others)
        nz = np.sum((dz[i] < eps[i]) & others)
        total += digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)
    return digamma(k) - total / n


@pytest.mark.parametrize("k", [pytest.param(1, marks=pytest.mark.slow), 4])
def test_ksg_cmi_equals_the_written_out_estimator(k, x64):
    rng = np.random.default_rng(3)
    # rounded to a grid: ties at the radius, where strict counting matters
    x, y, z = (np.round(rng.standard_normal((150, d)), 1) for d in (2, 1, 2))
    expected = _fp_loop(x, y, z, k)
    for method in ("brute", "tree"):
        value = jaxinfo.ksg_conditional_mutual_information(
            x, y, z, k=k, method=method, block_size=32
        )
        np.testing.assert_allclose(value, expected, rtol=0, atol=1e-12)


def test_ksg_cmi_invariants(key, x64):
    # z independent of (x, y): Frenzel-Pompe is close to KSG's MI
    task = testing.conditional_gaussians(coupling=0.8, confounding=0.0)
    x, y, _ = task.sample(key, 2000)
    z = jax.random.normal(jax.random.key(5), x.shape, x.dtype)
    cmi = float(jaxinfo.ksg_conditional_mutual_information(x, y, z))
    mi = float(jaxinfo.ksg_mutual_information(x, y))
    assert abs(cmi - mi) < 0.03 and abs(cmi - task.mutual_information) < 0.04
    # x, y functions of z plus independent noise: ~0 given z, large without
    z = jax.random.normal(key, (2000, 1), jnp.float64)
    kx, ky = jax.random.split(jax.random.key(9))
    x = jnp.sin(2.0 * z) + 0.3 * jax.random.normal(kx, z.shape, z.dtype)
    y = z**2 + 0.3 * jax.random.normal(ky, z.shape, z.dtype)
    assert abs(float(jaxinfo.ksg_conditional_mutual_information(x, y, z))) < 0.02
    assert float(jaxinfo.ksg_mutual_information(x, y)) > 0.1
    # zero gradient, finite (both routes)
    for method in ("brute", "tree"):
        grad = jax.grad(
            lambda x, m=method: jaxinfo.ksg_conditional_mutual_information(
                x, y[:50], z[:50], method=cast(Any, m)
            )
        )(x[:50])
        assert not np.any(grad)


@pytest.mark.slow  # the battery's float32 test covers both routes at small n
def test_ksg_cmi_float32_matches_float64(key, x64):
    task = testing.conditional_gaussians(2, 1, 1)
    x, y, z = task.sample(key, 500)
    f64 = jaxinfo.ksg_conditional_mutual_information(x, y, z, method="brute")
    x32, y32, z32 = (a.astype(jnp.float32) for a in (x, y, z))
    for method in ("brute", "tree"):
        f32 = jaxinfo.ksg_conditional_mutual_information(x32, y32, z32, method=method)
        assert f32.dtype == jnp.float32
        np.testing.assert_allclose(f32, f64, atol=1e-5)


def test_ksg_cmi_bad_input(key):
    x = jax.random.normal(key, (10, 2))
    fn = jaxinfo.ksg_conditional_mutual_information
    with pytest.raises(ValueError, match="same number of rows"):
        fn(x, x, x[:5])
    with pytest.raises(ValueError, match=r"`k` must be at most 9"):
        fn(x, x, x, k=10)
    with pytest.raises(ValueError, match=r"`k` must be at most 2.*under `where`"):
        fn(x, x, x, k=3, where=jnp.arange(10) < 3)
    with pytest.raises(ValueError, match="method"):
        fn(x, x, x, method=cast(Any, "sorted"))
    with pytest.raises(ValueError, match="block_size"):
        fn(x, x, x, block_size=0)
    with pytest.raises(ValueError, match=r"`z`"):
        fn(x, x, x[:, 0])


# the dispatch is one dict lookup: two methods in the default run, all with -m slow
@pytest.mark.parametrize(
    ("method", "options", "direct"),
    [
        ("ksg", {"k": 5}, jaxinfo.ksg_conditional_mutual_information),
        ("gaussian", {"shrinkage": 0.1}, jaxinfo.gaussian_conditional_mutual_information),
        pytest.param(
            "copula",
            {"bias_correction": True},
            jaxinfo.gaussian_copula_conditional_mutual_information,
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "cauchy_schwarz",
            {"block_size": 16},
            jaxinfo.cauchy_schwarz_conditional_mutual_information,
            marks=pytest.mark.slow,
        ),
    ],
)
def test_entry_point_methods_are_the_direct_calls(method, options, direct, key):
    x, y, z = testing.conditional_gaussians(1, 1, 1).sample(key, 60)
    where = jnp.arange(60) < 50
    result = jaxinfo.conditional_mutual_information(
        x, y, z, method=method, base=2, where=where, **options
    )
    assert result.method == method
    np.testing.assert_array_equal(result.value, direct(x, y, z, base=2, where=where, **options))


def test_entry_point_auto_rule_and_errors(key):
    small = testing.conditional_gaussians(1, 1, 2).sample(key, 80)
    large = testing.conditional_gaussians(2, 2, 1).sample(key, 80)
    picked = jaxinfo.conditional_mutual_information(*small)
    assert picked.method == "ksg"
    np.testing.assert_array_equal(picked.value, jaxinfo.ksg_conditional_mutual_information(*small))
    assert jaxinfo.conditional_mutual_information(*large).method == "copula"
    # under jit the pick is the same (static facts only)
    jitted = jax.jit(jaxinfo.conditional_mutual_information)(*small)
    assert jitted.method == "ksg"
    with pytest.raises(
        ValueError, match=r"`k` is not an option of method='auto' \(which chose 'copula'"
    ):
        jaxinfo.conditional_mutual_information(*large, k=3)
    with pytest.raises(ValueError, match=r"`kernel_z` is not an option of method='gaussian'"):
        jaxinfo.conditional_mutual_information(
            *small, method="gaussian", kernel_z=jaxinfo.kernels.Gaussian(1.0)
        )
    with pytest.raises(ValueError, match="method"):
        jaxinfo.conditional_mutual_information(*small, method=cast(Any, "binned"))
    labels = jnp.arange(80).reshape(80, 1) % 3
    with pytest.raises(TypeError, match="no estimator for integer inputs"):
        jaxinfo.conditional_mutual_information(labels, labels, labels)
