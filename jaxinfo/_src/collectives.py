"""The only module that talks to devices: gathers, sums and reshards.

Collective APIs move between JAX releases; keeping them here means one place to adapt.
Convention: with ``axis_name`` set, we are inside ``shard_map`` over the sample axis and each
device holds a shard of the rows; without it, arrays are global (possibly sharded by ``jit``).
"""

from __future__ import annotations

from typing import overload

import jax
import jax.flatten_util
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec

from jaxinfo._src import validation


@overload
def gather_rows(x: jax.Array, axis_name: str | None) -> jax.Array: ...


@overload
def gather_rows(x: None, axis_name: str | None) -> None: ...


def gather_rows(x: jax.Array | None, axis_name: str | None) -> jax.Array | None:
    """All rows of a row-sharded array, identical (invariant) on every device.

    Without ``axis_name`` the array is already global; it is replicated if it carries an
    explicit sharding, because all-pairs code cannot shard both sides of an ``[n, n]`` matrix
    on the same mesh axis. The all-gather transposes to a reduce-scatter, so gradients with
    respect to each device's shard are the global gradient's rows, under ``shard_map`` and
    under ``jax.pmap`` alike.
    """
    if x is None:
        return None
    if axis_name is None:
        return replicate(x)
    validation.check_axis_name(axis_name)
    if not _tracks_varying_types(axis_name):
        # jax.pmap (or shard_map with check_vma=False): the rows differ per device without
        # a type saying so. A plain all-gather, whose transpose sums every device's cotangent
        # (the invariant rule transposes to a slice and would drop the other devices' terms).
        return jax.lax.all_gather(x, axis_name, axis=0, tiled=True)
    return jax.lax.all_gather(x, axis_name, axis=0, tiled=True, to="invarying")


def _tracks_varying_types(axis_name: str) -> bool:
    """Whether the mapped axis types values as varying (``shard_map``'s default checks).

    ``axis_index`` is varying wherever the types are tracked; under ``jax.pmap`` and
    ``shard_map(check_vma=False)`` it carries no varying axis.
    """
    axis_type = getattr(jax.typeof(jax.lax.axis_index(axis_name)), "manual_axis_type", None)
    varying = getattr(axis_type, "varying", None)
    return varying is None or axis_name in varying


def varying_like(value: jax.Array, reference: jax.Array) -> jax.Array:
    """``value`` typed as varying over the mesh axes ``reference`` varies over.

    A ``pure_callback`` result is typed invariant inside ``shard_map`` even when computed
    from this device's rows; left so, the transpose of an op on it (a gather by its
    indices) would sum every device's cotangent into one.
    """

    def varying(x):
        return getattr(getattr(jax.typeof(x), "manual_axis_type", None), "varying", frozenset())

    missing = tuple(sorted(varying(reference) - varying(value)))
    return jax.lax.pcast(value, missing, to="varying") if missing else value


def global_row_ids(num_local_rows: int, axis_name: str | None) -> jax.Array:
    """Global indices of this device's rows (rows are sharded in contiguous blocks)."""
    ids = jnp.arange(num_local_rows)
    if axis_name is None:
        return ids
    validation.check_axis_name(axis_name)
    return ids + jax.lax.axis_index(axis_name).astype(ids.dtype) * num_local_rows


def local_rows(x: jax.Array, axis_name: str | None) -> jax.Array:
    """This device's contiguous block of the rows of a global (replicated) array.

    The inverse of :func:`gather_rows`: rows are split in equal contiguous blocks in device
    order, as ``shard_map`` splits them. Identity without ``axis_name``.
    """
    if axis_name is None:
        return x
    size = axis_size(axis_name)
    count = x.shape[0] // size
    start = jax.lax.axis_index(axis_name) * count
    return jax.lax.dynamic_slice_in_dim(x, start, count, axis=0)


def axis_size(axis_name: str | None) -> int:
    """Number of devices along ``axis_name`` (1 when not sharded); static at trace time."""
    if axis_name is None:
        return 1
    validation.check_axis_name(axis_name)
    return int(jax.lax.axis_size(axis_name))


def psum(value: jax.Array, axis_name: str | None) -> jax.Array:
    """Sums per-device partial results (identity when not sharded)."""
    if axis_name is None:
        return value
    validation.check_axis_name(axis_name)
    return jax.lax.psum(value, axis_name)


def logsumexp(value: jax.Array, axis_name: str | None) -> jax.Array:
    """``log sum_devices exp(value)`` elementwise, stable (identity when not sharded)."""
    if axis_name is None:
        return value
    validation.check_axis_name(axis_name)
    top = jax.lax.pmax(jax.lax.stop_gradient(value), axis_name)
    return top + jnp.log(jax.lax.psum(jnp.exp(value - top), axis_name))


def psum_tree(tree, axis_name: str | None):
    """:func:`psum` of every leaf of a pytree of partial sums, as one stacked collective."""
    if axis_name is None:
        return tree
    flat, unravel = jax.flatten_util.ravel_pytree(tree)
    return unravel(psum(flat, axis_name))


def logsumexp_tree(tree, axis_name: str | None):
    """:func:`logsumexp` of every leaf of a pytree of log-sums, as one stacked collective."""
    if axis_name is None:
        return tree
    flat, unravel = jax.flatten_util.ravel_pytree(tree)
    return unravel(logsumexp(flat, axis_name))


def replicate(x: jax.Array) -> jax.Array:
    """Reshards ``x`` to fully replicated when it is sharded along explicit mesh axes.

    Under ``Auto`` mesh axes (or no mesh) this is a no-op and the compiler inserts whatever
    communication it needs.
    """
    sharding = getattr(jax.typeof(x), "sharding", None)
    spec = getattr(sharding, "spec", None)
    if not spec or all(entry is None for entry in spec):
        return x
    mesh = getattr(sharding, "mesh", None)
    axis_types = getattr(mesh, "axis_types", ())
    if mesh is None or not any(str(t).endswith("Explicit") for t in axis_types):
        return x
    return jax.sharding.reshard(x, NamedSharding(mesh, PartitionSpec()))
