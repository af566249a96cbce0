"""The Markdown docs stay true to the code: every page reachable, code references that exist."""

import importlib
import importlib.util
import pathlib
import re

import pytest

import jaxinfo
from jaxinfo._src import samples

DOCS = pathlib.Path(__file__).parents[1] / "docs"
SRC = pathlib.Path(jaxinfo.__file__).parent / "_src"


def _pages() -> set[str]:
    return {path.stem for path in DOCS.glob("*.md")} - {"index"}


def _toctree(text: str) -> list[str]:
    """Entries of the ``{toctree}`` directives of a MyST page (options and blanks skipped)."""
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.DOTALL):
        entries += [line.strip() for line in block.splitlines() if line.strip()[:1] not in ":"]
    return entries


def test_every_page_is_in_the_index_toctree_and_list():
    index = (DOCS / "index.md").read_text()
    toctree = _toctree(index)
    assert len(toctree) == len(set(toctree)), toctree
    assert set(toctree) == _pages(), "docs/index.md toctree against docs/*.md"
    listed = set(re.findall(r"^- \[[^]]+\]\(([\w-]+)\.md\)", index, flags=re.MULTILINE))
    assert listed == _pages(), "docs/index.md list against docs/*.md"


def _code_spans(text: str) -> list[str]:
    """Inline code of a Markdown page, a span joined across line breaks."""
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]


def test_architecture_module_table_is_the_private_tree():
    text = (DOCS / "architecture.md").read_text()
    table = "\n".join(line for line in text.splitlines() if line.startswith("| "))
    named = set(re.findall(r"`(\w+)\.py`", table))
    modules = {path.stem for path in SRC.glob("*.py")} - {"__init__"}
    assert named - modules == set(), "architecture.md names modules that do not exist"
    assert modules - named == set(), "modules missing from the architecture.md table"


def test_architecture_code_references_exist():
    """``module.name``, ``block.name`` and ``s.name`` in architecture.md name real attributes."""
    text = (DOCS / "architecture.md").read_text()
    owners = {"block": samples.Block, "s": samples.Samples}
    modules = {path.stem for path in SRC.glob("*.py")} - {"__init__"}
    checked = []
    for span in _code_spans(text):
        for owner, attribute, star in re.findall(r"\b([a-z_]+)\.([A-Za-z_]\w*)(\*?)", span):
            if owner in owners:
                target = owners[owner]
            elif owner in modules and attribute != "py":
                target = importlib.import_module(f"jaxinfo._src.{owner}")
            else:
                continue
            if star:  # `validation.check_*`: some attribute with that prefix
                found = any(name.startswith(attribute) for name in dir(target))
            else:
                found = hasattr(target, attribute)
            assert found, f"`{span}`: {owner}.{attribute}{star} does not exist"
            checked.append(f"{owner}.{attribute}")
    # The parser found the references the page is about (a silent parse would pass vacuously).
    assert {"block.log_gram", "s.reduce", "validation.paired_samples", "guards.answer"} <= set(
        checked
    )


def _public_names() -> set[str]:
    names = set(jaxinfo.__all__)
    for module in ("kernels", "nn", "testing", "plotting"):
        names |= set(importlib.import_module(f"jaxinfo.{module}").__all__)
    return names


@pytest.mark.parametrize("page", sorted(_pages() | {"index"}))
def test_no_page_calls_a_public_name_missing(page):
    """A paragraph saying something is not in the library names nothing that is."""
    text = (DOCS / f"{page}.md").read_text()
    public = _public_names()
    for paragraph in text.split("\n\n"):
        if re.search(r"not (yet )?in the library|not yet (implemented|available)", paragraph, re.I):
            named = {name.split(".")[-1] for name in _code_spans(paragraph)} & public
            assert not named, f"{page}.md calls {sorted(named)} missing: {paragraph!r}"


def test_type_aliases_render_by_name_inside_unions():
    """docs/conf.py makes ``ArrayLike | None`` render as ``jax.typing.ArrayLike | None``.

    Sphinx 9 prints ``TypeAliasForwardRef('jax.typing.ArrayLike') | None`` for every
    ``where=`` without it. The full docs build (CI, ``-W``) also fails on that text; this checks
    the same rendering path in the test run, where Sphinx is installed.
    """
    pytest.importorskip("sphinx")
    from sphinx.util.inspect import signature
    from sphinx.util.typing import stringify_annotation

    spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    where = signature(jaxinfo.matrix_joint_entropy, type_aliases=conf.autodoc_type_aliases)
    annotation = where.parameters["where"].annotation
    assert stringify_annotation(annotation, "smart") == "jax.typing.ArrayLike | None"
