"""The Koopman information Lagrangian, effective dimension, eq. 7, the autoencoder, Lorenz-63."""

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import jaxinfo
from jaxinfo import testing
from jaxinfo.nn import KoopmanAutoencoder


def _decode(v):
    """A fixed nonlinear decoder from 5 latents to 3 states."""
    return jnp.tanh(v[..., :3]) + 0.5 * v[..., 3:4] * v[..., 4:5]


def _decode_first_five(v):
    return _decode(v[..., :5])


# Jitted once per shape and static option: eager op-by-op dispatch made this file slow.
LAGRANGIAN = jax.jit(
    jaxinfo.koopman_information_lagrangian,
    static_argnums=3,
    static_argnames=("window", "rollout_steps", "method", "similarity"),
)


def _windows(key, num_windows=4, steps=9, dtype=jnp.float64):
    kx, kz, kk = jax.random.split(key, 3)
    x = jax.random.normal(kx, (num_windows, steps, 3), dtype)
    z = jax.random.normal(kz, (num_windows, steps, 5), dtype)
    k = 0.3 * jax.random.normal(kk, (5, 5), dtype) + 0.8 * jnp.eye(5, dtype=dtype)
    return x, z, k


def _numpy_terms(x, z, k, window, tau, rollout_steps):
    """Every term by explicit loops over windows and steps (float64 NumPy)."""
    x, z, k = (np.asarray(a, np.float64) for a in (x, z, k))
    num_windows, steps, d = z.shape

    def decode(v):
        return np.tanh(v[..., :3]) + 0.5 * v[..., 3:4] * v[..., 4:5]

    def mse(a, b):
        return float(np.mean((a - b) ** 2))

    rec = sum(mse(decode(z[b, t]), x[b, t]) for b in range(num_windows) for t in range(steps))
    pred = sum(
        mse(decode(k @ z[b, t]), x[b, t + 1]) for b in range(num_windows) for t in range(steps - 1)
    )
    cons = sum(mse(k @ z[b, t], z[b, t + 1]) for b in range(num_windows) for t in range(steps - 1))
    roll = 0.0
    for h in range(1, rollout_steps + 1):
        kh = np.linalg.matrix_power(k, h)
        roll += sum(
            mse(decode(kh @ z[b, t]), x[b, t + h])
            for b in range(num_windows)
            for t in range(steps - h)
        )
    roll = roll / rollout_steps if rollout_steps else 0.0
    rows = z.reshape(-1, d)
    cov = np.cov(rows.T, bias=True)
    lam = np.linalg.eigvalsh(cov / np.trace(cov))
    lam = lam[lam > 1e-15]
    entropy = float(-np.sum(lam * np.log(lam)))
    # temporal InfoNCE: cosine, batch candidates, positives within `window`
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    logits = unit @ unit.T / tau
    n = rows.shape[0]
    losses = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        log_z = np.log(np.sum(np.exp(logits[i, others])))
        positives = [
            j for j in others if j // steps == i // steps and abs(j % steps - i % steps) <= window
        ]
        losses.append(-np.mean([logits[i, j] - log_z for j in positives]))
    information = math.log(n - 1) - float(np.mean(losses))
    return {
        "reconstruction": rec / num_windows,
        "prediction": pred / num_windows,
        "latent_consistency": cons / num_windows,
        "rollout": roll / num_windows,
        "entropy": entropy,
        "temporal_information": information,
    }


def test_every_term_equals_explicit_loops(key, x64):
    x, z, k = _windows(key)
    weights = {"alpha": 1.5, "beta": 0.7, "gamma": 0.3, "rollout_weight": 0.4}
    loss, terms = LAGRANGIAN(
        x, z, k, _decode, window=2, temperature=0.2, rollout_steps=3, **weights
    )
    expected = _numpy_terms(x, z, k, window=2, tau=0.2, rollout_steps=3)
    for name, value in expected.items():
        np.testing.assert_allclose(terms[name], value, rtol=1e-10, err_msg=name)
    total = (
        expected["reconstruction"]
        + expected["prediction"]
        + 0.4 * expected["rollout"]
        + 0.7 * expected["latent_consistency"]
        - 1.5 * expected["temporal_information"]
        - 0.3 * expected["entropy"]
    )
    np.testing.assert_allclose(loss, total, rtol=1e-10)
    np.testing.assert_allclose(terms["effective_dimension"], math.exp(expected["entropy"]))


def test_gaussian_information_term_is_eq7_with_the_residual_covariance(key, x64):
    x, z, k = _windows(key, num_windows=6, steps=11)
    _, terms = jaxinfo.koopman_information_lagrangian(x, z, k, _decode, window=2, method="gaussian")
    rows = np.asarray(z).reshape(-1, 5)
    cov = np.cov(rows.T, bias=True)
    residual = (np.asarray(z[:, 1:]) - np.asarray(z[:, :-1]) @ np.asarray(k).T).reshape(-1, 5)
    noise = np.cov(residual.T, bias=True) + 32 * np.finfo(float).eps * np.trace(cov) * np.eye(5)
    values = [
        float(jaxinfo.gaussian_koopman_mutual_information(k, cov, noise, lag=n)) for n in (1, 2)
    ]
    np.testing.assert_allclose(terms["temporal_information"], np.mean(values), rtol=1e-10)


def test_raising_latent_entropy_alone_lowers_the_loss():
    # A latent direction the decoder never reads: spreading it raises S and nothing else.
    key = jax.random.key(3)
    x, z, _ = _windows(key, dtype=jnp.float32)
    z = jnp.concatenate([z, jnp.zeros_like(z[..., :1])], axis=-1)
    decode = _decode_first_five
    spread = z.at[..., 5].set(jax.random.normal(jax.random.key(4), z.shape[:2]))
    kwargs = {"alpha": 0.0, "gamma": 0.1}
    low, t_low = LAGRANGIAN(x, z, jnp.eye(6), decode, **kwargs)
    high, t_high = LAGRANGIAN(x, spread, jnp.eye(6), decode, **kwargs)
    assert t_high["entropy"] > t_low["entropy"] + 0.05
    np.testing.assert_allclose(high - low, -0.1 * (t_high["entropy"] - t_low["entropy"]), atol=2e-6)
    flipped, _ = LAGRANGIAN(x, spread, jnp.eye(6), decode, alpha=0.0, gamma=-0.1)
    assert flipped > high  # the released code's sign minimises the entropy
    grad = jax.jit(jax.grad(lambda g: LAGRANGIAN(x, z, jnp.eye(6), decode, gamma=g)[0]))
    np.testing.assert_allclose(grad(0.1), -t_low["entropy"], rtol=1e-5)


def test_eq7_matches_monte_carlo_of_a_linear_gaussian_system(x64):
    k = jnp.array([[0.8, 0.3], [-0.2, 0.7]])
    noise = jnp.array([[0.3, 0.1], [0.1, 0.2]])
    cov = jnp.array([[1.0, 0.4], [0.4, 0.8]])
    n = 200_000
    keys = jax.random.split(jax.random.key(0), 4)
    start = jax.random.multivariate_normal(keys[0], jnp.zeros(2), cov, (n,))
    z = start
    for lag, step_key in zip((1, 2, 3), keys[1:], strict=True):
        z = z @ k.T + jax.random.multivariate_normal(step_key, jnp.zeros(2), noise, (n,))
        closed = jaxinfo.gaussian_koopman_mutual_information(k, cov, noise, lag=lag)
        sampled = jaxinfo.gaussian_mutual_information(start, z)
        assert abs(float(closed) - float(sampled)) < 0.01, (lag, closed, sampled)
    # the stationary AR(1) case in closed form: -log(1 - a^2) / 2
    a = 0.6
    value = jaxinfo.gaussian_koopman_mutual_information(
        a * jnp.eye(1), jnp.eye(1), (1 - a * a) * jnp.eye(1)
    )
    np.testing.assert_allclose(value, -0.5 * math.log(1 - a * a), rtol=1e-12)


@pytest.mark.parametrize("method", ["infonce", "gaussian"])
def test_collapsed_and_rank_deficient_latents_have_finite_values_and_gradients(
    method,
):
    x, z, k = _windows(jax.random.key(1), num_windows=2, steps=7, dtype=jnp.float32)
    collapsed = jnp.broadcast_to(jnp.array([0.3, -1.0, 2.0, 0.5, 0.1]), z.shape)
    wide = jax.random.normal(jax.random.key(2), (1, 7, 40))  # B T = 7 < d = 40
    wide_k = jnp.eye(40)
    cases = [(x, collapsed, k), (x[:1], wide, wide_k)]
    for xs, zs, ks in cases:

        def loss(zv, kv, xs=xs):
            return LAGRANGIAN(xs, zv, kv, _decode_first_five, method=method, beta=1.0)

        value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))
        (value, terms), grads = value_and_grad(zs, ks)
        assert np.isfinite(value), terms
        assert all(np.all(np.isfinite(g)) for g in grads)
    _, terms = LAGRANGIAN(x, collapsed, k, _decode)
    assert terms["entropy"] == 0.0 and terms["effective_dimension"] == 1.0


def test_shard_map_equals_unsharded_values_and_gradients(x64):
    x, z, k = _windows(jax.random.key(5), num_windows=8, steps=7)
    where = jnp.ones((8, 7), bool).at[3, 5:].set(False).at[6].set(False)
    kwargs = {"window": 2, "rollout_steps": 2, "beta": 0.5, "where": where}

    def loss(x, z, k, where, axis_name=None):
        options = {**kwargs, "where": where, "axis_name": axis_name}
        total, terms = jaxinfo.koopman_information_lagrangian(x, z, k, _decode, **options)
        return total, terms

    expected, expected_grads = jax.jit(jax.value_and_grad(lambda *a: loss(*a)[0], argnums=(1, 2)))(
        x, z, k, where
    )
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))
    sharded = jax.shard_map(
        lambda x, z, k, w: loss(x, z, k, w, axis_name="d")[0],
        mesh=mesh,
        in_specs=(P("d"), P("d"), P(), P("d")),
        out_specs=P(),
    )
    value, grads = jax.jit(jax.value_and_grad(sharded, argnums=(1, 2)))(x, z, k, where)
    np.testing.assert_allclose(value, expected, rtol=1e-10)
    for got, want in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


def test_jit_vmap_and_padded_windows_equal_the_sliced_batch(key, x64):
    x, z, k = _windows(key, num_windows=5)
    fn = jax.jit(
        lambda x, z, where=None: jaxinfo.koopman_information_lagrangian(
            x, z, k, _decode, rollout_steps=2, where=where
        )[0]
    )
    eager = fn(x[:4], z[:4])
    where = jnp.ones((5, 9), bool).at[4].set(False)
    garbage_z = z.at[4].set(1e6)
    np.testing.assert_allclose(jax.jit(fn)(x, garbage_z, where), eager, rtol=1e-10)
    batched = jax.vmap(fn)(jnp.stack([x[:4], x[1:]]), jnp.stack([z[:4], z[1:]]))
    np.testing.assert_allclose(batched, [eager, fn(x[1:], z[1:])], rtol=1e-10)


def test_no_answer_is_nan_and_bad_options_raise(key):
    x, z, k = _windows(key, dtype=jnp.float32)
    value, terms = jaxinfo.koopman_information_lagrangian(x, z.at[1, 2, 0].set(jnp.nan), k, _decode)
    assert np.isnan(value) and all(np.isnan(v) for v in terms.values())
    traced = jax.jit(lambda a: jaxinfo.koopman_information_lagrangian(x, z, k, _decode, alpha=a)[0])
    assert np.isnan(traced(-1.0)) and np.isfinite(traced(1.0))
    cases = [
        ({"window": 5}, "2 \\* window \\+ 1 = 11"),
        ({"window": 0}, "window"),
        ({"rollout_steps": 9}, "rollout_steps"),
        ({"method": "knn"}, "`method` must be one of"),
        ({"alpha": -1.0}, "alpha"),
        # Options only the InfoNCE term reads are refused with the Gaussian term.
        ({"method": "gaussian", "temperature": 0.2}, "`temperature` applies only to method="),
        ({"method": "gaussian", "similarity": "dot"}, "`similarity` applies only to method="),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            jaxinfo.koopman_information_lagrangian(x, z, k, _decode, **kwargs)
    with pytest.raises(ValueError, match="decode"):
        jaxinfo.koopman_information_lagrangian(x, z, k, lambda v: v)
    with pytest.raises(ValueError, match=r"\[d, d\]"):
        jaxinfo.koopman_information_lagrangian(x, z, jnp.eye(4), _decode)
    with pytest.raises(ValueError, match="one B and T"):
        jaxinfo.koopman_information_lagrangian(x[:, :8], z, k, _decode)


def test_effective_dimension_counts_equal_directions(key, x64):
    z = jax.random.normal(key, (20000, 4), jnp.float64) * jnp.array([1.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(jaxinfo.effective_dimension(z), 3.0, rtol=2e-3)
    np.testing.assert_allclose(jaxinfo.effective_dimension(z + 100.0), 3.0, rtol=2e-3)
    centred = z - jnp.mean(z, axis=0)
    vn = jaxinfo.von_neumann_entropy(centred, kernel=jaxinfo.kernels.Linear())
    np.testing.assert_allclose(jnp.log(jaxinfo.effective_dimension(z)), vn, rtol=1e-10)
    assert jaxinfo.effective_dimension(jnp.ones((5, 3))) == 1.0


def test_autoencoder_spectral_norm_ridge_fit_and_training(key):
    model = KoopmanAutoencoder(3, 4, hidden=(8,), rngs=nnx.Rngs(0))
    model.koopman[...] = jnp.diag(jnp.array([3.0, 1.0, 0.5, 0.2]))
    assert jnp.max(jnp.abs(jnp.linalg.eigvals(model.operator()))) <= 1.0 + 1e-6
    model.koopman[...] = jnp.eye(4)  # repeated singular values: gradient stays finite
    grad = nnx.grad(lambda m: jnp.sum(m.operator() ** 2))(model)
    assert np.all(np.isfinite(grad["koopman"][...]))

    # the ridge fit recovers a known linear map from exact linear latents
    ridge = KoopmanAutoencoder(3, 2, hidden=(8,), operator="ridge", ridge=0.0, rngs=nnx.Rngs(0))
    a = jnp.array([[0.9, -0.3], [0.3, 0.9]])
    start = jax.random.normal(key, (6, 2))
    path = [start]
    for _ in range(7):
        path.append(path[-1] @ a.T)
    latents = jnp.stack(path, axis=1)
    np.testing.assert_allclose(ridge.operator(latents), a, atol=1e-4)
    np.testing.assert_allclose(ridge.operator(), 0.9 * jnp.eye(2) + 0.1 * a, atol=1e-4)
    ridge.eval()
    np.testing.assert_allclose(ridge.operator(latents), ridge.koopman[...])

    # a few jitted steps of the Lagrangian lower it
    windows = testing.trajectory_windows(testing.lorenz63(key, 2, 40, burn_in=20), 9, stride=4)
    windows = (windows - jnp.mean(windows, axis=(0, 1))) / jnp.std(windows, axis=(0, 1))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x):
        def loss_fn(model):
            z = model.encode(x)
            return jaxinfo.koopman_information_lagrangian(x, z, model.operator(z), model.decode)

        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        optimizer.update(model, grads)
        return loss

    with jax.numpy_dtype_promotion("standard"):  # optax's Adam is not strict-promotion clean
        losses = [float(step(model, optimizer, windows)) for _ in range(30)]
    assert losses[-1] < losses[0] - 0.5, losses[::10]
    assert model.rollout(windows[:, 0], 6).shape == (windows.shape[0], 6, 3)
    with pytest.raises(ValueError, match="3 features"):
        model.encode(jnp.ones((2, 4)))
    with pytest.raises(ValueError, match="4 features"):
        model.decode(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="operator"):
        KoopmanAutoencoder(3, 4, operator=cast(Any, "dmd"), rngs=nnx.Rngs(0))


def test_lorenz63_matches_a_scipy_solve(x64):
    integrate = pytest.importorskip("scipy.integrate")
    path = np.asarray(testing.lorenz63(jax.random.key(0), 2, 11, burn_in=5))

    def lorenz(_, s):
        return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]

    for trajectory in path:
        solution = integrate.solve_ivp(
            lorenz,
            (0.0, 1.0 + 1e-9),
            trajectory[0],
            t_eval=np.arange(11) * 0.1,
            method="DOP853",
            rtol=1e-12,
            atol=1e-12,
        )
        np.testing.assert_allclose(solution.y.T, trajectory, atol=1e-3)
    assert testing.trajectory_windows(jnp.asarray(path), 4, stride=2).shape == (8, 4, 3)
    with pytest.raises(ValueError, match="length"):
        testing.trajectory_windows(jnp.asarray(path), 12)
