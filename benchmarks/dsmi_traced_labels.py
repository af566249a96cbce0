"""DSMI under jax.jit with traced labels (no max_class_size) against the eager concrete-label call.

n = 500, 5 classes, d = 10; one thread. Prints (value, first-call seconds, median warm seconds).
Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dsmi_traced_labels.py [x64]``
"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo._src.bench import timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

if len(sys.argv) > 1:
    jax.config.update("jax_enable_x64", True)
n, C = 500, 5
rng = np.random.default_rng(0)
labels = jnp.asarray(rng.integers(0, C, n), jnp.int32)
x = jnp.asarray(
    rng.normal(size=(n, 10)) + 2.0 * np.eye(10)[np.asarray(labels)],
    jnp.float64 if len(sys.argv) > 1 else jnp.float32,
)
key = jax.random.key(1)


def f(x, classes):
    return jaxinfo.diffusion_spectral_mutual_information(
        x, classes, num_classes=C, key=key, bandwidth=3.0
    )


def timeit(fn, *a):
    t = time.perf_counter()
    v = jax.block_until_ready(fn(*a))
    first = time.perf_counter() - t
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        jax.block_until_ready(fn(*a))
        ts.append(time.perf_counter() - t)
    return float(v), first, sorted(ts)[1]


print("eager", timeit(f, x, labels))
print("jit traced", timeit(jax.jit(f), x, labels))
g = jax.jit(jax.grad(f))
print("grad finite", bool(jnp.all(jnp.isfinite(g(x, labels)))))
