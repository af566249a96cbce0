"""Sorting for the rank and 1-D neighbour routes: NumPy's sort on CPU, XLA's elsewhere.

XLA's CPU sort is about ten times slower than NumPy's (one thread, 5000 values: 0.69 ms
against 0.06 ms; 3 columns: 2.3 ms against 0.19 ms; benchmarks/README.md, "Design choices"),
and it dominated the Gaussian-copula ranks, Ross's MI and the 1-D sorted searches. On the
CPU backend, sorts of at least :data:`HOST_SORT_MIN_ROWS` rows therefore run on the host
through ``pure_callback`` (as the k-d trees of :mod:`trees` do); on accelerators they stay in
XLA. Both give the same order up to the order of equal keys, which no caller depends on
(each only reads sorted values, or indices of equal keys interchangeably). The keys carry no
gradient (``stop_gradient``): the callers use orders and sorted keys for comparisons and
counts only.

- ``jit``: the callback runs inside the compiled program.
- ``vmap``: one callback for the whole batch (NumPy sorts the batched array along its axis).
- ``shard_map``: each device sorts what it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxinfo._src import collectives

# Below this many rows XLA's sort is as fast as a host round trip, and a program with
# several callbacks pays each one's fixed cost (Ross at n = 500: 0.43 ms in XLA, 1.2 ms with
# three host sorts; a lone sort crosses over near 500 rows).
HOST_SORT_MIN_ROWS = 1024


def _on_host() -> bool:
    return jax.default_backend() == "cpu"


def sort_columns(values: jax.Array) -> jax.Array:
    """``values [..., n, d]`` sorted along the rows (``axis=-2``), each column on its own.

    NaN sorts last, as in :func:`jax.numpy.sort`.
    """
    values = jax.lax.stop_gradient(values)
    if values.shape[-2] < HOST_SORT_MIN_ROWS or not _on_host():
        return jnp.sort(values, axis=-2)

    def host(v):
        return np.sort(np.asarray(v), axis=-2)

    result = jax.ShapeDtypeStruct(values.shape, values.dtype)
    ordered = jax.pure_callback(host, result, values, vmap_method="expand_dims")
    return collectives.varying_like(ordered, values)


def sorting_order(keys: Sequence[jax.Array]) -> jax.Array:
    """The int32 permutation ``[n]`` that sorts rows by ``keys[0]``, then ``keys[1]``, ...

    Every key is ``[..., n]`` with the same shape. Stable (equal keys keep their order), on
    the host as in XLA.
    """
    keys = tuple(jax.lax.stop_gradient(k) for k in keys)
    shape = keys[0].shape
    if shape[-1] < HOST_SORT_MIN_ROWS or not _on_host():
        ids = jax.lax.broadcasted_iota(jnp.int32, shape, len(shape) - 1)
        return jax.lax.sort((*keys, ids), dimension=len(shape) - 1, num_keys=len(keys))[-1]

    def host(*k):
        k = np.broadcast_arrays(*(np.asarray(a) for a in k))
        if len(k) == 1:
            return np.argsort(k[0], axis=-1, kind="stable").astype(np.int32)
        return np.lexsort(k[::-1], axis=-1).astype(np.int32)  # lexsort: last key primary

    result = jax.ShapeDtypeStruct(shape, jnp.int32)
    order = jax.pure_callback(host, result, *keys, vmap_method="broadcast_all")
    for key in keys:
        order = collectives.varying_like(order, key)
    return order
