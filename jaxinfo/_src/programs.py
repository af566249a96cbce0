"""Eager calls of public functions as one compiled program.

Called eagerly, a JAX function dispatches every operation on its own, and the first call
compiles each of them: 30 to 100 small programs for most public functions (seconds before
the first result, benchmarks/README.md). :func:`one_program` runs the whole call under one
``jax.jit`` instead, keyed by the static options, so a first call compiles once and later
eager calls reuse the program. Inside a user's ``jit``, ``grad``, ``vmap`` or ``shard_map``
(any argument traced) the function runs as written: the outer transformation compiles it.

Concrete-input errors keep their eager behaviour. The library's rule for checks on data
values is "ValueError when concrete, NaN when traced" (:mod:`guards`); inside the program
the data are traced, so a bad input gives NaN there, and any NaN in the result sends the
call through the eager path once more, which raises the error (or returns the same NaN).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core as jax_core  # trace_ctx: no public equivalent
from jax.core import Tracer

F = TypeVar("F", bound=Callable[..., Any])

# Distinct static signatures kept per function (each holds a jitted program and its cache).
_PROGRAMS_PER_FUNCTION = 64
# Raised when traced data meet Python control flow: such a call runs eagerly.
_NEEDS_CONCRETE_VALUES = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError)


def _is_array(leaf) -> bool:
    return isinstance(leaf, jax.Array | np.ndarray)


def _under_a_transformation() -> bool:
    """Whether a JAX trace (``jit``, ``grad``, ``vmap``, ``shard_map``) is active.

    JAX has no public query; where its private one is missing, the caller's check of the
    result catches the case instead (at the cost of one extra trace).
    """
    is_top_level = getattr(getattr(jax_core, "trace_ctx", None), "is_top_level", None)
    return False if is_top_level is None else not is_top_level()


def _has_nan(tree) -> jax.Array:
    flags = [
        jnp.any(jnp.isnan(leaf))
        for leaf in jax.tree.leaves(tree)
        if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jnp.inexact)
    ]
    return functools.reduce(jnp.logical_or, flags, jnp.zeros((), bool))


def one_program(fn: F) -> F:
    """``fn`` that runs as one compiled program when called eagerly (module docstring).

    Arrays (JAX or NumPy) among the arguments are the program's inputs; every other leaf
    (numbers, strings, kernel rules, static counts) is static and must be hashable, else the
    call runs as written. Positional arguments must be arrays (a nested list of numbers is
    data, not an option).
    """
    eager_only: set[tuple] = set()

    @functools.lru_cache(maxsize=_PROGRAMS_PER_FUNCTION)
    def program(treedef, is_dynamic: tuple[bool, ...], static: tuple) -> Callable | None:
        if (treedef, is_dynamic, static) in eager_only:
            return None

        def call(*dynamic):
            dynamic_leaves, static_leaves = iter(dynamic), iter(static)
            leaves = [
                next(dynamic_leaves) if flag else next(static_leaves)[1] for flag in is_dynamic
            ]
            args, kwargs = jax.tree.unflatten(treedef, leaves)
            result = fn(*args, **kwargs)
            return result, _has_nan(result)

        call.__name__ = call.__qualname__ = fn.__name__  # the program's name in XLA logs
        return jax.jit(call)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not all(_is_array(a) for a in args):
            return fn(*args, **kwargs)
        leaves, treedef = jax.tree.flatten((args, kwargs))
        if _under_a_transformation() or any(isinstance(leaf, Tracer) for leaf in leaves):
            return fn(*args, **kwargs)
        is_dynamic = tuple(_is_array(leaf) for leaf in leaves)
        # The type is part of the key: 1, 1.0 and True are equal as dict keys.
        static = tuple((type(leaf), leaf) for leaf in leaves if not _is_array(leaf))
        try:
            compiled = program(treedef, is_dynamic, static)
        except TypeError:  # an unhashable option: no program to reuse
            return fn(*args, **kwargs)
        if compiled is None:
            return fn(*args, **kwargs)
        try:
            result, has_nan = compiled(*(leaf for leaf in leaves if _is_array(leaf)))
        except _NEEDS_CONCRETE_VALUES:  # Python control flow on data: eager from now on
            eager_only.add((treedef, is_dynamic, static))
            program.cache_clear()
            return fn(*args, **kwargs)
        if isinstance(has_nan, Tracer) or bool(has_nan):  # inside a trace, or no answer
            return fn(*args, **kwargs)
        return result

    return wrapper  # type: ignore[return-value]
