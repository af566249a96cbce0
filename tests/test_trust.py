"""One test per finding of the trust issue (issue 10): no plausible number without an answer.

The registry-wide rules are in test_bad_inputs.py; these pin the exact calls reported.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo import kernels

N = 16


@pytest.fixture
def xy(key):
    kx, kn = jax.random.split(key)
    x = jax.random.normal(kx, (N, 2))
    return x, x[:, :1] + 0.5 * jax.random.normal(kn, (N, 1))


def _with_nan(a, row=3):
    return a.at[row, 0].set(jnp.nan)


# 1. NaN data in the eigenvalue family (every eigenvalue used to be zeroed).
EIGEN_FAMILY = {
    "matrix_renyi_entropy": lambda x, y: jaxinfo.matrix_renyi_entropy(x),
    "von_neumann_entropy": lambda x, y: jaxinfo.von_neumann_entropy(x),
    "diffusion_spectral_entropy": lambda x, y: jaxinfo.diffusion_spectral_entropy(x),
    "vendi_score": lambda x, y: jaxinfo.vendi_score(x),
    "effective_rank": lambda x, y: jaxinfo.effective_rank(x),
    "matrix_joint_entropy": lambda x, y: jaxinfo.matrix_joint_entropy(x, y),
    "matrix_mutual_information": lambda x, y: jaxinfo.matrix_mutual_information(x, y),
    "matrix_conditional_entropy": lambda x, y: jaxinfo.matrix_conditional_entropy(x, y),
}


@pytest.mark.parametrize("name", EIGEN_FAMILY)
def test_item1_nan_data_gives_nan_in_the_eigenvalue_family(name, xy):
    x, y = xy
    fn = EIGEN_FAMILY[name]
    assert np.isfinite(fn(x, y))
    assert np.isnan(fn(_with_nan(x), y))


def test_item1_nan_gram_gives_nan():
    gram = jnp.eye(4).at[1, 2].set(jnp.nan)
    for alpha in (0.5, 1.0, 2.0, 3.0, math.inf):
        assert np.isnan(jaxinfo.matrix_renyi_entropy_from_gram(gram, alpha=alpha))


# 2. NaN data elsewhere: comparisons, ranks and bins used to drop the NaN.
def test_item2_nan_data_gives_nan_in_ranks_bins_and_neighbours(xy, key):
    x, y = xy
    calls = {
        "ksg": lambda x, y: jaxinfo.ksg_mutual_information(x, y),
        "copula": lambda x, y: jaxinfo.gaussian_copula_mutual_information(x, y),
        "binned": lambda x, y: jaxinfo.binned_mutual_information(x, y, bins=4),
        "knn_kl": lambda x, y: jaxinfo.knn_kl_divergence(x[:, :1], y),
    }
    for name, fn in calls.items():
        assert np.isfinite(fn(x, y)), name
        assert np.isnan(fn(_with_nan(x), y)), name
        assert np.isnan(fn(x, _with_nan(y))), name
    dsmi = jaxinfo.diffusion_spectral_mutual_information(
        _with_nan(x), jnp.arange(N) % 2, num_classes=2, key=key, bandwidth=1.0
    )
    assert np.isnan(dsmi)


def test_item2_nan_rows_of_distributions_give_nan_rows():
    p = jnp.array([[0.5, 0.3, 0.2], [0.2, jnp.nan, 0.8], [0.1, 0.2, 0.7]])
    q = jnp.full((3, 3), 1.0 / 3.0)
    for value in (
        jaxinfo.shannon_entropy(p),
        jaxinfo.renyi_entropy(p, alpha=2.0),
        jaxinfo.renyi_entropy(p, alpha=0.5),
        jaxinfo.kl_divergence(p, q),
        jaxinfo.kl_divergence(q, p),
        jaxinfo.js_divergence(p, q),
        jaxinfo.shannon_entropy_from_logits(jnp.log(p)),
    ):
        assert np.isfinite(value[0]) and np.isnan(value[1]) and np.isfinite(value[2])
    # -inf logits are zero probabilities, +inf is no distribution
    logits = jnp.array([[0.0, -jnp.inf], [0.0, jnp.inf]])
    h = jaxinfo.shannon_entropy_from_logits(logits)
    assert h[0] == 0.0 and np.isnan(h[1])


def test_item2_reference_bins_refuse_nan():
    y = jnp.array([0.1, jnp.nan, 0.5, 0.9])
    with pytest.raises(ValueError, match="`y` must be finite"):
        jaxinfo.diffusion_reference_bins(y, num_bins=4)
    labels = jax.jit(lambda y: jaxinfo.diffusion_reference_bins(y, num_bins=4))(y)
    assert np.all(np.asarray(labels) == -1)


# 3. Masks leaving too few rows.
def test_item3_empty_masks_give_nan_under_jit_and_raise_eagerly(xy):
    x, y = xy
    none = jnp.zeros(N, bool)
    calls = {
        "cs_divergence": lambda m: jaxinfo.cauchy_schwarz_divergence(x, x + 1.0, where_x=m),
        "cs_qmi": lambda m: jaxinfo.cauchy_schwarz_mutual_information(x, y, where=m),
        "cs_two_sample": lambda m: jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
            x, y, x, y + 1.0, where_p=m
        ),
        "cs_conditional": lambda m: jaxinfo.conditional_cauchy_schwarz_divergence(
            x, y, y + 1.0, where=m
        ),
        "gaussian_entropy": lambda m: jaxinfo.gaussian_entropy(x, where=m),
        "miller_madow": lambda m: jaxinfo.miller_madow_entropy(
            jnp.arange(N) % 3, num_classes=3, where=m
        ),
        "ksg": lambda m: jaxinfo.ksg_mutual_information(x, y, where=m),
        "vendi": lambda m: jaxinfo.vendi_score(x, where=m),
        "effective_rank": lambda m: jaxinfo.effective_rank(x, where=m),
        "matrix": lambda m: jaxinfo.matrix_renyi_entropy(x, where=m),
    }
    for name, fn in calls.items():
        for mask in (none, none.at[4].set(True)):
            assert np.isnan(jax.jit(fn)(mask)), name
            with pytest.raises(ValueError, match="needs at least 2 samples"):
                fn(mask)


def test_item3_mask_names_in_messages(xy):
    x, y = xy
    with pytest.raises(ValueError, match="`where_y`"):
        jaxinfo.cauchy_schwarz_divergence(x, y + 1.0, where_y=jnp.ones(3, bool))
    with pytest.raises(ValueError, match="`where_q`"):
        jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
            x, y, x, y, where_q=jnp.ones(3, bool)
        )


# 4. Traced invalid options (more in test_bad_inputs.TRACED_OPTIONS).
def test_item4_traced_negative_bandwidth_is_not_its_absolute_value(xy):
    x, _ = xy
    fn = jax.jit(lambda s: jaxinfo.matrix_renyi_entropy(x, kernel=kernels.Gaussian(s)))
    assert np.isfinite(fn(1.0))
    assert np.isnan(fn(-1.0)) and np.isnan(fn(0.0))


def test_item4_negative_traced_beta_gives_nan(xy):
    x, y = xy
    loss = jax.jit(
        lambda b: jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            x, y[:, 0], y[:, 0] + 0.1, x, beta=b
        )[0]
    )
    assert np.isfinite(loss(0.5)) and np.isnan(loss(-1.0))


# 5. Finite gradients at degenerate but valid inputs.
def test_item5_collapsed_representation_has_finite_gradients(xy):
    x, y = xy
    t = jnp.full((N, 3), 0.7)

    def loss(x, t):
        return jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            x, y[:, 0], y[:, 0] + 0.1, t, beta=0.1
        )[0]

    def compression(x, t):
        return jaxinfo.cauchy_schwarz_mutual_information(x, t, normalized=True)

    for fn in (loss, compression):
        value, grads = jax.value_and_grad(fn, argnums=(0, 1))(x, t)
        assert np.isfinite(value)
        assert all(np.all(np.isfinite(g)) for g in grads)
    assert compression(x, t) == 0.0  # a constant variable carries no information


def test_item5_tiny_probabilities_keep_kl_and_js_finite():
    for tiny in (1e-20, 1e-25, 1e-30):
        p = jnp.array([tiny, 1.0 - tiny], jnp.float32)
        q = jnp.array([0.5, 0.5], jnp.float32)
        for fn in (jaxinfo.kl_divergence, jaxinfo.js_divergence):
            value, grad = jax.value_and_grad(fn)(p, q)
            assert np.isfinite(value) and np.all(np.isfinite(grad)), (fn.__name__, tiny)
        np.testing.assert_allclose(jaxinfo.kl_divergence(p, q), math.log(2.0), rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 3.0])
def test_item5_entropy_from_gram_is_scale_invariant(alpha, xy):
    gram = kernels.Gaussian(1.0).gram(xy[0])

    def fn(g):
        return jaxinfo.matrix_renyi_entropy_from_gram(g, alpha=alpha)

    value, grad = jax.value_and_grad(fn)(gram)
    for scale in (1e-30, 1e30):
        scaled_value, scaled_grad = jax.value_and_grad(lambda g, s=scale: fn(g * s))(gram)
        np.testing.assert_allclose(scaled_value, value, rtol=1e-6)
        np.testing.assert_allclose(scaled_grad, grad, rtol=1e-3, atol=1e-5)


def test_item5_huge_order_tends_to_the_min_entropy(xy):
    x = xy[0]
    top = jaxinfo.matrix_renyi_entropy(x, alpha=math.inf)
    np.testing.assert_allclose(jaxinfo.matrix_renyi_entropy(x, alpha=1e6), top, rtol=1e-4)
    p = jnp.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(jaxinfo.renyi_entropy(p, alpha=1e6), math.log(2.0), rtol=1e-4)


# 6. Float32 spectra keep their small genuine eigenvalues.
def _f32_against_f64(fn, arrays):
    value64 = fn(*arrays)
    value32 = fn(*(a.astype(jnp.float32) for a in arrays))
    return float(value32), float(value64)


def test_item6_float32_spectral_entropy_is_within_1e3_of_float64(key, x64):
    # n = 512, sigma = 4, d = 8: the old floor (32 eps lambda_max) gave -1.8e-3 nats.
    x = jax.random.normal(key, (512, 8), jnp.float64)
    value32, value64 = _f32_against_f64(
        lambda x: jaxinfo.matrix_renyi_entropy(x, alpha=1.01, kernel=kernels.Gaussian(4.0)), (x,)
    )
    assert abs(value32 - value64) < 1e-3, (value32, value64)


@pytest.mark.slow
def test_item6_float32_spectral_entropy_at_n4096(key, x64):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (4096, 16), jnp.float64)
    g = kernels.Gaussian(4.0)
    value32, value64 = _f32_against_f64(
        lambda x: jaxinfo.matrix_renyi_entropy(x, alpha=1.01, kernel=g), (x,)
    )
    assert abs(value32 - value64) < 1e-3, (value32, value64)
    x = x[:1024]
    y = x[:, :4] + jax.random.normal(ky, (1024, 4), jnp.float64)
    value32, value64 = _f32_against_f64(
        lambda x, y: jaxinfo.matrix_mutual_information(x, y, alpha=1.01, kernel_x=g, kernel_y=g),
        (x, y),
    )
    assert abs(value32 - value64) < 1e-3, (value32, value64)


def test_item6_rank_deficient_spectra_still_drop_round_off(key, x64):
    # A rank-3 Gram: the zero eigenvalues are round-off and must not count (entropy of rank 3).
    x = jax.random.normal(key, (64, 3), jnp.float64)
    for dtype in (jnp.float32, jnp.float64):
        h = jaxinfo.matrix_renyi_entropy(x.astype(dtype), alpha=0.5, kernel=kernels.Linear())
        bound = math.log(3.0)
        assert h <= bound + 1e-4, (dtype, h)
        gram = kernels.Linear().gram(x.astype(dtype))
        grad = jax.grad(lambda g: jaxinfo.matrix_renyi_entropy_from_gram(g, alpha=0.5))(gram)
        assert np.all(np.isfinite(grad))


# 7. kNN entropy in float32 at d = 1: the neighbour search must resolve close pairs.
def test_item7_knn_entropy_float32_finds_close_neighbours(key, x64):
    # A tight cluster away from the data mean: the matmul search's round-off (eps |x|^2)
    # exceeded its neighbour distances and float32 gave 0.733 against -0.186.
    k1, k2 = jax.random.split(key)
    x = jnp.concatenate(
        [1e-2 * jax.random.normal(k1, (1000, 1)), 10.0 + jax.random.normal(k2, (1000, 1))]
    ).astype(jnp.float64)
    value32, value64 = _f32_against_f64(jaxinfo.knn_entropy, (x,))
    assert abs(value32 - value64) < 2e-3, (value32, value64)


@pytest.mark.slow
def test_item7_knn_entropy_float32_at_d1_n50000(key, x64):
    # standard normal: float32 gave 1.4317 against 1.4170 (scipy cKDTree, float64)
    x = jax.random.normal(key, (50000, 1), jnp.float64)
    value32, value64 = _f32_against_f64(jaxinfo.knn_entropy, (x,))
    assert abs(value32 - value64) < 2e-3, (value32, value64)


# 8. Non-PSD matrices: one rule for every from-matrix entry point.
@pytest.mark.parametrize(
    "fn",
    [
        jaxinfo.von_neumann_entropy_from_gram,
        jaxinfo.von_neumann_entropy_from_covariance,
        lambda m: jaxinfo.matrix_renyi_entropy_from_gram(m, alpha=2.0),
        lambda m: jaxinfo.matrix_renyi_entropy_from_gram(m, alpha=0.5),
    ],
)
def test_item8_non_psd_matrix_raises_eagerly_and_is_nan_under_jit(fn, xy):
    gram = kernels.Gaussian(1.0).gram(xy[0])
    for bad in (-jnp.eye(4), -gram, jnp.zeros((4, 4))):
        with pytest.raises(ValueError, match="positive semi-definite"):
            fn(bad)
        assert np.isnan(jax.jit(fn)(bad))
    assert np.isfinite(fn(gram))


# 9. Gaussian MI is non-negative on rank-1 data.
def test_item9_gaussian_mutual_information_is_non_negative_on_rank_one_data():
    # seed 0 gave -6.7e-4 (the issue saw -0.0012): Cholesky round-off on a singular R
    for seed in range(8):
        kz, kw = jax.random.split(jax.random.key(seed))
        z, w = jax.random.normal(kz, (N, 1)), jax.random.normal(kw, (N, 2))
        assert jaxinfo.gaussian_mutual_information(w, jnp.concatenate([z, z], axis=1)) >= 0.0
        assert jaxinfo.gaussian_mutual_information(jnp.concatenate([z, -z], axis=1), w) >= 0.0
