"""CLUB and L1Out upper bounds, and the GaussianConditional q(y | x) that feeds them.

Closed forms: unit Gaussians of correlation ``rho`` with the true conditional give CLUB's
population value ``rho^2 / (1 - rho^2)`` above ``I = -log(1 - rho^2) / 2``; L1Out lies above
``I`` and tends to it. Registry entries (tests/registry.py) add jit, vmap, retracing,
degenerate inputs, finite differences, masks with NaN padding, float32 and sharding.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads
from registry import UPPER_BOUNDS, _gaussian_log_likelihoods
from scipy.special import logsumexp

import jaxinfo
from jaxinfo.nn import GaussianConditional

RHO = 0.8
TRUE_MI = -0.5 * math.log(1.0 - RHO**2)  # 0.5108 nats
CLUB_POPULATION = RHO**2 / (1.0 - RHO**2)  # 1.7778 nats


def _correlated(key, shape, rho=RHO, dtype=jnp.float64):
    """Unit Gaussians ``x``, ``y`` of correlation ``rho`` (any leading shape)."""
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, shape, dtype)
    y = rho * x + math.sqrt(1.0 - rho**2) * jax.random.normal(ky, shape, dtype)
    return x, y


def _true_log_likelihoods(x, y, rho=RHO):
    """``log p(y_j | x_i)`` of the correlated unit Gaussians: ``[..., n, n]``."""
    variance = 1.0 - rho**2
    residual = y[..., None, :] - rho * x[..., :, None]
    return -0.5 * math.log(2.0 * math.pi * variance) - residual**2 / (2.0 * variance)


def _numpy_bounds(log_likelihoods: np.ndarray) -> dict[str, float]:
    """Transcriptions of the formulas (Cheng et al. 2020, off-diagonal negatives; Poole et al.)."""
    n = log_likelihoods.shape[0]
    off = ~np.eye(n, dtype=bool)
    diagonal = np.diag(log_likelihoods)
    off_column = np.where(off, log_likelihoods, -np.inf)  # column i without its diagonal
    columns = np.asarray(logsumexp(off_column, axis=0)) - math.log(n - 1)
    return {
        "club_estimate": float(diagonal.mean() - log_likelihoods[off].mean()),
        "l1out_estimate": float(np.mean(diagonal - columns)),
    }


@pytest.mark.parametrize("name", UPPER_BOUNDS)
def test_bounds_equal_numpy_transcription(name, x64):
    x, y = _correlated(jax.random.key(0), (40,))
    log_likelihoods = 3.0 * _true_log_likelihoods(x, y)  # off the true conditional too
    expected = _numpy_bounds(np.asarray(log_likelihoods))[name]
    np.testing.assert_allclose(UPPER_BOUNDS[name](log_likelihoods), expected, rtol=1e-12)
    in_bits = UPPER_BOUNDS[name](log_likelihoods, base=2)
    np.testing.assert_allclose(in_bits, expected / math.log(2.0), rtol=1e-12)


def test_club_with_all_pairs_is_n_minus_one_over_n_of_the_off_diagonal_form(x64):
    """Cheng et al.'s all-pairs sample estimate is (n - 1) / n times the value returned."""
    x, y = _correlated(jax.random.key(1), (10,))
    log_likelihoods = _true_log_likelihoods(x, y)
    all_pairs = jnp.mean(jnp.diag(log_likelihoods)) - jnp.mean(log_likelihoods)
    np.testing.assert_allclose(all_pairs, 0.9 * jaxinfo.club_estimate(log_likelihoods), rtol=1e-12)


def _batch_values(bound, key, batches, n, rho=RHO):
    """``bound`` of the true conditional's log-likelihoods on ``batches`` batches of ``n``.

    One batch in memory at a time (``lax.map``), returned with the mean's standard error.
    """
    x, y = _correlated(key, (batches, n), rho=rho)
    values = jax.jit(
        lambda a, b: jax.lax.map(lambda p: bound(_true_log_likelihoods(*p, rho=rho)), (a, b))
    )(x, y)
    return values, float(jnp.std(values)) / math.sqrt(batches)


def test_club_with_the_true_conditional_matches_its_closed_form_above_the_mi(x64):
    # 32 batches of 1000 pairs: the estimate is unbiased for rho^2 / (1 - rho^2) = 1.7778;
    # one batch's standard deviation is ~0.11 (the y_j^2 / (2 (1 - rho^2)) term of the
    # negatives dominates); measured 1.7807 +- 0.0198
    values, error = _batch_values(jaxinfo.club_estimate, jax.random.key(2), 32, 1000)
    assert error < 0.03, error
    np.testing.assert_allclose(jnp.mean(values), CLUB_POPULATION, atol=4.0 * error)
    assert np.all(values > TRUE_MI + 1.0)  # far above I = 0.5108


def test_l1out_with_the_true_conditional_is_above_the_mi_and_tends_to_it(x64):
    # n = 4: the leave-one-out mixture of 3 conditionals underestimates log p(y) (Jensen),
    # so the bound sits clearly above I; 20000 batches give a standard error of ~0.006
    x, y = _correlated(jax.random.key(3), (20000, 4))
    small = jax.jit(jax.vmap(jaxinfo.l1out_estimate))(_true_log_likelihoods(x, y))
    mean, error = float(jnp.mean(small)), float(jnp.std(small)) / math.sqrt(small.size)
    assert mean - 5.0 * error > TRUE_MI, (mean, error)  # measured 0.8330 +- 0.0057
    # n = 1000: the bias (~ chi^2(p(y|x) || p(y)) / 2n) vanishes against the sampling error
    large, error = _batch_values(jaxinfo.l1out_estimate, jax.random.key(4), 16, 1000)
    assert error < 0.02, error  # measured 0.5164 +- 0.0066
    np.testing.assert_allclose(jnp.mean(large), TRUE_MI, atol=4.0 * error)
    assert float(jnp.mean(large)) < mean - 0.1  # the bound tightens with n


@pytest.mark.parametrize("name", UPPER_BOUNDS)
def test_independent_pairs_with_the_true_conditional_give_exactly_zero(name, x64):
    """``q(y | x) = p(y)``: every column is constant, both bounds are 0 batch by batch."""
    x, y = _correlated(jax.random.key(5), (12,), rho=0.0)
    log_likelihoods = _true_log_likelihoods(x, y, rho=0.0)
    np.testing.assert_allclose(UPPER_BOUNDS[name](log_likelihoods), 0.0, atol=1e-13)
    mask = jnp.arange(12) % 4 != 0
    np.testing.assert_allclose(UPPER_BOUNDS[name](log_likelihoods, where=mask), 0.0, atol=1e-13)


def _bias(layer: nnx.Linear) -> nnx.Param:
    assert layer.bias is not None  # the heads are built with biases
    return layer.bias


def _exact_conditional(weights, log_variances):
    """A linear GaussianConditional set to ``q(y | x) = N(W x, diag exp(log_variances))``."""
    dy, dx = weights.shape
    q = GaussianConditional(dx, dy, hidden=(), param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    q.mean_head.kernel[...] = jnp.asarray(weights.T)
    _bias(q.mean_head)[...] = jnp.zeros(dy)
    _bias(q.log_variance_head)[...] = jnp.asarray(log_variances)
    return q


def test_multivariate_gaussian_bounds_through_the_exact_conditional(x64):
    """``x ~ N(0, S)``, ``y = A x + e``, ``e ~ N(0, D)``: CLUB = tr(D^-1 A S A^T) = 2.59,
    I = log det(I + D^-1 A S A^T) / 2 = 0.7914, L1Out -> I."""
    cov_x = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.0]])
    weights = np.array([[1.0, 0.0, -0.5], [0.2, 0.7, 0.0]])
    noise = np.array([1.0, 0.5])
    signal = weights @ cov_x @ weights.T / noise[:, None]
    club_population = float(np.trace(signal))
    true_mi = 0.5 * float(np.linalg.slogdet(np.eye(2) + signal)[1])
    np.testing.assert_allclose([club_population, true_mi], [2.59, 0.7914], atol=1e-4)

    q = _exact_conditional(weights, np.log(noise))
    kx, ke = jax.random.split(jax.random.key(6))
    x = jax.random.multivariate_normal(kx, jnp.zeros(3), jnp.asarray(cov_x), (8, 500))
    y = x @ weights.T + jnp.sqrt(jnp.asarray(noise)) * jax.random.normal(ke, (8, 500, 2))

    @nnx.jit
    def bounds(q, x, y):
        log_likelihoods = jax.vmap(q.log_likelihood_matrix)(x, y)
        return (
            jax.vmap(jaxinfo.club_estimate)(log_likelihoods),
            jax.vmap(jaxinfo.l1out_estimate)(log_likelihoods),
        )

    club, l1out = bounds(q, x, y)
    for values, truth in ((club, club_population), (l1out, true_mi)):
        error = float(jnp.std(values)) / math.sqrt(8)  # 0.043 (CLUB), 0.021 (L1Out)
        assert error < 0.06, error
        np.testing.assert_allclose(jnp.mean(values), truth, atol=4.0 * error)
    assert np.all(club > true_mi + 1.0)


def _direct_log_likelihoods(code, y) -> np.ndarray:
    """The float64 NumPy density of every pair through an ``[n, m, d]`` residual."""
    mean, log_variance = (np.asarray(a, np.float64) for a in code)
    residual = np.asarray(y, np.float64)[None, :, :] - mean[:, None, :]
    return -0.5 * np.sum(
        np.log(2.0 * np.pi)
        + log_variance[:, None, :]
        + residual**2 / np.exp(log_variance)[:, None],
        axis=-1,
    )


@nnx.jit
def _conditional_outputs(q, x, y):
    return q(x), q.log_likelihood_matrix(x, y), q.log_likelihood(x, y[: x.shape[0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gaussian_conditional_matrix_is_the_direct_density_of_every_pair(dtype, x64):
    """Far from the origin (y and the means near 100) the float32 expansion keeps its
    precision: it is centred on y's mean (uncentred, its terms of ~1e4 lose ~1e-3)."""
    dtype = jnp.dtype(dtype)
    q = GaussianConditional(3, 2, hidden=(8,), param_dtype=dtype, rngs=nnx.Rngs(1))
    _bias(q.mean_head)[...] = jnp.full(2, 100.0, dtype)
    kx, ky = jax.random.split(jax.random.key(7))
    x = jax.random.normal(kx, (5, 3), dtype)
    y = 100.0 + jax.random.normal(ky, (7, 2), dtype)
    code, matrix, paired = _conditional_outputs(q, x, y)
    expected = _direct_log_likelihoods(code, y)
    assert matrix.dtype == paired.dtype == dtype
    rtol, atol = (1e-12, 0.0) if dtype == jnp.float64 else (1e-5, 1e-5)
    np.testing.assert_allclose(matrix, expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(paired, np.diag(expected[:, :5]), rtol=rtol, atol=atol)


def test_gaussian_conditional_matrix_gradient_is_the_direct_forms(x64):
    """The centring is held constant: exact, since the value does not depend on it."""
    q = GaussianConditional(2, 2, hidden=(4,), param_dtype=jnp.float64, rngs=nnx.Rngs(2))
    kx, ky, kw = jax.random.split(jax.random.key(14), 3)
    x = jax.random.normal(kx, (4, 2), jnp.float64)
    y = 3.0 + jax.random.normal(ky, (5, 2), jnp.float64)
    weights = jax.random.normal(kw, (4, 5), jnp.float64)

    def direct(q, x, y):
        code = q(x)
        residual = y[None, :, :] - code.mean[:, None, :]
        precision = jnp.exp(-code.log_variance)[:, None, :]
        terms = math.log(2.0 * math.pi) + code.log_variance[:, None, :] + residual**2 * precision
        return -0.5 * jnp.sum(terms, axis=-1)

    @nnx.jit
    def gradients(q, x, y):
        def weighted(fn):
            return lambda q, x, y: jnp.sum(weights * fn(q, x, y))

        expanded = weighted(lambda q, x, y: q.log_likelihood_matrix(x, y))
        grad = nnx.grad(expanded, argnums=(0, 1, 2))(q, x, y)
        return grad, nnx.grad(weighted(direct), argnums=(0, 1, 2))(q, x, y)

    got, want = gradients(q, x, y)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert any(np.any(np.asarray(leaf) != 0) for leaf in jax.tree.leaves(got))


def test_masking_equals_slicing_with_garbage_in_masked_rows_and_columns(x64):
    x, y = _correlated(jax.random.key(8), (16,))
    log_likelihoods = _true_log_likelihoods(x, y)
    mask = jnp.arange(16) % 3 != 1
    keep = np.flatnonzero(np.asarray(mask))
    garbage = jnp.where(mask[:, None] & mask[None, :], log_likelihoods, jnp.nan)
    for name, bound in UPPER_BOUNDS.items():
        value_and_grad = jax.jit(jax.value_and_grad(lambda s, m, b=bound: b(s, where=m)))
        value, grad = value_and_grad(garbage, mask)
        sliced_value, sliced_grad = value_and_grad(log_likelihoods[keep][:, keep], None)
        np.testing.assert_allclose(value, sliced_value, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(grad[keep][:, keep], sliced_grad, rtol=1e-12, atol=1e-15)
        assert np.all(np.asarray(grad)[~np.asarray(mask)] == 0), name
        assert np.all(np.asarray(grad)[:, ~np.asarray(mask)] == 0), name


@pytest.mark.parametrize("name", UPPER_BOUNDS)
def test_jit_equals_eager_and_float32_is_close_to_float64(name, x64):
    x, y = _correlated(jax.random.key(9), (32,))
    log_likelihoods = _true_log_likelihoods(x, y)
    bound = UPPER_BOUNDS[name]
    eager, jitted = bound(log_likelihoods), jax.jit(bound)(log_likelihoods)
    np.testing.assert_allclose(jitted, eager, rtol=1e-12)
    single = jax.jit(bound)(log_likelihoods.astype(jnp.float32))
    assert eager.dtype == jnp.float64 and single.dtype == jnp.float32
    np.testing.assert_allclose(single, eager, rtol=1e-5)


@pytest.mark.slow  # the registry battery checks finite differences of both by default
@pytest.mark.parametrize("name", UPPER_BOUNDS)
def test_gradients_are_finite_and_match_finite_differences(name, x64):
    bound = UPPER_BOUNDS[name]
    x, y = _correlated(jax.random.key(10), (6,))
    check_grads(jax.jit(bound), (_true_log_likelihoods(x, y),), order=1, modes=("rev",), eps=1e-6)
    # CLUB's gradient is +1/n on the diagonal and -1/(n (n - 1)) off it, whatever L is
    grad = jax.grad(jaxinfo.club_estimate)(jnp.zeros((4, 4)))
    np.testing.assert_allclose(grad, jnp.where(jnp.eye(4) > 0, 0.25, -1.0 / 12.0), rtol=1e-12)
    eye = jnp.eye(4, dtype=bool)
    value_and_grad = jax.jit(jax.value_and_grad(bound))
    for dtype in (jnp.float32, jnp.float64):
        for extreme in (jnp.where(eye, 1e4, -1e4), jnp.where(eye, -1e4, 1e4)):
            value, grad = value_and_grad(extreme.astype(dtype))
            assert np.isfinite(value), (name, dtype)
            assert np.all(np.isfinite(grad)), (name, dtype)


@pytest.mark.parametrize(
    "masked", [pytest.param(False, marks=pytest.mark.slow), True], ids=["full", "masked"]
)
def test_shard_map_over_8_devices_equals_unsharded(masked, x64):
    """Each device scores its ``x`` rows against the gathered ``y``; value and gradient."""
    x, y = _correlated(jax.random.key(11), (16, 2))
    mask = (jnp.arange(16) % 3 != 1) if masked else None

    def both(xs, ys, where, axis_name=None):
        log_likelihoods = _gaussian_log_likelihoods(xs, ys, where, axis_name)
        return jnp.stack(
            [b(log_likelihoods, where=where, axis_name=axis_name) for b in UPPER_BOUNDS.values()]
        )

    def weighted(fn):  # distinct weights: the gradient checks each bound's own share
        return lambda *a: jnp.sum(fn(*a) * jnp.array([1.0, 2.0]))

    expected = jax.jit(jax.value_and_grad(weighted(both), argnums=(0, 1)))(x, y, mask)
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))
    sharded = jax.shard_map(
        lambda a, b, m: both(a, b, m, axis_name="d"),
        mesh=mesh,
        in_specs=(P("d"), P("d"), P("d") if masked else None),
        out_specs=P(),
    )
    value, grads = jax.jit(jax.value_and_grad(weighted(sharded), argnums=(0, 1)))(x, y, mask)
    np.testing.assert_allclose(value, expected[0], rtol=1e-10)
    for got, want in zip(grads, expected[1], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(jax.jit(sharded)(x, y, mask), jax.jit(both)(x, y, mask), rtol=1e-10)


def _fit_conditional(x, y, steps=300):
    """Maximum likelihood on the positive pairs (the conditional's step of the scheme)."""
    q = GaussianConditional(1, 1, hidden=(16,), rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(q, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(q, optimizer):
        loss, grads = nnx.value_and_grad(lambda m: m.negative_log_likelihood(x, y))(q)
        optimizer.update(q, grads)
        return loss

    with jax.numpy_dtype_promotion("standard"):  # optax's Adam is not strict-promotion clean
        losses = [step(q, optimizer) for _ in range(steps)]
    return q, losses


@pytest.mark.slow
def test_a_conditional_trained_by_maximum_likelihood_gives_bounds_above_the_truth():
    x, y = _correlated(jax.random.key(12), (2048, 1), dtype=jnp.float32)
    q, losses = _fit_conditional(x, y)
    # the true conditional's negative log-likelihood is log(2 pi e (1 - rho^2)) / 2 = 0.9082
    true_nll = 0.5 * math.log(2.0 * math.pi * math.e * (1.0 - RHO**2))
    assert float(losses[0]) > true_nll + 0.1
    np.testing.assert_allclose(losses[-1], true_nll, atol=0.03)
    # 1024 held-out batches of 16 pairs (L1Out's leave-one-out bias, ~0.05 at n = 16, is
    # then above its standard error, ~0.006), against the true conditional's values on them
    xt, yt = _correlated(jax.random.key(13), (1024, 16, 1), dtype=jnp.float32)

    @nnx.jit
    def bounds(q, xt, yt):
        learned = jax.vmap(q.log_likelihood_matrix)(xt, yt)
        true = _true_log_likelihoods(xt[..., 0], yt[..., 0])
        return [
            jnp.mean(jax.vmap(b)(log_likelihoods))
            for log_likelihoods in (learned, true)
            for b in (jaxinfo.club_estimate, jaxinfo.l1out_estimate)
        ]

    club, l1out, true_club, true_l1out = (float(v) for v in bounds(q, xt, yt))
    # CLUB scales with the learned precision (measured 1.809 against 1.757); L1Out does not
    # (0.55698 against 0.55701)
    np.testing.assert_allclose(club, true_club, atol=0.1)
    np.testing.assert_allclose(l1out, true_l1out, atol=0.01)
    np.testing.assert_allclose(club, CLUB_POPULATION, atol=0.1)
    assert club > TRUE_MI + 1.0
    assert TRUE_MI + 0.02 < l1out < TRUE_MI + 0.15, (l1out, true_l1out)


@pytest.mark.parametrize("name", UPPER_BOUNDS)
def test_bad_log_likelihoods_raise_naming_the_argument(name):
    bound = UPPER_BOUNDS[name]
    for bad in ("abc", None, ["a", "b"]):
        with pytest.raises(TypeError, match=r"^`log_likelihoods` must be an array of numbers"):
            bound(bad)
    with pytest.raises(TypeError, match=r"`log_likelihoods` must be a floating-point array"):
        bound(jnp.zeros((3, 3), jnp.int32))
    with pytest.raises(ValueError, match=r"`log_likelihoods` must be a log-likelihood matrix"):
        bound(jnp.zeros(4))
    with pytest.raises(ValueError, match=r"`log_likelihoods` must be square"):
        bound(jnp.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"`log_likelihoods` needs at least 2 samples"):
        bound(jnp.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"`log_likelihoods` needs at least 2 .* `where`"):
        bound(jnp.zeros((3, 3)), where=jnp.array([True, False, False]))
    with pytest.raises(ValueError, match=r"`where`"):
        bound(jnp.zeros((3, 3)), where=jnp.ones(4, bool))
    with pytest.raises(ValueError, match=r"`axis_name`='rows' names no mapped axis"):
        bound(jnp.zeros((4, 4)), axis_name="rows")
    with pytest.raises(ValueError, match=r"`base`"):
        bound(jnp.zeros((4, 4)), base=1.0)
    # a non-finite valid entry has no answer; a traced too-small mask neither
    assert np.isnan(bound(jnp.zeros((3, 3)).at[0, 1].set(jnp.inf)))
    assert np.isnan(jax.jit(bound)(jnp.zeros((3, 3)), where=jnp.array([True, False, False])))


def test_gaussian_conditional_refuses_wrong_widths_and_unpaired_rows():
    q = GaussianConditional(2, 3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`x` must have shape \[n, 2\]"):
        q.log_likelihood_matrix(jnp.ones((4, 3)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"`y` must have shape \[n, 3\]"):
        q.log_likelihood_matrix(jnp.ones((4, 2)), jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"`y` must have shape \[n, 3\]"):
        q.log_likelihood(jnp.ones((4, 2)), jnp.ones(3))
    with pytest.raises(ValueError, match=r"`x` and `y` must be paired rows"):
        q.negative_log_likelihood(jnp.ones((4, 2)), jnp.ones((5, 3)))
    with pytest.raises(ValueError, match=r"`where`"):
        q.negative_log_likelihood(jnp.ones((4, 2)), jnp.ones((4, 3)), where=jnp.ones(5, bool))
    with pytest.raises(ValueError, match=r"`y_features` must be a positive integer"):
        GaussianConditional(2, 0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`hidden \(each width\)`"):
        GaussianConditional(2, 1, hidden=(0,), rngs=nnx.Rngs(0))
    # the masked loss is the mean over the valid pairs only
    x, y = jnp.arange(8.0).reshape(4, 2), jnp.ones((4, 3))
    mask = jnp.array([True, False, True, True])
    np.testing.assert_allclose(
        q.negative_log_likelihood(x, y, where=mask),
        -jnp.mean(q.log_likelihood(x, y)[jnp.array([0, 2, 3])]),
        rtol=1e-6,
    )
