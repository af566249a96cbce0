"""kNN estimators: accuracy on ground-truth tasks, peer agreement, invariants, memory, errors."""

from __future__ import annotations

from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import digamma, gammaln

import jaxinfo
from jaxinfo import testing

N = 5000


def _jit(fn, **options):
    """Jitted estimator with static options: one compilation instead of dozens of eager ones."""
    return jax.jit(lambda *arrays: fn(*arrays, **options))


def _sample(task, seed, n=N):
    return task.sample(jax.random.key(seed), n)


# ---- brute-force NumPy references written from the formulas (NPEET conventions, nats) ----


def _ref_ksg(x, y, k):
    dx = np.max(np.abs(x[:, None] - x[None]), axis=-1)
    dy = np.max(np.abs(y[:, None] - y[None]), axis=-1)
    joint = np.maximum(dx, dy)
    np.fill_diagonal(joint, np.inf)
    eps = np.sort(joint, axis=1)[:, k - 1]
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    nx = np.sum(dx < eps[:, None], axis=1)
    ny = np.sum(dy < eps[:, None], axis=1)
    n = len(x)
    return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def _kth_distance(a, b, k, exclude_self):
    d = np.sqrt(np.sum((a[:, None] - b[None]) ** 2, axis=-1))
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def _ref_entropy(x, k):
    n, d = x.shape
    log_vd = 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1)
    r = _kth_distance(x, x, k, True)
    return digamma(n) - digamma(k) + log_vd + d * np.mean(np.log(r))


def _ref_kl(x, y, k):
    n, d = x.shape
    rho, nu = _kth_distance(x, x, k, True), _kth_distance(x, y, k, False)
    return d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1))


def test_matches_brute_force_formulas(x64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = x[:, :1] + 0.5 * rng.normal(size=(60, 1))
    z = rng.normal(size=(45, 2)) + 0.3
    for k in (1, 3):
        assert abs(_jit(jaxinfo.ksg_mutual_information, k=k)(x, y) - _ref_ksg(x, y, k)) < 1e-12
        assert abs(_jit(jaxinfo.knn_entropy, k=k)(x) - _ref_entropy(x, k)) < 1e-12
        assert abs(_jit(jaxinfo.knn_kl_divergence, k=k)(x, z) - _ref_kl(x, z, k)) < 1e-12
    bits = _jit(jaxinfo.knn_entropy, base=2)(x)
    np.testing.assert_allclose(bits, _ref_entropy(x, 3) / np.log(2), rtol=1e-12)


def test_ksg_matches_sklearn_mutual_info_regression(x64):
    from sklearn.feature_selection import mutual_info_regression

    x, y = _sample(testing.correlated_gaussians(1, 1, correlation=0.6), 1, n=800)
    # sklearn standardises (std, no centring) and adds 1e-10-relative noise; feed it
    # standardised data so its scaling is ~identity and compare on the same data.
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x, y = x / x.std(), y / y.std()
    ours = float(_jit(jaxinfo.ksg_mutual_information, k=3)(x, y))
    theirs = mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=0)[0]
    assert ours > 0  # sklearn clips at 0; only comparable for a positive estimate
    assert abs(ours - theirs) < 1e-6


@pytest.mark.parametrize(
    "task",
    [
        testing.correlated_gaussians(1, 1, correlation=0.8),
        testing.correlated_gaussians(2, 2, correlation=0.5),
        testing.additive_uniform_noise(0.3),
    ],
    ids=lambda t: t.name,
)
def test_ksg_accuracy_on_tasks(task):
    x, y = _sample(task, 0)
    value = jaxinfo.ksg_mutual_information(x, y, block_size=1024)
    assert abs(value - task.mutual_information) < 0.05, (float(value), task.mutual_information)


def test_ksg_independent_variables_near_zero():
    kx, ky = jax.random.split(jax.random.key(3))
    x, y = jax.random.normal(kx, (N, 1)), jax.random.normal(ky, (N, 1))
    assert abs(jaxinfo.ksg_mutual_information(x, y, block_size=1024)) < 0.02


@pytest.mark.parametrize(
    "transform", [testing.half_cube, testing.asinh], ids=["half_cube", "asinh"]
)
def test_ksg_invariance_under_monotone_transforms(transform):
    task = testing.correlated_gaussians(1, 1, correlation=0.6)
    x, y = _sample(task, 4)
    xt, yt = _sample(transform(task), 4)  # the same draw, transformed
    plain = jaxinfo.ksg_mutual_information(x, y, block_size=1024)
    moved = jaxinfo.ksg_mutual_information(xt, yt, block_size=1024)
    assert abs(moved - plain) < 0.03, (float(moved), float(plain))


def test_ksg_symmetry_and_zero_gradient():
    x, y = _sample(testing.correlated_gaussians(2, 1), 5, n=300)
    np.testing.assert_allclose(
        jaxinfo.ksg_mutual_information(x, y), jaxinfo.ksg_mutual_information(y, x), rtol=1e-6
    )
    grads = jax.grad(lambda a, b: jaxinfo.ksg_mutual_information(a, b), argnums=(0, 1))(x, y)
    assert all(np.all(np.asarray(g) == 0) for g in grads)


@pytest.mark.parametrize("dim", [1, 2])
def test_knn_entropy_accuracy_on_gaussians(dim):
    task = testing.correlated_gaussians(dim, 1, correlation=0.5)
    x, _ = _sample(task, 6)
    value = jaxinfo.knn_entropy(x, block_size=1024)
    assert task.entropy_x is not None
    assert abs(value - task.entropy_x) < 0.05, (float(value), task.entropy_x)


def test_knn_entropy_float32_matches_float64_at_large_n(x64):
    """The exact re-measure of candidates keeps float32 close to float64 at n = 5000 (the
    matmul distance expansion alone loses the close pairs that dominate log r)."""
    x = jax.random.normal(jax.random.key(7), (N, 1), jnp.float64) * 10.0 + 100.0
    entropy = _jit(jaxinfo.knn_entropy, block_size=1024)
    v64, v32 = entropy(x), entropy(x.astype(jnp.float32))
    assert abs(float(v32) - float(v64)) < 1e-3


def test_knn_entropy_gradient_matches_finite_differences(x64):
    x = jax.random.normal(jax.random.key(8), (40, 2), jnp.float64)
    entropy = _jit(jaxinfo.knn_entropy, k=2)
    grad = jax.jit(jax.grad(entropy))(x)
    step = 1e-6
    for i, j in [(0, 0), (5, 1), (17, 0)]:
        e = jnp.zeros_like(x).at[i, j].set(step)
        fd = (entropy(x + e) - entropy(x - e)) / (2 * step)
        np.testing.assert_allclose(grad[i, j], fd, rtol=1e-5, atol=1e-8)


def test_duplicated_rows_finite_value_and_gradient():
    x = jax.random.normal(jax.random.key(9), (50, 2))
    x = jnp.concatenate([x, x, x[:1].repeat(10, axis=0)])
    for fn in (
        lambda v: jaxinfo.knn_entropy(v, k=3),
        lambda v: jaxinfo.knn_kl_divergence(v, v[::-1] + 0.1, k=2),
    ):
        value, grad = jax.jit(jax.value_and_grad(fn))(x)
        assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_knn_kl_divergence_same_and_shifted_gaussians():
    kx, ky = jax.random.split(jax.random.key(10))
    x = jax.random.normal(kx, (N, 2))
    y = jax.random.normal(ky, (N, 2))
    assert abs(jaxinfo.knn_kl_divergence(x, y, block_size=1024)) < 0.03
    shift = jnp.array([0.6, -0.4])
    truth = 0.5 * float(jnp.sum(shift**2))  # KL(N(0, I) || N(shift, I))
    value = jaxinfo.knn_kl_divergence(x, y + shift, block_size=1024)
    assert abs(value - truth) < 0.05, (float(value), truth)


def test_blocked_equals_unblocked():
    x, y = _sample(testing.correlated_gaussians(2, 1), 11, n=203)
    z = x[:150, ::-1]
    for fn, args, options in (
        (jaxinfo.knn_entropy, (x,), {}),
        (jaxinfo.ksg_mutual_information, (x, y), {}),
        (jaxinfo.knn_kl_divergence, (x, z), {"k": 2}),
    ):
        blocked = _jit(fn, block_size=7, **options)(*args)
        np.testing.assert_allclose(blocked, _jit(fn, **options)(*args), rtol=1e-5, atol=1e-6)


def test_blocked_memory_is_linear_in_n(key):
    n, block = 8192, 256
    x = jax.random.normal(key, (n, 3))
    loss = jax.value_and_grad(lambda v: jaxinfo.knn_entropy(v, block_size=block))
    analysis = jax.jit(loss).lower(x).compile().memory_analysis()
    assert analysis is not None
    temp = analysis.temp_size_in_bytes
    assert temp < 8 * n * block * 4, f"{temp / 2**20:.1f} MiB"
    ksg = jax.jit(lambda a: jaxinfo.ksg_mutual_information(a[:, :2], a[:, 2:], block_size=block))
    analysis = ksg.lower(x).compile().memory_analysis()
    assert analysis is not None
    temp = analysis.temp_size_in_bytes
    assert temp < 8 * n * block * 4, f"{temp / 2**20:.1f} MiB"


def test_bad_inputs():
    x = jnp.ones((10, 2))
    with pytest.raises(ValueError, match="n = 10 samples.*got k = 10"):
        jaxinfo.knn_entropy(x, k=10)
    with pytest.raises(ValueError, match=">= 1"):
        jaxinfo.ksg_mutual_information(x, x, k=0)
    with pytest.raises(TypeError, match="Python int"):
        jaxinfo.knn_entropy(x, k=cast(Any, 2.0))  # a float on purpose: the check is under test
    with pytest.raises(ValueError, match="same number of rows"):
        jaxinfo.ksg_mutual_information(x, x[:9])
    with pytest.raises(ValueError, match="at least 2 samples"):
        jaxinfo.knn_entropy(x[:1], k=1)
    with pytest.raises(ValueError, match="same number of features"):
        jaxinfo.knn_kl_divergence(x, x[:, :1])
    with pytest.raises(ValueError, match="`y` has n = 3"):
        jaxinfo.knn_kl_divergence(x, x[:3], k=4)
    with pytest.raises(ValueError, match=r"shape \[n, d\]"):
        jaxinfo.knn_entropy(jnp.ones(10))


def test_float64_min_pass_selection_equals_top_k(monkeypatch, x64):
    # float64 selects the k-th neighbour by min passes (XLA's CPU top_k is slow in float64);
    # same neighbours, same counts as top_k on random data, ties, duplicates and masks
    from jaxinfo._src import neighbours

    k1, k2 = jax.random.split(jax.random.key(3))
    x = jax.random.normal(k1, (120, 2), jnp.float64)
    y = x[:, :1] + 0.5 * jax.random.normal(k2, (120, 1), jnp.float64)
    tied = jnp.round(4.0 * x) / 4.0  # many equal distances and duplicated rows
    where = jnp.arange(120) % 7 != 3

    def values():
        jax.clear_caches()
        out = []
        for data in (x, tied):
            for mask in (None, where):
                out.append(jaxinfo.knn_entropy(data, k=4, where=mask))
                out.append(jaxinfo.ksg_mutual_information(data[:, :1], y, k=3, where=mask))
                out.append(jaxinfo.knn_kl_divergence(data, x[::-1] + 0.3, k=2))
        out.append(jax.grad(lambda v: jaxinfo.knn_entropy(v, k=4))(x))
        return out

    passes = values()
    monkeypatch.setattr(neighbours, "MIN_PASSES_MAX_K", 0)
    top_k = values()
    jax.clear_caches()
    for got, want in zip(passes, top_k, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    selected = neighbours._kth_smallest_by_min_passes(jnp.array([[3.0, 1.0, 1.0, 2.0, 1.0]]), 4)
    assert float(selected[0]) == 2.0
    # fewer than k finite candidates: +inf, and a finite gradient for the finite entries
    short = jnp.array([[jnp.inf, 1.0, jnp.inf]])
    assert float(neighbours._kth_smallest_by_min_passes(short, 2)[0]) == float("inf")
    grad = jax.grad(lambda d: jnp.sum(neighbours._kth_smallest_by_min_passes(d, 1)))(short)
    np.testing.assert_array_equal(grad, [[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sorted_1d_search_equals_brute_force(dtype, x64):
    # d = 1 takes the O(n log n) sorted search by default: same neighbours as the slab
    k1, k2 = jax.random.split(jax.random.key(4))
    x = jax.random.normal(k1, (400, 1), jnp.float64)
    tied = jnp.round(8.0 * x) / 8.0  # ties and duplicated rows
    clustered = jnp.concatenate([1e-3 * x[:200], 10.0 + x[200:]])
    where = jax.random.uniform(k2, (400,)) > 0.3
    rtol = 1e-6 if dtype == "float32" else 1e-12
    for data in (x, tied, clustered):
        untied = data is not tied  # tied neighbours may share the gradient differently
        data = data.astype(dtype)
        for mask in (None, where):
            for k in (1, 5):
                values = [
                    jax.value_and_grad(
                        lambda v, m=method, k=k, w=mask: jaxinfo.knn_entropy(
                            v, k=k, where=w, method=cast(Any, m)
                        )
                    )(data)
                    for method in ("sorted", "brute")
                ]
                (got, got_grad), (want, want_grad) = values
                np.testing.assert_allclose(got, want, rtol=rtol, err_msg=f"{dtype} k={k}")
                if untied:
                    np.testing.assert_allclose(got_grad, want_grad, rtol=rtol, atol=rtol)
        # the KL divergence: rho within x, nu from x to a shifted, masked y
        y = 0.5 + 1.3 * x[::-1]
        y = (y if untied else jnp.round(8.0 * y) / 8.0).astype(dtype)
        for k in (3,):
            kl = [
                jax.value_and_grad(
                    lambda v, m=method, k=k, y=y: jaxinfo.knn_kl_divergence(
                        v,
                        y,
                        k=k,
                        where_x=where,
                        where_y=~where | (jnp.arange(400) < 50),
                        method=cast(Any, m),
                    )
                )(data)
                for method in ("sorted", "brute")
            ]
            np.testing.assert_allclose(kl[0][0], kl[1][0], rtol=rtol, err_msg=f"KL k={k}")
            if untied:
                np.testing.assert_allclose(kl[0][1], kl[1][1], rtol=rtol, atol=rtol)
    with pytest.raises(ValueError, match="one-dimensional"):
        jaxinfo.knn_entropy(jnp.ones((5, 2)), k=1, method="sorted")
    with pytest.raises(ValueError, match="method"):
        jaxinfo.knn_entropy(x, method=cast(Any, "kdtree"))


def _low_dimensional_data(d, n=500):
    """Random, tied (duplicated rows, equal coordinates) and clustered float64 samples."""
    x = jax.random.normal(jax.random.key(11), (n, d), jnp.float64)
    tied = jnp.round(4.0 * x) / 4.0
    clustered = jnp.concatenate([1e-3 * x[: n // 2], 10.0 + x[n // 2 :]])
    return {"random": x, "tied": tied, "clustered": clustered}


# float64 resolves exact ties and is the default; float32 repeats the path (-m slow, CI time)
@pytest.mark.parametrize("dtype", [pytest.param("float32", marks=pytest.mark.slow), "float64"])
def test_tree_search_equals_brute_force(dtype, x64):
    # the host k-d tree finds the same neighbours as the slab: equal values and gradients
    rtol = 1e-6 if dtype == "float32" else 1e-12
    where = jax.random.uniform(jax.random.key(12), (500,)) > 0.3
    for name, data in _low_dimensional_data(3).items():
        data = data.astype(dtype)
        for mask in (None, where):
            for k in (1, 5):
                got, want = (
                    jax.value_and_grad(
                        lambda v, m=m, k=k, w=mask: jaxinfo.knn_entropy(
                            v, k=k, where=w, method=cast(Any, m)
                        )
                    )(data)
                    for m in ("tree", "brute")
                )
                np.testing.assert_allclose(got[0], want[0], rtol=rtol, err_msg=f"{name} k={k}")
                if name != "tied":  # tied neighbours may share the gradient differently
                    np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=rtol)
        y = (0.5 + 1.3 * data[::-1, :2]).astype(dtype)
        kl = [
            jaxinfo.knn_kl_divergence(
                data[:, :2],
                y,
                k=3,
                where_x=where,
                where_y=~where | (jnp.arange(500) < 50),
                method=m,
            )
            for m in ("tree", "brute")
        ]
        np.testing.assert_allclose(kl[0], kl[1], rtol=rtol, err_msg=f"KL {name}")
        for dx, dy in ((1, 1), (2, 1), (1, 2), (3, 3)):
            a, b = data[:, :dx], (data[::-1, :dy] + 0.5 * data[:, :dy]).astype(dtype)
            if name == "tied":
                b = jnp.round(4.0 * b) / 4.0
            for mask in (None, where):
                got, want = (
                    jaxinfo.ksg_mutual_information(a, b, k=3, where=mask, method=m)
                    for m in ("tree", "brute")
                )
                np.testing.assert_allclose(
                    got, want, rtol=rtol, atol=rtol, err_msg=f"KSG {name} {dx}x{dy}"
                )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tree_and_sorted_counts_equal_the_slab_counts(dtype, x64):
    # KSG's marginal counts, row by row, at the radii the joint search produces (a neighbour
    # sits exactly on the radius) and at random radii
    from jaxinfo._src import neighbours, trees

    for name, data in _low_dimensional_data(3, n=400).items():
        data = data.astype(dtype)
        valid = jax.random.uniform(jax.random.key(13), (400,)) > 0.2
        ids = jnp.arange(400)
        joint_radius = neighbours.kth_smallest(
            jnp.where(
                ~valid[None, :] | (ids[:, None] == ids[None, :]),
                jnp.inf,
                neighbours.chebyshev_distances(data, data),
            ),
            3,
        )
        random_radius = jax.random.uniform(jax.random.key(14), (400,), dtype) * 0.5
        for radius in (joint_radius, random_radius, jnp.zeros_like(random_radius)):
            for d in (1, 2, 3):
                x = data[:, :d]
                dist = neighbours.chebyshev_distances(x, x)
                want = neighbours.count_within(dist, radius, ~valid[None, :] & (dist >= 0))
                got = trees.count_within(x, x, valid, radius)
                np.testing.assert_array_equal(got, want, err_msg=f"tree {name} d={d}")
                if d == 1:
                    got = neighbours.sorted_count_within(x, x, valid, radius)
                    np.testing.assert_array_equal(got, want, err_msg=f"sorted {name}")


def test_strict_radius_reproduces_rounded_strict_comparison():
    from jaxinfo._src import trees

    rng = np.random.default_rng(0)
    radius = rng.uniform(0.1, 2.0, 2000).astype(np.float32)
    # exact float64 distances at and around the float32 rounding boundaries of the radius
    below = np.nextafter(radius, np.float32(0)).astype(np.float64)
    middle = 0.5 * (below + radius.astype(np.float64))
    for delta in (middle, np.nextafter(middle, 0), np.nextafter(middle, 3), below, radius):
        delta = np.asarray(delta, np.float64)
        counted = np.asarray(delta, np.float32) < radius  # the slab: rounded, strict
        np.testing.assert_array_equal(delta <= trees.strict_radius(radius, np.float32), counted)
    r64 = rng.uniform(0.1, 2.0, 100)
    assert np.all(r64 > trees.strict_radius(r64, np.float64))
    assert np.all(np.nextafter(r64, 0) <= trees.strict_radius(r64, np.float64))
    assert np.all(trees.strict_radius(np.zeros(3), np.float32) < 0)


def test_search_route_choice_and_errors():
    from jaxinfo._src import neighbours, trees

    n = trees.TREE_MIN_ROWS
    low = trees.TREE_MIN_ROWS_LOW_DIM
    on_cpu = jax.default_backend() == "cpu"
    expected = "tree" if on_cpu else "brute"
    assert neighbours.search_route("auto", 1, 100) == "sorted"
    assert neighbours.search_route("auto", 3, low - 1) == "brute"
    assert neighbours.search_route("auto", 3, low) == expected
    assert neighbours.search_route("auto", trees.LOW_DIM + 1, low) == "brute"
    assert neighbours.search_route("auto", trees.LOW_DIM + 1, n) == expected
    assert neighbours.search_route("auto", trees.TREE_MAX_DIM + 1, 10 * n) == "brute"
    assert neighbours.search_route("auto", 2, n, sorted_allowed=False) == expected
    assert neighbours.search_route("tree", 20, 10) == "tree"
    x = jnp.ones((10, 1))
    with pytest.raises(ValueError, match="method"):
        jaxinfo.ksg_mutual_information(x, x, method="sorted")
    with pytest.raises(ValueError, match="method"):
        jaxinfo.knn_entropy(x, method=cast(Any, "kdtree"))


def test_tree_route_under_vmap_and_jit():
    xs = jax.random.normal(jax.random.key(15), (3, 300, 2))
    ys = xs + jax.random.normal(jax.random.key(16), (3, 300, 2))

    def both(x, y, method):
        return jnp.stack(
            [
                jaxinfo.knn_entropy(x, k=3, method=method),
                jaxinfo.ksg_mutual_information(x, y, k=3, method=method),
            ]
        )

    got = jax.jit(jax.vmap(lambda x, y: both(x, y, "tree")))(xs, ys)
    want = jnp.stack([both(x, y, "brute") for x, y in zip(xs, ys, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_float64_float32_search_is_exact_or_falls_back(x64):
    # float64 at d > 4 searches in float32 where its error bound proves the k nearest were
    # found, else repeats the block in float64: either way the exact k-th distance
    from jaxinfo._src import neighbours

    x = jax.random.normal(jax.random.key(17), (300, 6), jnp.float64)
    # a tight cluster beside spread points: float32 cannot resolve it, the fallback runs
    clustered = jnp.concatenate([x[:150], 1e-6 * x[150:]])
    for data in (x, clustered):
        excluded = jnp.eye(300, dtype=bool) | (jnp.arange(300) % 7 == 3)[None, :]
        got = jax.jit(lambda v, e=excluded: neighbours.kth_squared_distance(v, v, e, 3))(data)
        exact = np.sum((np.asarray(data)[:, None] - np.asarray(data)[None]) ** 2, axis=-1)
        want = np.sort(np.where(np.asarray(excluded), np.inf, exact), axis=1)[:, 2]
        np.testing.assert_allclose(got, want, rtol=1e-12)
    _, bound = neighbours._float32_search_bound(clustered, clustered, excluded, 11)
    assert not bool(jnp.all(got <= bound))  # the clustered case did take the fallback


def test_tree_route_without_answer_is_nan():
    # non-finite data in a valid row: NaN, as on the slab (SciPy's tree itself would raise)
    x = jax.random.normal(jax.random.key(19), (300, 3))
    for bad in (jnp.nan, jnp.inf):
        data = x.at[5, 1].set(bad)
        assert jnp.isnan(jaxinfo.knn_entropy(data, method="tree"))
        assert jnp.isnan(jaxinfo.ksg_mutual_information(data[:, :2], data[:, 2:], method="tree"))
        assert jnp.isnan(jaxinfo.knn_kl_divergence(data, x + 1.0, method="tree"))
    # masked non-finite rows are ignored
    where = jnp.arange(300) != 5
    got = jaxinfo.knn_entropy(x.at[5, 1].set(jnp.nan), where=where, method="tree")
    np.testing.assert_allclose(got, jaxinfo.knn_entropy(x[where], method="tree"), rtol=1e-6)
