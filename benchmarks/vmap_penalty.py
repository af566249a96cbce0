"""Cost of ``jax.jit(jax.vmap(estimator))`` over row masks against one jitted call per mask.

B = 200 random boolean row masks (about 80 % valid rows) over one set of ``[600, 3]``
samples. Every estimator family of the battery registry (tests/registry.py) appears with
one configuration per code path. Each is timed as one jitted single call run B times in a
Python loop and as one ``jax.jit(jax.vmap(...))`` call over the stacked masks; ``ratio`` is
vmapped over B x single (below 1: batching pays), in wall time and in process CPU time
(steadier on a loaded machine). Medians of interleaved warm calls, one thread, float32 and
float64 (issue 26). Targets: ratio <= 1.0 everywhere, <= 0.5 where a
single call takes under 1 ms.

Run:  python benchmarks/vmap_penalty.py [--quick] [--only SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

BATCH, ROWS, DIM, CLASSES = 200, 600, 3, 4
GAUSS = kernels.Gaussian(1.0)


def _pair(fn):
    """``fn(x, y, where_x=m, where_y=m)``: two samples sharing the row mask."""
    return lambda d, m: fn(d["x"], d["y"] + 0.5, where_x=m, where_y=m)


# name -> fn(data, mask). One configuration per code path (tests/registry.py).
ESTIMATORS = {
    # matrix family: eigen path (alpha != 2), streamed order 2, bandwidth rule, covariance route
    "matrix_renyi_entropy(alpha=1.01)": lambda d, m: jaxinfo.matrix_renyi_entropy(
        d["x"], alpha=1.01, kernel=GAUSS, where=m
    ),
    "matrix_renyi_entropy(alpha=2)": lambda d, m: jaxinfo.matrix_renyi_entropy(
        d["x"], alpha=2, kernel=GAUSS, where=m
    ),
    "matrix_renyi_entropy(alpha=2, median)": lambda d, m: jaxinfo.matrix_renyi_entropy(
        d["x"], alpha=2, kernel=kernels.Gaussian("median"), where=m
    ),
    "matrix_renyi_entropy(linear, alpha=1)": lambda d, m: jaxinfo.matrix_renyi_entropy(
        d["x"], alpha=1, kernel=kernels.Linear(), where=m
    ),
    "matrix_mutual_information(alpha=1.01)": lambda d, m: jaxinfo.matrix_mutual_information(
        d["x"], d["y"], alpha=1.01, kernel_x=GAUSS, kernel_y=GAUSS, where=m
    ),
    "matrix_mutual_information(alpha=2)": lambda d, m: jaxinfo.matrix_mutual_information(
        d["x"], d["y"], alpha=2, kernel_x=GAUSS, kernel_y=GAUSS, where=m
    ),
    "vendi_score(q=1)": lambda d, m: jaxinfo.vendi_score(d["x"], where=m),
    "effective_rank": lambda d, m: jaxinfo.effective_rank(d["x"], where=m),
    # Cauchy-Schwarz family
    "cauchy_schwarz_divergence": _pair(
        lambda x, y, **kw: jaxinfo.cauchy_schwarz_divergence(x, y, kernel=GAUSS, **kw)
    ),
    "cauchy_schwarz_mutual_information": lambda d, m: jaxinfo.cauchy_schwarz_mutual_information(
        d["x"], d["y"], kernel_x=GAUSS, kernel_y=GAUSS, where=m
    ),
    "cauchy_schwarz_mutual_information(median)": (
        lambda d, m: jaxinfo.cauchy_schwarz_mutual_information(d["x"], d["y"], where=m)
    ),
    "conditional_cauchy_schwarz_divergence": (
        lambda d, m: jaxinfo.conditional_cauchy_schwarz_divergence(
            d["x"], d["y"], d["z"], kernel_x=GAUSS, kernel_y=GAUSS, where=m
        )
    ),
    "cauchy_schwarz_conditional_mutual_information": (
        lambda d, m: jaxinfo.cauchy_schwarz_conditional_mutual_information(
            d["x"], d["y"], d["z"], kernel_x=GAUSS, kernel_y=GAUSS, kernel_z=GAUSS, where=m
        )
    ),
    # diffusion spectral entropy / MI
    "diffusion_spectral_entropy(bandwidth=1)": lambda d, m: jaxinfo.diffusion_spectral_entropy(
        d["x"], bandwidth=1.0, where=m
    ),
    "diffusion_spectral_entropy(median, t=2)": lambda d, m: jaxinfo.diffusion_spectral_entropy(
        d["x"], bandwidth="median", t=2, where=m
    ),
    "diffusion_spectral_mutual_information": (
        lambda d, m: jaxinfo.diffusion_spectral_mutual_information(
            d["x"], d["lx"], num_classes=CLASSES, key=jax.random.key(7), bandwidth=1.0, where=m
        )
    ),
    # neighbours: at n = 600, d <= 4 "auto" is the brute slab; the tree route explicitly
    "knn_entropy(auto=brute)": lambda d, m: jaxinfo.knn_entropy(d["x"], where=m),
    "knn_entropy(tree)": lambda d, m: jaxinfo.knn_entropy(d["x"], where=m, method="tree"),
    "knn_entropy(d=1, sorted)": lambda d, m: jaxinfo.knn_entropy(d["x"][:, :1], where=m),
    "knn_kl_divergence(auto=brute)": _pair(jaxinfo.knn_kl_divergence),
    "ksg_mutual_information(auto=brute)": lambda d, m: jaxinfo.ksg_mutual_information(
        d["x"], d["y"], where=m
    ),
    "ksg_mutual_information(tree)": lambda d, m: jaxinfo.ksg_mutual_information(
        d["x"], d["y"], where=m, method="tree"
    ),
    "kde_entropy(silverman)": lambda d, m: jaxinfo.kde_entropy(d["x"], where=m),
    "gaussian_noise_mi_upper_bound": (
        lambda d, m: jaxinfo.gaussian_noise_mutual_information_upper_bound(
            d["x"], noise_variance=0.5, where=m
        )
    ),
    # Gaussian and copula
    "gaussian_entropy": lambda d, m: jaxinfo.gaussian_entropy(d["x"], where=m),
    "gaussian_mutual_information": lambda d, m: jaxinfo.gaussian_mutual_information(
        d["x"], d["y"], where=m
    ),
    "gaussian_copula_mutual_information": (
        lambda d, m: jaxinfo.gaussian_copula_mutual_information(d["x"], d["y"], where=m)
    ),
    # discrete and binned
    "binned_mutual_information(bins=4)": lambda d, m: jaxinfo.binned_mutual_information(
        d["x"], d["y"], bins=4, where=m
    ),
    "binned_mutual_information(adaptive)": lambda d, m: jaxinfo.binned_mutual_information(
        d["x"], d["y"], bins=4, adaptive=True, correction="miller_madow", where=m
    ),
    "discrete_mutual_information": lambda d, m: jaxinfo.discrete_mutual_information(
        d["lx"], d["ly"], num_x=CLASSES, num_y=CLASSES, where=m
    ),
    "plugin_entropy": lambda d, m: jaxinfo.plugin_entropy(d["lx"], num_classes=CLASSES, where=m),
    # variational bounds on a [600, 600] score matrix, CLUB/L1Out on log-likelihoods
    "infonce_lower_bound": lambda d, m: jaxinfo.infonce_lower_bound(d["scores"], where=m),
    "donsker_varadhan_estimate": lambda d, m: jaxinfo.donsker_varadhan_estimate(
        d["scores"], where=m
    ),
    "nwj_lower_bound": lambda d, m: jaxinfo.nwj_lower_bound(d["scores"], where=m),
    "smile_estimate(clip=1)": lambda d, m: jaxinfo.smile_estimate(d["scores"], clip=1.0, where=m),
    "jensen_shannon_objective": lambda d, m: jaxinfo.jensen_shannon_objective(d["scores"], where=m),
    "club_estimate": lambda d, m: jaxinfo.club_estimate(d["loglik"], where=m),
    "l1out_estimate": lambda d, m: jaxinfo.l1out_estimate(d["loglik"], where=m),
    # distribution functions (where masks entries of one 600-outcome distribution)
    "shannon_entropy": lambda d, m: jaxinfo.shannon_entropy(d["p"], where=m),
    "renyi_entropy(alpha=2)": lambda d, m: jaxinfo.renyi_entropy(d["p"], alpha=2.0, where=m),
    "kl_divergence": lambda d, m: jaxinfo.kl_divergence(d["p"], d["q"], where=m),
    "js_divergence": lambda d, m: jaxinfo.js_divergence(d["p"], d["q"], where=m),
}

# Public estimators without a ``where`` argument (nothing to batch over row masks).
NO_WHERE = (
    "gaussian_kl_to_standard_normal",
    "gaussian_koopman_mutual_information",
    "matrix_renyi_entropy_from_gram",
    "von_neumann_entropy_from_gram",
    "von_neumann_entropy_from_covariance",
)


def data(dtype) -> tuple[dict, jax.Array]:
    """Samples ``[ROWS, DIM]``, labels, scores, distributions and ``[BATCH, ROWS]`` masks."""
    kx, kn, kz, km = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (ROWS, DIM), dtype)
    y = x + 0.5 * jax.random.normal(kn, (ROWS, DIM), dtype)
    z = 0.5 * (x + y) + jax.random.normal(kz, (ROWS, DIM), dtype)
    diff = 0.5 * x[:, None, :] - y[None, :, :]
    d = {
        "x": x,
        "y": y,
        "z": z,
        "lx": jnp.digitize(x[:, 0], jnp.array([-0.7, 0.0, 0.7], dtype)).astype(jnp.int32),
        "ly": jnp.digitize(y[:, 0], jnp.array([-0.7, 0.0, 0.7], dtype)).astype(jnp.int32),
        "scores": x @ y.T,
        "loglik": -0.5 * jnp.sum(diff * diff, axis=-1),
        "p": jax.nn.softmax(x[:, 0]),
        "q": jax.nn.softmax(y[:, 0]),
    }
    masks = jax.random.uniform(km, (BATCH, ROWS)) < 0.8
    return d, masks


def measure(name, fn, d, masks, each, repeats, budget_s) -> dict:
    """One row: single-call and vmapped medians (or the error that stopped the vmapped call)."""
    single = jax.jit(fn)
    batched = jax.jit(jax.vmap(fn, in_axes=(None, 0)))
    row: dict = {"estimator": name, "dtype": jnp.dtype(d["x"].dtype).name}
    try:
        start = time.perf_counter()
        timing.block(batched(d, masks))
        row["vmap_compile_s"] = round(time.perf_counter() - start, 2)
    except Exception as error:  # noqa: BLE001 - reported in the table
        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:100]}"
        return row
    timing.block(single(d, each[0]))  # compiled; the vmapped call ran above
    calls = {
        "loop": lambda d, masks, each: [single(d, m) for m in each],
        "vmap": lambda d, masks, each: batched(d, masks),
    }
    times, cpu = timing.median_wall_and_cpu_times(
        calls, d, masks, each, repeats=repeats, budget_s=budget_s, warm_up=False
    )
    row.update(
        single_ms=round(1e3 * times["loop"] / BATCH, 4),
        loop_ms=round(1e3 * times["loop"], 2),
        vmap_ms=round(1e3 * times["vmap"], 2),
        ratio=round(times["vmap"] / times["loop"], 3),
        single_cpu_ms=round(1e3 * cpu["loop"] / BATCH, 4),
        ratio_cpu=round(cpu["vmap"] / max(cpu["loop"], 1e-9), 3),
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--only", nargs="*", default=(), help="estimator name substrings")
    parser.add_argument("--skip", nargs="*", default=(), help="estimator name substrings")
    parser.add_argument("--dtypes", nargs="*", default=("float32", "float64"))
    parser.add_argument("--name", default="vmap_penalty", help="results file name")
    args = parser.parse_args()
    repeats, budget_s = (2, 2.0) if args.quick else (5, 6.0)
    jax.config.update("jax_enable_x64", True)
    names = [
        n
        for n in ESTIMATORS
        if (not args.only or any(s in n for s in args.only)) and not any(s in n for s in args.skip)
    ]
    rows = []
    for dtype in args.dtypes:
        d, masks = data(jnp.dtype(dtype))
        each = list(masks)  # sliced once, outside the timed loop
        for name in names:
            rows.append(measure(name, ESTIMATORS[name], d, masks, each, repeats, budget_s))
            print(rows[-1], flush=True)
    columns = [
        "estimator",
        "dtype",
        "single_ms",
        "vmap_ms",
        "ratio",
        "single_cpu_ms",
        "ratio_cpu",
        "error",
    ]
    results.print_table(rows, columns)
    print("no `where` argument:", ", ".join(NO_WHERE))
    results.write_results(args.name, rows)


if __name__ == "__main__":
    main()
