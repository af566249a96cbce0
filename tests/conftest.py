"""Test configuration: 8 host devices, strict dtype promotion, PRNG and x64 fixtures."""

import os

# One BLAS/LAPACK thread per process. The eigensolvers behind XLA's CPU linalg run in
# OpenBLAS; with its default of one thread per core, two xdist workers (and 8 fake devices
# each solving in parallel under shard_map) oversubscribe the CI machine's 2 cores: the
# diffusion and trust tests took 427 CPU-s with it and 238 without. Must precede NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

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
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops JAX's compilation caches after each test module.

    An xdist worker otherwise keeps every program it ever compiled (thousands), with their
    JIT-loaded code. In 2 of 3 full runs on 2026-12-06 a worker then segfaulted inside XLA's
    CPU ``backend_compile_and_load`` in a test that passes alone (6 of 6 runs); the crash
    follows the worker's history, not the program. Releasing the programs between modules
    keeps each worker's JIT state that of a short run (few programs are shared across
    modules, so little is compiled twice).
    """
    yield
    jax.clear_caches()
