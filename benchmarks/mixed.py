"""Ross's discrete-continuous MI against scikit-learn's ``mutual_info_classif`` (issue 27, item 3).

One continuous feature ``x`` and a 4-class target ``c`` (``x | c ~ N(0.8 c, 1)``, NumPy
draws, the same in both dtypes) at n = 500 and 5000. For each n: the jaxinfo value, the
value of scikit-learn's deterministic ``_compute_mi_cd`` (the function
``mutual_info_classif`` runs, without its ``1e-10`` jitter and its clipping at 0) and of
``mutual_info_classif(n_neighbors=3, n_jobs=1, random_state=0)`` itself, and the median warm
time of ``jax.jit(ross_mutual_information)`` (d = 1: the sorted route) and of
``mutual_info_classif`` (interleaved rounds, one thread). The mixed KSG estimator of the
same data (labels as a float column) has no packaged peer; its value (close to Ross's) and
slab time are listed for scale.

Run:  python benchmarks/mixed.py [--x64]   (results/mixed_float{32,64}-cpu.json)
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.feature_selection import mutual_info_classif
from sklearn.feature_selection._mutual_info import _compute_mi_cd

import jaxinfo
from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.x64)
    dtype = "float64" if args.x64 else "float32"
    ross = jax.jit(jaxinfo.ross_mutual_information)
    mixed_ksg = jax.jit(jaxinfo.mixed_ksg_mutual_information)
    rows = []
    for n in (500, 5000):
        rng = np.random.default_rng(0)
        labels_np = rng.integers(0, 4, n)
        x_np = rng.normal(size=n) + 0.8 * labels_np
        x = jnp.asarray(x_np[:, None], jnp.dtype(dtype))
        labels = jnp.asarray(labels_np, jnp.int32)
        y = jnp.asarray(labels_np[:, None], jnp.dtype(dtype))

        def peer(x_np=x_np, labels_np=labels_np):
            return mutual_info_classif(
                x_np[:, None], labels_np, n_neighbors=3, random_state=0, n_jobs=1
            )

        calls = {
            "jaxinfo": lambda x=x, labels=labels: ross(x, labels).block_until_ready(),
            "scikit-learn": peer,
            "mixed_ksg": lambda x=x, y=y: mixed_ksg(x, y).block_until_ready(),
        }
        wall = timing.round_times(calls, repeats=args.repeats)
        value = float(ross(x, labels))
        reference = float(_compute_mi_cd(x_np, labels_np, 3))
        t_ours, t_peer = (statistics.median(wall[k]) for k in ("jaxinfo", "scikit-learn"))
        rows.append(
            {
                "dtype": dtype,
                "n": n,
                "jaxinfo": value,
                "compute_mi_cd": reference,
                "abs_diff": abs(value - reference),
                "mutual_info_classif": float(peer()[0]),
                "jaxinfo_ms": 1e3 * t_ours,
                "sklearn_ms": 1e3 * t_peer,
                "speedup": statistics.median(
                    timing.paired_ratios(wall["scikit-learn"], wall["jaxinfo"])
                ),
                "mixed_ksg": float(mixed_ksg(x, y)),
                "mixed_ksg_ms": 1e3 * statistics.median(wall["mixed_ksg"]),
            }
        )
    path = results.write_results(f"mixed_{dtype}", rows)
    results.print_table(
        rows,
        [
            "dtype",
            "n",
            "jaxinfo",
            "compute_mi_cd",
            "abs_diff",
            "mutual_info_classif",
            "jaxinfo_ms",
            "sklearn_ms",
            "speedup",
            "mixed_ksg",
            "mixed_ksg_ms",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
