"""Every public name is documented: a docstring with the required sections, listed in docs."""

import collections
import importlib
import pathlib
import pkgutil
import re
import subprocess
import sys

import pytest

import jaxinfo
from jaxinfo import kernels

API_DOC = pathlib.Path(__file__).parents[1] / "docs" / "api.md"
FUNCTIONS = [name for name in jaxinfo.__all__ if name != "kernels"]
# Public modules other than namespaces of documented names: the command is documented in prose.
NOT_NAMESPACES = {"cli"}


def public_modules() -> list[str]:
    """``jaxinfo`` and every public submodule whose names make up the API."""
    found = [
        f"jaxinfo.{info.name}"
        for info in pkgutil.iter_modules(jaxinfo.__path__)
        if not info.name.startswith("_") and info.name not in NOT_NAMESPACES
    ]
    return ["jaxinfo", *sorted(found)]


def public_names() -> list[tuple[str, str]]:
    """``(module, name)`` for every name in a public module's ``__all__`` (modules excluded)."""
    names = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not isinstance(getattr(module, name), type(jaxinfo)):
                names.append((module_name, name))
    return names


def autosummary_entries(text: str) -> list[tuple[str, str]]:
    """``(current module, name)`` of every entry of every ``autosummary`` directive, in order.

    Reads the ``{eval-rst}`` blocks of a MyST page the way Sphinx does: ``.. currentmodule::``
    sets the module for the directives after it, and a directive's entries are its indented
    lines after the ``:option:`` lines.
    """
    entries = []
    for block in re.findall(r"```\{eval-rst\}\n(.*?)```", text, flags=re.DOTALL):
        module, in_directive = None, False
        for line in block.splitlines():
            if match := re.match(r"\.\. currentmodule:: *(\S+)", line):
                module, in_directive = match[1], False
            elif line.startswith(".. "):
                in_directive = line.startswith(".. autosummary::")
            elif in_directive and line.startswith("   ") and not line.strip().startswith(":"):
                assert module is not None, f"autosummary entry {line.strip()} before currentmodule"
                entries.append((module, line.strip()))
    return entries


def test_autosummary_parser_reads_modules_and_entries():
    text = """intro `not_an_entry`

```{eval-rst}
.. currentmodule:: pkg

.. autosummary::
   :toctree: generated

   first
   second
```

```{eval-rst}
.. currentmodule:: pkg.sub

.. autosummary::
   :nosignatures:

   third
```
"""
    assert autosummary_entries(text) == [("pkg", "first"), ("pkg", "second"), ("pkg.sub", "third")]


def test_every_public_name_has_one_api_entry():
    entries = autosummary_entries(API_DOC.read_text())
    twice = sorted(entry for entry, count in collections.Counter(entries).items() if count > 1)
    assert not twice, f"listed more than once in docs/api.md: {twice}"
    public = set(public_names())
    missing = sorted(public - set(entries))
    assert not missing, f"public names without an autosummary entry in docs/api.md: {missing}"
    stale = sorted(set(entries) - public)
    assert not stale, f"docs/api.md lists names that are not public: {stale}"


def test_public_modules_are_the_documented_namespaces():
    # A new public module must get an api.md section (or join NOT_NAMESPACES with a reason).
    assert public_modules() == [
        "jaxinfo",
        "jaxinfo.kernels",
        "jaxinfo.nn",
        "jaxinfo.plotting",
        "jaxinfo.testing",
    ]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_function_is_documented(name):
    obj = getattr(jaxinfo, name)
    doc = obj.__doc__ or ""
    if isinstance(obj, type):  # a public state or result type
        assert "Attributes:" in doc, name
    else:
        assert "Example:" in doc, name
        assert "Args:" in doc and "Returns:" in doc, name


@pytest.mark.parametrize("name", kernels.__all__)
def test_kernel_names_have_docstrings(name):
    assert getattr(kernels, name).__doc__ or name == "BANDWIDTH_RULES"


def test_all_is_sorted_and_complete():
    assert jaxinfo.__all__ == sorted(jaxinfo.__all__)
    assert isinstance(jaxinfo.__version__, str)


def test_cli_measure_runs(tmp_path, capsys):
    import numpy as np

    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32))
    out = subprocess.run(
        [sys.executable, "-m", "jaxinfo.cli", "measure", str(path), "--alpha", "2", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import json

    result = json.loads(out)
    expected = float(jaxinfo.matrix_renyi_entropy(np.load(path), alpha=2))
    assert abs(result["matrix_renyi_entropy(alpha=2.0)"] - expected) < 1e-5
    # A bad option is argparse's exit 2 (in process: the subprocess above showed the entry).
    from jaxinfo import cli

    assert cli.main(["measure", str(path), "--bandwidth", "mean"]) == 2
    assert "argument --bandwidth: must be" in capsys.readouterr().err


def test_nn_names_have_docstrings():
    import jaxinfo.nn as nn

    assert jaxinfo.nn is nn
    for name in nn.__all__:
        obj = getattr(nn, name)
        doc = obj.__doc__ or ""
        if isinstance(obj, type) and name != "estimate_mutual_information":
            # A contract (Critic) shows a subclass instead of listing arguments.
            assert "Attributes:" in doc or "Args:" in doc or "Example:" in doc, name
        else:
            assert "Example:" in doc and "Args:" in doc and "Returns:" in doc, name
