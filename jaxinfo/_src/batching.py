"""``vmap`` on CPU as one call per batch member, for the all-pairs estimators.

:func:`samples.block_rows` sizes the ``[block, n]`` slabs of one call. ``vmap`` gives every
slab, every Gram and every score-matrix temporary a leading batch axis: B calls then hold B
times the temporaries (out of cache on CPU), masked ``lax.cond`` branches both run, and XLA's
CPU batched matrix products are slower than B single ones. ``jit(vmap)`` over 200 row masks
of ``[600, 3]`` samples took 1.4 to 51 times the time of 200 single calls
(benchmarks/vmap_penalty.py). :func:`one_call_at_a_time` makes such a ``vmap`` run the
single-call program once per batch member inside the one compiled program
(``jax.custom_batching.sequential_vmap``), at the cost of B single calls without their
dispatch. Estimators whose batched program is cheaper than that (moments, histograms,
probability vectors) are left batched.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
from jax.core import Tracer

F = TypeVar("F", bound=Callable[..., Any])


def one_call_at_a_time(fn: F) -> F:
    """``fn`` whose ``vmap`` on CPU runs one call per batch member (module docstring).

    The traced leaves of the arguments (positional and keyword, kernels' array leaves
    included) are the inputs of the looped call; every other leaf (numbers, strings, static
    options, concrete arrays) is closed over as written, so concrete-input checks behave as
    before and a call without traced arguments runs ``fn`` itself. Calls with an
    ``axis_name`` (inside ``shard_map``) and other backends (where the batched program's
    parallelism pays) also run ``fn`` itself. Values are those of single calls. Derivatives
    (``custom_jvp``) differentiate ``fn`` itself, so ``grad`` and ``jvp`` in and around
    ``vmap`` work as before (batched); only values take the loop.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs.get("axis_name") is not None or jax.default_backend() != "cpu":
            return fn(*args, **kwargs)
        leaves, treedef = jax.tree.flatten((args, kwargs))
        traced = [isinstance(leaf, Tracer) for leaf in leaves]
        if not any(traced):
            return fn(*args, **kwargs)

        def flat(*operands):
            given = iter(operands)
            full = [next(given) if t else leaf for leaf, t in zip(leaves, traced, strict=True)]
            call_args, call_kwargs = jax.tree.unflatten(treedef, full)
            return fn(*call_args, **call_kwargs)

        looped = jax.custom_batching.sequential_vmap(flat)

        @jax.custom_jvp
        def call(*operands):
            return looped(*operands)

        @call.defjvp
        def _jvp(primals, tangents):
            return jax.jvp(flat, primals, tangents)

        return call(*(leaf for leaf, t in zip(leaves, traced, strict=True) if t))

    return wrapper  # type: ignore[return-value]
