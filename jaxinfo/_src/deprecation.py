"""Deprecated names and keywords: they warn, then behave exactly as before.

A renamed function, keyword or attribute keeps working for one minor version (optax's
``warn_deprecated_function`` pattern). The warning is raised at the caller's line, so a
user's filter or traceback points at their code.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

REMOVED_IN = "0.3.0"


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """The one deprecation message; ``stacklevel=3`` points past the shim at its caller."""
    warnings.warn(
        f"{old} is deprecated and will be removed in jaxinfo {REMOVED_IN}; "
        f"use {new} (same values).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def deprecated_alias(new: F, old_name: str) -> F:
    """``new`` under its former name ``old_name``: same values, plus a ``DeprecationWarning``."""

    @functools.wraps(new)
    def alias(*args, **kwargs):
        warn_renamed(f"jaxinfo.{old_name}", f"jaxinfo.{new.__name__}")
        return new(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old_name
    alias.__doc__ = f"Deprecated alias of :func:`{new.__name__}` (removed in {REMOVED_IN})."
    return alias  # type: ignore[return-value]


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Accepts each old keyword (``old="new"``) with a ``DeprecationWarning``.

    Passing both the old and the new keyword is a ``TypeError`` naming both.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f"{fn.__name__}() got both `{new}` and its deprecated name `{old}`; "
                        f"pass `{new}` only."
                    )
                warn_renamed(f"{fn.__name__}(): the keyword `{old}`", f"`{new}=`")
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
