"""The streaming bandwidth rules: the median's pair design, masks, shards, learned bandwidths.

The median rule is the exact all-pairs median up to 181 valid rows and the exact median of a
cyclic pair design above (jaxinfo/_src/bandwidths.py); both are checked against NumPy here,
independently of the implementation.
"""

from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import jaxinfo
from jaxinfo import kernels, testing
from jaxinfo._src import bandwidths, samples

_median = jax.jit(lambda x, m: kernels.bandwidth_from_rule("median", x, m))


def _all_pairs_median(x: np.ndarray) -> float:
    sq = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    return float(np.sqrt(np.median(sq[np.triu_indices(len(x), 1)])))


def _design_median(x: np.ndarray) -> float:
    """The documented design (N > 181): pairs (r, (r + s_k) mod N), S shifts spread over N/2."""
    n = len(x)
    shifts = min(max(bandwidths.PAIR_BUDGET // n, bandwidths.MIN_SHIFTS), n // 2)
    assert shifts < n // 2  # above the all-pairs regime
    offsets = [1 + ((2 * k + 1) * (n // 2)) // (2 * shifts) for k in range(shifts)]
    sq = [np.sum((x - np.roll(x, -s, axis=0)) ** 2, axis=1) for s in offsets]
    return float(np.sqrt(np.median(np.concatenate(sq))))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [2, 3, 4, 7, 64, 181])
def test_median_is_the_exact_all_pairs_median_up_to_181_rows(n, dtype, x64):
    x = np.random.default_rng(n).standard_normal((n, 3)).astype(dtype)
    if n > 3:
        x[n // 2] = x[0]  # a duplicated point: a zero distance among the pairs
    expected = _all_pairs_median(x.astype(np.float64))
    rtol = 1e-14 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(_median(jnp.asarray(x), None), expected, rtol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [182, 1000, 20_000])
def test_median_above_181_rows_is_the_exact_median_of_the_cyclic_design(n, dtype, x64):
    x = np.random.default_rng(n).standard_normal((n, 5)).astype(dtype)
    expected = _design_median(x.astype(np.float64))
    rtol = 1e-14 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(_median(jnp.asarray(x), None), expected, rtol=rtol)


@pytest.mark.parametrize(
    ("task", "n", "rtol"),
    [
        # Measured differences are 0.1-0.8 % (benchmarks/README.md); the bounds leave room
        # for other seeds and stay far below the all-pairs median's own sampling spread.
        (testing.correlated_gaussians(3, 3, correlation=0.9), 500, 0.02),
        (testing.student_t(dim=2, dof=3.0), 2000, 0.02),
        (testing.spiral(testing.correlated_gaussians(3, 3, correlation=0.6)), 4000, 0.02),
    ],
    ids=["gaussian-500", "student-2000", "spiral-4000"],
)
def test_median_stays_close_to_the_all_pairs_median_on_tasks(task, n, rtol):
    x, y = task.sample(jax.random.key(1), n)
    for a in (x, y):
        expected = _all_pairs_median(np.asarray(a, np.float64))
        np.testing.assert_allclose(_median(a, None), expected, rtol=rtol)


def test_median_of_sorted_or_clustered_rows_is_that_of_shuffled_rows():
    """Pooled two-sample rows and a random walk: order must not bias the design."""
    key_x, key_y, key_w = jax.random.split(jax.random.key(5), 3)
    pooled = jnp.concatenate(
        [jax.random.normal(key_x, (1200, 2)), jax.random.normal(key_y, (800, 2)) + 3.0]
    )
    walk = jnp.cumsum(jax.random.normal(key_w, (3000, 2)), axis=0)
    for x in (pooled, walk):
        expected = _all_pairs_median(np.asarray(x, np.float64))
        np.testing.assert_allclose(_median(x, None), expected, rtol=0.02)


@pytest.mark.parametrize("n", [300, 1200])  # sliced counts on both sides of 181
def test_median_with_a_mask_equals_the_median_of_the_sliced_rows(n):
    x = jax.random.normal(jax.random.key(n), (n, 4))
    masks = jax.random.uniform(jax.random.key(1), (3, n)) < jnp.array([[0.1], [0.5], [0.9]])
    batched = jax.jit(jax.vmap(_median, in_axes=(None, 0)))(x, masks)
    for mask, value in zip(np.asarray(masks), np.asarray(batched), strict=True):
        assert value == _median(x[mask], None)
        assert value == _median(x, jnp.asarray(mask))


@pytest.mark.parametrize("masked", [False, True])
def test_sharded_rule_equals_the_unsharded_rule(masked):
    n = 8 * 101  # an odd count per device: the slots do not split evenly
    x = jax.random.normal(jax.random.key(2), (n, 3))
    mask = (jnp.arange(n) % 3 != 1) if masked else None
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))
    for rule in kernels.BANDWIDTH_RULES:

        def local(a, m, rule=rule):
            return kernels.bandwidth_from_rule(cast(Any, rule), a, m, axis_name="d")

        sharded = jax.jit(
            jax.shard_map(
                local, mesh=mesh, in_specs=(P("d"), P("d") if masked else None), out_specs=P()
            )
        )
        assert sharded(x, mask) == jax.jit(kernels.bandwidth_from_rule, static_argnums=0)(
            rule, x, mask
        )


def test_default_kernel_memory_grows_as_rows_times_block():
    """Value and gradient of the default CS divergence: the rule adds O(n), no [n, n]."""

    def temp_bytes(n, kernel):
        spec = jax.ShapeDtypeStruct((n, 16), jnp.float32)
        loss = lambda x, y: jaxinfo.cauchy_schwarz_divergence(x, y, kernel=kernel)  # noqa: E731
        program = jax.jit(jax.value_and_grad(loss))
        analysis = program.lower(spec, spec).compile().memory_analysis()
        assert analysis is not None
        return analysis.temp_size_in_bytes

    n = 16_384
    default, fixed = temp_bytes(n, None), temp_bytes(n, kernels.Gaussian(1.0))
    # The blocked sums' n * block budget, plus the rule's O(n + pairs) vectors.
    assert fixed <= samples.TEMP_MEMORY_BUDGET_BYTES
    pairs = max(bandwidths.PAIR_BUDGET, bandwidths.MIN_SHIFTS * 2 * n)
    assert default - fixed <= 16 * 4 * (2 * n + pairs)
    assert default < (2 * n) ** 2 * 4 / 16  # the old rule's [2n, 2n] distances: 4 GiB


def test_bandwidth_moved_out_of_range_after_construction_gives_nan():
    x = jax.random.normal(jax.random.key(3), (64, 3))
    y = x[:, :1] + 0.1
    for bad in (-1.0, 0.0, jnp.inf, jnp.nan):
        kernel = jax.tree_util.tree_map(lambda _, b=bad: jnp.asarray(b), kernels.Gaussian(1.0))
        laplacian = jax.tree_util.tree_map(lambda _, b=bad: b, kernels.Laplacian(1.0))
        assert np.isnan(jaxinfo.matrix_renyi_entropy(x, alpha=2.0, kernel=kernel))
        assert np.isnan(jax.jit(jaxinfo.matrix_renyi_entropy)(x, kernel=laplacian))
        assert np.isnan(jaxinfo.cauchy_schwarz_divergence(x, x + 1.0, kernel=kernel))
        assert np.isnan(
            jaxinfo.cauchy_schwarz_mutual_information(x, y, kernel_x=kernel, kernel_y=kernel)
        )
        # A concrete bad number is refused by the constructor; a traced one reaches the use.
        kde = jax.jit(lambda h: jaxinfo.kde_entropy(x, bandwidth=h))
        assert np.isnan(kde(jnp.asarray(bad)))


def test_a_bandwidth_learned_with_optax_reaches_its_target_and_a_bad_step_gives_nan():
    """A learned bandwidth (log-parametrised, the documented use) trained by optax."""
    x = jax.random.normal(jax.random.key(4), (128, 2))
    target = float(jaxinfo.matrix_renyi_entropy(x, alpha=2.0, kernel=kernels.Gaussian(0.5)))

    def loss(params):
        kernel = kernels.Gaussian(jnp.exp(params["log_sigma"]))
        return (jaxinfo.matrix_renyi_entropy(x, alpha=2.0, kernel=kernel) - target) ** 2

    optimizer = optax.adam(0.05)
    params = {"log_sigma": jnp.asarray(0.0)}
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(loss)(params)
        updates, state = optimizer.update(grads, state)
        return optax.apply_updates(params, updates), state

    with jax.numpy_dtype_promotion("standard"):  # optax's bias correction mixes dtypes
        for _ in range(300):
            params, state = step(params, state)
    np.testing.assert_allclose(jnp.exp(params["log_sigma"]), 0.5, rtol=1e-2)
    # A raw (not log-parametrised) bandwidth pushed below zero by an update is NaN, not 2.04.
    updates = jax.tree_util.tree_map(lambda _: -1.5, kernels.Gaussian(0.5))
    # optax types params as its ArrayTree union, which a registered pytree class is not in.
    raw = cast(
        kernels.Gaussian, optax.apply_updates(cast(optax.Params, kernels.Gaussian(0.5)), updates)
    )
    assert float(raw.bandwidth) == -1.0
    assert np.isnan(jaxinfo.matrix_renyi_entropy(x, alpha=2.0, kernel=raw))
