"""The ``jaxinfo`` command line: inspect the installation and measure saved representations.

Examples::

    jaxinfo info
    jaxinfo measure activations.npy --alpha 2 --kernel gaussian --bandwidth median --base 2
    jaxinfo bench --quick --compare
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

KERNELS = ("gaussian", "laplacian", "linear", "cosine")


class _UsageError(Exception):
    """A refused input: reported as one ``error:`` line and exit status 2."""


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _make_kernel(name: str, bandwidth: str | None):
    from jaxinfo import kernels

    if name in ("linear", "cosine"):
        if bandwidth is not None:
            raise _UsageError(
                f"`--bandwidth` applies to the gaussian and laplacian kernels; got "
                f"--bandwidth {bandwidth} with --kernel {name}. Drop it."
            )
        return kernels.Linear() if name == "linear" else kernels.Cosine()
    bandwidth = "median" if bandwidth is None else bandwidth
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


def _load(path: str, x64: bool):
    """The saved array as finite ``[n, d]`` floats in the compute dtype, or ``_UsageError``."""
    from jaxinfo._src import validation

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise _UsageError(f"cannot read {path}: {_one_line(error)}") from None
    if not isinstance(data, np.ndarray):
        raise _UsageError(f"{path} is not a single .npy array; save one [n, d] array.")
    if not np.issubdtype(data.dtype, np.floating):
        raise _UsageError(
            f"{path}: `x` must be a floating-point array; got dtype {data.dtype}. "
            "Cast it before saving, e.g. `np.save(path, x.astype(np.float32))`."
        )
    dtype = np.float64 if x64 else np.float32
    with np.errstate(over="ignore"):
        cast = data.astype(dtype)
    try:
        x = validation.as_samples(cast, "x")
    except ValueError as error:
        raise _UsageError(f"{path}: {_one_line(error)}") from None
    bad = ~np.isfinite(data)
    if bad.any():
        raise _UsageError(
            f"{path}: `x` holds {int(bad.sum())} non-finite cells (NaN or inf) in "
            f"{int(bad.any(axis=1).sum())} of {data.shape[0]} rows; the measures have no value "
            "there. Drop or impute those rows first."
        )
    if not np.isfinite(cast).all():
        raise _UsageError(
            f"{path}: `x` has values beyond the {np.dtype(dtype).name} range; pass --x64."
        )
    return x


def _measure(args) -> int:
    import jax

    import jaxinfo

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    data = _load(args.path, args.x64)
    try:
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
    except (ValueError, TypeError) as error:
        raise _UsageError(_one_line(error)) from None
    results = {k: (float(v) if hasattr(v, "dtype") else v) for k, v in results.items()}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:36s} {value:.6f}" if isinstance(value, float) else f"{key:36s} {value}")
    return 0


def _bench(args) -> int:
    import pathlib

    from jaxinfo import _bench

    if args.max_n is not None and args.max_n < 2:
        raise _UsageError(f"`--max-n` must be at least 2; got {args.max_n}.")
    settings = _bench.Settings(
        quick=args.quick,
        compare=args.compare,
        x64=args.x64,
        families=tuple(part for part in (args.families or "").split(",") if part),
        max_n=args.max_n,
    )
    output = pathlib.Path(args.output)
    if _bench.count_steps(settings) == 0:
        names = ", ".join(family.name for family in _bench.families())
        raise _UsageError(
            f"`--families {args.families}` matches no family or estimator; the families: {names}."
        )
    results = _bench.run(settings, output)
    _bench.report(results)
    png = results["png"] or "no PNG (pip install matplotlib)"
    print(f"\nwrote {output / 'bench.json'} and {png} in {results['wall_seconds']:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the ``jaxinfo`` command.

    Args:
      argv: the arguments after the program name; ``None`` reads ``sys.argv``.

    Returns:
      The exit status: 0 on success, 2 for refused input (a missing or unreadable file, an
      array that is not finite ``[n, d]`` floats, an invalid option): one ``error:`` line on
      stderr, no traceback.
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
        default=None,
        help="gaussian/laplacian sigma > 0, or median / silverman / scott (default median)",
    )
    measure.add_argument(
        "--base", type=float, default=None, help="log base (2 for bits); default nats"
    )
    measure.add_argument("--x64", action="store_true", help="compute in float64")
    measure.add_argument("--json", action="store_true", help="print JSON")
    measure.set_defaults(func=_measure)
    bench = sub.add_parser(
        "bench",
        help="accuracy on ground-truth tasks and a speed grid of every family on this backend",
    )
    bench.add_argument(
        "--quick", action="store_true", help="small sizes (about 2 minutes on 2 CPU cores)"
    )
    bench.add_argument(
        "--compare", action="store_true", help="time installed peers on the same inputs"
    )
    bench.add_argument("--x64", action="store_true", help="float64 (default float32)")
    bench.add_argument(
        "--families",
        default=None,
        help="comma-separated substrings of family/estimator names to run (default all)",
    )
    bench.add_argument("--max-n", type=int, default=None, help="cap every size at this n")
    bench.add_argument(
        "--output", default="jaxinfo-bench", help="folder for bench.json and bench.png"
    )
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
