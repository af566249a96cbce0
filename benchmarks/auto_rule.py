"""The measurements behind ``method="auto"`` of ``jaxinfo.mutual_information`` and ``entropy``.

Every candidate method with the library's defaults on the accuracy suite
(``jaxinfo.testing.accuracy_suite()``, 22 tasks with truths; entropies: the tasks whose
``entropy_x`` is known), at n = 500 and 5000, float32 or float64 (``--x64``), one thread,
warm calls. Per method and task group (total dimension d_x + d_y): bias, mean absolute
error, the seed-to-seed spread and the median warm time. A method that cannot run on a
task (binned MI beyond an int32 cell code) counts as failed there.

Run:  python benchmarks/auto_rule.py [--x64] [--quick]
      python benchmarks/auto_rule.py --table   # the docs/choosing.md tables from both files
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import statistics

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo._src.bench import guide, results, timing

THREADS = timing.pin_threads()


def kde_mutual_information(x, y):
    joint = jnp.concatenate([x, y], axis=1)
    return jaxinfo.kde_entropy(x) + jaxinfo.kde_entropy(y) - jaxinfo.kde_entropy(joint)


MI = {
    "ksg": jaxinfo.ksg_mutual_information,
    "gaussian": jaxinfo.gaussian_mutual_information,
    "copula": jaxinfo.gaussian_copula_mutual_information,
    "binned": jaxinfo.binned_mutual_information,
    "kde": kde_mutual_information,
}
ENTROPY = {
    "knn": jaxinfo.knn_entropy,
    "gaussian": jaxinfo.gaussian_entropy,
    "kde": jaxinfo.kde_entropy,
}


def _dimension(kind: str, task) -> int:
    return task.dim_x + task.dim_y if kind == "mi" else task.dim_x


def table(kind: str) -> None:
    """MAE (bias) per method, task dimension, n and dtype, from the two result files."""
    tasks = {t.name: t for t in jaxinfo.testing.accuracy_suite()}
    methods = list(MI if kind == "mi" else ENTROPY)
    cells: dict[tuple, dict[str, list[float]]] = collections.defaultdict(
        lambda: collections.defaultdict(list)
    )
    for dtype in ("float32", "float64"):
        path = results.RESULTS / f"auto_rule_{dtype}-cpu.json"
        per_task = collections.defaultdict(list)
        for row in json.loads(path.read_text())["rows"]:
            if row["kind"] == kind:
                per_task[(row["n"], row["task"], row["measure"])].append(row)
        for (n, task, method), rows in per_task.items():
            error = statistics.fmean(r["value"] for r in rows) - rows[0]["truth"]
            group = (_dimension(kind, tasks[task]), n, dtype)
            cells[group][method].append(error)
    dim = "d_x + d_y" if kind == "mi" else "d"
    print(f"| {dim} | tasks | n | dtype | " + " | ".join(methods) + " |")
    print("|---|---|---|---|" + "---|" * len(methods))
    for group in sorted(cells):
        d, n, dtype = group
        entries = []
        for method in methods:
            errors = cells[group][method]
            if not errors or not all(math.isfinite(e) for e in errors):
                entries.append("-")
                continue
            mae = statistics.fmean(abs(e) for e in errors)
            entries.append(f"{mae:.3f} ({statistics.fmean(errors):+.3f})")
        count = len(next(iter(cells[group].values())))
        print(f"| {d} | {count} | {n} | {dtype} | " + " | ".join(entries) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--table", action="store_true", help="print the tables of both files")
    args = parser.parse_args()
    if args.table:
        for kind in ("mi", "entropy"):
            table(kind)
            print()
        return
    jax.config.update("jax_enable_x64", args.x64)
    dtype = "float64" if args.x64 else "float32"
    sizes, seeds = ((500,), (0, 1)) if args.quick else ((500, 5000), (0, 1, 2))
    rows = []
    for kind, calls in (("mi", MI), ("entropy", ENTROPY)):
        runs = guide.run_suite(calls, kind, sizes, seeds, progress=print)
        rows += [dict(r, kind=kind, dtype=dtype) for r in guide.as_rows(runs)]
    path = results.write_results(f"auto_rule_{dtype}", rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
