"""Low-dimensional neighbour search on the host: SciPy's ``cKDTree`` through ``pure_callback``.

At small d a k-d tree finds the k nearest of n points in O(n log n), against the O(n^2)
slab of the blocked search, far faster at large n (benchmarks/README.md, "Design choices").
XLA has no tree, so the search runs on the host and returns
*indices* only. Every distance that enters a value or a gradient is then measured in JAX
from those indices, with the same arithmetic as the slab, so values match the brute-force
route and gradients flow as usual.

- ``jit``: the callback runs inside the compiled program (host round trip; no
  ``jax.export`` serialisation, as for any callback).
- ``vmap``: sequential over the batch (one tree per batch element).
- ``shard_map``: each device builds the tree of the all-gathered columns and queries its own
  rows (the build is O(n log n), repeated per device).
- Accelerators: the rows would cross to the host, so ``method="auto"`` keeps the slab there;
  ``method="tree"`` still works.

SciPy is a dependency of JAX itself, so the route needs no extra install.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import platform

import jax
import jax.numpy as jnp
import numpy as np

from jaxinfo._src import collectives

# Point sets below these sizes keep the slab: there the callback's fixed cost and the tree
# build are comparable to the whole blocked search (the crossovers: benchmarks/README.md,
# "Design choices").
TREE_MIN_ROWS = 2048
TREE_MIN_ROWS_LOW_DIM = 1000  # d <= LOW_DIM
LOW_DIM = 4
# Above this dimension a k-d tree degrades towards a linear scan of every leaf and is slower
# than the slab (benchmarks/README.md, "Design choices").
TREE_MAX_DIM = 8


def tree_pays(dim: int, num_rows: int) -> bool:
    """Whether the tree beats the slab on one CPU thread at this dimension and size."""
    if dim > TREE_MAX_DIM:
        return False
    return num_rows >= (TREE_MIN_ROWS_LOW_DIM if dim <= LOW_DIM else TREE_MIN_ROWS)


@functools.cache
def _libm():
    """The C maths library of glibc (for ``fesetenv``), or ``None`` elsewhere."""
    if platform.system() != "Linux":
        return None
    name = ctypes.util.find_library("m")
    return None if name is None else ctypes.CDLL(name)


@contextlib.contextmanager
def _default_float_environment():
    """The default IEEE environment for SciPy, restored to XLA's on exit.

    XLA runs callbacks with flush-to-zero and denormals-are-zero set. Under them SciPy 1.17's
    balanced ``cKDTree`` build recursed without end (a segmentation fault) on tied data
    (600 points on a 1/4 grid); in the default environment it is fine.
    """
    libm = _libm()
    if libm is None:
        yield
        return
    saved = ctypes.create_string_buffer(256)  # fenv_t is 32 bytes on x86-64 glibc
    libm.fegetenv(saved)
    libm.fesetenv(ctypes.c_void_p(-1))  # FE_DFL_ENV
    try:
        yield
    finally:
        libm.fesetenv(saved)


def _host_tree(points: np.ndarray, valid: np.ndarray):
    """``(tree over the valid rows, their original indices)``; float64, like SciPy's tree.

    The sliding-midpoint build (``balanced_tree=False``) is as fast to query here and did
    not recurse without end where the balanced one did (see
    :func:`_default_float_environment`), for platforms where the environment stays XLA's.
    """
    from scipy.spatial import cKDTree  # pyright: ignore[reportAttributeAccessIssue]  (a JAX dependency)

    points = np.asarray(points, np.float64)
    # SciPy rejects non-finite points; such data has no answer (guards return NaN), so they
    # only need to stay out of the tree
    index = np.flatnonzero(valid & np.all(np.isfinite(points), axis=1))
    return cKDTree(points[index], balanced_tree=False), index


def _finite_queries(rows) -> np.ndarray:
    """Query points with non-finite coordinates set to 0 (their result is discarded)."""
    rows = np.asarray(rows, np.float64)
    return np.where(np.isfinite(rows), rows, 0.0)


def _host_neighbours(rows, cols, valid, row_ids, *, k: int, norm: float, exclude_self: bool):
    """Indices ``[m, k]`` into ``cols`` of each row's k nearest valid columns (-1: none)."""
    tree, index = _host_tree(cols, np.asarray(valid, bool))
    rows = _finite_queries(rows)
    wanted = k + 1 if exclude_self else k
    count = min(wanted, index.size)
    out = np.full((rows.shape[0], wanted), -1, np.int64)
    if count > 0:
        _, found = tree.query(rows, k=count, p=norm)
        found = found.reshape(rows.shape[0], count)
        hit = found < index.size  # SciPy pads missing neighbours with index.size
        out[:, :count] = np.where(hit, index[np.minimum(found, index.size - 1)], -1)
    if exclude_self:
        # drop the row's own entry, or the farthest one when the row is not among its k + 1
        # nearest (more than k + 1 duplicates at distance 0: every kept entry is a tie)
        own = out == np.asarray(row_ids)[:, None]
        drop = np.where(own.any(axis=1), own.argmax(axis=1), wanted - 1)
        keep = np.ones(out.shape, bool)
        keep[np.arange(out.shape[0]), drop] = False
        out = out[keep].reshape(out.shape[0], k)
    return out.astype(np.int32)


def nearest_indices(
    rows: jax.Array,
    cols: jax.Array,
    valid_cols: jax.Array,
    k: int,
    *,
    norm: float = 2.0,
    row_ids: jax.Array | None = None,
) -> jax.Array:
    """Indices ``[m, k]`` of the k nearest valid ``cols`` of each row (``-1`` where fewer).

    ``norm`` is the Minkowski p (2: Euclidean, ``inf``: max-norm). ``row_ids`` (each row's
    own index among ``cols``) excludes the self pair. The order within a row is unspecified;
    the search has no gradient (callers measure distances from the indices).
    """
    exclude_self = row_ids is not None
    ids = jnp.zeros(rows.shape[0], jnp.int32) if row_ids is None else row_ids.astype(jnp.int32)
    result = jax.ShapeDtypeStruct((rows.shape[0], k), jnp.int32)

    def host(rows, cols, valid, ids):
        return _host_neighbours(rows, cols, valid, ids, k=k, norm=norm, exclude_self=exclude_self)

    args = jax.lax.stop_gradient((rows, cols))
    index = jax.pure_callback(host, result, *args, valid_cols, ids, vmap_method="sequential")
    return collectives.varying_like(index, rows)


def strict_radius(radius: np.ndarray, dtype) -> np.ndarray:
    """Largest float64 ``r`` with ``fl(delta) < radius`` exactly when ``delta <= r``.

    The slab compares distances rounded to the inputs' ``dtype`` strictly against the
    radius (KSG's counts); SciPy compares exact float64 distances with ``<=``. For float64
    that is the next float below ``radius``; for float32 it is the midpoint to the next
    float32 below (included when round-half-to-even sends it down). Negative where nothing
    counts (``radius <= 0``).
    """
    radius = np.asarray(radius, np.float64)
    if np.dtype(dtype) == np.float64:
        below = np.nextafter(radius, -np.inf)
    else:
        low = np.asarray(radius, np.float32)
        previous = np.nextafter(low, np.float32(-np.inf)).astype(np.float64)
        middle = 0.5 * (previous + radius)  # exact in float64
        rounds_down = np.asarray(middle, np.float32) == previous.astype(np.float32)
        below = np.where(rounds_down, middle, np.nextafter(middle, -np.inf))
    return np.where(radius > 0, below, -1.0)


def _host_counts(rows, cols, valid, radius, *, dtype):
    tree, _ = _host_tree(cols, np.asarray(valid, bool))
    reach = strict_radius(radius, dtype)
    counts = np.zeros(rows.shape[0], np.int64)
    positive = (reach >= 0) & np.isfinite(reach)
    if positive.any() and tree.n > 0:
        points = _finite_queries(rows)[positive]
        counts[positive] = tree.query_ball_point(
            points, reach[positive], p=np.inf, return_length=True
        )
    return counts.astype(np.int32)


def count_within(
    rows: jax.Array, cols: jax.Array, valid_cols: jax.Array, radius: jax.Array
) -> jax.Array:
    """Per row, the valid ``cols`` at max-norm distance strictly below ``radius`` (self included).

    Distances count as the slab rounds them (see :func:`strict_radius`), so the counts are
    those of the brute-force route.
    """
    result = jax.ShapeDtypeStruct((rows.shape[0],), jnp.int32)
    dtype = np.dtype(rows.dtype)

    def host(rows, cols, valid, radius):
        with _default_float_environment():
            return _host_counts(rows, cols, valid, radius, dtype=dtype)

    args = jax.lax.stop_gradient((rows, cols, radius))
    counts = jax.pure_callback(
        host, result, *args[:2], valid_cols, args[2], vmap_method="sequential"
    )
    return collectives.varying_like(counts, rows)
