"""Trained variational MI estimates on the jaxinfo.testing Gaussians (the docs table).

``jaxinfo.nn.estimate_mutual_information`` with its defaults (a 16-8 joint critic, batch 256,
Adam 3e-3, 30% held out, early stopping) on correlated Gaussians with d = 5 per side, two
correlated coordinate pairs, n = 5000 pairs and true MI 0.5, 1 and 2 nats. Accuracy, not
speed: the threads are pinned only to keep the run reproducible.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/trained_estimates.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import numpy as np

from jaxinfo import testing
from jaxinfo._src.bench import results, timing
from jaxinfo.nn import estimate_mutual_information

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned


def task_with(mutual_information: float, dim: int = 5):
    correlation = math.sqrt(1.0 - math.exp(-mutual_information))  # two pairs: I = -log(1 - c^2)
    return testing.correlated_gaussians(dim, dim, correlation=correlation, interaction="sparse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="data seeds per cell")
    parser.add_argument("--bounds", default="smile,nwj,infonce")
    args = parser.parse_args()
    rows = []
    for truth in (0.5, 1.0, 2.0):
        task = task_with(truth)
        for bound in args.bounds.split(","):
            values, seconds, steps = [], [], []
            for seed in range(args.seeds):
                x, y = task.sample(jax.random.key(seed + 1), 5000)
                start = time.perf_counter()
                result = estimate_mutual_information(x, y, method=bound, seed=seed, progress=False)
                seconds.append(time.perf_counter() - start)
                values.append(result.value)
                steps.append(int(result.steps[-1]))
            rows.append(
                {
                    "true MI": truth,
                    "bound": bound,
                    "mean": float(np.mean(values)),
                    "std": float(np.std(values)),
                    "error": float(np.mean(values) - truth),
                    "max |error|": float(np.max(np.abs(np.asarray(values) - truth))),
                    "seeds": args.seeds,
                    "steps": int(np.median(steps)),
                    "seconds": float(np.median(seconds)),
                    "values": values,
                }
            )
            print(rows[-1], flush=True)
    results.write_results("trained_estimates", rows)
    results.print_table(
        rows, ["true MI", "bound", "mean", "std", "error", "max |error|", "steps", "seconds"]
    )


if __name__ == "__main__":
    main()
