"""Transfer entropy against infomeasure: peer values and time (issue 27, item 2).

Three modes:

- ``--peers`` (run with a Python that has infomeasure, no jaxinfo needed): draws small
  seeded series with NumPy (a coupled VAR(1), T = 400) and stores infomeasure's
  ``transfer_entropy(approach="ksg", noise_level=0)`` values in
  ``tests/data/peers_transfer_entropy.json`` (+ ``.npz``: the series), which
  ``tests/test_transfer_entropy.py`` compares against to 1e-6.
- ``--peer-times T REPEATS`` (same Python): times infomeasure's KSG TE on the benchmark
  series and prints the seconds as JSON (a child process of the default mode).
- default (the jaxinfo environment): times ``ksg_transfer_entropy`` (jit, warm), the Gaussian
  and copula TE, and infomeasure's KSG TE in a child process, at T = 5000, d = 1, and writes
  ``benchmarks/results/transfer_entropy_float{32,64}-cpu.json``.

Conventions: infomeasure's ``prop_time = p`` is jaxinfo's ``delay = p + 1`` (the source past
ends at ``t - p - 1``); its rows start at ``max(k, l) + p``, jaxinfo's at ``max(k, u + l - 1)``,
so the stored cases keep the two equal (``p = 0`` or ``k <= l``).

Run:  /tmp/im-venv/bin/python benchmarks/transfer_entropy.py --peers
      python benchmarks/transfer_entropy.py [--x64] --peer-python /tmp/im-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
# (id, source, target, k (neighbours), target_history, source_history, delay)
CASES = [
    ("x->y,k3", "x", "y", 3, 1, 1, 1),
    ("y->x,k3", "y", "x", 3, 1, 1, 1),
    ("x->y,k4,hist2", "x", "y", 4, 2, 1, 1),
    ("x->y,k3,src2,delay2", "x", "y", 3, 1, 2, 2),
    ("x->y,k5,hist3,src2", "x", "y", 5, 3, 2, 1),
    ("xx->y,k3,2d-source", "xx", "y", 3, 1, 1, 1),
]


def var1_series(steps: int, seed: int) -> dict[str, np.ndarray]:
    """x_t = 0.5 x_{t-1} + e, y_t = 0.5 y_{t-1} + 0.8 x_{t-1} + e (NumPy, seeded)."""
    rng = np.random.default_rng(seed)
    x, y = np.zeros(steps), np.zeros(steps)
    noise = rng.standard_normal((steps, 3))
    for t in range(1, steps):
        x[t] = 0.5 * x[t - 1] + noise[t, 0]
        y[t] = 0.5 * y[t - 1] + 0.8 * x[t - 1] + noise[t, 1]
    xx = np.column_stack([x, 0.5 * x + noise[:, 2]])
    return {"x": x[:, None], "y": y[:, None], "xx": xx}


def _infomeasure_ksg(im, source, target, k, target_history, source_history, delay) -> float:
    return float(
        im.transfer_entropy(
            source,
            target,
            approach="ksg",
            k=k,
            noise_level=0,
            dest_hist_len=target_history,
            src_hist_len=source_history,
            prop_time=delay - 1,
            base="e",
        )
    )


def peers() -> None:
    import infomeasure as im  # pyright: ignore[reportMissingImports]

    series = var1_series(400, seed=0)
    cases = []
    for case_id, source, target, k, hist, src, delay in CASES:
        value = _infomeasure_ksg(im, series[source], series[target], k, hist, src, delay)
        cases.append(
            {
                "id": case_id,
                "source": source,
                "target": target,
                "k": k,
                "target_history": hist,
                "source_history": src,
                "delay": delay,
                "value": value,
            }
        )
    np.savez(DATA / "peers_transfer_entropy.npz", x=series["x"], y=series["y"], xx=series["xx"])
    meta = {"peer": f"infomeasure {im.__version__}", "approach": "ksg, noise_level=0"}
    text = json.dumps({**meta, "cases": cases}, indent=2) + "\n"
    (DATA / "peers_transfer_entropy.json").write_text(text)
    print(text)


def peer_times(steps: int, repeats: int) -> None:
    import infomeasure as im  # pyright: ignore[reportMissingImports]

    series = var1_series(steps, seed=1)
    seconds = []
    for _ in range(repeats + 1):  # the first is a warm-up
        start = time.perf_counter()
        _infomeasure_ksg(im, series["x"], series["y"], 3, 1, 1, 1)
        seconds.append(time.perf_counter() - start)
    print(json.dumps(seconds[1:]))


def numpy_granger(x: np.ndarray, y: np.ndarray) -> float:
    """The Gaussian TE (k = l = u = 1) as a NumPy user writes it: two least-squares fits."""

    def residual_variance(regressors):
        design = np.column_stack([np.ones(len(y) - 1), *regressors])
        coef = np.linalg.lstsq(design, y[1:, 0], rcond=None)[0]
        return np.var(y[1:, 0] - design @ coef)

    restricted = residual_variance([y[:-1, 0]])
    return 0.5 * float(np.log(restricted / residual_variance([y[:-1, 0], x[:-1, 0]])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--peer-times", nargs=2, type=int, metavar=("T", "REPEATS"))
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-python", default="/tmp/im-venv/bin/python")
    args = parser.parse_args()
    if args.peers:
        return peers()
    if args.peer_times:
        return peer_times(*args.peer_times)
    benchmark(args)


def benchmark(args) -> None:
    from jaxinfo._src.bench import results, timing

    threads = timing.pin_threads()  # re-executes with one-thread pools if unpinned
    import jax
    import jax.numpy as jnp

    import jaxinfo

    jax.config.update("jax_enable_x64", args.x64)
    dtype = "float64" if args.x64 else "float32"
    series = var1_series(args.steps, seed=1)
    x, y = (jnp.asarray(series[name], dtype) for name in ("x", "y"))
    ours = {
        "ksg": jax.jit(jaxinfo.ksg_transfer_entropy),
        "gaussian": jax.jit(jaxinfo.gaussian_transfer_entropy),
        "copula": jax.jit(jaxinfo.gaussian_copula_transfer_entropy),
    }
    xn, yn = (np.asarray(series[name], dtype) for name in ("x", "y"))
    baseline = timing.round_times({"numpy": lambda: numpy_granger(xn, yn)}, repeats=args.repeats)
    numpy_ms = 1e3 * statistics.median(baseline["numpy"])
    peer_args = [__file__, "--peer-times", str(args.steps), str(args.repeats)]
    peer_seconds: list[float] = []
    wall: dict[str, list[float]] = {name: [] for name in ours}
    # two halves, peer and jaxinfo in turn, so drifting load on the shared machine hits both
    for _ in range(2):
        out = subprocess.run(
            [args.peer_python, *peer_args], capture_output=True, text=True, check=True
        )
        peer_seconds += json.loads(out.stdout.strip().splitlines()[-1])
        half = timing.round_times(
            {n: (lambda f=f: f(x, y)) for n, f in ours.items()}, repeats=args.repeats
        )
        for name, times in half.items():
            wall[name] += times
    peer = statistics.median(peer_seconds)
    rows = []
    for name, fn in ours.items():
        seconds = statistics.median(wall[name])
        rows.append(
            {
                "dtype": dtype,
                "T": args.steps,
                "estimator": name,
                "value": float(fn(x, y)),
                "jaxinfo_ms": 1e3 * seconds,
                "infomeasure_ksg_ms": 1e3 * peer,
                "speedup_vs_infomeasure_ksg": peer / seconds,
                "numpy_granger_ms": numpy_ms if name == "gaussian" else None,
                "speedup_vs_numpy_granger": numpy_ms / (1e3 * seconds)
                if name == "gaussian"
                else None,
                "threads": threads,
            }
        )
    path = results.write_results(f"transfer_entropy_{dtype}", rows)
    results.print_table(
        rows,
        [
            "dtype",
            "T",
            "estimator",
            "value",
            "jaxinfo_ms",
            "infomeasure_ksg_ms",
            "speedup_vs_infomeasure_ksg",
            "numpy_granger_ms",
            "speedup_vs_numpy_granger",
        ],
    )
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
