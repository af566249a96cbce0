"""Sharded jaxinfo estimators across several processes (JAX's multi-controller runtime).

Checks that the estimators evaluated under ``shard_map`` with ``axis_name`` on a mesh spanning
several *processes* give the same numbers as a plain single-process call on the full data.

Launcher (the default mode) starts ``--processes`` workers on this machine, each with
``--devices-per-process`` CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count``,
``JAX_PLATFORMS=cpu``) and a coordinator on a free localhost port, waits for them with a
timeout and exits non-zero if a worker fails or a value disagrees::

    python examples/distributed.py --processes 2 --devices-per-process 4 [--output out.json]

Worker mode is what a cluster runs, one process per host (or per GPU)::

    python examples/distributed.py --worker                      # SLURM, TPU pod, Open MPI
    python examples/distributed.py --worker --process-id 0 --num-processes 2 \\
        --coordinator 10.0.0.1:1234                              # anything else

Without ``--coordinator``/``--process-id``/``--num-processes`` the worker calls
``jax.distributed.initialize()`` with no arguments, which reads them from the cluster
environment (SLURM's ``SLURM_*`` variables, the TPU VM metadata, Open MPI's ``OMPI_*``).
See docs/distributed.md.

Each worker draws the same global data from a fixed key, keeps only its process-local rows,
assembles global arrays with ``jax.make_array_from_process_local_data`` on
``Mesh(jax.devices(), ("rows",))`` and evaluates six estimators and the gradient of the CS-IB
loss with respect to the representation ``t`` under ``jax.jit(jax.shard_map(...))`` with
``axis_name="rows"`` (one compiled program). Process 0 then computes the single-process
reference: the same functions without ``axis_name`` on the full data, on one local device.
It prints (and with ``--output`` writes) a JSON report whose ``measures`` table is
``{measure: {multi_process, single_process, abs_diff, rel_diff, agrees}}``; for the gradient
row, ``multi_process``/``single_process`` are ``max |grad|`` and ``abs_diff`` the largest
elementwise difference. A row agrees if ``abs_diff <= rtol * |single_process| + atol``, with
``(rtol, atol) = (1e-5, 1e-6)`` in float32 (the default) and ``(1e-12, 1e-13)`` with ``--x64``
(``atol = 0`` for the gradient, whose entries are O(1/n)).
Every process must also read bit-identical values. Measured on 2 processes x 4 CPU devices,
n = 512: see docs/distributed.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Agreement tolerances (rtol, atol) per dtype: |multi - single| <= rtol * |single| + atol.
TOLERANCES = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-13)}
CS_IB = "cauchy_schwarz_information_bottleneck_loss"
GRADIENT = "grad_cs_ib_loss_wrt_t"


# ----------------------------------------------------------------------------- worker


def make_data(n: int, dtype):
    """The global data set, identical in every process (fixed seed), as host numpy arrays.

    Drawn with numpy in float32 and then cast, so ``--x64`` sees the same numbers.
    """
    import numpy as np

    rng = np.random.default_rng(0)

    def normal(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    x = normal(n, 3)
    z = 1.2 * normal(n, 3) + 0.5  # a second sample, for the CS divergence
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 + 0.1 * normal(n, 1)
    y_pred = y + 0.2 * normal(n, 1)
    t = np.tanh(x @ normal(3, 4))  # a "representation" of x
    arrays = dict(x=x, z=z, y=y, y_pred=y_pred, t=t)
    return {name: a.astype(dtype) for name, a in arrays.items()}


def cs_ib_loss(data, axis_name=None):
    """CS-IB loss of the data dict, Gaussian(1) kernels as in the reference training script.

    (The default median rule gives the same global value, but every device computes the
    median of all ``n^2`` distances itself: 5.6 s instead of 0.7 s at n = 512 on 8 CPU
    devices sharing 2 cores.)
    """
    import jaxinfo
    from jaxinfo import kernels

    gauss = kernels.Gaussian(1.0)
    loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
        *(data[k] for k in ("x", "y", "y_pred", "t")),
        beta=0.1,
        kernel_x=gauss,
        kernel_y=gauss,
        kernel_t=gauss,
        axis_name=axis_name,
    )
    return loss


def measures(data, axis_name=None):
    """Every measure of the check; with ``axis_name`` each device holds a block of rows."""
    import jaxinfo
    from jaxinfo import kernels

    gauss = kernels.Gaussian(1.0)
    x, y = data["x"], data["y"]
    return {
        "cauchy_schwarz_divergence": jaxinfo.cauchy_schwarz_divergence(
            x, data["z"], kernel=gauss, axis_name=axis_name
        ),
        "matrix_renyi_entropy[alpha=2]": jaxinfo.matrix_renyi_entropy(
            x, alpha=2, kernel=gauss, axis_name=axis_name
        ),
        "ksg_mutual_information": jaxinfo.ksg_mutual_information(
            x[:, :2], y, k=3, axis_name=axis_name
        ),
        "knn_entropy": jaxinfo.knn_entropy(x, k=3, axis_name=axis_name),
        "diffusion_spectral_entropy": jaxinfo.diffusion_spectral_entropy(
            x, bandwidth=1.0, axis_name=axis_name
        ),
        CS_IB: cs_ib_loss(data, axis_name),
    }


def _process_local_rows(sharding, shape) -> slice:
    """The contiguous block of rows this process's devices hold under a row sharding."""
    starts, stops = [], []
    for index in sharding.addressable_devices_indices_map(shape).values():
        rows = index[0]
        starts.append(rows.start or 0)
        stops.append(shape[0] if rows.stop is None else rows.stop)
    lo, hi = min(starts), max(stops)
    if hi - lo != sum(b - a for a, b in zip(starts, stops, strict=True)):
        raise RuntimeError("this process's devices do not hold one contiguous block of rows")
    return slice(lo, hi)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return bool(abs(a - b) <= rtol * abs(b) + atol)


def run_worker(args) -> int:
    started = time.perf_counter()
    import jax

    # Cross-process collectives on CPU need an implementation; gloo is jax 0.10's default,
    # set explicitly so the script states its requirement. Must precede initialize().
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    explicit = (args.coordinator, args.num_processes, args.process_id)
    if all(v is not None for v in explicit):
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
            initialization_timeout=args.timeout,
        )
    elif any(v is not None for v in explicit):
        raise SystemExit("--coordinator, --num-processes and --process-id go together")
    else:
        jax.distributed.initialize()  # SLURM, Cloud TPU, Open MPI: auto-detected

    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    pid, nproc = jax.process_index(), jax.process_count()
    devices = jax.devices()
    n = args.n
    if n % len(devices):
        raise SystemExit(f"--n {n} must be divisible by the {len(devices)} global devices")
    tag = f"[process {pid}/{nproc}]"
    print(
        f"{tag} {jax.local_device_count()} local / {len(devices)} global devices "
        f"({time.perf_counter() - started:.1f} s after start)",
        flush=True,
    )

    mesh = Mesh(np.asarray(devices), ("rows",))
    rows = NamedSharding(mesh, P("rows"))
    full = make_data(n, np.float64 if args.x64 else np.float32)
    local_rows = _process_local_rows(rows, full["x"].shape)
    # A real job would load only these rows; here every process derives them from the key.
    sharded = {
        name: jax.make_array_from_process_local_data(rows, a[local_rows], a.shape)
        for name, a in full.items()
    }

    def value_and_grad(fn):
        """All measures and d(CS-IB loss)/dt, as one program (``fn``: measures or sharded)."""

        def objective(t, data):
            values = fn({**data, "t": t})
            return values[CS_IB], values

        # Global arrays must be arguments of a jitted function, never closed over.
        return jax.jit(jax.grad(objective, has_aux=True))

    sharded_measures = jax.shard_map(
        lambda d: measures(d, axis_name="rows"), mesh=mesh, in_specs=P("rows"), out_specs=P()
    )
    start = time.perf_counter()
    program = value_and_grad(sharded_measures).lower(sharded["t"], sharded).compile()
    compiled = time.perf_counter()
    # grad_t: d loss / d t, a global array sharded over the rows like t.
    grad_t, values = jax.block_until_ready(program(sharded["t"], sharded))
    ran = time.perf_counter()
    names = sorted(values)
    # out_specs=P(): every device holds the global value; read this process's copy.
    local = np.array([values[k].addressable_data(0) for k in names], full["x"].dtype)
    per_process = np.asarray(multihost_utils.process_allgather(local), np.float64)
    grad_full = np.asarray(multihost_utils.process_allgather(grad_t, tiled=True), np.float64)
    spread = float(np.max(np.abs(per_process - per_process[0])))
    print(
        f"{tag} sharded: compile {compiled - start:.1f} s, run {ran - compiled:.2f} s; "
        f"cross-process spread {spread:.3g}",
        flush=True,
    )
    if pid != 0:
        if spread != 0.0:
            print(f"{tag} FAILED: processes read different values: {per_process}", flush=True)
        return 0 if spread == 0.0 else 1

    import jax.numpy as jnp

    # Single-process reference: the same functions without axis_name on the full data, on one
    # local device (jitted like the sharded program, so both are compiled the same way).
    reference_data = {name: jnp.asarray(a) for name, a in full.items()}
    start = time.perf_counter()
    reference_grad, reference = value_and_grad(measures)(reference_data["t"], reference_data)
    reference = {k: float(v) for k, v in reference.items()}
    reference_grad = np.asarray(reference_grad, np.float64)
    print(f"{tag} single-process reference: {time.perf_counter() - start:.1f} s", flush=True)
    dtype = str(full["x"].dtype)
    rtol, atol = TOLERANCES[dtype]
    table = {}
    for k, v in zip(names, per_process[0], strict=True):
        diff = abs(v - reference[k])
        table[k] = {
            "multi_process": float(v),
            "single_process": reference[k],
            "abs_diff": diff,
            "rel_diff": diff / abs(reference[k]) if reference[k] else diff,
            "agrees": _close(v, reference[k], rtol, atol),
        }
    scale = float(np.max(np.abs(reference_grad)))
    grad_diff = float(np.max(np.abs(grad_full - reference_grad)))
    table[GRADIENT] = {
        # For the [n, d_t] gradient: its largest |entry| and the largest elementwise difference.
        "multi_process": float(np.max(np.abs(grad_full))),
        "single_process": scale,
        "abs_diff": grad_diff,
        "rel_diff": grad_diff / scale,
        "agrees": grad_diff <= rtol * scale,  # no atol: the entries are O(1/n)
    }
    report = {
        "processes": nproc,
        "global_devices": len(devices),
        "n": n,
        "dtype": dtype,
        "rtol": rtol,
        "atol": atol,
        "cross_process_spread": spread,
        "measures": table,
        "ok": spread == 0.0 and all(row["agrees"] for row in table.values()),
    }
    text = json.dumps(report, indent=2)
    print(text, flush=True)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0 if report["ok"] else 1


# ----------------------------------------------------------------------------- launcher


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker_env(devices_per_process: int) -> dict[str, str]:
    env = dict(os.environ)
    flags = [
        f
        for f in env.get("XLA_FLAGS", "").split()
        if not f.startswith("--xla_force_host_platform_device_count")
    ]
    flags.append(f"--xla_force_host_platform_device_count={devices_per_process}")
    env["XLA_FLAGS"] = " ".join(flags)
    env["JAX_PLATFORMS"] = "cpu"
    # Every CPU device runs its own LAPACK call (DSE's eigensolver); multi-threaded OpenBLAS
    # calls from several devices at once oversubscribe the cores (30x slower here).
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _tail(path: Path, lines: int = 40) -> str:
    text = [
        ln for ln in path.read_text(errors="replace").splitlines() if not ln.startswith("[Gloo]")
    ]
    return "\n".join(text[-lines:])


def run_launcher(args) -> int:
    coordinator = f"127.0.0.1:{_free_port()}"
    with tempfile.TemporaryDirectory(prefix="jaxinfo-distributed-") as tmp:
        output = Path(args.output) if args.output else Path(tmp) / "report.json"
        output.unlink(missing_ok=True)
        workers, logs = [], []
        for pid in range(args.processes):
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                f"--process-id={pid}",
                f"--num-processes={args.processes}",
                f"--coordinator={coordinator}",
                f"--n={args.n}",
                f"--timeout={args.timeout}",
            ]
            if args.x64:
                cmd.append("--x64")
            if pid == 0:
                cmd.append(f"--output={output}")
            log = Path(tmp) / f"worker{pid}.log"
            logs.append(log)
            print("$", shlex.join(cmd), flush=True)
            with log.open("w") as sink:
                workers.append(
                    subprocess.Popen(
                        cmd,
                        env=_worker_env(args.devices_per_process),
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    )
                )

        deadline = time.monotonic() + args.timeout
        failed = None
        try:
            while failed is None and any(w.poll() is None for w in workers):
                failed = next((i for i, w in enumerate(workers) if w.poll() not in (None, 0)), None)
                if time.monotonic() > deadline:
                    failed = "timeout"
                time.sleep(0.1)
            if failed is None:
                failed = next((i for i, w in enumerate(workers) if w.returncode != 0), None)
        finally:
            for w in workers:  # a failed or hung worker leaves the others waiting on it
                if w.poll() is None:
                    w.kill()
                w.wait()

        for line in logs[0].read_text(errors="replace").splitlines():
            if not line.startswith("[Gloo]"):  # gloo's per-rank connection chatter
                print(line)
        report = json.loads(output.read_text()) if output.exists() else None
        if failed is not None:
            reason = f"timed out after {args.timeout} s" if failed == "timeout" else "failed"
            codes = [w.returncode for w in workers]
            for pid, log in enumerate(logs[1:], start=1):
                print(f"--- worker {pid} log (tail) ---\n{_tail(log)}")
            print(f"\nFAILED: workers {reason}; return codes {codes}")
            if report is None:
                return 1

    if report is None:
        print("FAILED: process 0 wrote no report")
        return 1
    width = max(map(len, report["measures"]))
    print(f"\n{'measure':<{width}}  {'multi-process':>14}  {'single-process':>14}  abs diff")
    for name, row in report["measures"].items():
        print(
            f"{name:<{width}}  {row['multi_process']:>14.7g}  {row['single_process']:>14.7g}"
            f"  {row['abs_diff']:.2e}{'' if row['agrees'] else '  DISAGREES'}"
        )
    ok = report["ok"] and failed is None
    print("OK" if ok else "FAILED: values disagree" if not report["ok"] else "FAILED")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="run one worker process")
    parser.add_argument("--processes", type=int, default=2, help="launcher: worker count")
    parser.add_argument(
        "--devices-per-process", type=int, default=4, help="launcher: CPU devices per worker"
    )
    parser.add_argument("--process-id", type=int, help="worker: this process's index")
    parser.add_argument("--num-processes", type=int, help="worker: number of processes")
    parser.add_argument("--coordinator", help="worker: host:port of process 0's coordinator")
    parser.add_argument("--n", type=int, default=512, help="samples (divisible by devices)")
    parser.add_argument("--output", help="where the JSON report goes (written by process 0)")
    parser.add_argument("--x64", action="store_true", help="float64 data (default float32)")
    parser.add_argument("--timeout", type=int, default=240, help="seconds before giving up")
    args = parser.parse_args(argv)
    return run_worker(args) if args.worker else run_launcher(args)


if __name__ == "__main__":
    sys.exit(main())
