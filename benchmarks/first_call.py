"""Time to the first result: one fresh process per public function, compile included.

Each function of the README tables is called once, as a new user would (defaults, eager
call, n = 1024, d = 8 unless the function takes other shapes), in a new Python process after
``import jaxinfo`` and the inputs are ready; the wall time of that first call (tracing,
compilation and the run) is reported, float32 and float64. ``--cache DIR`` sets JAX's
persistent compilation cache (each function is run twice, the second process is timed:
what a user sees from the second session on).

Run (one thread): ``.venv/bin/python benchmarks/first_call.py [--dtype float32|float64|both]
[--only NAME ...] [--cache DIR] [--name NAME]``; results go to
``benchmarks/results/first_call-cpu.json``. An older checkout is timed the same way with
``PYTHONPATH=<its worktree> ... --name first_call_before`` (run from ``benchmarks/``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

N, D = 1024, 8

# name -> (setup code defining the arguments, the call). x, y, z: [N, D]; labels: [N] ints.
CALLS = {
    "matrix_renyi_entropy": "jaxinfo.matrix_renyi_entropy(x)",
    "matrix_renyi_entropy_from_gram": "jaxinfo.matrix_renyi_entropy_from_gram(gram, alpha=2.0)",
    "matrix_joint_entropy": "jaxinfo.matrix_joint_entropy(x, y)",
    "matrix_conditional_entropy": "jaxinfo.matrix_conditional_entropy(x, y)",
    "matrix_mutual_information": "jaxinfo.matrix_mutual_information(x, y)",
    "matrix_total_correlation": "jaxinfo.matrix_total_correlation(x, y, z)",
    "von_neumann_entropy": "jaxinfo.von_neumann_entropy(x)",
    "von_neumann_entropy_from_gram": "jaxinfo.von_neumann_entropy_from_gram(gram)",
    "von_neumann_entropy_from_covariance": "jaxinfo.von_neumann_entropy_from_covariance(cov)",
    "vendi_score": "jaxinfo.vendi_score(x)",
    "effective_rank": "jaxinfo.effective_rank(x)",
    "diffusion_spectral_entropy": "jaxinfo.diffusion_spectral_entropy(x)",
    "diffusion_spectral_mutual_information": (
        "jaxinfo.diffusion_spectral_mutual_information(x, labels, num_classes=4, key=key)"
    ),
    "cauchy_schwarz_divergence": "jaxinfo.cauchy_schwarz_divergence(x, y)",
    "cauchy_schwarz_mutual_information": "jaxinfo.cauchy_schwarz_mutual_information(x, y)",
    "conditional_cauchy_schwarz_divergence": (
        "jaxinfo.conditional_cauchy_schwarz_divergence(x, y, z)"
    ),
    "conditional_cauchy_schwarz_divergence_two_sample": (
        "jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(x, y, z, x)"
    ),
    "cauchy_schwarz_conditional_mutual_information": (
        "jaxinfo.cauchy_schwarz_conditional_mutual_information(x, y, z)"
    ),
    "cauchy_schwarz_information_bottleneck_loss": (
        "jaxinfo.cauchy_schwarz_information_bottleneck_loss(x, y, z, x, beta=0.1)"
    ),
    "infonce_lower_bound": "jaxinfo.infonce_lower_bound(scores)",
    "nwj_lower_bound": "jaxinfo.nwj_lower_bound(scores)",
    "temporal_infonce_cross_entropy": "jaxinfo.temporal_infonce_cross_entropy(trajectories)",
    "variational_information_bottleneck_loss": (
        "jaxinfo.variational_information_bottleneck_loss(logits, labels, x, y, beta=0.1)"
    ),
    "nonlinear_information_bottleneck_loss": (
        "jaxinfo.nonlinear_information_bottleneck_loss(logits, labels, x, beta=0.1)"
    ),
    "matrix_information_bottleneck_loss": (
        "jaxinfo.matrix_information_bottleneck_loss(logits, labels, x, y, beta=0.1)"
    ),
    "effective_dimension": "jaxinfo.effective_dimension(x)",
    "shannon_entropy": "jaxinfo.shannon_entropy(probabilities)",
    "plugin_entropy": "jaxinfo.plugin_entropy(labels, num_classes=4)",
    "discrete_mutual_information": (
        "jaxinfo.discrete_mutual_information(labels, labels, num_x=4, num_y=4)"
    ),
    "gaussian_entropy": "jaxinfo.gaussian_entropy(x)",
    "gaussian_mutual_information": "jaxinfo.gaussian_mutual_information(x, y)",
    "gaussian_copula_mutual_information": "jaxinfo.gaussian_copula_mutual_information(x, y)",
    "knn_entropy": "jaxinfo.knn_entropy(x)",
    "ksg_mutual_information": "jaxinfo.ksg_mutual_information(x, y)",
    "knn_kl_divergence": "jaxinfo.knn_kl_divergence(x, y)",
    "kde_entropy": "jaxinfo.kde_entropy(x)",
    "gaussian_noise_mutual_information_upper_bound": (
        "jaxinfo.gaussian_noise_mutual_information_upper_bound(x, noise_variance=0.1)"
    ),
    "binned_mutual_information": "jaxinfo.binned_mutual_information(x[:, :1], y[:, :1])",
}

SETUP = """
import os, time
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", {x64})
if {cache!r}:
    jax.config.update("jax_compilation_cache_dir", {cache!r})
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
import jaxinfo
rng = np.random.default_rng(0)
dtype = np.{dtype}
x, y, z = (jnp.asarray(rng.standard_normal(({n}, {d})), dtype) for _ in range(3))
labels = jnp.asarray(rng.integers(0, 4, {n}), jnp.int32)
logits = jnp.asarray(rng.standard_normal(({n}, 4)), dtype)
scores = jnp.asarray(rng.standard_normal((256, 256)), dtype)
trajectories = jnp.asarray(rng.standard_normal((16, 32, {d})), dtype)
probabilities = jax.nn.softmax(logits)
key = jax.random.key(0)
gram = jnp.exp(-0.5 * jnp.sum((x[:, None] - x[None]) ** 2, -1) / 4.0)
cov = jnp.cov(x.T).astype(dtype)
jax.block_until_ready((x, y, z, labels, logits, scores, trajectories, probabilities, gram, cov))
start = time.perf_counter()
jax.block_until_ready({call})
print("SECONDS", time.perf_counter() - start)
"""


def first_call_seconds(call: str, dtype: str, cache: str | None) -> float:
    code = SETUP.format(x64=dtype == "float64", cache=cache or "", dtype=dtype, n=N, d=D, call=call)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    runs = 2 if cache else 1
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        if out.returncode != 0:
            raise RuntimeError(f"{call} ({dtype}) failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.split("SECONDS")[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dtype", default="both", choices=["float32", "float64", "both"])
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--cache", default=None, help="persistent compilation cache directory")
    parser.add_argument("--name", default="first_call", help="results file name")
    args = parser.parse_args()
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    names = args.only or list(CALLS)
    rows = []
    cache = args.cache
    if cache == "temp":
        cache = tempfile.mkdtemp(prefix="jaxinfo-cache-")
    for name in names:
        row = {"function": name}
        for dtype in dtypes:
            row[dtype] = first_call_seconds(CALLS[name], dtype, cache)
        print(json.dumps(row), flush=True)
        rows.append(row)
    for dtype in dtypes:
        values = [r[dtype] for r in rows]
        print(
            f"{dtype}: median {statistics.median(values):.2f} s, max {max(values):.2f} s "
            f"({max(rows, key=lambda r: r[dtype])['function']}), "
            f"{sum(v > 1.0 for v in values)} of {len(values)} above 1 s"
        )
    from jaxinfo._src.bench import results

    name = args.name + ("-cached" if cache else "")
    results.print_table(rows, ["function", *dtypes])
    print(f"wrote {results.write_results(name, rows)}")


if __name__ == "__main__":
    main()
