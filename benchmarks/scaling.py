"""Time and peak memory against n (10^3 to 10^5) for the streamed families, with growth exponents.

Families: Cauchy–Schwarz divergence (d = 16), matrix Rényi entropy at alpha = 2 (streamed
Frobenius sum, d = 16), KDE entropy (d = 3), kNN entropy (d = 3, blocked slab; d = 1, sorted
search) and, when ``jaxinfo.StochasticLanczos`` exists, the randomized (SLQ) matrix Rényi entropy
at alpha = 1.01 (d = 16). Each (family, n) runs in a fresh child process so that its peak
resident set size (``ru_maxrss``: interpreter, runtime and inputs included) is its own, next to
the compiled program's temporary memory (``memory_analysis().temp_size_in_bytes``) and the wall
time of warm calls (median of 3; one call above 20 s). A size is skipped when the time
extrapolated from the previous two sizes exceeds ``--max-seconds``. Growth exponents are fitted
on n >= 10 000 (smaller sizes are dispatch-bound on CPU).

Run (one thread, as every benchmark here; on a GPU drop the pins and the device is recorded):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scaling.py [--dtype float64] [--max-n 30000]

Results: ``benchmarks/results/scaling-<backend>-<dtype>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time

SIZES = (1_000, 3_000, 10_000, 30_000, 100_000)


def _family(name: str):
    """``(make_inputs(key, n, dtype), fn)`` for a family name (imports JAX)."""
    import jax

    import jaxinfo

    gauss = jaxinfo.kernels.Gaussian(4.0)

    def normal(dim, shift=0.0):
        def make(key, n, dtype):
            kx, ky = jax.random.split(key)
            return (
                jax.random.normal(kx, (n, dim), dtype),
                jax.random.normal(ky, (n, dim), dtype) + shift,
            )

        return make

    if name == "cauchy_schwarz_divergence(d=16)":
        return normal(16, 0.5), lambda x, y: jaxinfo.cauchy_schwarz_divergence(x, y, kernel=gauss)
    if name == "matrix_renyi_entropy(alpha=2, d=16)":
        return normal(16), lambda x, y: jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=gauss)
    if name == "kde_entropy(d=3)":
        return normal(3), lambda x, y: jaxinfo.kde_entropy(x)
    if name == "knn_entropy(k=3, d=3)":
        return normal(3), lambda x, y: jaxinfo.knn_entropy(x, k=3)
    if name == "knn_entropy(k=3, d=1, sorted)":
        return normal(1), lambda x, y: jaxinfo.knn_entropy(x, k=3)
    if name == "matrix_renyi_entropy(alpha=1.01, slq, d=16)":
        method = jaxinfo.StochasticLanczos(jax.random.key(1))  # type: ignore[attr-defined]
        return normal(16), lambda x, y: jaxinfo.matrix_renyi_entropy(
            x, alpha=1.01, kernel=gauss, method=method
        )
    raise ValueError(f"unknown family {name!r}")


FAMILIES = (
    "cauchy_schwarz_divergence(d=16)",
    "matrix_renyi_entropy(alpha=2, d=16)",
    "kde_entropy(d=3)",
    "knn_entropy(k=3, d=3)",
    "knn_entropy(k=3, d=1, sorted)",
    "matrix_renyi_entropy(alpha=1.01, slq, d=16)",
)


def _child(name: str, n: int, dtype: str) -> dict:
    import jax

    jax.config.update("jax_enable_x64", dtype == "float64")
    make, fn = _family(name)
    args = make(jax.random.key(0), n, dtype)
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_seconds = time.perf_counter() - start
    temp = compiled.memory_analysis().temp_size_in_bytes
    times = []
    while len(times) < 3:
        start = time.perf_counter()
        value = float(jax.block_until_ready(compiled(*args)))
        times.append(time.perf_counter() - start)
        if times[-1] > 20.0:
            break
    return {
        "family": name,
        "n": n,
        "dtype": dtype,
        "seconds": statistics.median(times),
        "compile_seconds": compile_seconds,
        "temp_bytes": int(temp),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "value": value,
        "device": str(jax.devices()[0].device_kind),
    }


def _available(name: str) -> bool:
    if "slq" not in name:
        return True
    import jaxinfo

    return hasattr(jaxinfo, "StochasticLanczos")


def growth(rows: list[dict], column: str, min_n: int = 10_000) -> float | None:
    """Least-squares slope of log(column) against log n over n >= min_n."""
    points = [(math.log(r["n"]), math.log(r[column])) for r in rows if r["n"] >= min_n]
    if len(points) < 2:
        return None
    mean_x = sum(p[0] for p in points) / len(points)
    mean_y = sum(p[1] for p in points) / len(points)
    num = sum((px - mean_x) * (py - mean_y) for px, py in points)
    return num / sum((px - mean_x) ** 2 for px, _ in points)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--max-n", type=int, default=SIZES[-1])
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--families", default="", help="comma-separated name substrings")
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        name, n, dtype = args.child
        print(json.dumps(_child(name, int(n), dtype)))
        return
    from jaxinfo._src.bench import results, timing

    timing.pin_threads()  # the children inherit the pinned environment
    wanted = [part for part in args.families.split(",") if part]
    rows, summary = [], []
    for name in FAMILIES:
        if wanted and not any(part in name for part in wanted):
            continue
        if not _available(name):
            print(f"{name}: skipped (this jaxinfo has no StochasticLanczos)", flush=True)
            continue
        done: list[dict] = []
        for n in (n for n in SIZES if n <= args.max_n):
            if len(done) >= 2:
                a, b = done[-2], done[-1]
                slope = math.log(b["seconds"] / a["seconds"]) / math.log(b["n"] / a["n"])
                predicted = b["seconds"] * (n / b["n"]) ** max(slope, 1.0)
                if predicted > args.max_seconds:
                    print(f"{name} n={n}: skipped (predicted {predicted:.0f} s)", flush=True)
                    continue
            cmd = [sys.executable, __file__, "--child", name, str(n), args.dtype]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                tail = out.stderr.strip().splitlines()[-1:] or ["?"]
                print(f"{name} n={n}: failed ({tail[0][:160]})", flush=True)
                break
            row = json.loads(out.stdout.strip().splitlines()[-1])
            done.append(row)
            print(
                f"{name} n={n}: {row['seconds']:.3g} s, compiled temp "
                f"{row['temp_bytes'] / 2**20:.1f} MiB, peak RSS "
                f"{row['peak_rss_bytes'] / 2**20:.0f} MiB",
                flush=True,
            )
        rows += done
        summary.append(
            {
                "family": name,
                "time_growth": growth(done, "seconds"),
                "temp_memory_growth": growth(done, "temp_bytes"),
            }
        )
    for row in summary:
        print(row, flush=True)
    path = results.write_results(f"scaling-{args.dtype}", rows + summary)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
