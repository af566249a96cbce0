"""Trained variational MI estimates on the public accuracy suite (``testing.accuracy_suite``).

Every task of the suite at n = 5000 pairs (one data sample per task and seed), estimated with
``jaxinfo.nn.estimate_mutual_information``:

* ``default``: the call a newcomer makes (no options; NWJ since issue 25);
* ``before``: the defaults before issue 25 (the plain 16-8 ``ConcatCritic``,
  ``marginals="standardize"``, no weight averaging, no improvement threshold, the best
  held-out evaluation reported: the maximum of ``held_out_values``);
* ``--methods``: each other estimator with the default everything else.

Per task: truth, estimate, the reported standard error, error, wall time (compile
included). Summary per configuration: mean absolute error, the worst task against the target
max(0.15, 20 % of the truth), median wall time. Threads pinned to one (XLA, BLAS, OpenMP).

    .venv/bin/python benchmarks/trained_estimates.py                     # default + before, f32
    .venv/bin/python benchmarks/trained_estimates.py --x64               # float64
    .venv/bin/python benchmarks/trained_estimates.py --configs infonce,nwj --seeds 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import numpy as np

from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

CONFIGS = {
    "default": {},
    "before": {"marginals": "standardize", "weight_averaging": None, "min_improvement": 0.0},
    "normal_scores": {"marginals": "normal_scores"},
    "standardize": {"marginals": "standardize"},
    "no_averaging": {"weight_averaging": None},
    "smile": {"method": "smile"},
    "infonce": {"method": "infonce"},
    "nwj": {"method": "nwj"},
    "donsker_varadhan": {"method": "donsker_varadhan"},
    "jensen_shannon": {"method": "jensen_shannon"},
    "mine": {"method": "mine"},
}


def tolerance(truth: float) -> float:
    return max(0.15, 0.2 * truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--configs", default="default,before")
    parser.add_argument("--seeds", type=int, default=1, help="data/training seeds per task")
    parser.add_argument("--tasks", default="", help="comma-separated task names (default all)")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--name", default="")
    args = parser.parse_args()
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    from flax import nnx

    from jaxinfo import testing
    from jaxinfo.nn import ConcatCritic, estimate_mutual_information

    suite = testing.accuracy_suite()
    if args.tasks:
        wanted = set(args.tasks.split(","))
        suite = tuple(t for t in suite if t.name in wanted)
    dtype = "float64" if args.x64 else "float32"
    rows = []
    for task in suite:
        for seed in range(args.seeds):
            x, y = task.sample(jax.random.key(seed + 1), args.n)
            for config in args.configs.split(","):
                options = dict(CONFIGS[config])
                if config == "before":  # the default critic before the Gaussian baseline
                    options["critic"] = ConcatCritic(
                        task.dim_x,
                        task.dim_y,
                        hidden=(16, 8),
                        param_dtype=x.dtype,
                        rngs=nnx.Rngs(seed),
                    )
                start = time.perf_counter()
                result = estimate_mutual_information(x, y, seed=seed, progress=False, **options)
                seconds = time.perf_counter() - start
                value = (
                    float(np.max(result.held_out_values)) if config == "before" else result.value
                )
                row = {
                    "task": task.name,
                    "config": config,
                    "dtype": dtype,
                    "seed": seed,
                    "truth": task.mutual_information,
                    "estimate": value,
                    "standard error": result.standard_error,
                    "error": value - task.mutual_information,
                    "within target": abs(value - task.mutual_information)
                    <= tolerance(task.mutual_information),
                    "steps": int(result.steps[-1]),
                    "seconds": seconds,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = []
    for config in args.configs.split(","):
        mine = [r for r in rows if r["config"] == config]
        worst = max(mine, key=lambda r: abs(r["error"]) / tolerance(r["truth"]))
        summary.append(
            {
                "config": config,
                "dtype": dtype,
                "tasks": len(mine),
                "mean |error|": statistics.fmean(abs(r["error"]) for r in mine),
                "over target": sum(not r["within target"] for r in mine),
                "worst task": f"{worst['task']} ({worst['error']:+.3f})",
                "median s": statistics.median(r["seconds"] for r in mine),
            }
        )
    name = args.name or f"trained_estimates_{dtype}"
    results.write_results(name, rows + summary)
    results.print_table(
        rows,
        ["task", "config", "truth", "estimate", "standard error", "error", "steps", "seconds"],
    )
    results.print_table(
        summary,
        ["config", "dtype", "tasks", "mean |error|", "over target", "worst task", "median s"],
    )


if __name__ == "__main__":
    main()
