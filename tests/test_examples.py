"""Smoke tests: the examples run end to end at tiny sizes."""

import math
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout


def test_quickstart_runs_and_its_penalty_lowers_the_information():
    out = _run("quickstart.py", "--steps", "20")
    assert "I_1.01(X; Y)" in out
    table = out.split("== effect of the penalty")[1].splitlines()[2:4]
    (beta0, _, mi0), (beta1, _, mi1) = (tuple(map(float, row.split())) for row in table)
    assert (beta0, beta1) == (0.0, 0.5)
    assert mi1 < mi0 - 0.003  # measured 0.2145 -> 0.2070 after 20 steps from the same start


@pytest.mark.slow  # ~23 s: compile-bound; quickstart covers the example path by default
def test_dse_training_dynamics_runs(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    out = _run(
        "dse_training_dynamics.py", "--epochs", "1", "--subset", "60", "--out", str(tmp_path)
    )
    assert (tmp_path / "dse_training_dynamics.png").exists()
    assert "DSMI(Z;Y) real labels" in out


def _synthetic_bikeshare(path, n=300):
    """A CSV with Bikeshare.csv's columns (the real file comes from the ISLP package)."""
    import numpy as np

    rng = np.random.default_rng(0)
    months = [
        "Jan",
        "Feb",
        "March",
        "April",
        "May",
        "June",
        "July",
        "Aug",
        "Sept",
        "Oct",
        "Nov",
        "Dec",
    ]
    header = (
        "season,mnth,day,hr,holiday,weekday,workingday,weathersit,temp,atemp,hum,windspeed,"
        "casual,registered,bikers"
    )
    lines = [header]
    for i in range(n):
        hr, temp = i % 24, rng.uniform(0, 1)
        bikers = int(5 + 50 * temp + 30 * np.sin(np.pi * hr / 24) + rng.integers(0, 10))
        weather = ["clear", "cloudy/misty", "light rain/snow"][i % 3]
        lines.append(
            f'1,"{months[i % 12]}",{i // 24 + 1},"{hr}",0,{i % 7},1,"{weather}",'
            f"{temp:.2f},{temp:.2f},0.5,0.1,1,{bikers - 1},{bikers}"
        )
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow  # ~23 s: compile-bound
def test_cs_ib_regression_runs(tmp_path):
    pytest.importorskip("matplotlib")
    data = tmp_path / "Bikeshare.csv"
    _synthetic_bikeshare(data)
    out = _run(
        "cs_ib_regression.py",
        "--data",
        str(data),
        "--epochs",
        "2",
        "--batch",
        "32",
        "--betas",
        "0.1",
        "--out",
        str(tmp_path),
    )
    assert (tmp_path / "cs_ib_regression.png").exists()
    assert "Selected on validation: CS-IB beta=0.1" in out and "| MSE |" in out


@pytest.mark.slow  # ~40 s on one core: five jitted losses compile, even for two epochs
def test_information_bottleneck_runs(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    import json

    out = _run("information_bottleneck.py", "--quick", "--output", str(tmp_path))
    assert (tmp_path / "information_bottleneck.png").exists()
    summary = json.loads((tmp_path / "information_bottleneck.json").read_text())
    methods = {run["method"] for run in summary["runs"]}
    assert methods == {"ce", "vib", "nib", "matrix", "cs"}
    for run in summary["runs"]:
        assert len(run["plane"]) == 3  # initialisation + 2 epochs
        assert all(math.isfinite(v) for point in run["plane"] for v in point)
        assert 0.0 <= run["test_accuracy"] <= 1.0
        assert f"| {run['method']} | {run['beta']:g} | {run['test_accuracy']:.4f} |" in out


@pytest.mark.slow  # ~90 s: three quick configurations compile and train for 20 steps
def test_koopman_reproduction_runs(tmp_path):
    import json

    configs = {
        "lorenz_paper_infonce_learned": ["--grid", "0,0", "2,0.1"],
        "lorenz_released_infonce_ridge": ["--protocol", "released", "--grid", "0,0", "2,0.1"],
        "pendulum_paper_gaussian_learned": ["--system", "pendulum", "--information", "gaussian"],
    }
    for tag, options in configs.items():
        _run("koopman_lorenz.py", "--quick", "--out", str(tmp_path), "--tag", tag, *options)
        summary = json.loads((tmp_path / f"koopman_{tag}.json").read_text())
        assert len(summary["runs"]) == 2
        for run in summary["runs"]:
            assert 1.0 <= run["d_eff"] <= 32.0 and math.isfinite(run["kld_reencoded"])
            assert all(math.isfinite(run[f"nrmse_reencoded_{h}"]) for h in (5, 20, 50))
    out = _run("koopman_claims.py", str(tmp_path))
    assert "| lorenz released infonce ridge 20x8 | 2 | 0.1 | 1 |" in out
    assert (tmp_path / "koopman_claims.png").exists()


def test_custom_kernel_example_runs_every_family():
    out = _run("custom_kernel.py", "--n", "96")
    sections = out.split("== ")
    rows = [tuple(map(float, line.split())) for line in sections[1].splitlines()[2:6]]
    assert [r[0] for r in rows] == [0.0, 0.5, 1.0, 2.0]
    for column in (1, 2):  # the divergence grows with the shift, for both kernels
        values = [r[column] for r in rows]
        assert values == sorted(values) and values[-1] > 10 * abs(values[0])
    assert all(r[2] == r[3] for r in rows)  # one block and blocks of 64 agree
    mi = [float(line.split(":")[1]) for line in sections[2].splitlines()[1:4]]
    assert mi == sorted(mi, reverse=True)  # more noise, less information
    sweep = [line.split() for line in sections[3].splitlines()[1:6]]
    values = [float(row[3]) for row in sweep]
    slopes = [float(row[6]) for row in sweep]
    # A narrower kernel separates the shifted sample more: falling values, negative slopes.
    assert values == sorted(values, reverse=True) and all(s < 0 for s in slopes)


@pytest.mark.slow  # ~15 s CPU (30 s wall on a loaded machine): compile-bound
def test_minimize_mutual_information_lowers_the_bound_and_the_information():
    out = _run("minimize_mutual_information.py", "--steps", "60")
    lines = out.splitlines()
    before, after = (float(line.split(":")[1].split()[0]) for line in lines if "KSG" in line)
    rows = [tuple(map(float, line.split())) for line in lines if line[:5].strip().isdigit()]
    assert [r[0] for r in rows][:: len(rows) - 1] == [0.0, 60.0]
    # measured: CLUB 0.890 -> 0.084 (L1Out 0.337 -> 0.036); KSG I(T; S) 0.330 -> 0.127 nats
    assert rows[-1][3] < 0.25 * rows[0][3] and rows[-1][4] < 0.25 * rows[0][4]
    assert after < before - 0.1


@pytest.mark.slow  # ~45 s: two MINDE trainings compile; tests/test_score_based.py covers them
def test_score_based_layer_runs():
    out = _run("score_based_layer.py", "--quick")
    rows = [line for line in out.splitlines() if line.startswith(("| initialisation", "| after"))]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        reference, minde = float(cells[2]), float(cells[3].split("±")[0])
        assert reference > 0 and minde >= 0


@pytest.mark.slow  # ~35 s on one loaded core: the model and the metrics compile
def test_layerwise_transformer_runs(tmp_path):
    import json

    _run("layerwise_transformer.py", "--quick", "--out", str(tmp_path))
    summary = json.loads((tmp_path / "layerwise_transformer.json").read_text())
    assert summary["layers"] == ["embedding", "block 1", "block 2", "block 3", "block 4"]
    assert [c["step"] for c in summary["checkpoints"]] == [0, 10, 20]
    metrics = {
        "prompt_entropy",
        "dataset_entropy",
        "curvature",
        "lidar",
        "dime",
        "probe_next_char",
        "probe_module",
    }
    for checkpoint in summary["checkpoints"]:
        assert set(checkpoint["metrics"]) == metrics and math.isfinite(checkpoint["eval_loss"])
        for values in checkpoint["metrics"].values():
            assert len(values) == 5 and all(math.isfinite(v) for v in values)


@pytest.mark.slow  # ~30 s on one core: the network, KSG and Ross compile
def test_information_plane_digits_runs(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    import json

    out = _run("information_plane_digits.py", "--quick", "--out", str(tmp_path))
    assert (tmp_path / "information_plane_digits.png").exists()
    summary = json.loads((tmp_path / "information_plane_digits.json").read_text())
    layers = ["conv1", "conv2", "dense", "logits"]
    assert summary["layers"] == layers
    assert [row["epoch"] for row in summary["epochs"]] == [0, 1, 2, 3]
    for row in summary["epochs"]:
        assert set(row["layers"]) == set(layers) and 0.0 <= row["test_accuracy"] <= 1.0
        for values in row["layers"].values():
            assert set(values) == {"i_xt", "i_xt_se", "i_ty", "i_ty_se"}
            assert all(math.isfinite(v) for v in values.values())
            assert values["i_xt_se"] > 0 and values["i_ty_se"] > 0
    assert set(summary["compression"]) == set(layers)
    assert "compression phase" in out
