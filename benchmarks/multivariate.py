"""Multivariate measures (TC, DTC, O- and S-information) against hoi 0.0.7 (issue 27, item 4).

Two jobs, both with hoi (``benchmarks`` extra only; it needs float64 inputs):

- ``--peers``: hoi's values on fixed data (NumPy ``default_rng(0)``, n = 400, five scalar
  variables: a synergistic triple, a redundant pair, a monotone map), for its ``"gauss"``,
  ``"gc"`` and ``"knn"`` entropies, the four measures of all five variables and the
  O-information of every triplet, written to tests/data/peers_multivariate.{json,npz}
  (read by tests/test_multivariate.py). The settings that make both sides compute the
  same estimator: bits (hoi's unit); the data are centred (hoi's ``"gauss"`` does not
  centre); hoi's ``"gc"`` applies its Wishart bias correction (jaxinfo
  ``bias_correction=True``); hoi's ``"knn"`` is Kozachenko-Leonenko with ``k = 3`` and the
  Euclidean norm, clipped at 0 per entropy, so the data are scaled (x4) to keep every
  entropy positive.
- default: median times at n = 5000 (interleaved rounds, one thread) of one call with
  V = 5 variables for each method, and of the O-information of all order-3 subsets of
  V = 12 variables (220 multiplets) for ``"gaussian"`` / ``"copula"``; float32 (hoi on
  float64 inputs: it refuses float32 for gc / knn) or ``--x64``. jaxinfo is warm
  (``jax.jit`` compiled by a first call, timed apart as ``jaxinfo_first_s``); hoi's ``fit``
  traces and compiles again on every call (its entropy functions are new static arguments
  each time), which is what a hoi call costs. Rounds stop after 60 s (one round for hoi's
  kNN).

Run (hoi and jaxinfo in one process; hoi's venv has jaxinfo's JAX version):
  PYTHONPATH=. /tmp/im-venv/bin/python benchmarks/multivariate.py --peers
  PYTHONPATH=. /tmp/im-venv/bin/python benchmarks/multivariate.py [--x64]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinfo._src.bench import results, timing
from jaxinfo._src.options import MultivariateMethod

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
PEER_METHODS: dict[str, MultivariateMethod] = {"gauss": "gaussian", "gc": "copula", "knn": "knn"}
MEASURES = {
    "TC": "total_correlation",
    "DTC": "dual_total_correlation",
    "Oinfo": "o_information",
    "Sinfo": "s_information",
}


def system(n: int, num_variables: int, seed: int = 0) -> np.ndarray:
    """``[n, V]`` centred float64 data: synergy (x2 = x0 + x1 + noise), redundancy, a monotone map.

    Columns past the first five are noisy copies of earlier ones (more multiplets to score).
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, max(num_variables, 5)))
    x = np.empty_like(z)
    x[:, 0] = z[:, 0]
    x[:, 1] = z[:, 1]
    x[:, 2] = x[:, 0] + x[:, 1] + 0.5 * z[:, 2]
    x[:, 3] = x[:, 0] + 0.5 * z[:, 3]
    x[:, 4] = np.exp(0.5 * (x[:, 3] + z[:, 4]))
    for j in range(5, num_variables):
        x[:, j] = x[:, j % 5] + z[:, j]
    x = 4.0 * x[:, :num_variables]
    return x - x.mean(axis=0)


def _hoi(measure: str, x: np.ndarray, order: int, method: str) -> np.ndarray:
    import hoi.metrics  # pyright: ignore[reportMissingImports]

    model = getattr(hoi.metrics, measure)(x, verbose=False)
    return np.asarray(model.fit(minsize=order, maxsize=order, method=method))[:, 0]


def _jaxinfo_options(method: str) -> dict:
    return {"bias_correction": True} if method == "copula" else {}


def write_peers() -> None:
    import hoi.metrics  # pyright: ignore[reportMissingImports]

    x = system(400, 5)
    peers: dict = {"n": 400, "unit": "bits", "whole": {}, "triplets": {}}
    for peer, method in PEER_METHODS.items():
        peers["whole"][method] = {
            MEASURES[m]: float(_hoi(m, x, 5, peer)[0]) for m in ("TC", "DTC", "Oinfo", "Sinfo")
        }
        peers["triplets"][method] = _hoi("Oinfo", x, 3, peer).tolist()
    model = hoi.metrics.Oinfo(x, verbose=False)
    indices, _ = model.get_combinations(3, 3)
    peers["triplet_indices"] = np.asarray(indices).tolist()
    np.savez(DATA / "peers_multivariate.npz", x=x)
    (DATA / "peers_multivariate.json").write_text(json.dumps(peers, indent=1) + "\n")
    print(json.dumps(peers, indent=1))


def _ours_o_information(method: MultivariateMethod):
    import jaxinfo

    options = _jaxinfo_options(method)
    return jax.jit(lambda *xs: jaxinfo.o_information(*xs, method=method, **options))


def _ours_triplets(method: MultivariateMethod):
    import jaxinfo

    options = _jaxinfo_options(method)
    return jax.jit(
        lambda x: jaxinfo.multiplet_information(x, order=3, method=method, **options).values
    )


def _first_call(call) -> tuple[float, Any]:
    """Seconds of a first call (tracing and compiling, as every hoi call) and its value."""
    start = time.perf_counter()
    value = timing.block(call())
    return time.perf_counter() - start, value


def _timed(row: dict, calls: dict, repeats: int) -> dict:
    """``row`` with the median warm times (interleaved rounds; hoi's kNN: one round)."""
    wall = timing.median_times(calls, repeats=repeats, warm_up=False, budget_s=60.0)
    return {
        **row,
        "jaxinfo_s": wall["jaxinfo"],
        "hoi_s": wall["hoi"],
        "speedup": wall["hoi"] / wall["jaxinfo"],
    }


def bench(x64: bool, repeats: int) -> None:
    dtype = jnp.float64 if x64 else jnp.float32
    rows = []
    n = 5000
    x5 = system(n, 5)
    columns = [jnp.asarray(x5[:, j : j + 1], dtype) for j in range(5)]
    for peer, method in PEER_METHODS.items():
        ours = _ours_o_information(method)
        row: dict[str, Any] = {
            "case": f"o_information, V=5, {method}",
            "dtype": str(np.dtype(dtype)),
            "n": n,
        }
        row["jaxinfo_first_s"], value = _first_call(lambda f=ours: f(*columns))
        row["jaxinfo_bits"] = float(value) / np.log(2.0)
        row["hoi_bits"] = float(_hoi("Oinfo", x5, 5, peer)[0])  # hoi compiles on every call
        calls = {
            "jaxinfo": lambda f=ours: f(*columns),
            "hoi": lambda p=peer: _hoi("Oinfo", x5, 5, p),
        }
        rows.append(_timed(row, calls, repeats))
    x12 = system(n, 12)
    xj = jnp.asarray(x12, dtype)
    for peer, method in list(PEER_METHODS.items())[:2]:
        ours = _ours_triplets(method)
        row = {
            "case": f"multiplets order 3 of V=12 (220), {method}",
            "dtype": str(np.dtype(dtype)),
            "n": n,
        }
        peer_values = _hoi("Oinfo", x12, 3, peer)
        row["jaxinfo_first_s"], values = _first_call(lambda f=ours: f(xj))
        diff = np.max(np.abs(np.asarray(values) / np.log(2.0) - peer_values))
        row["max_abs_diff_bits"] = float(diff)
        calls = {"jaxinfo": lambda f=ours: f(xj), "hoi": lambda p=peer: _hoi("Oinfo", x12, 3, p)}
        rows.append(_timed(row, calls, repeats))
    name = f"multivariate_{np.dtype(dtype).name}"
    print(results.write_results(name, rows))
    table = ["case", "dtype", "jaxinfo_s", "jaxinfo_first_s", "hoi_s", "speedup"]
    results.print_table(rows, table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--x64", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)  # hoi needs float64 inputs for gc and knn
    if args.peers:
        write_peers()
    else:
        bench(args.x64, args.repeats)


if __name__ == "__main__":
    main()
