"""``jaxinfo bench --guide``: its summary numbers, its catalogue and the page that shows it."""

import math
import pathlib
import re

import jax
import numpy as np
import pytest

import jaxinfo
from jaxinfo import cli
from jaxinfo._src.bench import guide

CHOOSING = pathlib.Path(__file__).resolve().parents[1] / "docs" / "choosing.md"
START, END = "<!-- guide table: start -->", "<!-- guide table: end -->"


def _page_tables() -> list[list[str]]:
    """The measure names of each generated table on docs/choosing.md (float32, float64)."""
    text = CHOOSING.read_text()
    blocks = [part.split(END, 1)[0] for part in text.split(START)[1:]]
    return [re.findall(r"^\| `([^`]+)` \|", b, flags=re.MULTILINE) for b in blocks]


def test_choosing_page_tables_are_the_guide_catalogue():
    tables = _page_tables()
    assert len(tables) == 2, "docs/choosing.md should hold the float32 and float64 tables"
    for names in tables:
        assert names == [m.name for m in guide.catalogue()]


def test_catalogue_names_are_public_functions():
    for measure in guide.catalogue():
        name = measure.name.split("(")[0]
        if name == guide.NEURAL:
            assert hasattr(jaxinfo.nn, "estimate_mutual_information")
        else:
            assert callable(getattr(jaxinfo, name)), name
        assert measure.kind in ("mi", "entropy")
        assert measure.shannon == ("NOT Shannon" not in measure.estimates), measure.name


def _run(task, seed, value, truth, measure="m"):
    return guide.Run(measure, task, 100, seed, value, truth, 0.01 * (seed + 1))


def test_summary_is_bias_mae_and_seed_spread_over_tasks():
    runs = [
        _run("a", 0, 1.1, 1.0),
        _run("a", 1, 1.3, 1.0),
        _run("b", 0, 1.9, 2.0),
        _run("b", 1, 1.9, 2.0),
    ]
    summary = guide.summarise(runs)
    # Task a: mean 1.2, error +0.2, spread std(1.1, 1.3); task b: error -0.1, spread 0.
    assert summary["tasks"] == 2
    np.testing.assert_allclose(summary["bias"], (0.2 - 0.1) / 2)
    np.testing.assert_allclose(summary["mae"], (0.2 + 0.1) / 2)
    np.testing.assert_allclose(summary["spread"], np.std([1.1, 1.3], ddof=1) / 2)
    np.testing.assert_allclose(summary["value"], (1.2 + 1.9) / 2)
    np.testing.assert_allclose(summary["seconds"], 0.015)
    assert summary["failed"] == 0


def test_a_refused_task_counts_as_failed_not_as_an_error():
    runs = [_run("a", 0, 1.0, 1.0), _run("b", 0, math.nan, 2.0), _run("b", 1, math.nan, 2.0)]
    summary = guide.summarise(runs)
    assert summary["failed"] == 1 and summary["mae"] == 0.0


def test_growth_exponent_is_the_log_slope():
    assert guide.growth_exponent(1.0, 16.0, 100, 400) == pytest.approx(2.0)


def test_run_suite_scores_each_call_against_the_truth():
    task = jaxinfo.testing.correlated_gaussians(1, 1, correlation=0.5)
    runs = guide.run_suite(
        {"gaussian": jaxinfo.gaussian_mutual_information}, "mi", (64,), (0,), tasks=[task]
    )
    x, y = task.sample(jax.random.key(0), 64)
    assert len(runs) == 1
    assert runs[0].truth == task.mutual_information
    np.testing.assert_allclose(runs[0].value, jaxinfo.gaussian_mutual_information(x, y))


def test_markdown_shows_kernel_measures_as_values_not_biases():
    result = {
        "dtype": "float32",
        "settings": {"n": 100, "seeds": [0], "growth_sizes": [100, 200], "growth_task": "t"},
        "rows": [
            {"measure": m.name, **guide.summarise([_run("a", 0, 0.5, 1.0, m.name)])}
            | {"n": 100, "growth": 1.0, "showcase": 0.5, "showcase_truth": 1.0}
            for m in guide.catalogue()
        ],
    }
    table = guide.markdown(result)
    lines = {line.split(" | ")[0][3:-1]: line for line in table.splitlines() if "| `" in line}
    assert "not Shannon: no bias" in lines["cauchy_schwarz_mutual_information"]
    assert "0.500 (-0.500)" in lines["ksg_mutual_information"]
    assert "0.500 (1.000)" in lines["matrix_mutual_information"]


def test_guide_flag_refuses_the_grid_flags(capsys):
    status = cli.main(["bench", "--guide", "--compare"])
    _, err = capsys.readouterr()
    assert status == 2 and "`--guide` takes --quick, --x64 and --output only" in err
