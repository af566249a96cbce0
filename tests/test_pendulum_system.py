"""The simple pendulum of jaxinfo.testing: shapes, energy, a reference solve, the period."""

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinfo import testing

G, L = 9.81, 1.0
# One shape for the float64 runs: jax.jit compiles one program per shape and observation.
N, T = 64, 300


def _energy(states, gravity=G, length=L):
    """Energy per unit mass from cartesian states ``[cos, sin, theta']``."""
    states = np.asarray(states)
    return 0.5 * length**2 * states[..., 2] ** 2 - gravity * length * states[..., 0]


def test_shapes_dtypes_and_observations(key):
    cartesian = testing.pendulum(key, 3, 20)
    assert cartesian.shape == (3, 20, 3) and cartesian.dtype == jnp.zeros(()).dtype
    np.testing.assert_allclose(cartesian[..., 0] ** 2 + cartesian[..., 1] ** 2, 1.0, atol=1e-6)
    angle = testing.pendulum(key, 3, 20, observation="angle")
    assert angle.shape == (3, 20, 2)
    assert np.all(angle[..., 0] > -np.pi) and np.all(angle[..., 0] <= np.pi)
    # The same trajectories, seen two ways.
    np.testing.assert_allclose(jnp.cos(angle[..., 0]), cartesian[..., 0], atol=1e-5)
    np.testing.assert_allclose(angle[..., 1], cartesian[..., 2])
    assert testing.pendulum(key, 1, 1).shape == (1, 1, 3)


def test_energy_is_conserved_and_covers_libration_and_rotation(x64):
    states = testing.pendulum(jax.random.key(3), N, T)  # 30 s, about 15 small periods
    assert states.dtype == jnp.float64
    energy = _energy(states)
    drift = np.max(np.abs(energy - energy[:, :1]))
    assert drift < 1e-6 * G * L, drift
    # Default max_energy = 3 g l: energies uniform on [-g l, 3 g l], half of them rotate.
    start = energy[:, 0]
    assert start.min() >= -G * L and start.max() <= 3 * G * L
    assert 16 < np.sum(start > G * L) < 48
    angle = testing.pendulum(jax.random.key(3), N, T, observation="angle")
    rotating = start > G * L
    swept = np.ptp(np.unwrap(np.asarray(angle[..., 0]), axis=1), axis=1)
    assert np.all(swept[rotating] > 2 * np.pi) and np.all(swept[~rotating] < 2 * np.pi)


def test_max_energy_below_the_separatrix_only_librates(x64):
    states = testing.pendulum(jax.random.key(1), N, T, max_energy=0.5 * G * L)
    # E <= g l / 2 keeps cos(theta) >= -1/2: the pendulum never rises past 120 degrees.
    assert np.all(np.asarray(states[..., 0]) >= -0.5 - 1e-9)


def test_damping_dissipates_energy(x64):
    energy = _energy(testing.pendulum(jax.random.key(2), N, T, damping=0.3))
    assert np.all(np.diff(energy, axis=1) <= 1e-9)
    # Near the bottom E + g l decays like exp(-damping t): 30 s at 0.3 leaves about 1e-4.
    assert np.all(energy[:, -1] + G * L < 1e-2 * (energy[:, 0] + G * L))


def test_matches_a_scipy_solve(x64):
    integrate = pytest.importorskip("scipy.integrate")
    gravity, length, damping = 9.81, 0.7, 0.1
    path = testing.pendulum(
        jax.random.key(5), N, T, gravity=gravity, length=length, damping=damping
    )
    states = np.asarray(path[0, :101])
    start = [math.atan2(states[0, 1], states[0, 0]), states[0, 2]]

    def pendulum(_, s):
        return [s[1], -gravity / length * math.sin(s[0]) - damping * s[1]]

    solution = integrate.solve_ivp(
        pendulum,
        (0.0, 10.0 + 1e-9),
        start,
        t_eval=np.arange(101) * 0.1,
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
    )
    theta, velocity = solution.y
    reference = np.stack([np.cos(theta), np.sin(theta), velocity], axis=-1)
    # RK4 at h = 0.01 is off by about 1e-6 after 10 s (a fast rotation); DOP853 by far less.
    np.testing.assert_allclose(states, reference, atol=1e-5)


def test_small_amplitude_period(x64):
    gravity, length = 9.81, 2.0
    # Energies within 1e-4 g l of the bottom: amplitudes below 0.015 rad.
    states = testing.pendulum(
        jax.random.key(0),
        N,
        T,
        dt=0.05,
        gravity=gravity,
        length=length,
        max_energy=-gravity * length * (1 - 1e-4),
        observation="angle",
    )
    expected = 2 * np.pi * math.sqrt(length / gravity)
    for theta in np.asarray(states[:4, :, 0]):  # 15 s, 5 periods
        up = np.flatnonzero((theta[:-1] < 0) & (theta[1:] >= 0))
        crossings = (up - theta[up] / (theta[up + 1] - theta[up])) * 0.05
        period = np.mean(np.diff(crossings))
        assert abs(period / expected - 1) < 0.01, (period, expected)


def test_steps_up_to_the_stability_limit_stay_finite(key):
    # 2.6 / r with r = (c + sqrt(c^2 + 4 g / l)) / 2; c = 3 puts the bottom's eigenvalues
    # near 120 degrees, where RK4's stability region is narrowest.
    for damping in (0.0, 3.0):
        rate = 0.5 * (damping + math.sqrt(damping**2 + 4 * G / L))
        states = testing.pendulum(key, 8, 500, dt=0.999 * 2.6 / rate, substeps=1, damping=damping)
        assert np.all(np.isfinite(states))
    with pytest.raises(ValueError, match=r"`dt / substeps` = 1 is above.*`substeps` >= 2"):
        testing.pendulum(key, 2, 5, dt=1.0, substeps=1)
    with pytest.raises(ValueError, match=r"`dt / substeps`"):
        testing.pendulum(key, 2, 5, dt=0.2, substeps=1, gravity=400.0)


def test_bad_arguments_name_the_argument(key):
    with pytest.raises(TypeError, match=r"`key` must be a JAX PRNG key"):
        testing.pendulum(cast(Any, 0), 2, 5)
    with pytest.raises(ValueError, match="`num_steps`"):
        testing.pendulum(key, 2, 0)
    with pytest.raises(ValueError, match="`num_trajectories`"):
        testing.pendulum(key, 0, 5)
    with pytest.raises(ValueError, match="`observation` must be one of"):
        testing.pendulum(key, 2, 5, observation=cast(Any, "polar"))
    with pytest.raises(ValueError, match="`gravity`"):
        testing.pendulum(key, 2, 5, gravity=0.0)
    with pytest.raises(ValueError, match="`length`"):
        testing.pendulum(key, 2, 5, length=-1.0)
    with pytest.raises(ValueError, match="`damping`"):
        testing.pendulum(key, 2, 5, damping=-0.1)
    with pytest.raises(ValueError, match="`max_energy`.*-gravity \\* length"):
        testing.pendulum(key, 2, 5, max_energy=-G * L)
    with pytest.raises(ValueError, match="`dt`"):
        testing.pendulum(key, 2, 5, dt=0.0)
