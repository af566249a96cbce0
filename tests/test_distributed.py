"""Multi-process check: examples/distributed.py on 2 processes x 4 CPU devices on localhost.

The launcher starts two JAX processes joined by ``jax.distributed.initialize`` (gloo CPU
collectives), evaluates the sharded estimators over all 8 devices and compares them with the
single-process values; here the JSON it writes is checked again, independently of its own
verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "distributed.py"
MEASURES = {
    "cauchy_schwarz_divergence",
    "matrix_renyi_entropy[alpha=2]",
    "ksg_mutual_information",
    "knn_entropy",
    "diffusion_spectral_entropy",
    "cauchy_schwarz_information_bottleneck_loss",
    "grad_cs_ib_loss_wrt_t",
}
RTOL, ATOL = 1e-5, 1e-6  # float32


def _gloo_available() -> bool:
    try:
        # jax's private layout on purpose (an ImportError runs the test).
        from jax._src.lib import _jax  # pyright: ignore[reportPrivateImportUsage]
    except ImportError:  # private layout moved: run the test rather than skip it
        return True
    return hasattr(_jax, "make_gloo_tcp_collectives")


pytestmark = pytest.mark.skipif(
    not _gloo_available(), reason="this jaxlib has no gloo CPU collectives"
)


def _launch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--processes", "2", "--devices-per-process", "4", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -m slow: 22-36 s alone, but in the 2-worker default run on 2 cores the two 4-device worker
# processes starved and hit the launcher's 240 s timeout (CI, 2026-11-29). The failure-path
# test below keeps the launcher in the default run.
@pytest.mark.slow
def test_two_processes_give_the_single_process_values(tmp_path):
    output = tmp_path / "report.json"
    run = _launch("--output", str(output), "--timeout", "240")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    report = json.loads(output.read_text())
    assert (report["processes"], report["global_devices"]) == (2, 8)
    assert report["dtype"] == "float32" and report["ok"] is True
    assert report["cross_process_spread"] == 0.0
    assert set(report["measures"]) == MEASURES
    for name, row in report["measures"].items():
        if name == "grad_cs_ib_loss_wrt_t":
            # abs_diff: the largest elementwise difference; single_process: max |gradient|
            assert row["abs_diff"] <= RTOL * row["single_process"], row
        else:
            assert row["abs_diff"] == abs(row["multi_process"] - row["single_process"]), name
            assert row["abs_diff"] <= RTOL * abs(row["single_process"]) + ATOL, (name, row)
        assert row["agrees"] is True, name


def test_a_failing_worker_fails_the_launcher():
    # 12 rows cannot be split over 8 devices: both workers exit non-zero after initialize.
    run = _launch("--n", "12", "--timeout", "120", timeout=180)
    assert run.returncode != 0
    assert "FAILED: workers failed" in run.stdout
    assert "must be divisible by the 8 global devices" in run.stdout + run.stderr
