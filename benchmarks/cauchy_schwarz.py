"""Cauchy–Schwarz family benchmarks, side by side in one run.

1. One CS-IB loss-and-gradient step (``cauchy_schwarz_information_bottleneck_loss``: symmetric
   conditional CS divergence + beta * normalised CS-QMI, gradient with respect to the
   predictions and the representation) at batch 128 and 1024, jitted jaxinfo vs a
   straightforward PyTorch (CPU, eager) implementation of the same formulas: dense Gram
   matrices, row sums, autograd. float32 for both, values compared.
2. Two-sample CS divergence at n = 4096 (d = 16): jaxinfo (log-domain, blocked) vs the dense
   PyTorch formula; then jaxinfo alone at n = 100 000 per sample with ``block_size`` (the dense
   Gram would need 40 GB per matrix), run in a subprocess to report its peak resident memory,
   with the time per kernel pair.

Run:  OMP_NUM_THREADS=1 python benchmarks/cauchy_schwarz.py [--quick]
(``pip install -e ".[benchmarks]"`` installs torch 2.13.0.) Threads are pinned to 1 for XLA,
BLAS and torch (``BENCH_THREADS``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import _harness
import jax
import jax.numpy as jnp
import numpy as np

import jaxinfo
from jaxinfo import kernels

BETA = 0.1
SIGMA = 1.0


# --------------------------------------------------------------------------- PyTorch peer
def _torch():
    import torch

    torch.set_num_threads(int(_harness.THREADS))
    return torch


def torch_gram(torch, a, b, sigma=SIGMA):
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return torch.exp(-d2.clamp_min(0.0) / (2.0 * sigma**2))


def torch_conditional_cs(torch, x, y, y_pred):
    """Symmetric conditional CS divergence with shared x (nats), dense."""
    k = torch_gram(torch, x, x)
    weight = k.sum(1) ** 2
    s_p = ((k * torch_gram(torch, y, y)).sum(1) / weight).sum()
    s_q = ((k * torch_gram(torch, y_pred, y_pred)).sum(1) / weight).sum()
    c_pq = ((k * torch_gram(torch, y, y_pred)).sum(1) / weight).sum()
    c_qp = ((k * torch_gram(torch, y_pred, y)).sum(1) / weight).sum()
    return torch.log(s_p) + torch.log(s_q) - torch.log(c_pq) - torch.log(c_qp)


def torch_qmi(torch, k, q):
    n = k.shape[0]
    joint = (k * q).sum() / n**2
    marginals = k.sum() * q.sum() / n**4
    cross = (k.sum(1) * q.sum(1)).sum() / n**3
    return torch.log(joint) + torch.log(marginals) - 2.0 * torch.log(cross)


def torch_csib_step(torch, x, y, y_pred, t):
    y_pred = y_pred.detach().requires_grad_(True)
    t = t.detach().requires_grad_(True)
    k, q = torch_gram(torch, x, x), torch_gram(torch, t, t)
    compression = torch_qmi(torch, k, q) / torch.sqrt(
        torch_qmi(torch, k, k) * torch_qmi(torch, q, q)
    )
    loss = torch_conditional_cs(torch, x, y, y_pred) + BETA * compression
    loss.backward()
    return loss.detach(), y_pred.grad, t.grad


def torch_cs_divergence(torch, x, y):
    xx = torch_gram(torch, x, x).mean()
    yy = torch_gram(torch, y, y).mean()
    xy = torch_gram(torch, x, y).mean()
    return torch.log(xx) + torch.log(yy) - 2.0 * torch.log(xy)


# --------------------------------------------------------------------------- jaxinfo
G = kernels.Gaussian(SIGMA)


def jax_csib_loss(x, y, y_pred, t):
    loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
        x, y, y_pred, t, beta=BETA, kernel_x=G, kernel_y=G, kernel_t=G
    )
    return loss


jax_csib_step = jax.jit(jax.value_and_grad(jax_csib_loss, argnums=(2, 3)))


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
        _harness.block(jax_csib_step(*j_args))
        compile_s = time.perf_counter() - start
        jax_s = _harness.timeit(jax_csib_step, *j_args, repeats=20, min_time=0.5)
        torch_s = _harness.timeit(
            lambda *a: torch_csib_step(torch, *a), *t_args, repeats=20, min_time=0.5
        )
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
                "torch_s": torch_s,
                "speedup": torch_s / jax_s,
                "jaxinfo_value": float(j_loss),
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
    jax_s = _harness.timeit(fn, jx, jy, repeats=5)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    torch_s = _harness.timeit(lambda a, b: torch_cs_divergence(torch, a, b), tx, ty, repeats=5)
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
    out = subprocess.run(
        [sys.executable, __file__, "--large-child", str(n), str(d), str(block)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (n = 20 000 for the large run)"
    )
    parser.add_argument("--large-child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.large_child:
        large_child(*args.large_child)
        return
    rows = bench_csib([128, 1024])
    rows += bench_divergence_medium(1024 if args.quick else 4096)
    rows += bench_divergence_large(20_000 if args.quick else 100_000)
    _harness.write_results("cauchy_schwarz" + ("-quick" if args.quick else ""), rows)
    _harness.print_table(
        rows,
        [
            "case",
            "n",
            "jaxinfo_s",
            "torch_s",
            "speedup",
            "jaxinfo_value",
            "torch_value",
            "max_grad_diff",
            "ns_per_pair",
            "peak_rss_gib",
            "jaxinfo_compile_s",
        ],
    )


if __name__ == "__main__":
    main()
