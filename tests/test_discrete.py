"""Plug-in / Miller–Madow entropy, discrete MI and binned MI."""

from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from scipy.stats import entropy as scipy_entropy

import jaxinfo


def _counts_entropy(labels, num_classes):
    return scipy_entropy(np.bincount(np.asarray(labels), minlength=num_classes))


def test_plugin_entropy_matches_scipy(key):
    labels = jax.random.randint(key, (500,), 0, 10)
    np.testing.assert_allclose(
        jaxinfo.plugin_entropy(labels, num_classes=10), _counts_entropy(labels, 10), rtol=1e-5
    )
    np.testing.assert_allclose(
        jaxinfo.plugin_entropy(labels, num_classes=10, base=2),
        _counts_entropy(labels, 10) / np.log(2.0),
        rtol=1e-5,
    )
    assert float(jaxinfo.plugin_entropy(jnp.zeros(7, jnp.int32), num_classes=3)) == 0.0


def test_multi_column_labels_are_the_joint_symbol(key):
    labels = jax.random.randint(key, (300, 2), 0, 3)
    joint = labels[:, 0] * 5 + labels[:, 1]
    np.testing.assert_allclose(
        jaxinfo.plugin_entropy(labels, num_classes=(3, 5)),
        jaxinfo.plugin_entropy(joint, num_classes=15),
        rtol=1e-6,
    )


def test_miller_madow_is_closer_to_the_truth_than_plugin(key):
    probs = jax.random.dirichlet(jax.random.key(1), jnp.ones(50))
    truth = scipy_entropy(np.asarray(probs, np.float64))
    keys = jax.random.split(key, 20)
    draws = jax.vmap(lambda k: jax.random.choice(k, 50, (200,), p=probs))(keys)
    plugin = jax.vmap(lambda lab: jaxinfo.plugin_entropy(lab, num_classes=50))(draws)
    corrected = jax.vmap(lambda lab: jaxinfo.miller_madow_entropy(lab, num_classes=50))(draws)
    plugin_error = abs(float(jnp.mean(plugin)) - truth)
    corrected_error = abs(float(jnp.mean(corrected)) - truth)
    assert corrected_error < 0.5 * plugin_error
    assert float(jnp.mean(plugin)) < truth  # the plug-in is biased low


def test_miller_madow_term_is_observed_classes_over_2n():
    labels = jnp.array([0, 0, 1, 3, 3, 3])
    m, n = 3, 6
    np.testing.assert_allclose(
        jaxinfo.miller_madow_entropy(labels, num_classes=5),
        jaxinfo.plugin_entropy(labels, num_classes=5) + (m - 1) / (2 * n),
        rtol=1e-6,
    )


def test_discrete_mutual_information_identities(key):
    kx, ky = jax.random.split(key)
    x = jax.random.randint(kx, (5000,), 0, 4)
    y = jax.random.randint(ky, (5000,), 0, 3)
    independent = jaxinfo.discrete_mutual_information(x, y, num_x=4, num_y=3)
    assert 0.0 <= float(independent) < 0.005
    corrected = jaxinfo.discrete_mutual_information(
        x, y, num_x=4, num_y=3, correction="miller_madow"
    )
    # Miller-Madow on each entropy: + ((m_x - 1) + (m_y - 1) - (m_xy - 1)) / (2n) = -6 / 10000
    np.testing.assert_allclose(corrected, float(independent) - 6 / 10000, atol=1e-6)
    same = jaxinfo.discrete_mutual_information(x, x, num_x=4, num_y=4)
    np.testing.assert_allclose(same, jaxinfo.plugin_entropy(x, num_classes=4), rtol=1e-5)
    z = (x + y) % 4
    np.testing.assert_allclose(
        jaxinfo.discrete_mutual_information(x, z, num_x=4, num_y=4),
        jaxinfo.discrete_mutual_information(z, x, num_x=4, num_y=4),
        rtol=1e-5,
    )


def test_discrete_masking_equals_slicing_and_sharding(key):
    kx, ky = jax.random.split(key)
    x = jax.random.randint(kx, (16,), 0, 3)
    y = (x + jax.random.randint(ky, (16,), 0, 2)) % 3
    mask = jnp.arange(16) % 3 != 1
    garbage_x = jnp.where(mask, x, 99)  # out of range, but masked
    masked = jaxinfo.discrete_mutual_information(garbage_x, y, num_x=3, num_y=3, where=mask)
    sliced = jaxinfo.discrete_mutual_information(x[mask], y[mask], num_x=3, num_y=3)
    np.testing.assert_allclose(masked, sliced, rtol=1e-6)
    mesh = jax.make_mesh((8,), ("d",), axis_types=(jax.sharding.AxisType.Auto,))
    sharded = jax.shard_map(
        lambda a, b, w: jaxinfo.discrete_mutual_information(
            a, b, num_x=3, num_y=3, correction="miller_madow", where=w, axis_name="d"
        ),
        mesh=mesh,
        in_specs=(P("d"), P("d"), P("d")),
        out_specs=P(),
    )
    expected = jaxinfo.discrete_mutual_information(
        x, y, num_x=3, num_y=3, correction="miller_madow", where=mask
    )
    np.testing.assert_allclose(jax.jit(sharded)(garbage_x, y, mask), expected, rtol=1e-6)


def test_discrete_bad_input():
    labels = jnp.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"must lie in \[0, num_classes\)"):
        jaxinfo.plugin_entropy(labels, num_classes=2)
    with pytest.raises(ValueError, match="must lie in"):
        jaxinfo.discrete_mutual_information(labels, -labels, num_x=3, num_y=3)
    jitted = jax.jit(lambda lab: jaxinfo.plugin_entropy(lab, num_classes=2))
    assert np.isnan(jitted(labels))
    with pytest.raises(ValueError, match="at least 2 samples"):
        jaxinfo.plugin_entropy(jnp.array([1]), num_classes=2)
    with pytest.raises(ValueError, match="same number of rows"):
        jaxinfo.discrete_mutual_information(labels, labels[:3], num_x=3, num_y=3)
    with pytest.raises(TypeError, match="integer class labels"):
        jaxinfo.plugin_entropy(jnp.array([0.0, 1.0]), num_classes=2)
    with pytest.raises(ValueError, match="correction"):
        jaxinfo.discrete_mutual_information(
            labels, labels, num_x=3, num_y=3, correction=cast(Any, "nsb")
        )
    with pytest.raises(ValueError, match="int32 code"):
        jaxinfo.discrete_mutual_information(labels, labels, num_x=2**16, num_y=2**16)
    with pytest.raises(ValueError, match="one per label column"):
        jaxinfo.plugin_entropy(jnp.zeros((4, 2), jnp.int32), num_classes=(2, 2, 2))


def test_binned_identity_gives_log_bins(key):
    x = jax.random.normal(key, (800, 1))
    adaptive = jaxinfo.binned_mutual_information(x, x, bins=8, adaptive=True)
    np.testing.assert_allclose(adaptive, np.log(8.0), rtol=1e-6)  # exactly equal-mass bins
    grid = jnp.linspace(0.0, 1.0, 800)[:, None]
    np.testing.assert_allclose(
        jaxinfo.binned_mutual_information(grid, grid, bins=8, base=2), 3.0, rtol=1e-5
    )


def test_binned_independent_is_near_zero_at_n_5000(key):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (5000, 1))
    y = jax.random.uniform(ky, (5000, 1))
    assert abs(float(jaxinfo.binned_mutual_information(x, y, bins=8))) < 0.02
    corrected = jaxinfo.binned_mutual_information(
        x, y, bins=16, adaptive=True, correction="miller_madow"
    )
    assert abs(float(corrected)) < 0.02


def test_binned_data_processing_and_symmetry(key):
    kx, k1, k2 = jax.random.split(key, 3)
    x = jax.random.normal(kx, (5000, 1))
    y = x + 0.5 * jax.random.normal(k1, (5000, 1))
    g_y = y + 1.0 * jax.random.normal(k2, (5000, 1))  # a noisier channel X -> Y -> g(Y)
    for adaptive in (False, True):
        i_xy = float(jaxinfo.binned_mutual_information(x, y, bins=10, adaptive=adaptive))
        i_xg = float(jaxinfo.binned_mutual_information(x, g_y, bins=10, adaptive=adaptive))
        assert i_xy > i_xg + 0.1
        np.testing.assert_allclose(
            jaxinfo.binned_mutual_information(y, x, bins=10, adaptive=adaptive), i_xy, rtol=1e-6
        )


def test_binned_multi_column_and_gradient(key):
    x = jax.random.normal(key, (400, 2))
    y = x[:, :1] + x[:, 1:]
    value, grad = jax.value_and_grad(lambda a: jaxinfo.binned_mutual_information(a, y, bins=4))(x)
    assert 0.3 < float(value) < float(jaxinfo.binned_mutual_information(x, x, bins=4))
    assert np.all(np.asarray(grad) == 0)


def test_binned_bad_input(key):
    x = jax.random.normal(key, (10, 1))
    with pytest.raises(ValueError, match="bins"):
        jaxinfo.binned_mutual_information(x, x, bins=1)
    with pytest.raises(ValueError, match="int32 code"):
        jaxinfo.binned_mutual_information(jnp.zeros((10, 8)), x, bins=16)
    with pytest.raises(ValueError, match="same number of rows"):
        jaxinfo.binned_mutual_information(x, x[:5])
    with pytest.raises(ValueError, match="at least 2 samples"):
        jaxinfo.binned_mutual_information(x[:1], x[:1])
    with pytest.raises(ValueError, match=r"shape \[n, d\]"):
        jaxinfo.binned_mutual_information(x[:, 0], x[:, 0])
