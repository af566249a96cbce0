"""Cost of the default probability check (``validate=True``) under ``jit``.

The probability-vector functions check by default that every row is a distribution; under
``jit`` that is one comparison, one row sum and a select in front of the arithmetic. This
times each function on ``[1000, 1000]`` float32 rows (softmax of normal logits) with the
default check and with ``validate=False``, median of interleaved warm calls, one thread.

Run:  python benchmarks/probability_checks.py [--quick]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

FUNCTIONS = {
    "shannon_entropy": lambda p, q, **kw: jaxinfo.shannon_entropy(p, **kw),
    "kl_divergence": lambda p, q, **kw: jaxinfo.kl_divergence(p, q, **kw),
    "js_divergence": lambda p, q, **kw: jaxinfo.js_divergence(p, q, **kw),
    "renyi_entropy(alpha=2)": lambda p, q, **kw: jaxinfo.renyi_entropy(p, alpha=2.0, **kw),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 21
    kp, kq = jax.random.split(jax.random.key(0))
    p = jax.nn.softmax(jax.random.normal(kp, (1000, 1000), jnp.float32), axis=-1)
    q = jax.nn.softmax(jax.random.normal(kq, (1000, 1000), jnp.float32), axis=-1)
    rows = []
    for name, fn in FUNCTIONS.items():
        calls = {
            "checked": jax.jit(lambda p, q, fn=fn: fn(p, q)),
            "validate=False": jax.jit(lambda p, q, fn=fn: fn(p, q, validate=False)),
        }
        times = timing.median_times(calls, p, q, repeats=repeats)
        rows.append(
            {
                "function": name,
                "checked_ms": round(1e3 * times["checked"], 3),
                "unchecked_ms": round(1e3 * times["validate=False"], 3),
                "ratio": round(times["checked"] / times["validate=False"], 3),
            }
        )
    results.print_table(rows, ["function", "checked_ms", "unchecked_ms", "ratio"])
    results.write_results("probability_checks", rows)


if __name__ == "__main__":
    main()
