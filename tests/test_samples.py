"""The sample geometry: block-size policy, blocked reductions of named partial sums, memory."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo._src import samples


def test_block_policy_explicit_size_wins_and_default_fits_the_budget():
    # An explicit int wins; at least as many rows as the data means one block.
    assert samples.block_rows(64, 1000, 1000, jnp.float32) == 64
    assert samples.block_rows(5000, 1000, 1000, jnp.float32) is None
    # Small problems are one block (no change from materialising).
    assert samples.block_rows(None, 500, 500, jnp.float32) is None
    # Large ones: a multiple of 8 rows whose budgeted slabs fit in the budget, at most the
    # CPU cap (the tests run on CPU), spread evenly (less than 8 padding rows per block).
    for n, dtype in [(100_000, jnp.float32), (30_000, jnp.float64), (5_000, jnp.float32)]:
        rows = samples.block_rows(None, n, n, dtype)
        assert rows is not None and rows % samples.BLOCK_ROW_MULTIPLE == 0
        assert rows <= samples.CPU_MAX_BLOCK_ROWS
        slab = n * jnp.dtype(dtype).itemsize
        assert rows * slab * samples.SLABS_PER_BLOCK <= samples.TEMP_MEMORY_BUDGET_BYTES
        num_blocks = -(-n // rows)
        assert num_blocks * rows - n < samples.BLOCK_ROW_MULTIPLE * num_blocks
    assert samples.block_rows(None, 30_000, 30_000, jnp.float64) == 272  # memory-bound
    assert samples.block_rows(None, 5_000, 5_000, jnp.float32) == 504  # cache cap, even
    with pytest.raises(ValueError, match="block_size"):
        samples.block_rows(0, 10, 10, jnp.float32)


class _Sums(NamedTuple):
    linear: jax.Array
    log: jax.Array


@pytest.mark.parametrize("block_size", [None, 3, 7, 16])
def test_reduce_of_named_partial_sums_equals_the_direct_sums(block_size, key):
    x = jax.random.normal(key, (13, 2))
    mask = jnp.arange(13) % 4 != 0

    def block(b):
        sq = jnp.sum((b.rows[0][:, None, :] - b.columns[0][None, :, :]) ** 2, axis=-1)
        pairs = b.valid[:, None] & (b.column_weights > 0)[None, :] & ~b.self_pairs()
        return _Sums(jnp.sum(jnp.where(pairs, sq, 0.0)), jnp.log(b.sum(b.weights)))

    s = samples.gather((x,), mask, None, block_size)
    linear = s.reduce(lambda b: block(b).linear)
    logs = s.reduce(lambda b: block(b).log, log_domain=True)
    xv = np.asarray(x)[np.asarray(mask)]
    direct = np.sum((xv[:, None, :] - xv[None, :, :]) ** 2)
    np.testing.assert_allclose(linear, direct, rtol=1e-5)
    np.testing.assert_allclose(logs, np.log(xv.shape[0]), rtol=1e-6)


_GAUSS = jaxinfo.kernels.Gaussian(1.0)
_LARGE_N = {
    # Two sample sets: every x row meets 2n columns.
    "cauchy_schwarz_divergence": lambda x, y: jaxinfo.cauchy_schwarz_divergence(
        x, y, kernel=_GAUSS
    ),
    # The fused CS-IB pass builds six Gram slabs per block (x, t, four target/prediction).
    "cauchy_schwarz_information_bottleneck_loss": lambda x, y: (
        jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            x, y[:, 0], y[:, 1], y, beta=0.1, kernel_x=_GAUSS, kernel_y=_GAUSS, kernel_t=_GAUSS
        )[0]
    ),
}


@pytest.mark.parametrize("name", list(_LARGE_N))
def test_default_block_keeps_compiled_temporaries_under_the_budget(name):
    """Value and gradient at n = 16 384: the default block must fit the documented budget."""
    n, d = 16_384, 16
    spec = jax.ShapeDtypeStruct((n, d), jnp.float32)
    value_and_grad = jax.jit(jax.value_and_grad(_LARGE_N[name], argnums=(0, 1)))
    analysis = value_and_grad.lower(spec, spec).compile().memory_analysis()
    assert analysis is not None
    temp = analysis.temp_size_in_bytes
    assert temp <= samples.TEMP_MEMORY_BUDGET_BYTES, temp
    assert temp < n * n * 4 / 4  # far below one materialised [n, n] float32 matrix


def _kernel_log_sums(kernel, s, other=None, nudge=0.0):
    """Log of the sum of ``kernel`` over the valid pairs of ``s`` (against ``other``).

    ``nudge`` scales the linear-domain result by ``1 + nudge``: it shows which route ran.
    """

    def block(b):
        if other is None:
            total = b.total(b.row_sums(b.kernel(kernel, 0)))
        else:
            total = b.total(b.row_sums(b.kernel(kernel, 0, other.all[0], other.column_weights)))
        return total * (1.0 + nudge) if b.linear else total

    return block


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("block_size", [5, 8])
def test_linear_first_log_sums_equal_the_log_domain(dtype, masked, block_size, x64):
    dtype = jnp.dtype(dtype)
    kx, ky = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (21, 3), dtype)
    x = x.at[3].set(x[2])  # a duplicated row: an exact zero distance off the diagonal
    y = jax.random.normal(ky, (17, 3), dtype) + 1.0
    mask = (jnp.arange(21) % 4 != 1) if masked else None
    sx = samples.gather((x,), mask, None, block_size)
    sy = samples.gather((y,), None, None, block_size)
    rtol = 1e-6 if dtype == jnp.float32 else 1e-12
    for kernel in (jaxinfo.kernels.Gaussian(0.7), jaxinfo.kernels.Laplacian(2.0)):
        for other in (None, sy):
            fn = _kernel_log_sums(kernel, sx, other)
            fused = sx.reduce(fn, log_domain=True, linear_first=True)
            np.testing.assert_allclose(fused, sx.reduce(fn, log_domain=True), rtol=rtol)
    # Direct float64 sums of the same pairs (exact diagonal k(x, x) = 1).
    xv = np.asarray(x, np.float64)[np.ones(21, bool) if mask is None else np.asarray(mask)]
    sq = np.sum((xv[:, None] - xv[None]) ** 2, axis=-1)
    direct = np.log(np.sum(np.exp(-sq / (2 * 0.7**2))))
    fn = _kernel_log_sums(jaxinfo.kernels.Gaussian(0.7), sx)
    np.testing.assert_allclose(sx.reduce(fn, log_domain=True, linear_first=True), direct, rtol=rtol)


def test_linear_first_takes_the_log_domain_only_on_underflow():
    x = jax.random.normal(jax.random.key(0), (40, 2))
    sx = samples.gather((x,), None, None, 16)
    sy = samples.gather((x + 30.0,), None, None, 16)
    nudge = 1e-2  # marks a linear-domain result
    for bandwidth, linear in [(10.0, True), (0.05, False)]:
        kernel = jaxinfo.kernels.Gaussian(bandwidth)
        for other, expect_linear in [(None, True), (sy, linear)]:
            fused = sx.reduce(
                _kernel_log_sums(kernel, sx, other, nudge), log_domain=True, linear_first=True
            )
            logged = sx.reduce(_kernel_log_sums(kernel, sx, other), log_domain=True)
            assert np.isfinite(fused)
            expected = logged + np.log1p(nudge) if expect_linear else logged
            np.testing.assert_allclose(fused, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="log_domain"):
        sx.reduce(lambda b: b.sum(b.weights), linear_first=True)
