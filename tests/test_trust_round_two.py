"""Issue 24 (trust, round two): each wrong number or raw error, reproduced and fixed."""

import inspect
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo


def _xy():
    keys = jax.random.split(jax.random.key(0), 2)
    return jax.random.normal(keys[0], (16, 3)), jax.random.normal(keys[1], (16, 3))


@pytest.mark.parametrize("value", ["yes", 1, None, jnp.array(True)])
def test_a_switch_is_a_bool_not_a_truthy_value(value):
    x, y = _xy()
    with pytest.raises(TypeError, match="`normalized` must be True or False"):
        jaxinfo.cauchy_schwarz_mutual_information(x, y, normalized=cast(Any, value))
    logits, labels = jnp.zeros((16, 2)), jnp.arange(16) % 2
    with pytest.raises(TypeError, match="`squared` must be True or False"):
        jaxinfo.nonlinear_information_bottleneck_loss(
            logits, labels, x, beta=0.1, squared=cast(Any, value)
        )


def test_bottleneck_inputs_must_hold_the_logits_rows():
    x, _ = _xy()
    logits, labels = jnp.zeros((16, 2)), jnp.arange(16) % 2
    with pytest.raises(ValueError, match=r"`t` must have one row per row of `logits` \(16"):
        jaxinfo.nonlinear_information_bottleneck_loss(logits, labels, x[:15], beta=0.1)
    with pytest.raises(ValueError, match=r"`t` must have one row per row of `logits`"):
        jaxinfo.matrix_information_bottleneck_loss(logits, labels, x, x[:15], beta=0.1)
    with pytest.raises(ValueError, match=r"`x` must have one row per row of `logits`"):
        jaxinfo.matrix_information_bottleneck_loss(logits, labels, x[:15], x[:15], beta=0.1)
    with pytest.raises(ValueError, match=r"`mean` must have one row per row of `logits`"):
        jaxinfo.variational_information_bottleneck_loss(logits, labels, x[:15], x[:15], beta=0.1)
    # The same rows still give the loss (the check refuses only a mismatch).
    loss, aux = jaxinfo.nonlinear_information_bottleneck_loss(logits, labels, x, beta=0.1)
    assert jnp.isfinite(loss) and jnp.isfinite(aux["compression"])


# --- axis_name outside shard_map: every public function, named ---------------------------


def _axis_calls():
    """Public functions with ``axis_name`` that the registry battery does not call directly."""
    x, _ = _xy()
    logits, labels = jnp.zeros((16, 2)), jnp.arange(16) % 2
    windows = x.reshape(2, 8, 3)
    return {
        "mine_estimate": lambda a: jaxinfo.mine_estimate(
            x @ x.T, jaxinfo.mine_initial_state(), axis_name=a
        ),
        "temporal_infonce_cross_entropy": lambda a: jaxinfo.temporal_infonce_cross_entropy(
            windows, axis_name=a
        ),
        "koopman_information_lagrangian": lambda a: jaxinfo.koopman_information_lagrangian(
            windows, windows, jnp.eye(3), lambda z: z, window=2, axis_name=a
        ),
        "plugin_entropy": lambda a: jaxinfo.plugin_entropy(labels, num_classes=2, axis_name=a),
        "miller_madow_entropy": lambda a: jaxinfo.miller_madow_entropy(
            labels, num_classes=2, axis_name=a
        ),
        "grassberger_entropy": lambda a: jaxinfo.grassberger_entropy(
            labels, num_classes=2, axis_name=a
        ),
        "chao_shen_entropy": lambda a: jaxinfo.chao_shen_entropy(
            labels, num_classes=2, axis_name=a
        ),
        "mutual_information": lambda a: jaxinfo.mutual_information(x, x, axis_name=a),
        "entropy": lambda a: jaxinfo.entropy(x, axis_name=a),
        "conditional_mutual_information": lambda a: jaxinfo.conditional_mutual_information(
            x[:, :1], x[:, 1:2], x[:, 2:], axis_name=a
        ),
        "discrete_mutual_information": lambda a: jaxinfo.discrete_mutual_information(
            labels, labels, num_x=2, num_y=2, axis_name=a
        ),
        "ross_mutual_information": lambda a: jaxinfo.ross_mutual_information(
            x, labels, axis_name=a
        ),
        "mixed_ksg_mutual_information": lambda a: jaxinfo.mixed_ksg_mutual_information(
            x, x, axis_name=a
        ),
        "variational_information_bottleneck_loss": lambda a: (
            jaxinfo.variational_information_bottleneck_loss(
                logits, labels, x, x, beta=0.1, axis_name=a
            )
        ),
        "nonlinear_information_bottleneck_loss": lambda a: (
            jaxinfo.nonlinear_information_bottleneck_loss(logits, labels, x, beta=0.1, axis_name=a)
        ),
        "matrix_information_bottleneck_loss": lambda a: jaxinfo.matrix_information_bottleneck_loss(
            logits, labels, x, x, beta=0.1, axis_name=a
        ),
        "cauchy_schwarz_information_bottleneck_loss": lambda a: (
            jaxinfo.cauchy_schwarz_information_bottleneck_loss(
                x, x[:, 0], x[:, 1], x, beta=0.1, axis_name=a
            )
        ),
        "diffusion_spectral_mutual_information": lambda a: (
            jaxinfo.diffusion_spectral_mutual_information(
                x, labels, num_classes=2, key=jax.random.key(1), axis_name=a
            )
        ),
        # time windows under axis_name: the registry entries run without it
        "gaussian_transfer_entropy": lambda a: jaxinfo.gaussian_transfer_entropy(
            x[:, :1], x[:, 1:], axis_name=a
        ),
        "gaussian_copula_transfer_entropy": lambda a: jaxinfo.gaussian_copula_transfer_entropy(
            x[:, :1], x[:, 1:], axis_name=a
        ),
        "ksg_transfer_entropy": lambda a: jaxinfo.ksg_transfer_entropy(
            x[:, :1], x[:, 1:], axis_name=a
        ),
        "dual_total_correlation": lambda a: jaxinfo.dual_total_correlation(
            x[:, :1], x[:, 1:], axis_name=a
        ),
        "multiplet_information": lambda a: jaxinfo.multiplet_information(x, order=3, axis_name=a),
    }


def test_every_public_axis_name_is_checked_by_the_battery_or_here():
    from registry import ENTRIES

    covered = {e.name.split("[")[0] for e in ENTRIES if e.passes_arrays_through} | {
        "infonce_lower_bound",  # BOUNDS in tests/test_bad_inputs.py
        "nwj_lower_bound",
        "donsker_varadhan_estimate",
        "smile_estimate",
        "jensen_shannon_objective",
        "club_estimate",  # UPPER_BOUNDS in tests/test_upper_bounds.py
        "l1out_estimate",
    }
    public = {
        name
        for name in jaxinfo.__all__
        if callable(getattr(jaxinfo, name))
        and "axis_name" in inspect.signature(getattr(jaxinfo, name)).parameters
    }
    assert public - covered <= set(_axis_calls()), public - covered - set(_axis_calls())


@pytest.mark.parametrize("name", sorted(_axis_calls()))
def test_an_unbound_axis_name_is_a_value_error_naming_it(name):
    call = _axis_calls()[name]
    call(None)  # the call itself is valid
    with pytest.raises(ValueError, match=r"`axis_name`='rows' names no mapped axis"):
        call("rows")


# --- Integer PRNG keys: every public `key` argument refuses a seed, naming the fix -------


def _public_key_arguments() -> set[str]:
    """Public callables (jaxinfo, jaxinfo.nn, jaxinfo.testing) taking a ``key`` argument."""
    import inspect

    from jaxinfo import nn, testing

    found = set()
    for module in (jaxinfo, nn, testing):
        for name in module.__all__:
            obj = getattr(module, name)
            try:
                parameters = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if "key" in parameters:
                found.add(name)
    return found


def _keyed_calls():
    from jaxinfo import testing

    x = jax.random.normal(jax.random.key(0), (16, 3))
    labels = jnp.arange(16) % 2
    return {
        "StochasticLanczos": lambda key: jaxinfo.StochasticLanczos(key),
        "diffusion_spectral_mutual_information": lambda key: (
            jaxinfo.diffusion_spectral_mutual_information(x, labels, num_classes=2, key=key)
        ),
        "lorenz63": lambda key: testing.lorenz63(key, 2, 5),
        "pendulum": lambda key: testing.pendulum(key, 2, 5),
        "confidence_interval": lambda key: jaxinfo.confidence_interval(
            jaxinfo.gaussian_entropy, x, key=key, num_resamples=2
        ),
        "permutation_test": lambda key: jaxinfo.permutation_test(
            jaxinfo.gaussian_mutual_information, x, x, key=key, num_permutations=2
        ),
        "Task.sample": lambda key: testing.correlated_gaussians().sample(key, 8),
        "dime": lambda key: jaxinfo.dime(x, x, key=key, num_permutations=2),
        "add_layer_noise": lambda key: jaxinfo.add_layer_noise(x, 0.1, key=key),
        "information_plane": lambda key: jaxinfo.information_plane(x, labels, [x[None]], key=key),
        "autoencoder_compress": lambda key: jaxinfo.nn.autoencoder_compress(x, 1, key=key, steps=2),
    }


def test_every_public_key_argument_is_in_the_integer_key_battery():
    assert _public_key_arguments() <= set(_keyed_calls())


@pytest.mark.parametrize("name", sorted(_keyed_calls()))
@pytest.mark.parametrize("seed", [0, 7, 1.5, "0"])
def test_an_integer_seed_is_refused_naming_the_key_argument(name, seed):
    call = _keyed_calls()[name]
    with pytest.raises(
        TypeError, match=r"`key` must be a JAX PRNG key, e\.g\. `jax\.random\.key\(0\)`"
    ):
        call(seed)
    call(jax.random.key(1))  # a key works


@pytest.mark.parametrize("axis_name", [3, True, 2.5, ("rows", 1)])
def test_an_axis_name_that_is_not_a_name_is_a_type_error(axis_name):
    x, _ = _xy()
    with pytest.raises(TypeError, match=r"`axis_name` must be the name \(a str\)"):
        jaxinfo.knn_entropy(x, axis_name=cast(Any, axis_name))
    with pytest.raises(TypeError, match=r"`axis_name` must be the name \(a str\)"):
        jaxinfo.infonce_lower_bound(x @ x.T, axis_name=cast(Any, axis_name))


def test_a_traced_option_must_be_a_scalar_naming_it():
    """Under jit the value of ``bandwidth`` is unknown, but not its shape: [3] is refused."""
    x, _ = _xy()
    with pytest.raises(TypeError, match=r"`bandwidth` must be a real scalar number; got an array"):
        jax.jit(lambda s: jaxinfo.kde_entropy(x, bandwidth=s))(jnp.ones(3))
    with pytest.raises(TypeError, match=r"`shrinkage` must be a real scalar number; got an array"):
        jax.jit(lambda s: jaxinfo.gaussian_entropy(x, shrinkage=s))(jnp.full(2, 0.1))
    assert np.isfinite(jax.jit(lambda s: jaxinfo.kde_entropy(x, bandwidth=s))(0.5))


def test_an_array_for_a_static_int_option_is_described_not_called_a_tracer():
    """Eager calls compile as one program, so an array option arrives traced."""
    x, _ = _xy()
    with pytest.raises(TypeError, match=r"`k` must be a Python int; got an array of shape \(3,\)"):
        jaxinfo.knn_entropy(x, k=cast(Any, jnp.arange(3)))
