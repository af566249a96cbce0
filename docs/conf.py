"""Sphinx configuration: the Markdown pages (MyST) plus API pages rendered from docstrings.

Build (warnings are errors):

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import inspect
import pathlib
import sys

# Import the package from this checkout even when it is not installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sphinx.util import logging  # noqa: E402

from jaxinfo import __version__  # noqa: E402

logger = logging.getLogger(__name__)

project = "jaxinfo"
author = "The jaxinfo authors"
copyright = "2026, The jaxinfo authors"
version = __version__
release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# MyST: the pages are plain CommonMark; heading anchors let pages link to sections.
myst_heading_anchors = 3

# API pages: one generated page per public name (docs/generated/, rebuilt on every build).
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
# Show `ArrayLike` rather than its expansion (a union of eight types) in the signatures.
autodoc_type_aliases = {"ArrayLike": "jax.typing.ArrayLike"}


def _alias_shows_its_name() -> None:
    """``ArrayLike | None`` renders as ``jax.typing.ArrayLike | None``.

    Sphinx 9 stands an alias in for a ``TypeAliasForwardRef`` object and, inside a union, prints
    that object's repr: ``TypeAliasForwardRef('jax.typing.ArrayLike') | None`` on every
    ``where=`` (sphinx-doc/sphinx#14003). Its repr is made the alias name, as stringifying a
    lone alias already gives.
    """
    from sphinx.util import inspect as sphinx_inspect

    forward_ref = getattr(sphinx_inspect, "TypeAliasForwardRef", None)
    if forward_ref is not None:
        forward_ref.__repr__ = lambda self: self.name  # type: ignore[method-assign]


_alias_shows_its_name()

# Docstrings are Google style ("Args:", "Returns:", "Example:").
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# "Attributes:" as :ivar: fields: NamedTuple fields are also documented as members, and two
# object descriptions of one attribute fail the -W build.
napoleon_use_ivar = True

html_theme = "alabaster"
html_title = f"jaxinfo {__version__}"
html_theme_options = {"description": "Differentiable information measures for JAX"}


def _drop_builtin_docstrings(app, what, name, obj, options, lines):
    """A constant (``BANDWIDTH_RULES``) would otherwise show the docstring of ``tuple``."""
    del app, name, options
    if what in ("data", "attribute") and lines:
        builtin = getattr(type(obj), "__doc__", None)
        builtin = builtin if isinstance(builtin, str) else ""  # NamedTuple fields: a descriptor
        if "\n".join(lines).strip() == inspect.cleandoc(builtin).strip():
            lines.clear()


def _public_bases(app, name, obj, options, bases):
    """Shows a class's nearest public ancestors instead of private helper bases."""
    del app, name, obj, options
    i = 0
    while i < len(bases):
        if bases[i].__name__.startswith("_"):
            bases[i : i + 1] = [b for b in bases[i].__bases__ if b not in bases]
        else:
            i += 1


def _no_internal_type_names(app, pagename, templatename, context, doctree):
    """Warns (an error under ``-W``) when a page shows a Sphinx-internal type placeholder."""
    del app, templatename, doctree
    body = context.get("body", "")
    for placeholder in ("TypeAliasForwardRef", "ForwardRef("):
        if placeholder in body:
            logger.warning("%s renders a type as %s(...)", pagename, placeholder)


def setup(app):
    app.connect("autodoc-process-docstring", _drop_builtin_docstrings)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("html-page-context", _no_internal_type_names)
