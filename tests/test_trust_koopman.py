"""Issue 24 (trust, round two): the Koopman family, temporal InfoNCE, Lorenz-63 edges."""

import re
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinfo
from jaxinfo import testing
from jaxinfo._src import validation
from jaxinfo._src.koopman import ridge_operator
from jaxinfo.nn import KoopmanAutoencoder

GAUSSIAN_MI = jaxinfo.gaussian_koopman_mutual_information


def _matrices(key, batch, d=2):
    """Stable operators, PSD covariances and PD noise covariances ``[*batch, d, d]``."""
    kk, kc, ks = jax.random.split(key, 3)
    a = jax.random.normal(kk, (*batch, d, d), jnp.float64)
    k = 0.9 * a / jnp.linalg.norm(a, ord=2, axis=(-2, -1), keepdims=True)
    c = jax.random.normal(kc, (*batch, d, d + 2), jnp.float64)
    s = jax.random.normal(ks, (*batch, d, d + 2), jnp.float64)
    return k, c @ c.mT, 0.2 * s @ s.mT + 0.1 * jnp.eye(d, dtype=jnp.float64)


def test_gaussian_koopman_information_batches_only_over_leading_axes(key, x64):
    # Closed form: a stationary AR(1) z' = a z + eps, Var z = 1, Var eps = 1 - a^2, has
    # I(z_{t-n}; z_t) = -log(1 - a^(2n)) / 2. Batch K and Sigma, broadcast one C.
    a = jnp.array([0.3, 0.6, 0.9], jnp.float64)
    k, c, s = a[:, None, None], jnp.ones((1, 1), jnp.float64), (1.0 - a**2)[:, None, None]
    for lag in (1, 3):
        np.testing.assert_allclose(
            GAUSSIAN_MI(k, c, s, lag=lag),
            -0.5 * np.log1p(-(np.asarray(a) ** (2 * lag))),
            rtol=1e-12,
        )
    # Distinct matrices, each argument batched alone and all together (with broadcasting):
    # every batched value is the unbatched value of its own matrices.
    k, c, s = _matrices(key, (2,))  # batch size = d: a full transpose still runs
    for lag in (1, 2):
        each = [float(GAUSSIAN_MI(k[i], c[i], s[i], lag=lag)) for i in range(2)]
        np.testing.assert_allclose(GAUSSIAN_MI(k, c, s, lag=lag), each, rtol=1e-10)
        for batched, stack in enumerate((k, c, s)):  # one argument batched, two broadcast
            args = [k[0], c[0], s[0]]
            each = []
            for i in range(2):
                args[batched] = stack[i]
                each.append(float(GAUSSIAN_MI(*args, lag=lag)))
            args[batched] = stack
            np.testing.assert_allclose(GAUSSIAN_MI(*args, lag=lag), each, rtol=1e-10)
    grid = GAUSSIAN_MI(k[:, None], c[None, :], s[0])  # [2, 1] x [1, 2] -> [2, 2]
    assert grid.shape == (2, 2)
    np.testing.assert_allclose(grid[1, 0], GAUSSIAN_MI(k[1], c[0], s[0]), rtol=1e-10)
    with pytest.raises(ValueError, match="must broadcast against each other"):
        GAUSSIAN_MI(k, jnp.stack([c[0]] * 3), s)


def test_gaussian_koopman_information_refuses_non_psd_covariances(x64):
    k = 0.5 * jnp.eye(2, dtype=jnp.float64)
    c, s = jnp.eye(2, dtype=jnp.float64), 0.3 * jnp.eye(2, dtype=jnp.float64)
    indefinite = jnp.diag(jnp.array([1.0, -0.5], jnp.float64))
    # Before: a finite, wrong number (M + K C K^T stays positive definite here).
    with pytest.raises(ValueError, match="`covariance` must be symmetric positive semi-definite"):
        GAUSSIAN_MI(k, indefinite, s)
    with pytest.raises(ValueError, match="`noise_covariance` must be symmetric positive definite"):
        GAUSSIAN_MI(k, c, -s)
    with pytest.raises(ValueError, match="1 of 2 matrices are not"):
        GAUSSIAN_MI(k, jnp.stack([c, indefinite]), s)
    traced = jax.jit(GAUSSIAN_MI)
    assert np.isnan(traced(k, indefinite, s)) and np.isnan(traced(k, c, -s))
    both = traced(k, jnp.stack([c, indefinite]), s)
    assert np.isfinite(both[0]) and np.isnan(both[1])
    # A singular PSD covariance is fine (no information from the null direction).
    np.testing.assert_allclose(
        GAUSSIAN_MI(k, jnp.diag(jnp.array([1.0, 0.0], jnp.float64)), s),
        0.5 * np.log1p(0.25 / 0.3),
        rtol=1e-12,
    )


def _trajectories(key, num=3, steps=8, d=3):
    return jax.random.normal(key, (num, steps, d))


def _mask(shape, *steps):
    mask = np.zeros(shape, bool)
    for b, t in steps:
        mask[b, t] = True
    return jnp.asarray(mask)


def _lagrangian(z, where, method: Any = "infonce", window=1):
    return jaxinfo.koopman_information_lagrangian(
        z, z, jnp.eye(z.shape[-1]), lambda v: v, where=where, method=method, window=window
    )


def _too_few(where, name: str) -> str:
    """The library's slicing error for the valid steps of a concrete mask (naming it)."""
    with pytest.raises(ValueError) as error:
        validation.require_rows(int(where.sum()), 2, name, "where")
    assert f"`{name}`" in str(error.value) and "valid under `where`" in str(error.value)
    return f"^{re.escape(str(error.value))}$"


def test_too_few_valid_steps_raise_like_slicing_when_the_mask_is_concrete(key):
    z = _trajectories(key)
    infonce = jaxinfo.temporal_infonce_cross_entropy
    for where in (_mask((3, 8)), _mask((3, 8), (1, 4))):
        # The one "too few samples" error of every family, naming the caller's array.
        with pytest.raises(ValueError, match=_too_few(where, "z")):
            infonce(z, where=where)
        with (
            pytest.warns(DeprecationWarning),
            pytest.raises(ValueError, match=_too_few(where, "z")),
        ):
            jaxinfo.temporal_infonce_loss(z, where=where)
        for method in ("infonce", "gaussian"):
            with pytest.raises(ValueError, match=_too_few(where, "latents")):
                _lagrangian(z, where, method)
        assert np.isnan(jax.jit(lambda w: infonce(z, where=w))(where))
        assert np.isnan(jax.jit(lambda w: _lagrangian(z, w)[0])(where))
    # Two valid steps, but no anchor with a positive: different trajectories, or too far apart.
    for where, window in ((_mask((3, 8), (0, 2), (1, 3)), 1), (_mask((3, 8), (0, 0), (0, 3)), 2)):
        rule = rf"`where` must leave two valid steps of one trajectory at most {window} steps apart"
        with pytest.raises(ValueError, match=rule):
            infonce(z, where=where, window=window)
        with pytest.raises(ValueError, match=rule):
            _lagrangian(z, where, window=window)
        assert np.isnan(jax.jit(lambda w, n=window: infonce(z, where=w, window=n))(where))
    with pytest.raises(ValueError, match="at most 1 steps apart"):  # Sigma needs a lag-1 pair
        _lagrangian(z, _mask((3, 8), (0, 0), (0, 2)), "gaussian")
    assert np.isnan(
        jax.jit(lambda w: _lagrangian(z, w, "gaussian")[0])(_mask((3, 8), (0, 0), (0, 2)))
    )
    # Just enough: one anchor with its positive.
    assert np.isfinite(infonce(z, where=_mask((3, 8), (2, 5), (2, 6))))
    assert np.isfinite(_lagrangian(z, _mask((3, 8), (2, 5), (2, 6)), "gaussian")[0])


def test_lorenz63_refuses_unstable_steps_and_integer_keys(key):
    # Before: RK4 at h = 1 blew up to NaN.
    with pytest.raises(ValueError, match=r"above its stability limit.*`substeps` >= 100"):
        testing.lorenz63(key, 2, 5, dt=10.0, burn_in=5)
    with pytest.raises(ValueError, match=r"`dt / substeps` = 0.11 is above"):
        testing.lorenz63(key, 2, 5, dt=0.11, substeps=1)
    # The paper's single step of 0.1 is inside the limit (RK4 diverges beyond about 0.12).
    assert np.all(np.isfinite(testing.lorenz63(key, 4, 200, dt=0.1, substeps=1, burn_in=0)))
    # Far from the classical parameters the attractor is stiffer than the origin.
    with pytest.raises(ValueError, match="The RK4 integration diverged"):
        testing.lorenz63(key, 20, 2000, dt=0.06, substeps=1, rho=100.0, burn_in=0)
    with pytest.raises(TypeError, match=r"`key` must be a JAX PRNG key, e\.g\. `jax\.random\.key"):
        testing.lorenz63(cast(Any, 0), 2, 5)


def test_empty_batches_and_feature_axes_name_the_argument(key):
    z = _trajectories(key)
    # Before: ZeroDivisionError (integer modulo by zero) from reshape(-1, ...).
    with pytest.raises(ValueError, match=r"`z` needs at least one trajectory \(B >= 1\)"):
        jaxinfo.temporal_infonce_cross_entropy(z[:0])
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="at least one traj"):
        jaxinfo.temporal_infonce_loss(z[:0])
    for similarity in ("cosine", "dot"):
        with pytest.raises(ValueError, match=r"`z` must have at least one feature \(d >= 1\)"):
            jaxinfo.temporal_infonce_cross_entropy(z[..., :0], similarity=cast(Any, similarity))
    with pytest.raises(ValueError, match=r"`latents` must have at least one feature \(d >= 1\)"):
        jaxinfo.effective_dimension(np.zeros((16, 0), np.float32))
    lagrangian = jaxinfo.koopman_information_lagrangian
    with pytest.raises(ValueError, match=r"`states` and `latents` need at least one window"):
        lagrangian(z[:0], z[:0], jnp.eye(3), lambda v: v)
    with pytest.raises(ValueError, match=r"`states` must have at least one feature \(dx >= 1\)"):
        lagrangian(z[..., :0], z, jnp.eye(3), lambda v: v[..., :0])
    with pytest.raises(ValueError, match=r"`latents` must have at least one feature \(d >= 1\)"):
        lagrangian(z, z[..., :0], jnp.eye(0), lambda v: v)


def test_koopman_callables_and_options_are_checked_at_entry(key):
    z = _trajectories(key)
    lagrangian = jaxinfo.koopman_information_lagrangian
    for decode in (None, 3):  # before: "'NoneType' object is not callable"
        with pytest.raises(TypeError, match="`decode` must be a callable mapping latents"):
            lagrangian(z, z, jnp.eye(3), cast(Any, decode))
    with pytest.raises(ValueError, match=r"`decode` must map latents .* got \(1,\)"):
        lagrangian(
            z, z, jnp.eye(3), cast(Any, lambda v: [1.0])
        )  # before: AttributeError (no .shape)
    with pytest.raises(TypeError, match=r"`decode\(latents\)` must be an array of numbers"):
        lagrangian(z, z, jnp.eye(3), cast(Any, lambda v: "x"))

    rngs = nnx.Rngs(0)
    bad_options: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"ridge": "a"}, TypeError, "`ridge` must be a real number"),
        ({"ridge": float("inf")}, ValueError, "`ridge` must be a finite number >= 0"),
        ({"momentum": None}, TypeError, "`momentum` must be a real number"),
        ({"spectral_norm": "no"}, TypeError, "`spectral_norm` must be True or False"),
        ({"activation": None}, TypeError, "`activation` must be a callable"),
        ({"rngs": 0}, TypeError, r"`rngs` must be an `nnx.Rngs`, e.g. `nnx.Rngs\(0\)`"),
    ]
    for options, error, match in bad_options:
        with pytest.raises(error, match=match):
            KoopmanAutoencoder(3, 4, **{"rngs": rngs, "operator": "ridge", **options})
    model = KoopmanAutoencoder(3, 4, hidden=(8,), operator="ridge", rngs=rngs)
    with pytest.raises(TypeError, match="`x` must be an array of numbers"):
        model.encode(cast(Any, "a"))
    with pytest.raises(TypeError, match="`z` must be an array of numbers"):
        model.decode(cast(Any, None))
    with pytest.raises(ValueError, match="`x0` must have 3 features"):
        model.rollout(jnp.ones((2, 5)), 3)
    latents = jax.random.normal(key, (2, 5, 4))
    with pytest.raises(TypeError, match="`latents` must be a floating-point array"):
        model.operator(jnp.ones((2, 5, 4), jnp.int32))
    with pytest.raises(ValueError, match=r"`where` must have shape \[B, T\] = \(2, 5\)"):
        model.operator(latents, where=jnp.ones((5,), bool))  # before: IndexError
    with pytest.raises(ValueError, match=r"`latents` must have T >= 2 steps"):
        model.operator(latents[:, :1])  # before: K = 0, fitted to no pair at all
    with pytest.raises(ValueError, match="at most 1 steps apart"):
        model.operator(latents, where=_mask((2, 5), (0, 0), (1, 1)))


def test_ridge_fit_without_pairs_is_nan_and_keeps_the_average(key):
    latents = jax.random.normal(key, (2, 5, 4))
    no_pairs = _mask((2, 5), (0, 0), (0, 2), (1, 4))
    fit = jax.jit(lambda w: ridge_operator(latents, ridge=0.1, where=w))
    assert np.all(np.isnan(fit(no_pairs))) and np.all(np.isfinite(fit(jnp.ones((2, 5), bool))))
    model = KoopmanAutoencoder(3, 4, hidden=(8,), operator="ridge", rngs=nnx.Rngs(0))
    before = np.asarray(model.operator())
    nnx.jit(lambda m, w: m.operator(latents, where=w))(model, no_pairs)
    np.testing.assert_array_equal(model.operator(), before)
