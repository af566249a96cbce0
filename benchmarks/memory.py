"""Peak memory of the blocked all-pairs reductions (the sample geometry's block policy).

Each configuration runs in a fresh child process, so its peak resident set size
(``ru_maxrss``) is its own. Reported per configuration: the block size the policy chose, the
compiled temporary memory of the jitted value-and-gradient program
(``memory_analysis().temp_size_in_bytes``), the peak RSS of the whole process (interpreter,
JAX runtime and inputs included) and the wall time of one compiled call.

Run:  ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/memory.py`` (add ``--quick`` to skip the
n = 100 000 run). Results go to ``benchmarks/results/memory-cpu.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

CONFIGS = [
    # (label, n, d, dtype, block_size, gradient)
    ("cs_divergence n=30000 d=16 f64 block=2048 value+grad", 30_000, 16, "float64", 2048, True),
    ("cs_divergence n=30000 d=16 f64 default block value+grad", 30_000, 16, "float64", None, True),
    ("cs_divergence n=100000 d=16 f32 default block value", 100_000, 16, "float32", None, False),
]


def _child(n: int, d: int, dtype: str, block_size: int | None, gradient: bool) -> dict:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", dtype == "float64")
    import jaxinfo
    from jaxinfo._src import samples

    kx, ky = jax.random.split(jax.random.key(0))
    x = jax.random.normal(kx, (n, d), dtype)
    y = jax.random.normal(ky, (n, d), dtype) + 0.5
    kernel = jaxinfo.kernels.Gaussian(4.0)

    def value(a, b):
        return jaxinfo.cauchy_schwarz_divergence(a, b, kernel=kernel, block_size=block_size)

    fn = jax.jit(jax.value_and_grad(value, argnums=(0, 1)) if gradient else value)
    compiled = fn.lower(x, y).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    start = time.perf_counter()
    jax.block_until_ready(compiled(x, y))
    seconds = time.perf_counter() - start
    chosen = samples.block_rows(block_size, n, n, jnp.dtype(dtype))  # one Gram per reduction
    return {
        "block_rows": chosen,
        "temp_bytes": int(temp),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "seconds": seconds,
        "budget_bytes": samples.TEMP_MEMORY_BUDGET_BYTES,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the n = 100 000 run")
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        n, d, dtype, block, grad = args.child
        block_size = None if block == "None" else int(block)
        print(json.dumps(_child(int(n), int(d), dtype, block_size, grad == "True")))
        return
    from jaxinfo._src.bench import results, timing

    timing.pin_threads()  # the children inherit the pinned environment
    rows = []
    for label, n, d, dtype, block_size, gradient in CONFIGS:
        if args.quick and n > 30_000:
            continue
        result = results.run_child(
            __file__, "--child", *map(str, (n, d, dtype, block_size, gradient))
        )
        rows.append({"config": label, **result})
        print(
            f"{label}: block {result['block_rows']}, compiled temp "
            f"{result['temp_bytes'] / 2**20:.0f} MiB, peak RSS "
            f"{result['peak_rss_bytes'] / 2**30:.2f} GiB, {result['seconds']:.1f} s",
            flush=True,
        )
    results.write_results("memory", rows)


if __name__ == "__main__":
    main()
