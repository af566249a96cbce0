"""Cauchy–Schwarz family benchmarks, side by side in one run.

1. One CS-IB loss-and-gradient step (``cauchy_schwarz_information_bottleneck_loss``: symmetric
   conditional CS divergence + beta * normalised CS-QMI, gradient with respect to the
   predictions and the representation) at batch 128 and 1024, jitted jaxinfo vs a
   straightforward PyTorch (CPU, eager) implementation of the same formulas: dense Gram
   matrices, row sums, autograd. float32 for both, values compared.
   Both jaxinfo routes: the default (linear-domain fused kernel sums) and ``log_domain=True``.
2. Two-sample CS divergence at n = 4096 (d = 16): jaxinfo (blocked) vs the dense PyTorch
   formula; then jaxinfo alone at n = 100 000 per sample with ``block_size`` (the dense Gram
   would need 40 GB per matrix), run in a subprocess to report its peak resident memory, with
   the time per kernel pair.
3. Fused kernel sums against the GEMM rate, float32 and float64 (one child process each:
   ``jax_enable_x64`` is process-wide): interleaved, median of 5, the single-thread GEMM
   ``x @ y.T`` of ``[16384, 16] x [16, 16384]`` (ns per output element; and, as a cache-sized
   reference, the same GEMM in 512-row blocks reduced to row sums) beside the CS divergence
   value at n = 16 384, d = 16 (ns per kernel pair, 3 n^2 pairs) by the default route and by
   ``log_domain=True`` (the route before the fused sums). Fraction = GEMM ns / CS ns.

Run:  OMP_NUM_THREADS=1 python benchmarks/cauchy_schwarz.py [--quick] [--fused-only]
(``pip install -e ".[benchmarks]"`` installs torch 2.13.0.) Threads are pinned to 1 for XLA,
BLAS and torch (``BENCH_THREADS``).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels
from jaxinfo._src.bench import references, results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

BETA = 0.1
SIGMA = 1.0


# --------------------------------------------------------------------------- PyTorch peer
def _torch():
    import torch

    torch.set_num_threads(THREADS)
    return torch


def torch_csib_step(torch, x, y, y_pred, t):
    """The reference CS-IB loss on dense Grams in torch, gradient by autograd."""
    y_pred = y_pred.detach().requires_grad_(True)
    t = t.detach().requires_grad_(True)
    loss = references.cauchy_schwarz_information_bottleneck_loss(
        x, y, y_pred, t, SIGMA, BETA, xp=torch
    )
    loss.backward()
    return loss.detach(), y_pred.grad, t.grad


def torch_cs_divergence(torch, x, y):
    return references.cauchy_schwarz_divergence(x, y, SIGMA, xp=torch)


# --------------------------------------------------------------------------- jaxinfo
G = kernels.Gaussian(SIGMA)


def jax_csib_loss(x, y, y_pred, t):
    loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
        x, y, y_pred, t, beta=BETA, kernel_x=G, kernel_y=G, kernel_t=G
    )
    return loss


def jax_csib_loss_log_domain(x, y, y_pred, t):
    loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
        x, y, y_pred, t, beta=BETA, kernel_x=G, kernel_y=G, kernel_t=G, log_domain=True
    )
    return loss


jax_csib_step = jax.jit(jax.value_and_grad(jax_csib_loss, argnums=(2, 3)))
jax_csib_step_log_domain = jax.jit(jax.value_and_grad(jax_csib_loss_log_domain, argnums=(2, 3)))


def csib_inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = np.sin(x[:, :1]) + 0.1 * rng.standard_normal((n, 1)).astype(np.float32)
    y_pred = y + 0.3 * rng.standard_normal((n, 1)).astype(np.float32)
    t = np.tanh(x @ rng.standard_normal((8, 32)).astype(np.float32) / 3)
    return x, y, y_pred.astype(np.float32), t.astype(np.float32)


def bench_csib(batches):
    torch = _torch()
    rows = []
    for n in batches:
        arrays = csib_inputs(n)
        j_args = [jnp.asarray(a) for a in arrays]
        t_args = [torch.from_numpy(a) for a in arrays]
        start = time.perf_counter()
        timing.block(jax_csib_step(*j_args))
        compile_s = time.perf_counter() - start
        timing.block(jax_csib_step_log_domain(*j_args))
        calls = {
            "jax": lambda j_args=j_args: jax_csib_step(*j_args),
            "jax_log": lambda j_args=j_args: jax_csib_step_log_domain(*j_args),
            "torch": lambda t_args=t_args: torch_csib_step(torch, *t_args),
        }
        times = timing.median_times(calls, repeats=20)
        jax_s, log_s, torch_s = times["jax"], times["jax_log"], times["torch"]
        j_loss, (j_gp, j_gt) = jax_csib_step(*j_args)
        t_loss, t_gp, t_gt = torch_csib_step(torch, *t_args)
        grad_diff = max(
            float(np.max(np.abs(np.asarray(j_gp) - t_gp.numpy()))),
            float(np.max(np.abs(np.asarray(j_gt) - t_gt.numpy()))),
        )
        rows.append(
            {
                "case": "CS-IB loss+grad (f32)",
                "n": n,
                "jaxinfo_s": jax_s,
                "jaxinfo_log_domain_s": log_s,
                "torch_s": torch_s,
                "speedup": torch_s / jax_s,
                "fused_speedup": log_s / jax_s,
                "jaxinfo_value": float(j_loss),
                "jaxinfo_log_domain_value": float(jax_csib_step_log_domain(*j_args)[0]),
                "torch_value": float(t_loss),
                "max_grad_diff": grad_diff,
                "jaxinfo_compile_s": compile_s,
            }
        )
    return rows


def bench_divergence_medium(n=4096, d=16):
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.standard_normal((n, d)) + 0.5).astype(np.float32)
    fn = jax.jit(lambda a, b: jaxinfo.cauchy_schwarz_divergence(a, b, kernel=G, block_size=512))
    jx, jy = jnp.asarray(x), jnp.asarray(y)
    jax_s = timing.median_time(fn, jx, jy, repeats=5)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    torch_s = timing.median_time(lambda a, b: torch_cs_divergence(torch, a, b), tx, ty, repeats=5)
    return [
        {
            "case": "CS divergence value (f32)",
            "n": n,
            "jaxinfo_s": jax_s,
            "torch_s": torch_s,
            "speedup": torch_s / jax_s,
            "jaxinfo_value": float(fn(jx, jy)),
            "torch_value": float(torch_cs_divergence(torch, tx, ty)),
            "ns_per_pair": 1e9 * jax_s / (3 * n * n),
        }
    ]


def large_child(n, d, block):
    """Runs in a subprocess: CS divergence at n per sample; prints time and peak RSS as JSON."""
    x = jax.random.normal(jax.random.key(0), (n, d))
    y = jax.random.normal(jax.random.key(1), (n, d)) + 0.5
    fn = jax.jit(lambda a, b: jaxinfo.cauchy_schwarz_divergence(a, b, kernel=G, block_size=block))
    start = time.perf_counter()
    value = float(fn(x, y))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"value": value, "seconds": seconds, "peak_rss_gib": peak}))


def bench_divergence_large(n, d=16, block=256):
    result = results.run_child(__file__, "--large-child", str(n), str(d), str(block))
    return [
        {
            "case": f"CS divergence value, block {block} (f32)",
            "n": n,
            "jaxinfo_s": result["seconds"],
            "jaxinfo_value": result["value"],
            "peak_rss_gib": result["peak_rss_gib"],
            "ns_per_pair": 1e9 * result["seconds"] / (3 * n * n),
        }
    ]


def fused_child(dtype_name, n, d, block):
    """Runs in a subprocess (x64 is process-wide): GEMM rate vs the CS divergence, as JSON."""
    if dtype_name == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(dtype_name)
    x = jax.random.normal(jax.random.key(0), (n, d), dtype)
    y = jax.random.normal(jax.random.key(1), (n, d), dtype) + 0.5

    def blocked_gemm(a, b):  # the same products, one [block, n] slab at a time
        rows = a.reshape(n // block, block, d)
        return jax.lax.map(lambda r: jnp.sum(r @ b.T, axis=1), rows)

    def cs(log_domain):
        return jax.jit(
            lambda a, b: jaxinfo.cauchy_schwarz_divergence(a, b, kernel=G, log_domain=log_domain)
        )

    fns = {
        "gemm": jax.jit(lambda a, b: a @ b.T),
        "gemm_blocked": jax.jit(blocked_gemm),
        "cs_fused": cs(False),
        "cs_log_domain": cs(True),
    }
    times = timing.median_times(fns, x, y, repeats=5)
    out = {name: 1e9 * t / (n * n) for name, t in times.items() if name.startswith("gemm")}
    out.update({name: 1e9 * t / (3 * n * n) for name, t in times.items() if name.startswith("cs")})
    out["value_fused"] = float(fns["cs_fused"](x, y))
    out["value_log_domain"] = float(fns["cs_log_domain"](x, y))
    print(json.dumps(out))


def bench_fused(n, d=16, block=512):
    rows = []
    for dtype_name in ("float32", "float64"):
        r = results.run_child(__file__, "--fused-child", dtype_name, str(n), str(d), str(block))
        for route in ("fused", "log_domain"):
            ns = r[f"cs_{route}"]
            rows.append(
                {
                    "case": f"CS divergence value, {route} ({dtype_name})",
                    "n": n,
                    "gemm_ns_per_elem": r["gemm"],
                    "gemm_blocked_ns_per_elem": r["gemm_blocked"],
                    "ns_per_pair": ns,
                    "pct_of_gemm": 100 * r["gemm"] / ns,
                    "pct_of_blocked_gemm": 100 * r["gemm_blocked"] / ns,
                    "jaxinfo_value": r[f"value_{route}"],
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (n = 20 000 for the large run)"
    )
    parser.add_argument(
        "--fused-only", action="store_true", help="only the CS-IB and GEMM-rate sections"
    )
    parser.add_argument("--large-child", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fused-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.large_child:
        large_child(*args.large_child)
        return
    if args.fused_child:
        name, n, d, block = args.fused_child
        fused_child(name, int(n), int(d), int(block))
        return
    rows = bench_csib([128, 1024])
    rows += bench_fused(4096 if args.quick else 16_384)
    if not args.fused_only:
        rows += bench_divergence_medium(1024 if args.quick else 4096)
        rows += bench_divergence_large(20_000 if args.quick else 100_000)
    suffix = ("-quick" if args.quick else "") + ("-fused" if args.fused_only else "")
    results.write_results("cauchy_schwarz" + suffix, rows)
    results.print_table(
        rows,
        [
            "case",
            "n",
            "jaxinfo_s",
            "jaxinfo_log_domain_s",
            "fused_speedup",
            "torch_s",
            "speedup",
            "jaxinfo_value",
            "torch_value",
            "max_grad_diff",
            "gemm_ns_per_elem",
            "gemm_blocked_ns_per_elem",
            "ns_per_pair",
            "pct_of_gemm",
            "pct_of_blocked_gemm",
            "peak_rss_gib",
            "jaxinfo_compile_s",
        ],
    )


if __name__ == "__main__":
    main()
