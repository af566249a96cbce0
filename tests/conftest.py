"""Test configuration: 8 host devices, strict dtype promotion, PRNG and x64 fixtures."""

import os

# Must happen before JAX initialises its backend so the sharding tests see 8 devices.
# The test programs are tiny and compile-bound: skipping LLVM's expensive optimisation
# passes cuts the run by about a fifth (runtime speed is irrelevant at n = 16).
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_force_host_platform_device_count=8"
    + " --xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
).strip()

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def x64():
    """Runs the test with float64 enabled, restoring the previous setting afterwards."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)
