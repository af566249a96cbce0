"""The sample geometry: every blocked, all-pairs reduction in jaxinfo runs through here.

A :class:`Samples` owns what the O(n^2) families share (the role of ott-jax's ``PointCloud``):

- the rows, all-gathered across devices with ``axis_name`` (each device then reduces only its
  own rows against every row, and no ``[n, n]`` matrix ever crosses devices);
- the row mask as 0/1 weights, and the global row ids that give self-pairs their exact
  ``k(x, x)``;
- the block-size policy (:func:`block_rows`): ``block_size=None`` picks the number of rows
  per block from :data:`TEMP_MEMORY_BUDGET_BYTES`, so a default call never materialises a
  slab that does not fit; an explicit int wins;
- remat of each block (``jax.checkpoint``), without which the backward pass stores every slab;
- the combine: partial sums are a pytree (named tuples), added (or log-sum-exp'd) over blocks
  with ``tree_map`` and across devices with one collective.

Families write a block function ``fn(block: Block) -> pytree of partial sums`` and call
:meth:`Samples.reduce`; they never write the loop, the padding or the collective.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxinfo._src import collectives, numerics, validation

# Bytes of [block, columns] temporaries a blocked reduction may keep alive (value and gradient).
TEMP_MEMORY_BUDGET_BYTES = 256 * 2**20
# Live [block, columns] slabs budgeted per Gram a block builds. Measured on compiled value and
# gradient programs (tests/test_samples.py, benchmarks/memory.py): 2 to 3.1 slabs per Gram
# (the matmul output, the softmax weights of the backward pass and, with exact self-pairs,
# one select); 4 leaves headroom.
SLABS_PER_BLOCK = 4
# Rows per block are a multiple of this (whole SIMD/tile rows) and never fewer.
BLOCK_ROW_MULTIPLE = 8
# On CPU, slabs that stay in cache are faster than the largest that fit in memory: with one
# thread, 512-row blocks against whole matrices are 4.6x faster for the CS divergence at
# n = 4096 and 1.5x / 3.7x for kNN / KDE entropy at n = 5000 (benchmarks/README.md).
CPU_MAX_BLOCK_ROWS = 512


def block_rows(block_size: int | None, num_rows: int, num_columns: int, dtype) -> int | None:
    """Rows per block of a reduction over ``[num_rows, num_columns]``; ``None`` means one block.

    An explicit ``block_size`` wins. Otherwise: the most rows whose
    :data:`SLABS_PER_BLOCK` slabs fit in :data:`TEMP_MEMORY_BUDGET_BYTES` (at most
    :data:`CPU_MAX_BLOCK_ROWS` on CPU), spread evenly over the blocks that takes and rounded
    up to a multiple of :data:`BLOCK_ROW_MULTIPLE` (little padding); ``None`` when all rows
    fit in one block.
    """
    if block_size is not None:
        block_size = validation.check_positive_int(block_size, "block_size")
        return None if block_size >= num_rows else block_size
    slab_row_bytes = SLABS_PER_BLOCK * max(num_columns, 1) * jnp.dtype(dtype).itemsize
    rows = TEMP_MEMORY_BUDGET_BYTES // slab_row_bytes
    if jax.default_backend() == "cpu":
        rows = min(rows, CPU_MAX_BLOCK_ROWS)
    rows = max(BLOCK_ROW_MULTIPLE, rows - rows % BLOCK_ROW_MULTIPLE)
    if rows >= num_rows:
        return None
    even = -(-num_rows // -(-num_rows // rows))  # ceil(n / number of blocks)
    return min(rows, -(-even // BLOCK_ROW_MULTIPLE) * BLOCK_ROW_MULTIPLE)


def row_weights(mask: jax.Array | None, num_rows: int, dtype) -> jax.Array:
    """0/1 weights of the rows (all ones without a mask), used to exclude masked rows."""
    return jnp.ones(num_rows, dtype) if mask is None else mask.astype(dtype)


def valid_rows(mask: jax.Array | None, num_rows: int) -> jax.Array:
    """Boolean ``[n]`` of the valid rows (all true without a mask)."""
    return jnp.ones(num_rows, bool) if mask is None else mask


def self_pairs(row_ids: jax.Array, num_columns: int) -> jax.Array:
    """``[rows, columns]`` mask of the entries pairing a sample with itself.

    ``row_ids`` are the indices of a row block within the full column set.
    """
    return row_ids[:, None] == jnp.arange(num_columns)[None, :]


class Block(NamedTuple):
    """One block of rows handed to a block function, with the columns it is compared against.

    Attributes:
      rows: this block's rows of each paired array.
      weights: 0/1 weights of the rows (0 for masked rows and for padding).
      ids: global indices of the rows among ``columns`` (exact self-pairs).
      columns: every row of each paired array (gathered across devices).
      column_weights: 0/1 weights of the columns.
    """

    rows: tuple[jax.Array, ...]
    weights: jax.Array
    ids: jax.Array
    columns: tuple[jax.Array, ...]
    column_weights: jax.Array

    @property
    def valid(self) -> jax.Array:
        """Boolean ``[rows]``: rows that count (not masked, not padding)."""
        return self.weights > 0

    def self_pairs(self) -> jax.Array:
        """``[rows, columns]`` mask of each row's own column."""
        return self_pairs(self.ids, self.columns[0].shape[0])

    def log_gram(
        self,
        kernel,
        index: int,
        other: jax.Array | None = None,
        *,
        leave_self_out: bool = False,
    ) -> jax.Array:
        """``log k`` between the block's rows of array ``index`` and that array's columns.

        Self-pairs get the exact ``log k(x, x)``: the distance expansion leaves round-off of
        order ``eps |x|^2`` there, which a small bandwidth turns into ``K_ii`` far from 1.
        ``leave_self_out`` gives them :func:`numerics.mask_fill` instead (leave-one-out sums;
        one select either way). With ``other`` (a different sample set) there are no
        self-pairs.
        """
        rows = self.rows[index]
        if other is not None:
            return kernel.log_gram(rows, other)
        log_k = kernel.log_gram(rows, self.columns[index])
        if leave_self_out:
            on_diagonal = numerics.mask_fill(log_k.dtype)
        else:
            on_diagonal = jnp.log(kernel.diagonal(rows))[:, None]
        return jnp.where(self.self_pairs(), on_diagonal, log_k)

    def gram(self, kernel, index: int) -> jax.Array:
        """Linear-domain ``k`` against the own columns, with the exact diagonal at self-pairs."""
        rows = self.rows[index]
        gram = kernel.gram(rows, self.columns[index])
        return jnp.where(self.self_pairs(), kernel.diagonal(rows)[:, None], gram)

    def row_logsumexp(self, logits: jax.Array, column_weights: jax.Array | None = None):
        """Per row, ``log sum_j exp(logits_ij)`` over the valid columns (own set by default).

        Masked columns enter through an additive bias (:func:`numerics.mask_fill`), not a
        ``[rows, columns]`` select: the backward pass then keeps one slab fewer alive. Rows
        are not masked here; :meth:`logsumexp` and :meth:`sum` drop the invalid ones.
        """
        weights = self.column_weights if column_weights is None else column_weights
        fill = numerics.mask_fill(logits.dtype)
        bias = jnp.where(weights > 0, jnp.zeros((), logits.dtype), fill)
        return jax.nn.logsumexp(logits + bias[None, :], axis=1)

    def logsumexp(self, per_row: jax.Array) -> jax.Array:
        """``log sum_i exp(per_row_i)`` over the valid rows of the block."""
        return numerics.masked_logsumexp(per_row, self.valid)

    def sum(self, per_row: jax.Array) -> jax.Array:
        """Sum of ``per_row`` over the valid rows (garbage in masked rows never leaks)."""
        return jnp.sum(jnp.where(self.valid, per_row, 0.0))


def whole_block(arrays: tuple[jax.Array, ...], weights: jax.Array) -> Block:
    """Every row of ``arrays`` (already global) as one block against themselves."""
    return Block(arrays, weights, jnp.arange(arrays[0].shape[0]), arrays, weights)


@dataclasses.dataclass(frozen=True)
class Samples:
    """Paired sample arrays prepared for all-pairs reductions (see the module docstring).

    Attributes:
      all: every row of each array, identical on all devices.
      mask: mask of all rows (``None`` when every row is valid).
      weights: 0/1 weights of all rows.
      local: the rows this device reduces over (all rows without ``axis_name``).
      local_weights: 0/1 weights of the local rows.
      ids: global indices of the local rows.
      axis_name: the mapped axis of the rows, or ``None``.
      block_size: the caller's ``block_size`` (``None``: chosen by :func:`block_rows`).
    """

    all: tuple[jax.Array, ...]
    mask: jax.Array | None
    weights: jax.Array
    local: tuple[jax.Array, ...]
    local_weights: jax.Array
    ids: jax.Array
    axis_name: str | None
    block_size: int | None

    @property
    def num_rows(self) -> int:
        """Number of rows of the full (gathered) sample set, valid or not; static."""
        return self.all[0].shape[0]

    @property
    def valid(self) -> jax.Array:
        """Boolean ``[n]`` of the valid rows among all rows."""
        return self.weights > 0

    @property
    def count(self) -> jax.Array:
        """Number of valid rows (a float of the compute dtype)."""
        return jnp.sum(self.weights)

    def whole(self) -> Block:
        """All rows as one block against themselves (for code that needs the full matrix)."""
        return whole_block(self.all, self.weights)

    def reduce(
        self,
        block_fn: Callable[[Block], Any],
        *,
        log_domain: bool = False,
        num_columns: int | None = None,
    ) -> Any:
        """Global sum over every valid row of ``block_fn(block)``, a pytree of partial sums.

        With ``log_domain=True`` the partial results are logs of sums, combined with
        ``logsumexp`` (the online softmax of memory-efficient attention), so kernel sums that
        underflow in the linear domain stay finite. ``num_columns`` is the total width of
        the Gram or distance slabs the block function builds (default: one Gram against all
        rows; three Grams: ``3 * num_rows``), for the block-size policy.
        """
        return reduce_sets([(self, block_fn, num_columns)], log_domain=log_domain)[0]

    def map_rows(self, block_fn: Callable[[Block], Any], *, num_columns: int | None = None):
        """Per-row results of ``block_fn(block)`` for every row, identical on every device.

        ``block_fn`` returns a pytree of ``[rows, ...]`` arrays (one entry per row of the
        block, e.g. a row block of ``K @ V``). Blocks, padding and remat are those of
        :meth:`reduce`; with ``axis_name`` each device computes its own rows and the results
        are all-gathered, so implicit matrix products cost ``1 / devices`` of the kernel work
        per device. ``num_columns`` is as in :meth:`reduce`.
        """
        columns = self.num_rows if num_columns is None else num_columns
        n = self.local[0].shape[0]
        size = block_rows(self.block_size, n, columns, self.all[0].dtype)
        out = _run_blocks(block_fn, self, size)
        if size is not None:  # [blocks, size, ...] -> [rows, ...] without the padding
            out = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:])[:n], out)
        return jax.tree.map(lambda a: collectives.gather_rows(a, self.axis_name), out)


def reduce_sets(
    jobs: Sequence[tuple[Samples, Callable[[Block], Any], int | None]],
    *,
    log_domain: bool = False,
) -> list[Any]:
    """:meth:`Samples.reduce` of several sample sets sharing one cross-device collective.

    ``jobs`` holds ``(samples, block_fn, num_columns)`` triples (two-sample estimators reduce
    the rows of each set against both sets); all sets share one ``axis_name``.
    """
    partials = []
    for s, block_fn, num_columns in jobs:
        columns = s.num_rows if num_columns is None else num_columns
        size = block_rows(s.block_size, s.local[0].shape[0], columns, s.all[0].dtype)
        partials.append(_map_blocks(block_fn, s, size, log_domain))
    axis_name = jobs[0][0].axis_name
    if log_domain:
        return collectives.logsumexp_tree(partials, axis_name)
    return collectives.psum_tree(partials, axis_name)


def _run_blocks(block_fn, samples: Samples, size: int | None):
    """``block_fn`` over row blocks of the local rows; outputs stacked ``[blocks, ...]``.

    Blocks run in ``lax.map`` with ``jax.checkpoint`` on the block function: without remat
    the backward pass stores every slab and the memory saving disappears. Padding rows have
    weight 0. With ``size=None`` the single whole-rows result is returned unstacked.
    """

    def make_block(rows, weights, ids):
        return Block(rows, weights, ids, samples.all, samples.weights)

    rows, weights, ids = samples.local, samples.local_weights, samples.ids
    n = rows[0].shape[0]
    if size is None:
        return block_fn(make_block(rows, weights, ids))
    num_blocks = math.ceil(n / size)
    pad = num_blocks * size - n

    def split(a):
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))
        return a.reshape((num_blocks, size) + a.shape[1:])

    body = jax.checkpoint(lambda args: block_fn(make_block(*args)), prevent_cse=False)
    return jax.lax.map(body, (tuple(split(a) for a in rows), split(weights), split(ids)))


def _map_blocks(block_fn, samples: Samples, size: int | None, log_domain: bool):
    """Runs ``block_fn`` over row blocks of the local rows and combines the blocks."""
    partial = _run_blocks(block_fn, samples, size)
    if size is None:
        return partial
    if log_domain:
        return jax.tree.map(lambda a: jax.nn.logsumexp(a, axis=0), partial)
    return jax.tree.map(lambda a: jnp.sum(a, axis=0), partial)


def gather(
    arrays: tuple[jax.Array, ...],
    mask: jax.Array | None,
    axis_name: str | None,
    block_size: int | None = None,
) -> Samples:
    """All-gathers validated paired arrays and their mask into a :class:`Samples`.

    Without ``axis_name`` the local rows are all rows (replicated first when sharded on an
    explicit mesh).
    """
    dtype = arrays[0].dtype
    gathered = tuple(collectives.gather_rows(a, axis_name) for a in arrays)
    mask_all = collectives.gather_rows(mask, axis_name)
    weights = row_weights(mask_all, gathered[0].shape[0], dtype)
    if axis_name is None:
        local, local_weights = gathered, weights
    else:
        local, local_weights = tuple(arrays), row_weights(mask, arrays[0].shape[0], dtype)
    ids = collectives.global_row_ids(local[0].shape[0], axis_name)
    return Samples(gathered, mask_all, weights, local, local_weights, ids, axis_name, block_size)


def from_global(
    arrays: tuple[jax.Array, ...],
    mask: jax.Array | None,
    axis_name: str | None,
    block_size: int | None = None,
) -> Samples:
    """A :class:`Samples` of arrays that are already global (identical on every device).

    The local rows are this device's contiguous share of the rows, as ``shard_map`` splits
    them. For code that must first transform all rows together (a normalisation with global
    moments) or that hands the global arrays to a custom derivative rule.
    """
    dtype = arrays[0].dtype
    weights = row_weights(mask, arrays[0].shape[0], dtype)
    local = tuple(collectives.local_rows(a, axis_name) for a in arrays)
    local_weights = collectives.local_rows(weights, axis_name)
    ids = collectives.global_row_ids(local[0].shape[0], axis_name)
    return Samples(arrays, mask, weights, local, local_weights, ids, axis_name, block_size)
