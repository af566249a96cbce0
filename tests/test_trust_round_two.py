"""Issue 24 (trust, round two): each wrong number or raw error, reproduced and fixed."""

from typing import Any, cast

import jax
import jax.numpy as jnp
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
