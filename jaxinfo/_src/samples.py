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
import functools
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
# On CPU, slabs that stay in cache are faster than the largest that fit in memory
# (benchmarks/README.md, "Design choices").
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


class Slab(NamedTuple):
    """Kernel values of a block's rows against a column set, for the domain-generic sums.

    ``parts`` are column pieces (the log domain has one; the linear domain splits own-set
    columns into the block's own ``[rows, rows]`` square, which holds the self-pairs, and the
    rest, see :meth:`Block.kernel`). ``weights`` are the matching column weights, ``None``
    when no column is masked (statically: the sums then skip the mask).
    """

    parts: tuple[jax.Array, ...]
    weights: tuple[jax.Array, ...] | None


def _map_values(fn, *operands):
    """``fn`` over the values of :class:`Slab` operands (piece by piece) or of plain arrays."""
    if isinstance(operands[0], Slab):
        parts = tuple(fn(*pieces) for pieces in zip(*(o.parts for o in operands), strict=True))
        return Slab(parts, operands[0].weights)
    return fn(*operands)


class Block(NamedTuple):
    """One block of rows handed to a block function, with the columns it is compared against.

    Attributes:
      rows: this block's rows of each paired array.
      weights: 0/1 weights of the rows (0 for masked rows and for padding).
      ids: global indices of the rows among ``columns`` (exact self-pairs); contiguous.
      columns: every row of each paired array (gathered across devices).
      column_weights: 0/1 weights of the columns.
      linear: static; the domain-generic methods (:meth:`kernel`, :meth:`row_sums`,
        :meth:`total`, :meth:`mul`, :meth:`div`, :meth:`power`) work on kernel values
        instead of their logs (``Samples.reduce(..., linear_first=True)``).
      masked: static; ``False`` when no column is masked, so sums skip the mask entirely.
    """

    rows: tuple[jax.Array, ...]
    weights: jax.Array
    ids: jax.Array
    columns: tuple[jax.Array, ...]
    column_weights: jax.Array
    linear: bool = False
    masked: bool = True

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
        return numerics.logsumexp(logits + bias[None, :], 1)

    def logsumexp(self, per_row: jax.Array) -> jax.Array:
        """``log sum_i exp(per_row_i)`` over the valid rows of the block."""
        return numerics.masked_logsumexp(per_row, self.valid)

    def sum(self, per_row: jax.Array) -> jax.Array:
        """Sum of ``per_row`` over the valid rows (garbage in masked rows never leaks)."""
        return jnp.sum(jnp.where(self.valid, per_row, 0.0))

    # Domain-generic kernel sums: one block function serves the log domain (log k, sums by
    # logsumexp) and the linear domain (k, plain sums; ``Samples.reduce(linear_first=True)``).

    def kernel(
        self,
        kernel,
        index: int,
        other: int | jax.Array | None = None,
        other_weights: jax.Array | None = None,
    ) -> Slab:
        """Kernel values between the block's rows of array ``index`` and a column set.

        ``other=None``: the own columns of that array, exact ``k(x, x)`` at self-pairs.
        An int: the block's paired column array ``other`` (same samples and weights, no
        self-pairs). An array: a different sample set, with ``other_weights`` (``None``:
        unmasked). Log domain: ``log k`` via :meth:`log_gram`. Linear domain: one GEMM of
        :meth:`~jaxinfo.kernels.Kernel.log_gram_factors` and an exp, fused by XLA with the
        row sums. Own and paired columns are then taken in the order "own square first, then
        the rest" (a roll by the block's first id): the self-pairs sit on the diagonal of
        the small ``[rows, rows]`` square, the only piece that needs a select, and paired
        slabs line up piece by piece.
        """
        rows = self.rows[index]
        own_weights = self.column_weights if self.masked else None
        if not self.linear:
            if other is None:
                log_k = self.log_gram(kernel, index)
            else:
                columns = self.columns[other] if isinstance(other, int) else other
                log_k = kernel.log_gram(rows, columns)
            if isinstance(other, jax.Array):
                own_weights = other_weights
            return Slab((log_k,), None if own_weights is None else (own_weights,))
        if isinstance(other, jax.Array):
            a, b = kernel.log_gram_factors(rows, other)
            k = jnp.exp(kernel.log_kernel_of_product(_matmul(a, b), rows))
            return Slab((k,), None if other_weights is None else (other_weights,))
        a, b = kernel.log_gram_factors(rows, self.columns[index if other is None else other])
        parts = tuple(
            jnp.exp(kernel.log_kernel_of_product(_matmul(a, piece), rows))
            for piece in self._own_first(b)
        )
        if other is None:  # the exact diagonal, on the own square only
            eye = jnp.eye(rows.shape[0], dtype=bool)
            parts = (jnp.where(eye, kernel.diagonal(rows)[:, None], parts[0]),) + parts[1:]
        weights = None if own_weights is None else self._own_first(own_weights)
        return Slab(parts, weights)

    def _own_first(self, columns: jax.Array) -> tuple[jax.Array, ...]:
        """Columns in the order own square (the block's rows, by ``ids``), then the rest.

        ``ids`` are contiguous from ``ids[0]`` (padding rows of the last block wrap around
        to the first columns; their weight is 0), so two slices of the doubled columns give
        every column exactly once in O(n d).
        """
        size, n = self.rows[0].shape[0], columns.shape[0]
        doubled = jnp.concatenate([columns, columns])
        own = jax.lax.dynamic_slice_in_dim(doubled, self.ids[0], size)
        if size >= n:
            return (own,)
        return own, jax.lax.dynamic_slice_in_dim(doubled, self.ids[0] + size, n - size)

    def row_sums(self, slab: Slab) -> jax.Array:
        """Per row, the sum of the slab over its valid columns (a log-sum in the log domain).

        Masked columns enter as a bias (log domain, see :meth:`row_logsumexp`) or as a
        product with the weights (linear domain); unmasked slabs skip both.
        """
        if not self.linear:
            (logits,) = slab.parts
            if slab.weights is None:
                return numerics.logsumexp(logits, 1)
            return self.row_logsumexp(logits, slab.weights[0])
        if slab.weights is None:
            sums = [jnp.sum(part, axis=1) for part in slab.parts]
        else:
            pieces = zip(slab.parts, slab.weights, strict=True)
            sums = [jnp.sum(part * w[None, :], axis=1) for part, w in pieces]
        return functools.reduce(jnp.add, sums)

    def total(self, per_row: jax.Array) -> jax.Array:
        """Sum of per-row values over the valid rows (:meth:`logsumexp` in the log domain)."""
        return self.sum(per_row) if self.linear else self.logsumexp(per_row)

    def mul(self, a, b):
        """Product of kernel values (slabs or per-row values): a sum of logs in the log domain."""
        return _map_values(jnp.multiply if self.linear else jnp.add, a, b)

    def div(self, a, b):
        """Quotient of kernel values; a zero linear denominator (masked rows) counts as 1.

        Valid rows' own kernel sums are >= k(x, x) = 1; masked rows' may be 0, and their
        ``0 / 0`` would turn the (discarded) row into a NaN gradient.
        """
        if not self.linear:
            return _map_values(jnp.subtract, a, b)
        return _map_values(lambda u, v: u / jnp.where(v > 0, v, 1.0), a, b)

    def power(self, a, exponent: float):
        """``a ** exponent`` of kernel values (``exponent * a`` in the log domain)."""
        if self.linear:
            return _map_values(lambda u: u * u if exponent == 2 else u**exponent, a)
        return _map_values(lambda u: exponent * u, a)


def _matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a @ b.T`` at full precision (no TF32/bf16 passes on accelerators)."""
    return jnp.matmul(a, b.T, precision=numerics.HIGHEST)


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
    def column_weights(self) -> jax.Array | None:
        """:attr:`weights` as the columns of another set's sums; ``None`` without a mask.

        Static, so kernel sums against this set skip the mask entirely.
        """
        return None if self.mask is None else self.weights

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
        linear_first: bool = False,
        num_columns: int | None = None,
    ) -> Any:
        """Global sum over every valid row of ``block_fn(block)``, a pytree of partial sums.

        With ``log_domain=True`` the partial results are logs of sums, combined with
        ``logsumexp`` (the online softmax of memory-efficient attention), so kernel sums that
        underflow in the linear domain stay finite. ``linear_first=True`` (with
        ``log_domain``) returns the same logs of sums from a linear-domain pass when that is
        exact, see :func:`reduce_sets`. ``num_columns`` is the total width of the Gram or
        distance slabs the block function builds (default: one Gram against all rows; three
        Grams: ``3 * num_rows``), for the block-size policy.
        """
        return reduce_sets(
            [(self, block_fn, num_columns)], log_domain=log_domain, linear_first=linear_first
        )[0]

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
    linear_first: bool = False,
) -> list[Any]:
    """:meth:`Samples.reduce` of several sample sets sharing one cross-device collective.

    ``jobs`` holds ``(samples, block_fn, num_columns)`` triples (two-sample estimators reduce
    the rows of each set against both sets); all sets share one ``axis_name``.

    ``linear_first`` (log-sums of kernels with ``k <= 1``, block functions written with the
    domain-generic :class:`Block` methods): one linear-domain pass, then ``log``. With no
    max shift a slab costs one GEMM and one fused exp-and-sum, against a max pass, an exp
    pass and selects in the log domain (faster at large n: benchmarks/README.md, "Design
    choices"). It is exact unless terms underflow: each of the ``pairs`` terms
    loses at most ``tiny``, so a sum ``>= pairs * tiny / eps`` is correct to ``eps``.
    Below that (tiny bandwidths, far-apart sets), or on overflow, the whole reduction is
    redone in the log domain (``lax.cond``; under ``vmap`` both run). The caller guarantees
    that every per-row factor of a sum is at most 1 (kernel values, ratios by own kernel
    sums ``>= k(x, x) = 1``), which is what makes the bound hold.
    """
    if linear_first and not log_domain:
        raise ValueError("`linear_first` returns log-sums: pass `log_domain=True`.")
    if not linear_first or all(_block_size(s, columns) is None for s, _, columns in jobs):
        # One block per set (small n) is dispatch-bound, not exp-bound: there the CS-IB step
        # is slower linear-first (benchmarks/README.md, "Design choices").
        return _reduce_sets(jobs, log_domain=log_domain)
    sums = _reduce_sets(jobs, log_domain=False, linear=True)
    exact = []
    for (s, _, num_columns), job_sums in zip(jobs, sums, strict=True):
        pairs = s.num_rows * (s.num_rows if num_columns is None else num_columns)
        for leaf in jax.tree.leaves(job_sums):
            info = jnp.finfo(leaf.dtype)
            floor = pairs * float(info.tiny) / float(info.eps)
            exact.append(jnp.isfinite(leaf) & (leaf >= floor))
    exact = jax.lax.stop_gradient(jnp.all(jnp.stack(exact)))
    # The guard keeps log(0) out of the backward pass when the log-domain branch is taken.
    logs = jax.tree.map(lambda a: jnp.log(jnp.where(a > 0, a, 1.0)), sums)
    return jax.lax.cond(exact, lambda: logs, lambda: _reduce_sets(jobs, log_domain=True))


def _block_size(s: Samples, num_columns: int | None) -> int | None:
    """Rows per block of a reduction of ``s`` over ``num_columns`` (:func:`block_rows`)."""
    columns = s.num_rows if num_columns is None else num_columns
    return block_rows(s.block_size, s.local[0].shape[0], columns, s.all[0].dtype)


def _reduce_sets(jobs, *, log_domain: bool, linear: bool = False) -> list[Any]:
    """:func:`reduce_sets` in one domain: blocks, then the cross-device combine."""
    partials = []
    for s, block_fn, num_columns in jobs:
        size = _block_size(s, num_columns)
        partials.append(_map_blocks(block_fn, s, size, log_domain, linear))
    axis_name = jobs[0][0].axis_name
    if log_domain:
        return collectives.logsumexp_tree(partials, axis_name)
    return collectives.psum_tree(partials, axis_name)


def _run_blocks(block_fn, samples: Samples, size: int | None, linear: bool = False):
    """``block_fn`` over row blocks of the local rows; outputs stacked ``[blocks, ...]``.

    Blocks run in ``lax.map`` with ``jax.checkpoint`` on the block function: without remat
    the backward pass stores every slab and the memory saving disappears. Padding rows have
    weight 0. With ``size=None`` the single whole-rows result is returned unstacked.
    """
    masked = samples.mask is not None

    def make_block(rows, weights, ids):
        return Block(rows, weights, ids, samples.all, samples.weights, linear, masked)

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


def _map_blocks(block_fn, samples: Samples, size: int | None, log_domain: bool, linear: bool):
    """Runs ``block_fn`` over row blocks of the local rows and combines the blocks."""
    partial = _run_blocks(block_fn, samples, size, linear)
    if size is None:
        return partial
    if log_domain:
        return jax.tree.map(lambda a: numerics.logsumexp(a, 0), partial)
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
