"""Grassberger and Chao–Shen entropies and the matching ``correction=`` of discrete / binned MI."""

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from scipy.stats import entropy as scipy_entropy

import jaxinfo

CORRECTED = {"grassberger": jaxinfo.grassberger_entropy, "chao_shen": jaxinfo.chao_shen_entropy}


def _chao_shen_by_hand(counts):
    n = sum(counts)
    singletons = sum(c == 1 for c in counts)
    singletons = n - 1 if singletons == n else singletons
    coverage = 1.0 - singletons / n
    total = 0.0
    for c in counts:
        p = coverage * c / n
        total -= p * math.log(p) / (1.0 - (1.0 - p) ** n)
    return total


def test_hand_computed_values(x64):
    labels = jnp.array([3, 0, 2, 3, 1, 2, 3])  # counts [1, 1, 2, 3], n = 7
    # G(1) = -gamma - log 2 and G(2) = G(3) = 2 - gamma - log 2, so
    # H = log 7 - (2 G(1) + 2 G(2) + 3 G(3)) / 7 = log 14 + gamma - 10 / 7.
    grassberger = math.log(14.0) + np.euler_gamma - 10.0 / 7.0
    np.testing.assert_allclose(
        jaxinfo.grassberger_entropy(labels, num_classes=5), grassberger, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        jaxinfo.chao_shen_entropy(labels, num_classes=5),
        _chao_shen_by_hand([1, 1, 2, 3]),
        rtol=0,
        atol=1e-12,
    )
    # every sample a singleton: f1 = n - 1, C = 1 / n
    distinct = jnp.arange(4)
    np.testing.assert_allclose(
        jaxinfo.chao_shen_entropy(distinct, num_classes=4),
        _chao_shen_by_hand([1, 1, 1, 1]),
        rtol=0,
        atol=1e-12,
    )
    # one class only: coverage 1, p = 1, entropy 0; Grassberger log n - G(n) at n = 6
    constant = jnp.zeros(6, jnp.int32)
    assert float(jaxinfo.chao_shen_entropy(constant, num_classes=2)) == 0.0
    g6 = 1.0 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5 - np.euler_gamma  # psi(6)
    psi_7_2 = 2.0 + 2 / 3 + 2 / 5 - np.euler_gamma - 2.0 * math.log(2.0)  # psi(3.5)
    g6 += 0.5 * (psi_7_2 - (1.0 + 1 / 2 - np.euler_gamma))  # (-1)^6 (psi(3.5) - psi(3)) / 2
    np.testing.assert_allclose(
        jaxinfo.grassberger_entropy(constant, num_classes=2, base=2),
        (math.log(6.0) - g6) / math.log(2.0),
        rtol=0,
        atol=1e-12,
    )


def test_closer_to_the_truth_than_miller_madow_when_n_is_below_the_alphabet(key):
    probs = jax.random.dirichlet(jax.random.key(1), jnp.ones(200))
    truth = scipy_entropy(np.asarray(probs, np.float64))
    draws = jax.vmap(lambda k: jax.random.choice(k, 200, (100,), p=probs))(
        jax.random.split(key, 20)
    )

    fns = (jaxinfo.miller_madow_entropy, *CORRECTED.values())
    means = jax.jit(
        lambda d: jnp.array(
            [jnp.mean(jax.vmap(lambda lab, f=f: f(lab, num_classes=200))(d)) for f in fns]
        )
    )(draws)
    miller_madow, *corrected = np.asarray(means) - truth
    assert miller_madow < -0.3  # measured -0.51
    for bias in corrected:
        assert abs(bias) < 0.5 * abs(miller_madow)  # measured -0.22 (Grassberger), -0.13


def test_issue_case_binned_3x3_independent():
    """Issue 27: 16 bins per column, 3 + 3 independent columns, n = 5000; truth 0."""
    z = jax.random.normal(jax.random.key(0), (5000, 6))

    @jax.jit
    def values(z):
        return jnp.array(
            [
                [
                    jaxinfo.binned_mutual_information(
                        z[:, :3], z[:, 3:], bins=16, adaptive=adaptive, correction=correction
                    )
                    for correction in (None, "miller_madow", "grassberger", "chao_shen")
                ]
                for adaptive in (False, True)
            ]
        )

    for plugin, miller_madow, grassberger, chao_shen in np.asarray(values(z)):
        assert min(plugin, miller_madow) > 4.0  # 4.37 / 4.09 and 7.18 / 7.26 measured
        assert abs(chao_shen) < 0.2 * min(plugin, miller_madow)  # 0.75 and -0.11
        assert 0.0 < grassberger < min(plugin, miller_madow)  # 3.44 and 6.81


@pytest.mark.parametrize("correction", ["grassberger", "chao_shen"])
def test_mutual_information_is_three_corrected_entropies(key, correction):
    kx, ky = jax.random.split(key)
    x = jax.random.randint(kx, (60,), 0, 6)
    y = (x + jax.random.randint(ky, (60,), 0, 3)) % 5
    h = CORRECTED[correction]
    expected = (
        h(x, num_classes=6) + h(y, num_classes=5) - h(jnp.stack([x, y], axis=1), num_classes=(6, 5))
    )
    np.testing.assert_allclose(
        jaxinfo.discrete_mutual_information(x, y, num_x=6, num_y=5, correction=correction),
        expected,
        rtol=1e-5,
    )


# Grassberger's masking goes through the same counts (the battery runs binned Chao-Shen too)
@pytest.mark.parametrize(
    "correction", [pytest.param("grassberger", marks=pytest.mark.slow), "chao_shen"]
)
def test_masking_equals_slicing_under_jit_vmap_and_shard_map(key, correction):
    kx, ky = jax.random.split(key)
    x = jax.random.randint(kx, (16,), 0, 5)
    y = (x + jax.random.randint(ky, (16,), 0, 2)) % 5
    masks = jnp.stack([jnp.arange(16) % 3 != 1, jnp.arange(16) < 11])
    h = CORRECTED[correction]
    garbage = jnp.where(masks[0], x, 99)  # out of range, but masked
    np.testing.assert_allclose(
        jax.jit(lambda a, w: h(a, num_classes=5, where=w))(garbage, masks[0]),
        h(x[masks[0]], num_classes=5),
        rtol=1e-6,
    )

    def mi(w):
        return jaxinfo.discrete_mutual_information(
            x, y, num_x=5, num_y=5, correction=correction, where=w
        )

    batched = jax.vmap(mi)(masks)
    for i in range(2):
        sliced = jaxinfo.discrete_mutual_information(
            x[masks[i]], y[masks[i]], num_x=5, num_y=5, correction=correction
        )
        np.testing.assert_allclose(batched[i], sliced, rtol=1e-6)
    mesh = jax.make_mesh((8,), ("d",), axis_types=(jax.sharding.AxisType.Auto,))
    sharded = jax.shard_map(
        lambda a, w: h(a, num_classes=5, where=w, axis_name="d"),
        mesh=mesh,
        in_specs=(P("d"), P("d")),
        out_specs=P(),
    )
    np.testing.assert_allclose(
        jax.jit(sharded)(garbage, masks[0]), h(x[masks[0]], num_classes=5), rtol=1e-6
    )


def test_float32_matches_float64(key):
    labels = jax.random.randint(key, (3000,), 0, 400)
    values32 = [fn(labels, num_classes=400) for fn in CORRECTED.values()]
    values32.append(
        jaxinfo.discrete_mutual_information(
            labels, labels % 7, num_x=400, num_y=7, correction="chao_shen"
        )
    )
    assert all(v.dtype == jnp.float32 for v in values32)
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        values64 = [fn(labels, num_classes=400) for fn in CORRECTED.values()]
        values64.append(
            jaxinfo.discrete_mutual_information(
                labels, labels % 7, num_x=400, num_y=7, correction="chao_shen"
            )
        )
        assert all(v.dtype == jnp.float64 for v in values64)
    finally:
        jax.config.update("jax_enable_x64", previous)
    np.testing.assert_allclose(values32, values64, rtol=1e-5, atol=2e-6)


def test_bad_correction_names_the_argument_and_the_choices():
    labels = jnp.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match="correction.*grassberger.*chao_shen"):
        jaxinfo.discrete_mutual_information(
            labels, labels, num_x=3, num_y=3, correction=cast(Any, "nsb")
        )
    with pytest.raises(ValueError, match="correction"):
        jaxinfo.binned_mutual_information(
            jnp.ones((4, 1)), jnp.ones((4, 1)), correction=cast(Any, "chao-shen")
        )
    with pytest.raises(ValueError, match=r"must lie in \[0, num_classes\)"):
        jaxinfo.chao_shen_entropy(labels, num_classes=2)
    assert np.isnan(jax.jit(lambda a: jaxinfo.grassberger_entropy(a, num_classes=2))(labels))


def test_dense_and_sorted_counting_agree(key):
    """Small alphabets scatter into dense bins, large ones sort: the same counts either way."""
    labels = jax.random.randint(key, (300,), 0, 40)
    for fn in (jaxinfo.plugin_entropy, jaxinfo.miller_madow_entropy, *CORRECTED.values()):
        dense = fn(labels, num_classes=40)
        sorted_runs = fn(labels, num_classes=5000)  # > max(n, 1024) cells: the sort path
        np.testing.assert_allclose(dense, sorted_runs, rtol=2e-6)
