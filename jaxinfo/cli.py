"""The ``jaxinfo`` command line: inspect the installation and measure saved representations.

Examples::

    jaxinfo info
    jaxinfo measure activations.npy --alpha 2 --kernel gaussian --bandwidth median --base 2
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

KERNELS = ("gaussian", "laplacian", "linear", "cosine")


def _make_kernel(name: str, bandwidth: str):
    from jaxinfo import kernels

    if name in ("linear", "cosine"):
        return kernels.Linear() if name == "linear" else kernels.Cosine()
    try:
        value: float | str = float(bandwidth)
    except ValueError:
        value = bandwidth
    cls = kernels.Gaussian if name == "gaussian" else kernels.Laplacian
    return cls(bandwidth=value)


def _info(_args) -> int:
    import jax

    import jaxinfo

    print(f"jaxinfo {jaxinfo.__version__}, jax {jax.__version__}")
    print(f"backend {jax.default_backend()}, devices {jax.devices()}")
    return 0


def _measure(args) -> int:
    import jax

    import jaxinfo

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    data = np.load(args.path)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        print(
            f"error: expected a [n, d] array in {args.path}; got shape {data.shape}",
            file=sys.stderr,
        )
        return 2
    data = data.astype(np.float64 if args.x64 else np.float32)
    kernel = _make_kernel(args.kernel, args.bandwidth)
    results = {
        "n": int(data.shape[0]),
        "d": int(data.shape[1]),
        "kernel": repr(kernel),
        "units": "nats" if args.base is None else f"log base {args.base}",
        f"matrix_renyi_entropy(alpha={args.alpha})": jaxinfo.matrix_renyi_entropy(
            data, alpha=args.alpha, kernel=kernel, base=args.base
        ),
        "von_neumann_entropy": jaxinfo.von_neumann_entropy(data, kernel=kernel, base=args.base),
        "vendi_score(q=1)": jaxinfo.vendi_score(data, kernel=kernel),
        "effective_rank": jaxinfo.effective_rank(data),
    }
    results = {k: (float(v) if hasattr(v, "dtype") else v) for k, v in results.items()}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:36s} {value:.6f}" if isinstance(value, float) else f"{key:36s} {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the ``jaxinfo`` command.

    Args:
      argv: the arguments after the program name; ``None`` reads ``sys.argv``.

    Returns:
      The exit status: 0 on success, 2 when the saved array is not ``[n, d]``.
    """
    parser = argparse.ArgumentParser(prog="jaxinfo", description="Information measures in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print versions and devices").set_defaults(func=_info)
    measure = sub.add_parser("measure", help="matrix-based entropies of a saved [n, d] .npy array")
    measure.add_argument("path", help=".npy file holding an [n, d] array (rows are samples)")
    measure.add_argument("--alpha", type=float, default=1.01, help="Renyi order (default 1.01)")
    measure.add_argument("--kernel", choices=KERNELS, default="gaussian")
    measure.add_argument(
        "--bandwidth",
        default="median",
        help="sigma, or median / silverman / scott (default median)",
    )
    measure.add_argument(
        "--base", type=float, default=None, help="log base (2 for bits); default nats"
    )
    measure.add_argument("--x64", action="store_true", help="compute in float64")
    measure.add_argument("--json", action="store_true", help="print JSON")
    measure.set_defaults(func=_measure)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
