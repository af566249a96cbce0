"""Trace-time input checks shared by every family.

Every check runs on static facts (shapes, dtypes, Python option values), so it costs nothing
under ``jit``. Messages follow one pattern: the rule, what was received, and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

T = TypeVar("T")


def compute_dtype(dtype) -> np.dtype:
    """Float dtype to compute in: at least float32, float64 kept when x64 is enabled."""
    dtype = jnp.dtype(dtype)
    if dtype.itemsize < 4:
        return jnp.dtype(jnp.float32)
    return jnp.dtype(jax.dtypes.canonicalize_dtype(dtype))


def as_array(value, name: str) -> jax.Array:
    """``value`` as a jax array; strings, ``None`` and other non-numbers name the argument.

    JAX's own message ("'abc' with dtype <U3 is not a valid JAX array type") names neither
    the argument nor the fix.
    """
    if isinstance(value, jax.Array):
        return value
    if value is None or isinstance(value, str | bytes) or _holds_non_numbers(value):
        raise TypeError(
            f"`{name}` must be an array of numbers; got {type(value).__name__} {value!r}."
        )
    try:
        return jnp.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be an array of numbers; got {type(value).__name__} "
            f"{_short_repr(value)} ({error})."
        ) from None


def _holds_non_numbers(value) -> bool:
    """A (nested) list or tuple holding strings or ``None`` (JAX would parse ``'a'`` as a dtype)."""
    if isinstance(value, list | tuple):
        return any(
            item is None or isinstance(item, str | bytes) or _holds_non_numbers(item)
            for item in value
        )
    return False


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_prng_key(key, name: str = "key") -> jax.Array:
    """Requires a JAX PRNG key: a typed key (``jax.random.key``) or a legacy ``uint32[2]``.

    An integer seed would reach ``jax.random`` as "invalid PRNG key data"; the message here
    names the argument and the fix.
    """
    if isinstance(key, jax.Array | np.ndarray):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            return jnp.asarray(key)
        if key.dtype == np.uint32 and key.shape[-1:] == (2,):
            return jnp.asarray(key)
    raise TypeError(
        f"`{name}` must be a JAX PRNG key, e.g. `jax.random.key(0)`; got "
        f"{type(key).__name__} {_short_repr(key)}."
    )


def as_float_array(value, name: str) -> jax.Array:
    """Converts ``value`` to a floating jax array, refusing integer and boolean data."""
    arr = as_array(value, name)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise TypeError(
            f"`{name}` must be a floating-point array; got dtype {arr.dtype}. "
            f"Cast it first, e.g. `{name}.astype(jnp.float32)`."
        )
    return arr.astype(compute_dtype(arr.dtype))


def as_samples(x, name: str = "x", *, min_samples: int = 2) -> jax.Array:
    """Validates a sample matrix of shape ``[n, d]`` and returns it in the compute dtype."""
    arr = as_array(x, name)
    if arr.ndim != 2:
        hint = (
            f" A 1-D array is ambiguous: use `{name}[:, None]` for n scalar samples"
            f" or `{name}[None, :]` for one d-dimensional sample."
            if arr.ndim == 1
            else " Use `jax.vmap` to map over leading batch dimensions."
        )
        raise ValueError(
            f"`{name}` must have shape [n, d] (n samples, d features); "
            f"got shape {tuple(arr.shape)}.{hint}"
        )
    arr = as_float_array(arr, name)
    require_rows(arr.shape[0], min_samples, name)
    if arr.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one feature column; got shape {arr.shape}.")
    return arr


def require_rows(count: int, min_samples: int, name: str, mask_name: str | None = None) -> None:
    """Raises the one "too few samples" error (for sliced arrays and concrete masks alike).

    With a concrete mask the count is of its valid rows and the message names the mask
    (``mask_name``), so a user who sliced nothing sees which argument removed the rows.
    """
    if count < min_samples:
        under = rows_under(mask_name)
        fix = f" or mark more rows valid in `{mask_name}`" if mask_name else ""
        raise ValueError(
            f"`{name}` needs at least {min_samples} samples (rows); got {count}{under}. "
            f"Pass more samples{fix}."
        )


def rows_under(counted_by: str | None) -> str:
    """`` valid under `where` `` after a row count that a concrete mask made, else ``""``."""
    return f" valid under `{counted_by}`" if counted_by else ""


def valid_row_count(mask: jax.Array | None, num_rows: int) -> int:
    """Rows a static check should count: the valid rows of a concrete mask, else all rows.

    With a concrete mask an estimator raises the error that slicing the valid rows would
    raise (naming the mask: :func:`valid_rows`); under ``jit`` the count is unknown and
    :mod:`guards` returns NaN instead.
    """
    return valid_rows(mask, num_rows, None)[0]


def valid_rows(mask: jax.Array | None, num_rows: int, mask_name: str | None):
    """``(count, counted_by)``: :func:`valid_row_count` and the mask's name when it counted.

    ``counted_by`` is ``mask_name`` for a concrete mask and ``None`` otherwise, ready for the
    ``mask_name`` argument of :func:`require_rows`.
    """
    values = None if mask is None else concrete_value(mask)
    if values is None:
        return num_rows, None
    return int(values.sum()), mask_name


def check_same_num_samples(arrays: Sequence[jax.Array], names: Sequence[str]) -> int:
    """Requires every array to have the same number of rows and returns that number."""
    counts = [a.shape[0] for a in arrays]
    if len(set(counts)) > 1:
        got = ", ".join(f"`{n}` has {c}" for n, c in zip(names, counts, strict=True))
        raise ValueError(
            f"paired samples must have the same number of rows; {got}. "
            "Pass rows that correspond to the same samples."
        )
    return counts[0]


def as_square_matrix(matrix, name: str) -> jax.Array:
    """Validates a (batch of) square matrix ``[..., m, m]``."""
    arr = as_float_array(matrix, name)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(
            f"`{name}` must be a square matrix of shape [..., m, m]; got shape {tuple(arr.shape)}."
        )
    if arr.shape[-1] < 1:
        raise ValueError(f"`{name}` must not be empty; got shape {tuple(arr.shape)}.")
    return arr


def as_boolean(where, name: str, marks: str) -> jax.Array:
    """``where`` as a boolean array; anything else is refused (``marks`` says what it marks)."""
    mask = as_array(where, name)
    if mask.dtype != jnp.bool_:
        raise TypeError(
            f"`{name}` must be a boolean array marking {marks}; got dtype {mask.dtype}. "
            f"Use `{name}.astype(bool)`."
        )
    return mask


def as_mask(where, num_samples: int, name: str = "where") -> jax.Array | None:
    """Validates an optional boolean row mask of shape ``[n]``."""
    if where is None:
        return None
    mask = as_boolean(where, name, "valid rows")
    if mask.shape != (num_samples,):
        raise ValueError(
            f"`{name}` must have shape [n] = ({num_samples},) to match the samples; "
            f"got shape {tuple(mask.shape)}."
        )
    return mask


def static_number(value, name: str) -> float:
    """Requires a concrete Python number (for options that change control flow)."""
    if isinstance(value, Tracer):
        raise TypeError(
            f"`{name}` changes which computation runs, so it must be a static Python number; "
            "got a traced value. Mark it static (e.g. `jax.jit(f, static_argnames=...)`)."
        )
    if isinstance(value, bool) or not isinstance(value, Real | np.ndarray | jax.Array):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__}.")
    return float(value)


def _range_rule(low: float | None, high: float | None, low_open: bool) -> str:
    if low == 0 and low_open and high is None:
        return "a finite positive number"
    rule = "a finite number"
    if low is not None:
        rule += f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        rule += f"{' and' if low is not None else ''} <= {high:g}"
    return rule


def check_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    hint: str = "",
):
    """Validates a numeric option that may be traced (bandwidth, variance, shrinkage, beta).

    A concrete value must be a real scalar in the range (``TypeError`` / ``ValueError``
    naming the option, the value and ``hint``) and is returned unchanged. A traced value is
    unknown at trace time: it is returned as NaN where it breaks the rule, so an invalid
    option gives a NaN result, never a silently used value. Callers must use the returned
    value.
    """
    if isinstance(value, Tracer):
        if value.shape != ():  # the shape is static even when the value is traced
            raise TypeError(
                f"`{name}` must be a real scalar number; got an array of shape "
                f"{tuple(value.shape)}. {hint}".rstrip()
            )
        valid = jnp.isfinite(value)
        if low is not None:
            valid &= value > low if low_open else value >= low
        if high is not None:
            valid &= value <= high
        return jnp.where(valid, value, jnp.nan)
    arr = np.asarray(value)
    if isinstance(value, bool) or arr.dtype.kind not in "fiu" or arr.shape != ():
        raise TypeError(
            f"`{name}` must be a real scalar number; got {type(value).__name__} {value!r}. {hint}"
        )
    number = float(arr)
    bad = not math.isfinite(number)
    bad = bad or (low is not None and (number <= low if low_open else number < low))
    bad = bad or (high is not None and number > high)
    if bad:
        rule = _range_rule(low, high, low_open)
        raise ValueError(f"`{name}` must be {rule}; got {value}. {hint}".rstrip())
    return value


def check_alpha(alpha, name: str = "alpha", *, allow_inf: bool = True) -> float:
    """Validates a Rényi order: a static number > 0 (``inf`` allowed where stated)."""
    value = static_number(alpha, name)
    if math.isnan(value) or value <= 0 or (math.isinf(value) and not allow_inf):
        allowed = "a number > 0 (or inf)" if allow_inf else "a finite number > 0"
        raise ValueError(f"`{name}` must be {allowed}; got {alpha}. Common choices: 1.01, 2.")
    return value


def _described(value) -> str:
    """What a refused static option was: arrays (traced ones too) by shape and dtype."""
    if isinstance(value, jax.Array | np.ndarray):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Validates a static integer option such as ``block_size``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be a Python int; got {_described(value)}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}; got {value}.")
    return int(value)


def check_choice(value: T, name: str, allowed: Sequence, *, hint: str = "") -> T:
    """Requires ``value`` to be one of ``allowed`` (a static option such as ``method``).

    ``allowed`` is the ``typing.get_args`` tuple of the option's ``Literal`` alias
    (:mod:`options`), plus ``None`` where the option may be off. Returns ``value``.
    """
    if isinstance(value, str | None) and value in allowed:
        return value
    raise ValueError(f"`{name}` must be one of {tuple(allowed)}; got {value!r}. {hint}".rstrip())


def check_bool(value, name: str) -> bool:
    """Requires a Python (or NumPy) bool for a switch that selects code.

    ``"yes"``, ``0`` or an array would otherwise be read by truthiness: ``"no"`` is true.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"`{name}` must be True or False; got {value!r} ({type(value).__name__}).")


def check_unused_options(option: str, chosen: str, applies_to: str, **passed) -> None:
    """Refuses options that only another choice reads (``None``: not passed).

    An option the chosen method ignores would be dropped without a word; a user who passed
    it expected it to act, so that is an error naming both arguments.
    """
    for name, value in passed.items():
        if value is not None:
            raise ValueError(
                f"`{name}` applies only to {option}={applies_to!r}; got {name}={value!r} with "
                f"{option}={chosen!r}. Drop `{name}` or pick {option}={applies_to!r}."
            )


def log_base_divisor(base) -> float | None:
    """Returns ``log(base)`` to convert nats, or ``None`` for nats (``base=None``)."""
    if base is None:
        return None
    value = static_number(base, "base")
    if not value > 0 or value == 1 or math.isinf(value):
        raise ValueError(
            f"`base` must be a positive number other than 1 (e.g. 2 for bits); got {base}. "
            "Use base=None for nats."
        )
    return math.log(value)


def convert_units(nats: jax.Array, base) -> jax.Array:
    """Converts a value in nats to the unit of ``base`` (``None`` keeps nats)."""
    divisor = log_base_divisor(base)
    if divisor is None:
        return nats
    return nats / jnp.asarray(divisor, nats.dtype)


def check_axis_name(axis_name) -> None:
    """Refuses an ``axis_name`` that names no mapped axis where the function is called.

    Outside ``shard_map`` / ``pmap`` JAX raises a bare ``NameError: unbound axis name``
    from deep inside the first collective.
    """
    if axis_name is None:
        return
    names = axis_name if isinstance(axis_name, tuple) else (axis_name,)
    if not names or not all(isinstance(name, str) for name in names):
        raise TypeError(
            f"`axis_name` must be the name (a str) of the mapped axis the rows are sharded "
            f"over, or None; got {type(axis_name).__name__} {axis_name!r}."
        )
    try:
        jax.lax.axis_size(axis_name)
    except NameError:
        raise ValueError(
            f"`axis_name`={axis_name!r} names no mapped axis here: call the function inside "
            f"`shard_map` (or `jax.pmap`) over an axis named {axis_name!r}, or pass "
            "axis_name=None for unsharded data."
        ) from None


def paired_samples(
    xs: Sequence,
    names: Sequence[str],
    where,
    axis_name: str | None,
    *,
    mask_name: str = "where",
) -> tuple[tuple[jax.Array, ...], jax.Array | None]:
    """Validates paired sample matrices and the row mask; zeroes masked rows.

    Arrays are cast to one common compute dtype. Zeroing masked rows keeps padding garbage
    (even NaN) out of values and gradients; masked rows are then excluded by weights, so
    masking equals slicing, including the error for a concrete mask leaving fewer than two
    rows. With ``axis_name`` the arrays are per-device shards, which may hold a single row.
    """
    check_axis_name(axis_name)
    min_samples = 1 if axis_name is not None else 2
    arrays = [as_samples(x, n, min_samples=min_samples) for x, n in zip(xs, names, strict=True)]
    num = check_same_num_samples(arrays, names)
    dtype = np.result_type(*[a.dtype for a in arrays])
    arrays = [a.astype(dtype) for a in arrays]
    mask = as_mask(where, num, mask_name)
    if mask is not None:
        arrays = [jnp.where(mask[:, None], a, jnp.zeros((), dtype)) for a in arrays]
        if axis_name is None:
            count, counted_by = valid_rows(mask, num, mask_name)
            require_rows(count, 2, names[0], counted_by)
    return tuple(arrays), mask


def two_samples(x, y, where_x, where_y, axis_name: str | None):
    """Validates two unpaired sample sets of one feature dimension (sizes may differ).

    Returns ``(x, y, mask_x, mask_y)`` with both arrays in one compute dtype.
    """
    (x,), mask_x = paired_samples((x,), ("x",), where_x, axis_name, mask_name="where_x")
    (y,), mask_y = paired_samples((y,), ("y",), where_y, axis_name, mask_name="where_y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`x` and `y` must have the same number of features; got {x.shape[1]} and {y.shape[1]}."
        )
    dtype = np.result_type(x.dtype, y.dtype)
    return x.astype(dtype), y.astype(dtype), mask_x, mask_y


def concrete_value(value):
    """``value`` as a NumPy value when concrete, ``None`` under ``jit`` (traced).

    Checks that need data values run eagerly and are skipped, with documented behaviour, when
    traced.
    """
    try:
        return np.asarray(jax.device_get(value))
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return None
