"""The ``jaxinfo`` command line: inspect the installation and measure saved representations.

Examples::

    jaxinfo info
    jaxinfo measure activations.npy --alpha 2 --kernel gaussian --bandwidth median --base 2
    jaxinfo measure activations.npy --y inputs.npy --labels classes.npy --base 2
    jaxinfo bench --quick --compare
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from jaxinfo._src.options import BandwidthRule

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


def _read(path: str) -> np.ndarray:
    """One saved ``.npy`` array (no pickles), or ``_UsageError``."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise _UsageError(f"cannot read {path}: {_one_line(error)}") from None
    if not isinstance(data, np.ndarray):
        raise _UsageError(f"{path} is not a single .npy array; save one array per file.")
    return data


def _load(path: str, x64: bool, name: str = "x"):
    """The saved array as finite ``[n, d]`` floats in the compute dtype, or ``_UsageError``."""
    from jaxinfo._src import validation

    data = _read(path)
    if not np.issubdtype(data.dtype, np.floating):
        raise _UsageError(
            f"{path}: `{name}` must be a floating-point array; got dtype {data.dtype}. "
            "Cast it before saving, e.g. `np.save(path, x.astype(np.float32))`."
        )
    dtype = np.float64 if x64 else np.float32
    with np.errstate(over="ignore"):
        cast = data.astype(dtype)
    try:
        x = validation.as_samples(cast, name)
    except ValueError as error:
        raise _UsageError(f"{path}: {_one_line(error)}") from None
    bad = ~np.isfinite(data)
    if bad.any():
        raise _UsageError(
            f"{path}: `{name}` holds {int(bad.sum())} non-finite cells (NaN or inf) in "
            f"{int(bad.any(axis=1).sum())} of {data.shape[0]} rows; the measures have no value "
            "there. Drop or impute those rows first."
        )
    if not np.isfinite(cast).all():
        raise _UsageError(
            f"{path}: `{name}` has values beyond the {np.dtype(dtype).name} range; pass --x64."
        )
    return x


def _load_labels(path: str, num_rows: int) -> tuple[np.ndarray, int]:
    """Integer class labels ``[n]`` in ``[0, classes)`` and the class count, or ``_UsageError``."""
    labels = _read(path)
    if labels.ndim != 1 or not (
        np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_
    ):
        raise _UsageError(
            f"{path}: labels must be a 1-D integer array [n]; got dtype {labels.dtype}, shape "
            f"{labels.shape}. Save e.g. `np.save(path, y.astype(np.int32))`."
        )
    if labels.shape[0] != num_rows:
        raise _UsageError(
            f"{path}: labels have {labels.shape[0]} entries but x has {num_rows} rows; "
            "one label per row."
        )
    labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise _UsageError(f"{path}: labels must be >= 0; got {labels.min()}.")
    return labels.astype(np.int32), int(labels.max()) + 1


def _bandwidth_value(text: str) -> float | BandwidthRule:
    try:
        return float(text)
    except ValueError:
        return cast("BandwidthRule", text)  # a rule's name; the estimator checks it


def _measures(args, x, y, labels, num_classes, kernel) -> list[tuple[str, Callable[[], object]]]:
    """``(name, thunk)`` for every measure this invocation asks for, in output order."""
    import jax

    import jaxinfo

    base, alpha = args.base, args.alpha
    dse_sigma = _bandwidth_value(args.dse_bandwidth)
    out: list[tuple[str, Callable[[], object]]] = [
        (
            f"matrix_renyi_entropy(alpha={alpha})",
            lambda: jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel, base=base),
        ),
        ("von_neumann_entropy", lambda: jaxinfo.von_neumann_entropy(x, kernel=kernel, base=base)),
        ("vendi_score(q=1)", lambda: jaxinfo.vendi_score(x, kernel=kernel)),
        ("effective_rank", lambda: jaxinfo.effective_rank(x)),
        (
            f"diffusion_spectral_entropy(sigma={args.dse_bandwidth})",
            lambda: jaxinfo.diffusion_spectral_entropy(x, bandwidth=dse_sigma, base=base),
        ),
    ]
    if y is not None:
        out += [
            (
                "ksg_mutual_information(k=3)",
                lambda: jaxinfo.ksg_mutual_information(x, y, base=base),
            ),
            (
                "gaussian_mutual_information",
                lambda: jaxinfo.gaussian_mutual_information(x, y, base=base),
            ),
            (
                f"matrix_mutual_information(alpha={alpha})",
                lambda: jaxinfo.matrix_mutual_information(
                    x, y, alpha=alpha, kernel_x=kernel, kernel_y=kernel, base=base
                ),
            ),
            (
                "cauchy_schwarz_mutual_information",
                lambda: jaxinfo.cauchy_schwarz_mutual_information(
                    x, y, kernel_x=kernel, kernel_y=kernel, base=base
                ),
            ),
        ]
    if labels is not None:
        out.append(
            (
                f"diffusion_spectral_mutual_information(sigma={args.dse_bandwidth})",
                lambda: jaxinfo.diffusion_spectral_mutual_information(
                    x,
                    labels,
                    num_classes=num_classes,
                    key=jax.random.key(0),
                    bandwidth=dse_sigma,
                    base=base,
                ),
            )
        )
    return out


def _measure(args) -> int:
    import jax

    from jaxinfo._progress import Progress

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    x = _load(args.path, args.x64)
    y = None if args.y is None else _load(args.y, args.x64, "y")
    if y is not None and y.shape[0] != x.shape[0]:
        raise _UsageError(
            f"{args.y}: y has {y.shape[0]} rows but x has {x.shape[0]}; MI needs paired rows."
        )
    labels, num_classes = (None, 0)
    if args.labels is not None:
        labels, num_classes = _load_labels(args.labels, x.shape[0])
    try:
        kernel = _make_kernel(args.kernel, args.bandwidth)
        results: dict[str, object] = {
            "n": int(x.shape[0]),
            "d": int(x.shape[1]),
            "kernel": repr(kernel),
            "units": "nats" if args.base is None else f"log base {args.base}",
        }
        if y is not None:
            results["d_y"] = int(y.shape[1])
        measures = _measures(args, x, y, labels, num_classes, kernel)
        progress = Progress(len(measures)) if not args.quiet else None
        for name, thunk in measures:
            results[name] = float(thunk())  # type: ignore[arg-type]
            if progress is not None:
                progress.step(name)
    except (ValueError, TypeError) as error:
        raise _UsageError(_one_line(error)) from None
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:52s} {value:.6f}" if isinstance(value, float) else f"{key:52s} {value}")
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
    measure = sub.add_parser(
        "measure",
        help="entropies of a saved [n, d] .npy array; MI with a second array; DSMI with labels",
    )
    measure.add_argument("path", help=".npy file holding an [n, d] array (rows are samples)")
    measure.add_argument(
        "--y",
        default=None,
        help=".npy [n, d_y] array paired row by row with x: adds KSG, Gaussian, matrix and "
        "Cauchy-Schwarz mutual information",
    )
    measure.add_argument(
        "--labels",
        default=None,
        help=".npy integer [n] class labels: adds the diffusion spectral mutual information",
    )
    measure.add_argument(
        "--dse-bandwidth",
        default="10",
        help="diffusion sigma > 0 or a rule (default 10, the dse-dsmi reference)",
    )
    measure.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
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
