"""Score-based estimators (MINDE, SΩI) against closed-form truth, the critic default and KSG.

Three parts, each at n = 5000 rows (one data sample per task and seed), threads pinned to one:

* ``mi``: the public accuracy suite (``testing.accuracy_suite``) with
  ``jaxinfo.nn.minde_mutual_information`` (``variant="conditional"`` and ``"joint"``, every
  other option default) and ``jaxinfo.ksg_mutual_information`` (k = 3). The critic default
  (``jaxinfo.nn.estimate_mutual_information``) is read from its stored run
  (``benchmarks/results/trained_estimates_<dtype>-cpu.json``, ``benchmarks/trained_estimates.py``)
  rather than retrained.
* ``entropy``: ``minde_entropy`` on Gaussians (1, 2, 5, 10-D, correlated) and multivariate
  Student-t (3 dof, 1, 2, 5, 10-D) against their closed forms, beside ``knn_entropy`` (KL, k = 3).
* ``oinfo``: ``soi_o_information`` on Gaussian systems whose O-information has a closed form
  (redundant copies of one latent, a synergistic sum, a mixed four-variable system), beside the
  Gaussian plug-in ``o_information(method="gaussian")``.

    .venv/bin/python benchmarks/score_based.py --part mi            # float32, ~15 min
    .venv/bin/python benchmarks/score_based.py --part entropy --x64
    .venv/bin/python benchmarks/score_based.py --part oinfo --seeds 3
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import time

import jax
import numpy as np

from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned
HEAVY_TAILED = ("student-t", "asinh(student")
STORED = pathlib.Path(__file__).parent / "results"


def _gaussian_entropy(cov: np.ndarray) -> float:
    cov = np.atleast_2d(cov)
    return 0.5 * float(np.linalg.slogdet(2 * math.pi * math.e * cov)[1])


def _o_information(cov: np.ndarray, sizes: list[int]) -> float:
    """Closed-form Ω of a Gaussian: (V - 2) H(X) + Σ_j [H(X_j) - H(X_-j)]."""
    ends = np.cumsum(sizes)
    blocks = [np.arange(e - s, e) for s, e in zip(sizes, ends, strict=True)]
    everything = np.arange(int(ends[-1]))
    omega = (len(sizes) - 2) * _gaussian_entropy(cov)
    for block in blocks:
        rest = np.setdiff1d(everything, block)
        omega += _gaussian_entropy(cov[np.ix_(block, block)])
        omega -= _gaussian_entropy(cov[np.ix_(rest, rest)])
    return omega


def _o_information_systems() -> dict[str, np.ndarray]:
    """Covariances of scalar Gaussian systems with a known sign of Ω."""
    redundant = np.full((3, 3), 1.0) + 0.25 * np.eye(3)  # three noisy copies of one latent
    # x3 = x1 + x2 + noise: synergy (Ω < 0)
    mixing = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    synergistic = mixing @ mixing.T + np.diag([0.0, 0.0, 0.3])
    rng = np.random.default_rng(4)
    loadings = rng.normal(size=(4, 2))
    mixed = loadings @ loadings.T + np.diag(rng.uniform(0.3, 1.0, size=4))
    return {"redundant-3": redundant, "synergistic-3": synergistic, "mixed-4": mixed}


def _stored_critic(dtype: str) -> dict[str, float]:
    path = STORED / f"trained_estimates_{dtype}-cpu.json"
    if not path.exists():
        return {}
    rows = json.loads(path.read_text())["rows"]
    return {r["task"]: r["estimate"] for r in rows if r.get("config") == "default" and "task" in r}


def _row(part, task, method, truth, estimate, standard_error, seconds, steps, dtype, seed):
    return {
        "part": part,
        "task": task,
        "method": method,
        "dtype": dtype,
        "seed": seed,
        "truth": truth,
        "estimate": estimate,
        "standard error": standard_error,
        "error": estimate - truth,
        "steps": steps,
        "seconds": seconds,
    }


def run_mi(args, dtype) -> list[dict]:
    import jaxinfo
    from jaxinfo import testing
    from jaxinfo.nn import minde_mutual_information

    suite = testing.accuracy_suite()
    if args.tasks:
        suite = tuple(t for t in suite if t.name in set(args.tasks.split(",")))
    critic = _stored_critic(dtype)
    rows = []
    for task in suite:
        for seed in range(args.seeds):
            x, y = task.sample(jax.random.key(seed + 1), args.n)
            truth = task.mutual_information
            for variant in args.variants.split(","):
                start = time.perf_counter()
                result = minde_mutual_information(
                    x,
                    y,
                    variant=variant,
                    seed=seed,
                    progress=False,
                    gaussian_baseline=not args.no_baseline,
                )
                suffix = " (no baseline)" if args.no_baseline else ""
                rows.append(
                    _row(
                        "mi",
                        task.name,
                        f"minde_{variant}{suffix}",
                        truth,
                        result.value,
                        result.standard_error,
                        time.perf_counter() - start,
                        int(result.steps[-1]),
                        dtype,
                        seed,
                    )
                )
                print(json.dumps(rows[-1]), flush=True)
            if args.skip_peers:
                continue
            start = time.perf_counter()
            ksg = float(jaxinfo.ksg_mutual_information(x, y))
            rows.append(
                _row(
                    "mi",
                    task.name,
                    "ksg",
                    truth,
                    ksg,
                    math.nan,
                    time.perf_counter() - start,
                    0,
                    dtype,
                    seed,
                )
            )
            if task.name in critic and seed == 0:
                rows.append(
                    _row(
                        "mi",
                        task.name,
                        "critic default (stored)",
                        truth,
                        critic[task.name],
                        math.nan,
                        math.nan,
                        0,
                        dtype,
                        0,
                    )
                )
    return rows


def run_entropy(args, dtype) -> list[dict]:
    import jaxinfo
    from jaxinfo import testing
    from jaxinfo.nn import minde_entropy

    rows = []
    for dim in (1, 2, 5, 10):
        rng = np.random.default_rng(dim)
        factor = rng.normal(size=(dim, dim))
        cov = factor @ factor.T / dim + np.eye(dim)
        cases = [(f"gaussian-{dim}d", cov, None), (f"student-t-{dim}d-dof3", None, dim)]
        for name, cov_or_none, student_dim in cases:
            for seed in range(args.seeds):
                key = jax.random.key(seed + 1)
                if cov_or_none is not None:
                    chol = np.linalg.cholesky(cov_or_none)
                    x = np.asarray(jax.random.normal(key, (args.n, dim))) @ chol.T
                    x = x.astype(dtype)
                    truth = _gaussian_entropy(cov_or_none)
                else:
                    task = testing.student_t(student_dim, dof=3.0)
                    x = np.asarray(task.sample(key, args.n)[0])
                    truth = float(task.entropy_x)  # pyright: ignore[reportArgumentType]
                start = time.perf_counter()
                result = minde_entropy(x, seed=seed, progress=False)
                rows.append(
                    _row(
                        "entropy",
                        name,
                        "minde_entropy",
                        truth,
                        result.value,
                        result.standard_error,
                        time.perf_counter() - start,
                        int(result.steps[-1]),
                        dtype,
                        seed,
                    )
                )
                print(json.dumps(rows[-1]), flush=True)
                start = time.perf_counter()
                knn = float(jaxinfo.knn_entropy(x))
                rows.append(
                    _row(
                        "entropy",
                        name,
                        "knn_entropy",
                        truth,
                        knn,
                        math.nan,
                        time.perf_counter() - start,
                        0,
                        dtype,
                        seed,
                    )
                )
    return rows


def run_o_information(args, dtype) -> list[dict]:
    import jaxinfo
    from jaxinfo.nn import soi_o_information

    rows = []
    for name, cov in _o_information_systems().items():
        truth = _o_information(cov, [1] * len(cov))
        chol = np.linalg.cholesky(cov)
        for seed in range(args.seeds):
            z = np.asarray(jax.random.normal(jax.random.key(seed + 1), (args.n, len(cov))))
            x = (z @ chol.T).astype(dtype)
            columns = [x[:, i] for i in range(len(cov))]
            start = time.perf_counter()
            result = soi_o_information(*columns, seed=seed, progress=False)
            rows.append(
                _row(
                    "oinfo",
                    name,
                    "soi",
                    truth,
                    result.value,
                    result.standard_error,
                    time.perf_counter() - start,
                    int(result.steps[-1]),
                    dtype,
                    seed,
                )
            )
            print(json.dumps(rows[-1]), flush=True)
            start = time.perf_counter()
            plug_in = float(
                jaxinfo.o_information(*[c[:, None] for c in columns], method="gaussian")
            )
            rows.append(
                _row(
                    "oinfo",
                    name,
                    "gaussian plug-in",
                    truth,
                    plug_in,
                    math.nan,
                    time.perf_counter() - start,
                    0,
                    dtype,
                    seed,
                )
            )
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    summary = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        entry = {
            "part": mine[0]["part"],
            "method": method,
            "tasks": len(mine),
            "mean |error|": statistics.fmean(abs(r["error"]) for r in mine),
            "max |error|": max(abs(r["error"]) for r in mine),
            "median s": statistics.median(r["seconds"] for r in mine),
        }
        for family, prefixes in (("heavy-tailed", HEAVY_TAILED), ("spiral", ("spiral",))):
            chosen = [abs(r["error"]) for r in mine if r["task"].startswith(prefixes)]
            if chosen:
                entry[f"{family} mean |error|"] = statistics.fmean(chosen)
        summary.append(entry)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=("mi", "entropy", "oinfo"), default="mi")
    parser.add_argument("--variants", default="conditional,joint")
    parser.add_argument("--tasks", default="", help="comma-separated suite task names")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--no-baseline", action="store_true", help="gaussian_baseline=False")
    parser.add_argument("--skip-peers", action="store_true", help="only the MINDE rows")
    parser.add_argument("--name", default="")
    args = parser.parse_args()
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    dtype = "float64" if args.x64 else "float32"
    runner = {"mi": run_mi, "entropy": run_entropy, "oinfo": run_o_information}[args.part]
    rows = runner(args, dtype)
    summary = summarise(rows)
    results.write_results(args.name or f"score_based_{args.part}_{dtype}", rows + summary)
    results.print_table(
        rows, ["task", "method", "truth", "estimate", "standard error", "error", "seconds"]
    )
    columns = ["part", "method", "tasks", "mean |error|", "max |error|", "median s"]
    extra = [c for c in ("heavy-tailed mean |error|", "spiral mean |error|") if c in summary[0]]
    results.print_table(summary, columns + extra)


if __name__ == "__main__":
    main()
