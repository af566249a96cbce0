"""The common battery, run on every estimator in tests/registry.py."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads
from registry import ENTRIES, Entry

N = 16  # divisible by the 8 test devices


def _params(keep: Callable[[Entry], bool] = lambda e: True):
    """One pytest param per registry entry that ``keep`` selects (slow entries marked slow)."""
    return [
        pytest.param(e, id=e.name, marks=[pytest.mark.slow] if e.slow else [])
        for e in ENTRIES
        if keep(e)
    ]


PARAMS = _params()
# The sharding tests compile a program per entry and variant (the costliest part of the
# default run). By default they run for one entry per code path (gathered eigenproblem,
# streamed Frobenius sum, covariance route, pairwise-kernel family, diffusion, neighbour
# search, its 1-D sorted route and its host tree (kNN and KSG), moments, score matrices,
# bins); every sharded entry runs them with -m slow.
REPRESENTATIVE_SHARDED = {
    "matrix_renyi_entropy[gauss,a=1.01]",
    "matrix_renyi_entropy[blocked,a=2]",
    "matrix_renyi_entropy[linear_rankdef,a=1.0]",
    "cauchy_schwarz_divergence[gauss]",
    "diffusion_spectral_entropy[s=1,t=1]",
    "knn_entropy[k=3]",
    "knn_entropy[d=1,sorted]",
    "knn_entropy[d=3,tree]",
    "ksg_mutual_information[tree]",
    "ross_mutual_information[d=1,sorted]",
    "gaussian_mutual_information",
    "infonce_lower_bound",
    "binned_mutual_information[adaptive,miller_madow]",
    "effective_dimension",
}

# pmap reaches the same collectives: one gathered-rows entry per family kind, one psum entry.
PMAP_DEFAULT = {
    "matrix_renyi_entropy[gauss,a=1.01]",
    "cauchy_schwarz_divergence[gauss]",
    "knn_entropy[k=3]",
    "gaussian_mutual_information",
}


def _sharded_params(variants):
    """``(variant, entry)`` pairs; entries outside REPRESENTATIVE_SHARDED are slow."""
    params = []
    for variant in variants:
        for e in ENTRIES:
            needs_axis_name = variant in ("full", "masked")
            if not e.sharded or (needs_axis_name and not e.supports_axis_name):
                continue
            slow = e.slow or e.name not in REPRESENTATIVE_SHARDED
            marks = [pytest.mark.slow] if slow else []
            params.append(pytest.param(variant, e, id=f"{variant}-{e.name}", marks=marks))
    return params


def _inputs(entry, key, n=N, dtype=jnp.float32):
    return entry.make_inputs(key, n, dtype)


def _assert_tree_close(actual, expected, rtol, atol=0.0):
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=rtol, atol=atol)


@pytest.mark.parametrize("entry", PARAMS)
def test_jit_equals_eager_and_output_is_float_scalar(entry, key):
    arrays = _inputs(entry, key)
    eager = entry.fn(*arrays)
    jitted = jax.jit(entry.fn)(*arrays)
    assert eager.shape == () and eager.dtype == jnp.float32
    assert np.isfinite(eager)
    np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("entry", PARAMS)
def test_bfloat16_input_gives_float32_output(entry, key):
    arrays = tuple(a.astype(jnp.bfloat16) for a in _inputs(entry, key))
    assert entry.fn(*arrays).dtype == jnp.float32


@pytest.mark.parametrize("entry", PARAMS)
def test_vmap_equals_loop(entry, key):
    sets = [_inputs(entry, k) for k in jax.random.split(key, 3)]
    stacked = tuple(jnp.stack(parts) for parts in zip(*sets, strict=True))
    batched = jax.vmap(entry.fn)(*stacked)
    looped = jnp.stack([entry.fn(*s) for s in sets])
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("entry", PARAMS)
def test_no_retrace_for_repeated_shape(entry, key):
    traces = []

    def counted(*arrays):
        traces.append(None)
        return entry.fn(*arrays)

    jitted = jax.jit(counted)
    for k in jax.random.split(key, 3):
        jitted(*_inputs(entry, k)).block_until_ready()
    assert len(traces) == 1


def _degenerate_inputs(entry, key):
    arrays = _inputs(entry, key)
    duplicated = tuple(jnp.concatenate([a[: N // 2], a[: N // 2]]) for a in arrays)
    constant_block = tuple(a.at[: N // 2].set(a[0]) for a in arrays)
    smallest = tuple(a[: entry.min_samples] for a in arrays)
    return {
        "duplicated_rows": duplicated,
        "many_equal_rows": constant_block,
        f"n={entry.min_samples}": smallest,
    }


@pytest.mark.parametrize("entry", _params(lambda e: e.differentiable))
def test_finite_value_and_gradient_at_degenerate_inputs(entry, key):
    value_and_grad = jax.jit(jax.value_and_grad(lambda a: entry.fn(*a)))
    for label, arrays in _degenerate_inputs(entry, key).items():
        value, grads = value_and_grad(arrays)
        assert np.isfinite(value), label
        for g in grads:
            assert np.all(np.isfinite(g)), f"non-finite gradient at {label}"


@pytest.mark.parametrize("entry", _params(lambda e: e.differentiable and e.finite_differences))
def test_gradient_matches_finite_differences(entry, key, x64):
    """Reverse-mode gradient against central differences along random directions (float64)."""
    arrays = _inputs(entry, key, dtype=jnp.float64)
    check_grads(jax.jit(lambda *a: entry.fn(*a)), arrays, order=1, modes=("rev",), eps=1e-5)


@pytest.mark.parametrize("entry", _params(lambda e: e.supports_where))
def test_masking_equals_slicing(entry, key, x64):
    arrays = _inputs(entry, key, dtype=jnp.float64)
    valid = 11
    mask = jnp.arange(N) < valid
    padded = tuple(a.at[valid:].set(jnp.nan) for a in arrays)  # garbage must not leak
    # Jitted value and gradient together: one compilation per shape (eager float64
    # dispatch of these programs costs several times more).
    value_and_grad = jax.jit(jax.value_and_grad(lambda a, m: entry.fn(*a, where=m)))
    masked, grads = value_and_grad(padded, mask)
    sliced, sliced_grads = value_and_grad(tuple(a[:valid] for a in arrays), None)
    # float64; residual differences are eigensolver round-off on different matrix sizes,
    # amplified by alpha = 0.5 on near-singular spectra (huge bandwidth)
    np.testing.assert_allclose(masked, sliced, rtol=1e-6, atol=1e-12)
    for g, s in zip(grads, sliced_grads, strict=True):
        assert np.all(np.asarray(g[valid:]) == 0)
        if entry.differentiable:
            np.testing.assert_allclose(g[:valid], s, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("entry", PARAMS)
def test_float32_close_to_float64(entry, key, x64):
    arrays64 = _inputs(entry, key, dtype=jnp.float64)
    fn = jax.jit(entry.fn)
    value64 = fn(*arrays64)
    value32 = fn(*(a.astype(jnp.float32) for a in arrays64))
    assert value64.dtype == jnp.float64 and value32.dtype == jnp.float32
    np.testing.assert_allclose(value32, value64, rtol=entry.f32_rtol, atol=entry.f32_atol)


def _value_and_grad(fn, arrays):
    return jax.value_and_grad(lambda a: fn(*a))(arrays)


@pytest.mark.parametrize(("variant", "entry"), _sharded_params(("full", "masked")))
def test_shard_map_with_axis_name_equals_unsharded(variant, entry, key, x64):
    masked = variant == "masked"
    arrays = _inputs(entry, key, dtype=jnp.float64)
    mask = (jnp.arange(N) % 3 != 1) if masked else None
    expected_value, expected_grads = jax.jit(
        lambda a, m: _value_and_grad(lambda *b: entry.fn(*b, where=m), a)
    )(arrays, mask)
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))
    specs = (P("d"),) * len(arrays)

    def local(arrs, local_mask):
        return entry.fn(*arrs, where=local_mask, axis_name="d")

    sharded = jax.shard_map(
        local, mesh=mesh, in_specs=(specs, P("d") if masked else None), out_specs=P()
    )
    value, grads = jax.jit(jax.value_and_grad(sharded))(arrays, mask)
    np.testing.assert_allclose(value, expected_value, rtol=1e-5, atol=1e-10)
    _assert_tree_close(grads, expected_grads, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, id=e.name, marks=[] if e.name in PMAP_DEFAULT else [pytest.mark.slow])
        for e in ENTRIES
        if e.sharded and e.supports_axis_name
    ],
)
def test_pmap_with_axis_name_equals_unsharded(entry, key, x64):
    # legacy jax.pmap with the same axis_name: every device returns the global value, and
    # the mean over devices differentiates to the unsharded gradient
    arrays = _inputs(entry, key, dtype=jnp.float64)
    mask = jnp.arange(N) % 3 != 1
    expected_value, expected_grads = jax.jit(
        lambda a, m: _value_and_grad(lambda *b: entry.fn(*b, where=m), a)
    )(arrays, mask)

    def per_device(a):
        return a.reshape((8, N // 8) + a.shape[1:])

    mapped = jax.pmap(lambda arrs, m: entry.fn(*arrs, where=m, axis_name="d"), axis_name="d")

    def mean_over_devices(arrs):
        values = mapped(tuple(per_device(a) for a in arrs), per_device(mask))
        return jnp.mean(values), values

    (_, values), grads = jax.value_and_grad(mean_over_devices, has_aux=True)(arrays)
    np.testing.assert_allclose(values, np.full(8, expected_value), rtol=1e-5, atol=1e-10)
    _assert_tree_close(grads, expected_grads, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize(("variant", "entry"), _sharded_params(("auto", "explicit")))
def test_jit_on_row_sharded_inputs_equals_unsharded(variant, entry, key, x64):
    axis_type = AxisType.Explicit if variant == "explicit" else AxisType.Auto
    arrays = _inputs(entry, key, dtype=jnp.float64)
    expected_value, expected_grads = jax.jit(lambda a: _value_and_grad(entry.fn, a))(arrays)
    mesh = jax.make_mesh((8,), ("d",), axis_types=(axis_type,))
    sharded = tuple(jax.device_put(a, NamedSharding(mesh, P("d"))) for a in arrays)
    with jax.set_mesh(mesh):
        value, grads = jax.jit(lambda a: _value_and_grad(entry.fn, a))(sharded)
    np.testing.assert_allclose(value, expected_value, rtol=1e-5, atol=1e-10)
    _assert_tree_close(grads, expected_grads, rtol=1e-5, atol=1e-10)
