"""``jit(vmap)`` over row masks: the values of single calls, one call per member on CPU."""

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.core import Tracer

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src import batching

ESTIMATORS = {
    "matrix_mi": lambda x, y, m, bs=None: jaxinfo.matrix_mutual_information(
        x,
        y,
        alpha=2,
        kernel_x=kernels.Gaussian(1.0),
        kernel_y=kernels.Gaussian(1.0),
        where=m,
        block_size=bs,
    ),
    "matrix_renyi": lambda x, y, m, bs=None: jaxinfo.matrix_renyi_entropy(
        x, alpha=2, kernel=kernels.Gaussian(1.0), where=m, block_size=bs
    ),
    "gaussian_mi": lambda x, y, m, bs=None: jaxinfo.gaussian_mutual_information(x, y, where=m),
    "ksg_mi": lambda x, y, m, bs=None: jaxinfo.ksg_mutual_information(
        x, y, where=m, method="brute", block_size=bs
    ),
}


GAUSS = kernels.Gaussian(1.0)

# The other families whose vmap loops over the batch on CPU (batching.one_call_at_a_time):
# one configuration per wrapped code path, ``fn(x, y, mask)``.
LOOPED = {
    "matrix_renyi_eigen": lambda x, y, m: jaxinfo.matrix_renyi_entropy(
        x, alpha=1.5, kernel=GAUSS, where=m
    ),
    "cs_divergence": lambda x, y, m: jaxinfo.cauchy_schwarz_divergence(
        x, y + 0.5, kernel=GAUSS, where_x=m, where_y=m
    ),
    "cs_conditional_mi": lambda x, y, m: jaxinfo.cauchy_schwarz_conditional_mutual_information(
        x, y, x[:, :1] + y[:, 1:], kernel_x=GAUSS, kernel_y=GAUSS, kernel_z=GAUSS, where=m
    ),
    "kde_entropy": lambda x, y, m: jaxinfo.kde_entropy(x, where=m),
    "knn_entropy": lambda x, y, m: jaxinfo.knn_entropy(x, where=m, method="brute"),
    "knn_kl": lambda x, y, m: jaxinfo.knn_kl_divergence(
        x, y + 0.5, where_x=m, where_y=m, method="brute"
    ),
    "infonce": lambda x, y, m: jaxinfo.infonce_lower_bound(x @ y.T, where=m),
    "club": lambda x, y, m: jaxinfo.club_estimate(-((x[:, None, 0] - y[None, :, 0]) ** 2), where=m),
    "diffusion_entropy": lambda x, y, m: jaxinfo.diffusion_spectral_entropy(
        x, bandwidth=1.0, where=m
    ),
}


def _data(dtype, n=96, batch=4):
    kx, kn, km = jax.random.split(jax.random.key(3), 3)
    x = jax.random.normal(kx, (n, 2), dtype)
    y = x + 0.5 * jax.random.normal(kn, (n, 2), dtype)
    masks = jax.random.uniform(km, (batch, n)) < 0.8
    return x, y, masks


def _scans(jaxpr) -> list:
    """Every ``scan`` equation of a closed jaxpr, nested ones included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "scan":
            found.append(eqn)
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found.extend(_scans(sub))
    return found


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("block_size", [None, 40])
def test_jit_vmap_over_masks_gives_the_single_call_values(request, name, dtype, block_size):
    if dtype == "float64":
        request.getfixturevalue("x64")
    fn = ESTIMATORS[name]
    x, y, masks = _data(jnp.dtype(dtype))
    batched = jax.jit(jax.vmap(lambda x, y, m: fn(x, y, m, block_size), in_axes=(None, None, 0)))
    single = jax.jit(lambda x, y, m: fn(x, y, m, block_size))
    got = batched(x, y, masks)
    assert got.dtype == jnp.dtype(dtype)
    want = np.array([single(x, y, m) for m in masks])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", ["matrix_mi", "matrix_renyi", "ksg_mi"])
def test_blocked_reductions_under_vmap_loop_over_the_batch_on_cpu(name):
    # One call per member: a scan of length B over the batch, not [B, block, n] slabs.
    x, y, masks = _data(jnp.float32)
    fn = ESTIMATORS[name]
    jaxpr = jax.make_jaxpr(jax.vmap(fn, in_axes=(None, None, 0)))(x, y, masks)
    lengths = [eqn.params["length"] for eqn in _scans(jaxpr.jaxpr)]
    assert (masks.shape[0] in lengths) == (jax.default_backend() == "cpu")


def test_one_call_at_a_time_keeps_derivatives(x64):
    x, y, masks = _data(jnp.float64, n=64, batch=3)

    def mi(x, sigma, m):
        return jaxinfo.matrix_mutual_information(
            x,
            y,
            alpha=2,
            kernel_x=kernels.Gaussian(sigma),
            kernel_y=kernels.Gaussian(1.0),
            where=m,
        )

    sigma = jnp.asarray(0.8)
    singles = [jax.grad(mi, (0, 1))(x, sigma, m) for m in masks]
    # grad of a vmapped sum, vmap of grad, and forward mode through the vmapped call.
    gx, gs = jax.grad(lambda x, s: jnp.sum(jax.vmap(mi, (None, None, 0))(x, s, masks)), (0, 1))(
        x, sigma
    )
    np.testing.assert_allclose(gx, sum(g for g, _ in singles), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gs, sum(g for _, g in singles), rtol=1e-10)
    per_mask = jax.jit(jax.vmap(jax.grad(mi, 1), (None, None, 0)))(x, sigma, masks)
    np.testing.assert_allclose(per_mask, [g for _, g in singles], rtol=1e-10)
    _, tangent = jax.jvp(lambda s: jax.vmap(mi, (None, None, 0))(x, s, masks), (sigma,), (1.0,))
    np.testing.assert_allclose(tangent, [g for _, g in singles], rtol=1e-10)
    hessian = jax.hessian(lambda s: mi(x, s, masks[0]))(sigma)
    assert np.isfinite(hessian)


def test_vmap_over_the_data_and_nested_vmap():
    x, y, masks = _data(jnp.float32, n=64, batch=2)
    fn = jax.jit(ESTIMATORS["matrix_mi"])
    xs = jnp.stack([x, 2.0 * x, x + 1.0])
    got = jax.vmap(jax.vmap(fn, in_axes=(None, None, 0)), in_axes=(0, None, None))(xs, y, masks)
    want = np.array([[fn(a, y, m) for m in masks] for a in xs])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_one_call_at_a_time_passes_other_backends_through(monkeypatch):
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    fn = batching.one_call_at_a_time(lambda a: 2.0 * a)
    jaxpr = str(jax.make_jaxpr(jax.vmap(fn))(jnp.ones((2, 3))))
    assert "custom_vmap" not in jaxpr and "while" not in jaxpr


@pytest.mark.parametrize("name", list(LOOPED))
def test_looped_families_give_the_single_call_values(x64, name):
    fn = LOOPED[name]
    x, y, masks = _data(jnp.float64, n=48, batch=3)
    got = jax.jit(jax.vmap(fn, in_axes=(None, None, 0)))(x, y, masks)
    single = jax.jit(fn)
    want = np.array([single(x, y, m) for m in masks])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(LOOPED))
def test_looped_families_loop_over_the_batch_on_cpu(name):
    x, y, masks = _data(jnp.float32, n=48, batch=3)
    jaxpr = jax.make_jaxpr(jax.vmap(LOOPED[name], in_axes=(None, None, 0)))(x, y, masks)
    lengths = [eqn.params["length"] for eqn in _scans(jaxpr.jaxpr)]
    assert (masks.shape[0] in lengths) == (jax.default_backend() == "cpu")


def test_one_call_at_a_time_traces_only_traced_arguments():
    seen = []

    @batching.one_call_at_a_time
    def fn(a, *, b, axis_name=None):
        seen.append((isinstance(a, Tracer), isinstance(b, Tracer)))
        return a * b

    a, b = jnp.arange(3.0), jnp.ones(3)
    np.testing.assert_allclose(fn(a, b=b), a)  # eager: fn itself, nothing traced
    assert seen[-1] == (False, False)
    got = jax.vmap(lambda a: fn(a, b=b))(jnp.stack([a, 2 * a]))  # b stays concrete
    np.testing.assert_allclose(got, [a, 2 * a])
    assert seen[-1] == (True, False)
    jaxpr = str(jax.make_jaxpr(jax.vmap(lambda a: fn(a, b=b)))(jnp.stack([a, a])))
    assert ("custom_vmap" in jaxpr) == (jax.default_backend() == "cpu")
    with_axis = str(jax.make_jaxpr(jax.vmap(lambda a: fn(a, b=b, axis_name="i")))(a[None]))
    assert "custom_vmap" not in with_axis  # inside shard_map: the batched program


@pytest.mark.slow  # compile-bound (15 s); the positional path's test runs by default
def test_looped_keyword_calls_keep_derivatives(x64):
    x, y, masks = _data(jnp.float64, n=40, batch=3)

    def kde(x, m):
        return jaxinfo.kde_entropy(x, bandwidth=0.7, where=m)

    gx = jax.grad(lambda x: jnp.sum(jax.vmap(kde, (None, 0))(x, masks)))(x)
    want = sum(jax.grad(kde)(x, m) for m in masks)
    np.testing.assert_allclose(gx, want, rtol=1e-10, atol=1e-12)


def _sort_shapes(jaxpr) -> list:
    """Operand shapes of every ``sort`` equation of a jaxpr, nested ones included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "sort":
            found.append(eqn.invars[0].aval.shape)
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found.extend(_sort_shapes(sub))
    return found


def test_discrete_estimators_sort_fixed_labels_once_under_vmap(x64):
    # Codes do not depend on the mask: one sort of [n] labels serves every mask.
    _, _, masks = _data(jnp.float64, n=60, batch=4)
    labels = jax.random.randint(jax.random.key(5), (60, 2), 0, 3)

    def mi(m):
        return jaxinfo.discrete_mutual_information(
            labels[:, 0], labels[:, 1], num_x=3, num_y=3, correction="miller_madow", where=m
        )

    got = jax.jit(jax.vmap(mi))(masks)
    want = [jax.jit(mi)(m) for m in masks]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    # truth: the plug-in MI of the valid rows' contingency table, counted by NumPy
    lab, valid = np.asarray(labels), np.asarray(masks[0])
    table = np.zeros((3, 3))
    np.add.at(table, (lab[valid, 0], lab[valid, 1]), 1.0)
    p = table / table.sum()
    px, py = p.sum(1), p.sum(0)
    nz = p > 0
    plug_in = np.sum(p[nz] * np.log(p[nz] / np.outer(px, py)[nz]))
    cells = (np.sum(px > 0) - 1) + (np.sum(py > 0) - 1) - (np.sum(nz) - 1)
    np.testing.assert_allclose(want[0], plug_in + cells / (2 * table.sum()), rtol=1e-12)
    # 3 x 3 cells are counted by a scatter-add (no sort); a large alphabet is sorted, once
    assert not _sort_shapes(jax.make_jaxpr(jax.vmap(mi))(masks).jaxpr)

    def wide(m):
        return jaxinfo.discrete_mutual_information(
            labels[:, 0] * 40, labels[:, 1], num_x=100, num_y=100, where=m
        )

    shapes = _sort_shapes(jax.make_jaxpr(jax.vmap(wide))(masks).jaxpr)
    assert shapes == [(60,)]  # H(X, Y) only: 10^4 cells; H(X), H(Y) scatter into 100
    np.testing.assert_allclose(
        jax.jit(jax.vmap(wide))(masks), [jax.jit(wide)(m) for m in masks], rtol=1e-14
    )
