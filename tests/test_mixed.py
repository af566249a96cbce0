"""Discrete-continuous MI: Ross (scikit-learn's ``mutual_info_classif``) and Gao et al.'s mixed KSG.

Truths: scikit-learn's own function (deterministic, same k), explicit loops of the paper's
formulas, a numerically integrated MI of a two-class Gaussian mixture, KSG on continuous
data and the plug-in MI on discrete data. The common battery (jit, vmap, masks, float32,
sharding, bad rows) runs on the registry entries (tests/registry.py, ``_mixed_entries``).
"""

from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
from sklearn.feature_selection._mutual_info import _compute_mi_cd

import jaxinfo
from jaxinfo._src import mixed


def _classes(seed, n=300, num=4, decimals=None):
    """Float ``x [n]`` shifted by an integer label, and the labels; ``decimals`` makes ties.

    Every class has at least 8 rows: scikit-learn searches smaller classes by brute force
    with the expanded distance ``|a|^2 + |b|^2 - 2ab``, whose rounding moves its radius.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % num)
    x = rng.normal(size=n) + 0.8 * labels
    if decimals is not None:
        x = np.round(x, decimals)
    return x, labels


def _ross_loop(x, labels, k):
    """Ross's estimator by explicit loops (max-norm, scikit-learn's conventions)."""
    x = x.reshape(len(labels), -1)
    sizes = np.array([np.sum(labels == c) for c in labels])
    keep = sizes > 1
    x, labels, sizes = x[keep], labels[keep], sizes[keep]
    n = len(labels)
    dist = np.max(np.abs(x[:, None, :] - x[None, :, :]), axis=-1)
    orders = np.minimum(k, sizes - 1)
    total = 0.0
    for i in range(n):
        mates = np.sort(np.delete(dist[i], i)[np.delete(labels, i) == labels[i]])
        radius = mates[orders[i] - 1]
        m = np.sum(dist[i] < radius) if radius > 0 else np.sum(dist[i] == 0)
        total += special.digamma(orders[i]) - special.digamma(sizes[i]) - special.digamma(m)
    return special.digamma(n) + total / n


def _gao_loop(x, y, k):
    """Gao et al. (2017) with the authors' counting conventions, by explicit loops."""
    n = len(x)
    dx = np.max(np.abs(x[:, None, :] - x[None, :, :]), axis=-1)
    dy = np.max(np.abs(y[:, None, :] - y[None, :, :]), axis=-1)
    joint = np.maximum(dx, dy)
    total = 0.0
    for i in range(n):
        rho = np.sort(np.delete(joint[i], i))[k - 1]
        if rho > 0:
            k_i, nx, ny = k, np.sum(dx[i] < rho), np.sum(dy[i] < rho)  # the row included
        else:
            k_i, nx, ny = np.sum(joint[i] == 0), np.sum(dx[i] == 0), np.sum(dy[i] == 0)
        total += special.digamma(k_i) - special.digamma(nx) - special.digamma(ny)
    return np.log(n) + total / n


def _ross(x, labels, **options):
    return jaxinfo.ross_mutual_information(
        jnp.asarray(x).reshape(len(labels), -1), jnp.asarray(labels), **options
    )


# --- Ross: scikit-learn ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "decimals", "k"),
    [(0, None, 3), (1, 1, 3), pytest.param(2, None, 5, marks=pytest.mark.slow)],
)
def test_ross_equals_scikit_learn_compute_mi_cd(seed, decimals, k, x64):
    """The private scikit-learn function is deterministic (no noise, no clipping below)."""
    x, labels = _classes(seed, decimals=decimals)
    labels[:1] = 9  # a class seen once: dropped from every term, as scikit-learn does
    expected = _compute_mi_cd(x, labels, k)
    assert expected > 0  # scikit-learn clips at 0; a positive value is its unclipped one
    np.testing.assert_allclose(float(_ross(x, labels, k=k)), expected, rtol=0, atol=1e-6)


def test_ross_equals_mutual_info_classif_and_regression_within_their_noise(x64):
    """The public functions add ``1e-10`` noise to continuous columns (random_state=0)."""
    x, labels = _classes(3)
    ours = float(_ross(x, labels))
    classif = mutual_info_classif(x[:, None], labels, n_neighbors=3, random_state=0)[0]
    np.testing.assert_allclose(ours, classif, rtol=0, atol=1e-6)
    # mutual_info_regression with a discrete feature runs the same estimator the other way
    regression = mutual_info_regression(
        labels[:, None], x, discrete_features=cast(Any, True), n_neighbors=3, random_state=0
    )[0]
    np.testing.assert_allclose(ours, regression, rtol=0, atol=1e-6)


def test_ross_sorted_and_blocked_routes_agree_with_the_loop(x64):
    """d = 1 (one sort) and the blocked slab against the loop, ties, masks and small classes."""
    x, labels = _classes(4, n=120, num=5, decimals=1)
    labels[:3] = [7, 7, 8]  # a class of two rows (k clipped to 1) and one of a single row
    mask = np.arange(120) % 9 != 4
    expected = _ross_loop(x[mask], labels[mask], 3)
    for route, block_size in (("sorted", None), ("brute", 16)):
        value, _ = mixed._ross_nats(
            jnp.asarray(x)[:, None],
            jnp.asarray(labels, jnp.int32),
            jnp.asarray(mask),
            k=3,
            axis_name=None,
            block_size=block_size,
            route=route,
        )
        np.testing.assert_allclose(float(value), expected, rtol=0, atol=1e-10, err_msg=route)


@pytest.mark.slow  # the slab also runs in the route test above
def test_ross_in_two_dimensions_is_the_max_norm_loop(x64):
    rng = np.random.default_rng(5)
    labels = np.arange(90) % 3
    x = rng.normal(size=(90, 2)) + labels[:, None]
    value = _ross(x, labels, k=2, block_size=8)
    np.testing.assert_allclose(float(value), _ross_loop(x, labels, 2), rtol=0, atol=1e-10)


def test_ross_reads_labels_as_identities_only(x64):
    """Negative and non-contiguous labels give the same value as their codes 0..C-1."""
    x, labels = _classes(6)
    renamed = np.array([-5, 3, 1000, -1])[labels]
    np.testing.assert_array_equal(_ross(x, renamed), _ross(x, labels))


# --- Ross: closed form -----------------------------------------------------------------------


def _two_gaussians_mi(gap):
    """I(X; C) for C ~ Bernoulli(1/2), X | C ~ N(gap * C, 1): h(X) - h(N(0, 1))."""

    def density(t):
        return 0.5 * stats.norm.pdf(t) + 0.5 * stats.norm.pdf(t - gap)

    h = integrate.quad(lambda t: -density(t) * np.log(density(t)), -12.0, 12.0 + gap)[0]
    return h - 0.5 * np.log(2 * np.pi * np.e)


@pytest.mark.parametrize("gap", [pytest.param(1.0, marks=pytest.mark.slow), 4.0])
def test_ross_two_gaussian_classes_match_the_integrated_truth(gap, x64):
    key_c, key_x = jax.random.split(jax.random.key(0))
    labels = jax.random.bernoulli(key_c, 0.5, (4000,)).astype(jnp.int32)
    x = jax.random.normal(key_x, (4000, 1), jnp.float64) + gap * labels[:, None].astype(float)
    value = float(jaxinfo.ross_mutual_information(x, labels))
    assert abs(value - _two_gaussians_mi(gap)) < 0.02, (value, _two_gaussians_mi(gap))


# --- Ross: transformations, options and bad input ---------------------------------------------


def test_ross_under_jit_with_traced_labels_and_vmap_over_masks():
    """Traced labels need no alphabet size; a vmap over masks equals sliced calls."""
    x, labels = _classes(7, n=120)
    x, labels = jnp.asarray(x, jnp.float32)[:, None], jnp.asarray(labels)
    masks = jnp.stack([jnp.arange(120) % 4 != r for r in range(2)])  # 90 valid rows each

    def ross(w, lab):
        return jaxinfo.ross_mutual_information(x, lab, where=w)

    batched = jax.jit(jax.vmap(ross, in_axes=(0, None)))(masks, labels)
    for w, value in zip(masks, batched, strict=True):
        sliced = jaxinfo.ross_mutual_information(x[w], labels[w])
        np.testing.assert_allclose(value, sliced, rtol=1e-5)  # float32 sums


def test_ross_gradient_is_zero_and_no_class_of_two_rows_is_nan():
    x, labels = _classes(8, n=60)
    grad = jax.jit(jax.grad(lambda a: jaxinfo.ross_mutual_information(a, jnp.asarray(labels))))(
        jnp.asarray(x, jnp.float32)[:, None]
    )
    np.testing.assert_array_equal(grad, 0.0)
    x = jnp.arange(60.0)[:, None]  # every class seen once: no term (jit: no eager rerun)
    assert np.isnan(jax.jit(jaxinfo.ross_mutual_information)(x, jnp.arange(60)))


def test_ross_bad_input_names_the_argument():
    x = jnp.zeros((20, 1))
    labels = jnp.arange(20) % 2
    with pytest.raises(TypeError, match="`labels` must be integer class labels"):
        jaxinfo.ross_mutual_information(x, labels.astype(jnp.float32))
    with pytest.raises(ValueError, match=r"`labels` must have shape \[n\]"):
        jaxinfo.ross_mutual_information(x, labels[:, None])
    with pytest.raises(ValueError, match="`x` and `labels` must have the same number"):
        jaxinfo.ross_mutual_information(x, labels[:10])
    with pytest.raises(ValueError, match="`k` must be at most 19"):
        jaxinfo.ross_mutual_information(x, labels, k=20)
    with pytest.raises(TypeError, match="`x` must be a floating-point array"):
        jaxinfo.ross_mutual_information(labels[:, None], labels)
    with pytest.raises(ValueError, match="`block_size`"):
        jaxinfo.ross_mutual_information(x, labels, block_size=cast(Any, 0))


# --- mixed KSG --------------------------------------------------------------------------------


def _mixture(seed, n):
    """x continuous; y equal to a discrete function of x half the time, else continuous."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    discrete = rng.random(n) < 0.5
    y = np.where(discrete, np.round(x[:, 0]), rng.normal(size=n))[:, None]
    return x, y


def test_mixed_ksg_is_the_loop_of_the_authors_conventions_on_a_mixture(x64):
    x, y = _mixture(0, 150)
    for k, block_size in ((3, None), (5, 16)):
        value = jaxinfo.mixed_ksg_mutual_information(x, y, k=k, block_size=block_size)
        np.testing.assert_allclose(float(value), _gao_loop(x, y, k), rtol=0, atol=1e-10)


def test_mixed_ksg_on_continuous_data_is_ksg_plus_log_n_minus_psi_n(x64):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 1))
    y = 0.8 * x + 0.6 * rng.normal(size=(500, 2))
    value = float(jaxinfo.mixed_ksg_mutual_information(x, y, block_size=64))
    ksg = float(jaxinfo.ksg_mutual_information(x, y, method="brute"))
    np.testing.assert_allclose(value - ksg, np.log(500) - special.digamma(500), atol=1e-10)


@pytest.mark.slow
def test_mixed_ksg_with_separated_labels_is_ross_plus_log_n_minus_psi_n(x64):
    """Classes 100 apart: the joint radius is the within-class one, n_y the class size."""
    x, labels = _classes(9)
    value = jaxinfo.mixed_ksg_mutual_information(x[:, None], 100.0 * labels[:, None])
    np.testing.assert_allclose(
        float(value) - float(_ross(x, labels)), np.log(300) - special.digamma(300), atol=1e-10
    )


def test_mixed_ksg_on_discrete_data_tends_to_the_plug_in(x64):
    rng = np.random.default_rng(2)
    n = 2000
    a = rng.integers(0, 3, n)
    b = (a + (rng.random(n) < 0.3)) % 3
    plug_in = float(jaxinfo.discrete_mutual_information(a, b, num_x=3, num_y=3))
    value = float(
        jaxinfo.mixed_ksg_mutual_information(
            a[:, None].astype(float), b[:, None].astype(float), block_size=256
        )
    )
    assert abs(value - plug_in) < 1e-4, (value, plug_in)  # 5e-7 measured
