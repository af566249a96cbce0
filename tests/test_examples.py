"""Smoke tests: the examples run end to end at tiny sizes."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout


def test_quickstart_runs():
    out = _run("quickstart.py", "--steps", "3")
    assert "I_1.01(X; Y)" in out and "full-data mse" in out


def test_dse_training_dynamics_runs(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    out = _run("dse_training_dynamics.py", "--epochs", "1", "--subset", "60", "--out", str(tmp_path))
    assert (tmp_path / "dse_training_dynamics.png").exists()
    assert "DSMI(Z;Y) real labels" in out
