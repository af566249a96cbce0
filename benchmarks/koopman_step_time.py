"""Koopman information Lagrangian: time per training step, float32 and float64.

The training step of ``examples/koopman_lorenz.py`` (``KoopmanAutoencoder(3, 32,
hidden=(128, 128))``, Lorenz-63 windows of 16 steps, the Lagrangian, its gradient, clipped
Adam) for each configuration of the reproduction table: the paper protocol's InfoNCE and
Gaussian terms with a learned K (32 windows per step, 4-step decoded rollout), the ridge K,
the windowed contrast, and the released protocol (16 windows of 17 steps, windowed InfoNCE,
per-window ridge fits). Each is one jitted ``lax.scan`` of ``--steps`` steps divided by the
step count; every round times each configuration once in turn (7 rounds, medians). float32
and float64 run in their own subprocesses (JAX's x64 flag is process-wide).

No peer is timed: the authors' released code has no state-space (MLP) model, only the
convolutional fluid autoencoders, so there is no like-for-like step to set beside ours.

Run:  OMP_NUM_THREADS=1 python benchmarks/koopman_step_time.py
Threads: XLA pinned to one (``--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1``), set before JAX loads.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "infonce, learned K": {"information": "infonce", "operator": "learned"},
    "gaussian, learned K": {"information": "gaussian", "operator": "learned"},
    "infonce, ridge K": {"information": "infonce", "operator": "ridge"},
    "windowed infonce, learned K": {
        "information": "infonce",
        "operator": "learned",
        "contrast": "window",
    },
    "released protocol": {"information": "infonce", "operator": "ridge", "protocol": "released"},
}


def measure(dtype_name: str, steps: int, rounds: int) -> dict:
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    import jax

    if dtype_name == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    import optax
    from flax import nnx

    sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "examples"))
    import koopman_lorenz as example  # pyright: ignore[reportMissingImports]

    dtype = jnp.float64 if dtype_name == "float64" else jnp.float32
    trajectories = example.testing.lorenz63(jax.random.key(0), 8, 400)
    trajectories = (trajectories - trajectories.mean((0, 1))) / trajectories.std((0, 1))
    timed = {}
    for name, options in CONFIGS.items():
        released = options.get("protocol") == "released"
        args = argparse.Namespace(
            protocol=options.get("protocol", "paper"),
            information=options["information"],
            contrast=options.get("contrast", "window" if released else "batch"),
            window=3,
            rollout_steps=4,
        )
        length, batch = (17, 16) if released else (16, 32)
        windows = np.asarray(example.testing.trajectory_windows(trajectories, length), dtype)
        model = example.KoopmanAutoencoder(
            3,
            32,
            hidden=(128, 128),
            operator=options["operator"],
            param_dtype=dtype,
            rngs=nnx.Rngs(0),
        )
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
        train_chunk = example.make_trainer(graphdef, optimizer, args)
        picks = np.random.default_rng(0).integers(0, len(windows), (steps, batch))
        batches = jnp.asarray(windows[picks])
        state = (params, rest, optimizer.init(params))

        def once(state=state, train_chunk=train_chunk, batches=batches):
            out = train_chunk(*state, batches, 2.0, 0.1)
            jax.block_until_ready(out)

        once()  # compile
        timed[name] = once
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for _ in range(rounds):
        for name, once in timed.items():
            tic = time.perf_counter()
            once()
            times[name].append(1e3 * (time.perf_counter() - tic) / steps)
    return {name: statistics.median(values) for name, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None)
    parser.add_argument(
        "--out",
        default=str(pathlib.Path(__file__).parent / "results" / "koopman_step_time-cpu.json"),
    )
    args = parser.parse_args()
    if args.dtype:  # a child: one dtype, JSON on stdout
        print(json.dumps(measure(args.dtype, args.steps, args.rounds)))
        return
    results = {}
    for dtype in ("float32", "float64"):
        command = [sys.executable, __file__, "--dtype", dtype, "--steps", str(args.steps)]
        command += ["--rounds", str(args.rounds)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[dtype] = json.loads(output.strip().splitlines()[-1])
    print("| configuration | float32 ms/step | float64 ms/step | float64 / float32 |")
    print("|---|---|---|---|")
    for name in CONFIGS:
        f32, f64 = results["float32"][name], results["float64"][name]
        print(f"| {name} | {f32:.2f} | {f64:.2f} | {f64 / f32:.2f} |")
    payload = {"steps": args.steps, "rounds": args.rounds, "ms_per_step": results}
    pathlib.Path(args.out).write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
