"""Eager public calls run as one compiled program (jaxinfo/_src/programs.py)."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo import kernels


@pytest.fixture
def compiles():
    """Names of the XLA compilations that happen while the test body runs."""
    events: list[str] = []

    def listener(event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _data(n=48, seed=0, noisy=False):
    x = jax.random.normal(jax.random.key(seed), (n, 3))
    y = jnp.tanh(x[:, :2]) + 0.1
    if noisy:  # y a monotone function of x has identical ranks: copula MI +inf
        y = y + 0.5 * x[:, 2:]
    return jax.block_until_ready((x, y))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: jaxinfo.gaussian_copula_mutual_information(x, y, base=2.0),
        lambda x, y: jaxinfo.cauchy_schwarz_mutual_information(x, y),
        lambda x, y: jaxinfo.diffusion_spectral_entropy(x, bandwidth="median"),
    ],
    ids=["copula", "cs-qmi", "dse"],
)
def test_a_first_eager_call_compiles_once_and_the_next_not_at_all(call, compiles):
    x, y = _data(noisy=True)
    x2, y2 = _data(seed=1, noisy=True)
    compiles.clear()
    first = call(x, y)
    assert len(compiles) == 1  # before: 44-99 single-operation programs
    compiles.clear()
    second = call(x2, y2)
    assert compiles == []
    assert first.dtype == jnp.float32 and np.isfinite(first) and np.isfinite(second)


def test_eager_equals_the_uncompiled_function_and_jit():
    x, y = _data()
    raw = inspect.unwrap(jaxinfo.gaussian_mutual_information)
    eager = jaxinfo.gaussian_mutual_information(x, y, shrinkage=0.1)
    np.testing.assert_allclose(eager, raw(x, y, shrinkage=0.1), rtol=1e-6)
    jitted = jax.jit(lambda a, b: jaxinfo.gaussian_mutual_information(a, b, shrinkage=0.1))
    np.testing.assert_allclose(eager, jitted(x, y), rtol=1e-6)


def test_static_options_of_equal_value_but_other_type_do_not_share_a_program():
    x, y = _data()
    true = jaxinfo.cauchy_schwarz_mutual_information(x, y, normalized=True)
    one = inspect.unwrap(jaxinfo.cauchy_schwarz_mutual_information)(x, y, normalized=True)
    assert true == one
    assert jaxinfo.cauchy_schwarz_mutual_information(x, y, normalized=False) != true


def test_concrete_input_errors_still_raise_eagerly():
    x, y = _data()
    one_row = jnp.arange(48) == 0
    with pytest.raises(ValueError, match="at least 2"):
        jaxinfo.gaussian_mutual_information(x, y, where=one_row)
    with pytest.raises(ValueError, match=r"`labels` must lie in \[0, num_classes\)"):
        jaxinfo.plugin_entropy(jnp.full(48, 7, jnp.int32), num_classes=4)
    logits = jax.random.normal(jax.random.key(2), (48, 3))
    with pytest.raises(ValueError, match=r"`labels` must lie in \[0, 3\)"):
        jaxinfo.nonlinear_information_bottleneck_loss(
            logits, jnp.full(48, 5, jnp.int32), x, beta=0.1
        )
    # A traced bad value keeps its NaN (no eager re-run inside a transformation).
    traced = jax.jit(lambda labels: jaxinfo.plugin_entropy(labels, num_classes=4))
    assert np.isnan(traced(jnp.full(48, 7, jnp.int32)))


def test_nan_data_give_nan_eagerly():
    x, y = _data()
    assert np.isnan(jaxinfo.gaussian_mutual_information(x.at[3, 1].set(jnp.nan), y))


def test_transformations_see_the_plain_function():
    x, y = _data()
    kernel = kernels.Gaussian(1.0)
    grad = jax.grad(lambda a: jaxinfo.cauchy_schwarz_divergence(a, 0.5 * a + 1.0, kernel=kernel))
    assert np.all(np.isfinite(grad(x)))
    batched = jax.vmap(lambda a: jaxinfo.knn_entropy(a, k=3))(jnp.stack([x, 2.0 * x]))
    np.testing.assert_allclose(batched[1] - batched[0], 3 * np.log(2.0), rtol=1e-5)
