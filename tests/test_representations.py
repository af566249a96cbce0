"""Layer-wise representation measures: prompt and dataset entropy, token curvature."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo import kernels


def _direct_entropy(z: np.ndarray, alpha: float) -> float:
    """Matrix alpha-entropy of the trace-normalised Gram of the rows of ``z`` (NumPy)."""
    gram = np.asarray(z, np.float64) @ np.asarray(z, np.float64).T
    values = np.clip(np.linalg.eigvalsh(gram / np.trace(gram)), 0.0, None)
    values = values[values > 1e-12]
    if alpha == 1.0:
        return float(-np.sum(values * np.log(values)))
    return float(np.log(np.sum(values**alpha)) / (1.0 - alpha))


def _direct_curvature(z: np.ndarray) -> float:
    steps = np.diff(np.asarray(z, np.float64), axis=0)
    cosines = [
        a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
        for a, b in zip(steps[:-1], steps[1:], strict=True)
    ]
    return float(np.mean(np.arccos(np.clip(cosines, -1.0, 1.0))))


def _normal(shape, seed=0):
    return jax.random.normal(jax.random.key(seed), shape)


def _jit(fn, **options):
    """``fn`` with static ``options`` under one ``jax.jit`` (one compile instead of one per op)."""
    return jax.jit(lambda *arrays, **masks: fn(*arrays, **masks, **options))


@pytest.mark.parametrize(
    ("shape", "alpha"), [((3, 6, 10), 1.0), ((2, 5, 7), 2.0), ((2, 5, 4), 0.5)]
)  # tokens < d and tokens > d (and in the masked test below)
def test_prompt_entropy_is_the_entropy_of_each_sequences_gram(shape, alpha):
    z = _normal(shape)
    got = _jit(jaxinfo.prompt_entropy, alpha=alpha)(z)
    assert got.shape == shape[:1]
    want = [_direct_entropy(np.asarray(one), alpha) for one in z]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_prompt_entropy_masking_equals_slicing_and_base():
    z = _normal((2, 9, 4)).at[0, 6:].set(jnp.nan)  # padding garbage never leaks
    where = jnp.arange(9) < jnp.array([[6], [9]])
    got = _jit(jaxinfo.prompt_entropy, base=2)(z, where=where)
    want = [_direct_entropy(np.asarray(z[0, :6]), 1.0), _direct_entropy(np.asarray(z[1]), 1.0)]
    np.testing.assert_allclose(got, np.array(want) / np.log(2), rtol=1e-4)


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_dataset_entropy_is_the_entropy_of_the_pooled_rows(pooling):
    z = _normal((10, 5, 4))
    lengths = np.array([5, 3, 1, 4, 5, 2, 5, 5, 3, 4])
    where = jnp.arange(5) < jnp.asarray(lengths)[:, None]
    got = _jit(jaxinfo.dataset_entropy, alpha=2.0, pooling=pooling)(z, where=where)
    rows = np.stack(
        [
            np.asarray(z[i, :k]).mean(0) if pooling == "mean" else np.asarray(z[i, k - 1])
            for i, k in enumerate(lengths)
        ]
    )
    np.testing.assert_allclose(got, _direct_entropy(rows, 2.0), rtol=1e-5)
    # the same as the library's matrix entropy with a linear kernel, and as pooled input
    linear = _jit(jaxinfo.matrix_renyi_entropy, alpha=2.0, kernel=kernels.Linear())
    np.testing.assert_allclose(got, linear(jnp.asarray(rows)), rtol=1e-5)
    pooled = _jit(jaxinfo.dataset_entropy, alpha=2.0, pooling=None)(jnp.asarray(rows))
    np.testing.assert_allclose(got, pooled, rtol=1e-6)


def test_dataset_entropy_leaves_out_inputs_without_tokens():
    z = _normal((6, 4, 3))
    where = jnp.ones((6, 4), bool).at[2].set(False)
    got = _jit(jaxinfo.dataset_entropy)(z, where=where)
    want = _direct_entropy(np.asarray(jnp.delete(z, 2, axis=0)).mean(1), 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_curvature_of_a_straight_line_and_of_a_circle():
    t = jnp.arange(7.0)[:, None]
    line = 0.3 + t * jnp.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(jaxinfo.token_curvature(line), 0.0, atol=1e-3)
    for n in (5, 12):
        angle = jnp.arange(n, dtype=jnp.float32) * 2 * jnp.pi / n
        circle = 3.0 * jnp.stack([jnp.cos(angle), jnp.sin(angle), jnp.zeros(n)], -1)
        np.testing.assert_allclose(jaxinfo.token_curvature(circle), 2 * np.pi / n, rtol=1e-5)


def test_curvature_matches_arccos_formula_and_masking_equals_slicing():
    z = _normal((3, 8, 5))
    got = jaxinfo.token_curvature(z)
    np.testing.assert_allclose(got, [_direct_curvature(np.asarray(s)) for s in z], rtol=1e-5)
    where = jnp.array([True, False, True, True, False, True, True, True])
    masked = jaxinfo.token_curvature(z.at[:, 1].set(jnp.inf), where=jnp.tile(where, (3, 1)))
    np.testing.assert_allclose(masked, jaxinfo.token_curvature(z[:, where]), rtol=1e-6)


def test_repeated_tokens_give_finite_values_and_gradients():
    z = _normal((6, 4))
    z = z.at[3].set(z[2])  # a zero-length step
    value, grad = jax.jit(jax.value_and_grad(jaxinfo.token_curvature))(z)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # the zero step's two turns count as 0 in the mean over the 4 turns
    pairs = [_direct_curvature(np.stack([z[0], z[1], z[2]])), 0, 0]
    pairs.append(_direct_curvature(np.stack([z[3], z[4], z[5]])))
    np.testing.assert_allclose(value, sum(pairs) / 4, rtol=1e-5)
    line = jnp.arange(5.0)[:, None] * jnp.ones((1, 3))
    assert np.all(np.isfinite(jax.jit(jax.grad(jaxinfo.token_curvature))(line)))
    same = jnp.tile(_normal((1, 4)), (5, 1))  # every token identical: rank one Gram
    # Every step of zero length: no turn at all, value 0 and a finite gradient.
    value, grad = jax.jit(jax.value_and_grad(jaxinfo.token_curvature))(same)
    np.testing.assert_allclose(value, 0.0, atol=1e-6)
    assert np.all(np.isfinite(grad))
    for fn in (
        lambda z: jaxinfo.prompt_entropy(z),
        lambda z: jaxinfo.dataset_entropy(z, pooling=None),
    ):
        value, grad = jax.jit(jax.value_and_grad(fn))(same)
        np.testing.assert_allclose(value, 0.0, atol=1e-5)
        assert np.all(np.isfinite(grad))


def test_jit_and_vmap_over_layers_equal_the_loop():
    z = _normal((3, 4, 6, 5))  # [layers, batch, tokens, d]
    where = jnp.arange(6) < jnp.array([6, 5, 4, 6])[:, None]
    calls = [
        lambda z: jaxinfo.prompt_entropy(z, where=where),
        lambda z: jaxinfo.token_curvature(z, where=where),
        lambda z: jaxinfo.dataset_entropy(z, where=where, pooling="last"),
    ]
    for fn in calls:
        single = jax.jit(fn)
        loop = jnp.stack([single(layer) for layer in z])
        np.testing.assert_allclose(jax.jit(jax.vmap(fn))(z), loop, rtol=1e-5, atol=1e-6)


def _direct_lidar(z: np.ndarray, delta: float = 1e-4) -> float:
    z = np.asarray(z, np.float64)
    means = z.mean(1)
    between = (means - means.mean(0)).T @ (means - means.mean(0)) / len(z)
    spread = (z - means[:, None]).reshape(-1, z.shape[-1])
    values, vectors = np.linalg.eigh(spread.T @ spread / len(spread) + delta * np.eye(z.shape[-1]))
    root = vectors @ np.diag(values**-0.5) @ vectors.T
    return _direct_entropy_of_psd(root @ between @ root)


def _direct_entropy_of_psd(matrix: np.ndarray) -> float:
    values = np.linalg.eigvalsh(matrix / np.trace(matrix))
    values = values[values > 1e-12]
    return float(-np.sum(values * np.log(values)))


def test_lidar_is_the_entropy_of_the_lda_matrix(x64):
    # n (V - 1) < d: repeated eigenvalues of Sigma_w; float64, since the ridge 1e-4 leaves
    # float32 good to about 1e-4 only
    z = _normal((4, 2, 9)).astype(jnp.float64)
    value, grad = jax.jit(jax.value_and_grad(jaxinfo.lidar))(z)
    np.testing.assert_allclose(value, _direct_lidar(np.asarray(z)), rtol=1e-8)
    assert np.all(np.isfinite(grad))


def test_dime_is_the_mean_shuffled_joint_entropy_minus_the_paired_one():
    a, noise = _normal((10, 3)), _normal((10, 4), seed=1)
    b = jnp.concatenate([a, a[:, :1]], axis=1) + 0.3 * noise
    key = jax.random.key(3)
    got = jax.jit(lambda a, b: jaxinfo.dime(a, b, key=key, alpha=2.0, num_permutations=3))(a, b)
    joint = _jit(jaxinfo.matrix_joint_entropy, alpha=2.0, kernels=kernels.Linear())
    shuffled = [
        joint(a, b[jax.random.permutation(jax.random.fold_in(key, p), 10)]) for p in range(3)
    ]
    np.testing.assert_allclose(got, np.mean(shuffled) - joint(a, b), rtol=1e-4, atol=1e-6)
    assert got > 0


def test_too_few_valid_tokens_under_jit_is_nan():
    z = _normal((2, 5, 3))
    where = jnp.arange(5) < jnp.array([[2], [5]])
    got = jax.jit(lambda w: jaxinfo.token_curvature(z, where=w))(where)
    assert np.isnan(got[0]) and np.isfinite(got[1])
    got = jax.jit(lambda w: jaxinfo.prompt_entropy(z, where=w))(where.at[0].set(False))
    assert np.isnan(got[0]) and np.isfinite(got[1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: jaxinfo.prompt_entropy(jnp.ones(4)), ValueError, "`z` must have shape"),
        (lambda: jaxinfo.prompt_entropy(jnp.ones((1, 4))), ValueError, "`z` needs at least 2"),
        (lambda: jaxinfo.prompt_entropy(jnp.ones((3, 2), int)), TypeError, "`z` must be a float"),
        (lambda: jaxinfo.prompt_entropy("ab"), TypeError, "`z` must be an array"),  # pyright: ignore[reportArgumentType]
        (lambda: jaxinfo.prompt_entropy(jnp.ones((3, 2)), alpha=0), ValueError, "`alpha`"),
        (
            lambda: jaxinfo.prompt_entropy(jnp.ones((3, 2)), where=jnp.ones(3)),
            TypeError,
            "`where` must be a boolean",
        ),
        (
            lambda: jaxinfo.prompt_entropy(jnp.ones((3, 2)), where=jnp.ones(4, bool)),
            ValueError,
            "`where` must have shape (3,)",
        ),
        (
            lambda: jaxinfo.token_curvature(jnp.ones((4, 2)), where=jnp.arange(4) < 2),
            ValueError,
            "got 2 valid under `where`",
        ),
        (lambda: jaxinfo.token_curvature(jnp.ones((2, 2))), ValueError, "`z` needs at least 3"),
        (
            lambda: jaxinfo.dataset_entropy(jnp.ones((3, 4, 2)), pooling="max"),  # pyright: ignore[reportArgumentType]
            ValueError,
            "`pooling` must be one of ('mean', 'last', None)",
        ),
        (
            lambda: jaxinfo.dataset_entropy(jnp.ones((3, 4, 2)), pooling=None),
            ValueError,
            "pass `pooling`",
        ),
        (lambda: jaxinfo.dataset_entropy(jnp.ones((3, 2))), ValueError, "`pooling=None`"),
        (
            lambda: jaxinfo.dataset_entropy(jnp.ones((1, 4, 2))),
            ValueError,
            "`z` needs at least 2 inputs",
        ),
        (
            lambda: jaxinfo.dataset_entropy(
                jnp.ones((3, 4, 2)), where=jnp.zeros((3, 4), bool).at[0].set(True)
            ),
            ValueError,
            "got 1 valid under `where`",
        ),
        (lambda: jaxinfo.lidar(jnp.ones((3, 1, 2))), ValueError, "`z` needs at least 2"),
        (lambda: jaxinfo.lidar(jnp.ones((3, 2))), ValueError, "`z` must have shape [n, views, d]"),
        (lambda: jaxinfo.lidar(jnp.ones((3, 2, 2)), delta=0.0), ValueError, "`delta`"),
        (
            lambda: jaxinfo.dime(jnp.ones((3, 2)), jnp.ones((4, 2)), key=jax.random.key(0)),
            ValueError,
            "view_b",
        ),
        (
            lambda: jaxinfo.dime(jnp.ones((3, 2)), jnp.ones((3, 2)), key=0),  # pyright: ignore[reportArgumentType]
            TypeError,
            "`key` must be a JAX PRNG key",
        ),
    ],
)
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
