"""The values-only host eigensolver behind ``numerics.eigvalsh`` (CPU float32 / float64)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinfo._src import numerics

ROUTES = ("one_stage", "two_stage")
pytestmark = pytest.mark.usefixtures("x64")


@pytest.fixture(params=ROUTES)
def route(request, monkeypatch):
    """Forces the one-stage ``?syevd`` or the two-stage ``?syevd_2stage`` host route."""
    if request.param == "two_stage":
        if numerics._two_stage_solver("d") is None or numerics._two_stage_solver("s") is None:
            pytest.skip("this SciPy's LAPACK exports no LAPACKE ?syevd_2stage")
        monkeypatch.setattr(numerics, "TWO_STAGE_MIN_BYTES", 0)
    else:
        monkeypatch.setattr(numerics, "TWO_STAGE_MIN_BYTES", 2**62)
    return request.param


def _random(rng, n):
    a = rng.normal(size=(n, n))
    return a + a.T


def _rank_deficient(rng, n):
    f = rng.normal(size=(n, max(1, n // 4)))
    return f @ f.T


def _repeated(rng, n):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    values = np.repeat([0.0, 1.0, 3.0], -(-n // 3))[:n]
    return (q * values) @ q.T


MATRICES = {"random": _random, "rank_deficient": _rank_deficient, "repeated": _repeated}


@pytest.mark.parametrize("kind", sorted(MATRICES))
@pytest.mark.parametrize("n", [3, 17, 150])
def test_float64_matches_numpy_eigvalsh(route, kind, n):
    matrix = MATRICES[kind](np.random.default_rng(n), n)
    expected = np.linalg.eigvalsh(matrix)
    got = np.asarray(jax.jit(numerics.eigvalsh)(jnp.asarray(matrix, jnp.float64)))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))


@pytest.mark.parametrize("kind", sorted(MATRICES))
def test_float32_matches_numpy_eigvalsh(route, kind):
    matrix = MATRICES[kind](np.random.default_rng(5), 64)
    expected = np.linalg.eigvalsh(matrix)
    got = np.asarray(numerics.eigvalsh(jnp.asarray(matrix, jnp.float32)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.max(np.abs(expected)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_batched_vmap_and_jit(route, dtype):
    rng = np.random.default_rng(1)
    stack = np.stack([MATRICES[k](rng, 40) for k in sorted(MATRICES)] * 2).reshape(2, 3, 40, 40)
    expected = np.linalg.eigvalsh(stack)
    tolerance = (1e-12 if dtype == jnp.float64 else 1e-5) * np.max(np.abs(expected))
    x = jnp.asarray(stack, dtype)
    for fn in (
        numerics.eigvalsh,  # leading batch dimensions
        jax.jit(jax.vmap(numerics.eigvalsh)),
        jax.vmap(jax.vmap(numerics.eigvalsh)),
    ):
        got = np.asarray(fn(x))
        assert got.shape == (2, 3, 40)
        np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)
    # vmap over a batch while another argument is not batched (expand_dims callback)
    shift = jnp.asarray(0.5, dtype)
    got = jax.vmap(lambda m, s: numerics.eigvalsh(m + s * jnp.eye(40, dtype=dtype)), (0, None))(
        x[0], shift
    )
    np.testing.assert_allclose(np.asarray(got), expected[0] + 0.5, rtol=0, atol=tolerance)


def test_reads_the_lower_triangle(route):
    rng = np.random.default_rng(2)
    lower = np.tril(_random(rng, 30))
    expected = np.linalg.eigvalsh(lower + np.tril(lower, -1).T)
    got = np.asarray(numerics.eigvalsh(jnp.asarray(lower + 5.0 * np.triu(np.ones((30, 30)), 1))))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))


def test_gradient_and_nan(route):
    rng = np.random.default_rng(3)
    matrix = jnp.asarray(_random(rng, 20))
    grad = jax.jit(jax.grad(lambda m: jnp.sum(numerics.eigvalsh(m))))(matrix)
    np.testing.assert_allclose(np.asarray(grad), np.eye(20), atol=1e-12)
    bad = matrix.at[3, 2].set(jnp.nan)
    assert np.all(np.isnan(np.asarray(numerics.eigvalsh(bad))))


def test_logsumexp_keeps_nan_and_infinite_rows_as_jax_nn_does():
    """XLA's CPU max skips NaN inside a fused program (an all-NaN row has max -inf); the
    robust log-sum-exp must still give NaN there (a NaN bandwidth gave +inf before)."""
    x = jax.random.normal(jax.random.key(0), (8, 3))

    def log_kernel_sums(scale, lse):
        squared = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
        return lse(-squared * scale, 1)

    for scale in (jnp.nan, 0.5):
        ours = jax.jit(lambda s: log_kernel_sums(s, numerics.logsumexp))(scale)
        ref = jax.jit(lambda s: log_kernel_sums(s, jax.nn.logsumexp))(scale)
        np.testing.assert_allclose(ours, ref, rtol=1e-6)
    rows = jnp.array([[jnp.nan, 1.0], [-jnp.inf, -jnp.inf], [jnp.inf, 1.0], [jnp.nan, jnp.nan]])
    np.testing.assert_array_equal(
        jax.jit(lambda a: numerics.logsumexp(a, 1))(rows), jax.nn.logsumexp(rows, 1)
    )
