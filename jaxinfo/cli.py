"""The ``jaxinfo`` command line: inspect the installation and measure saved representations.

Examples::

    jaxinfo --version
    jaxinfo info
    jaxinfo measure activations.npy --alpha 2 --kernel gaussian --bandwidth median --base 2
    jaxinfo measure activations.csv --y inputs.tsv --labels classes.txt --base 2
    jaxinfo bench --quick --compare
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import numpy as np

from jaxinfo._src.bench.runner import Settings as BenchSettings
from jaxinfo._src.options import KERNEL_NAMES
from jaxinfo._version import __version__

if TYPE_CHECKING:
    from jaxinfo._src.options import BandwidthRule

# Text formats by extension: the column delimiter np.loadtxt gets (None: any whitespace).
TEXT_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None, ".dat": None}
FORMATS = ".npy, .npz (one array), .csv, .tsv, or whitespace-separated .txt/.dat"


class _UsageError(Exception):
    """A refused input: reported as one ``error:`` line and exit status 2."""


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


# Flag values are checked by argparse ``type=`` functions: a bad value is reported against the
# flag (``argument --dse-bandwidth: ...``) with the subcommand's usage, before any work runs.


def _bandwidth_flag(text: str) -> float | BandwidthRule:
    """A kernel width: a finite number > 0 or the name of a data-driven rule."""
    from jaxinfo._src.bandwidths import BANDWIDTH_RULES

    if text in BANDWIDTH_RULES:
        return cast("BandwidthRule", text)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a finite number > 0 or a rule ({', '.join(BANDWIDTH_RULES)}); got {text!r}"
        )
    return value


def _alpha_flag(text: str) -> float:
    """A Rényi order: a number > 0 (the library's rule for ``alpha``)."""
    value = _float_flag(text)
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0 (e.g. 1.01 or 2); got {text}")
    return value


def _base_flag(text: str) -> float:
    """A logarithm base: finite, > 0 and not 1."""
    value = _float_flag(text)
    if not math.isfinite(value) or value <= 0 or value == 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive number other than 1 (2 for bits); got {text}. "
            "Leave it out for nats."
        )
    return value


def _int_flag(minimum: int) -> Callable[[str], int]:
    """An integer flag of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value

    return parse


def _float_flag(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None


def _shown(value: float | str) -> str:
    """A flag value as the output labels show it (``10.0`` as ``10``)."""
    return value if isinstance(value, str) else f"{value:g}"


def _make_kernel(name: str, bandwidth: float | str | None):
    from jaxinfo import kernels

    if name in ("linear", "cosine"):
        if bandwidth is not None:
            raise _UsageError(
                f"`--bandwidth` applies to the gaussian and laplacian kernels; got "
                f"--bandwidth {_shown(bandwidth)} with --kernel {name}. Drop it."
            )
        return kernels.Linear() if name == "linear" else kernels.Cosine()
    cls = kernels.Gaussian if name == "gaussian" else kernels.Laplacian
    return cls(bandwidth="median" if bandwidth is None else bandwidth)


def _info(_args) -> int:
    import jax

    import jaxinfo

    print(f"jaxinfo {jaxinfo.__version__}, jax {jax.__version__}")
    print(f"backend {jax.default_backend()}, devices {jax.devices()}")
    return 0


def _read(path: str, columns: bool = True) -> np.ndarray:
    """The one array saved in ``path`` (format by extension, see ``FORMATS``), or ``_UsageError``.

    Text is read as float64 numbers, ``#`` comments skipped, and one header line of names
    skipped; ``columns`` keeps a single column as ``[n, 1]`` (samples), else as ``[n]``
    (labels). Other extensions are read as ``.npy``, never as pickles.
    """
    suffix = pathlib.Path(path).suffix.lower()
    if suffix in TEXT_DELIMITERS:
        return _read_text(path, TEXT_DELIMITERS[suffix], columns)
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError as error:
        raise _UsageError(f"cannot read {path}: {_one_line(error)}") from None
    except (OSError, ValueError) as error:
        raise _UsageError(
            f"cannot read {path} as {suffix or 'a file without an extension'} ({FORMATS} are "
            f"read): {_one_line(error)}"
        ) from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            names = list(data.files)
            if len(names) != 1:
                raise _UsageError(
                    f"{path} holds {len(names)} arrays ({', '.join(names) or 'none'}); the "
                    "command reads one array per file: save each in its own file."
                )
            return data[names[0]]
    return data


def _read_text(path: str, delimiter: str | None, columns: bool) -> np.ndarray:
    """Numbers in a delimited text file; a first line that is not numbers is a header."""
    try:
        with open(path) as file:
            first = next((line for line in file if line.strip() and line[0] != "#"), "")
        header = 0
        try:
            np.array(first.split(delimiter), dtype=np.float64)
        except ValueError:
            header = 1
        with warnings.catch_warnings():  # an empty file is refused below, not warned about
            warnings.filterwarnings("ignore", "loadtxt: input contained no data")
            data = np.loadtxt(
                path, delimiter=delimiter, skiprows=header, ndmin=2 if columns else 1, comments="#"
            )
    except (OSError, ValueError) as error:
        what = {",": "comma", "\t": "tab", None: "whitespace"}[delimiter]
        raise _UsageError(
            f"cannot read {path} as {what}-separated numbers: {_one_line(error)}"
        ) from None
    if data.size == 0:
        raise _UsageError(f"{path} holds no numbers.")
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
    labels = _read(path, columns=False)
    if (
        labels.ndim == 1
        and labels.dtype == np.float64
        and pathlib.Path(path).suffix.lower() in (TEXT_DELIMITERS)
    ):  # text holds no dtype: whole numbers are labels
        if np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
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


def _measures(args, x, y, labels, num_classes, kernel) -> list[tuple[str, Callable[[], object]]]:
    """``(name, thunk)`` for every measure this invocation asks for, in output order."""
    import jax

    import jaxinfo

    base, alpha = args.base, args.alpha
    dse_sigma = args.dse_bandwidth
    out: list[tuple[str, Callable[[], object]]] = [
        (
            f"matrix_renyi_entropy(alpha={alpha})",
            lambda: jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel, base=base),
        ),
        ("von_neumann_entropy", lambda: jaxinfo.von_neumann_entropy(x, kernel=kernel, base=base)),
        ("vendi_score(q=1)", lambda: jaxinfo.vendi_score(x, kernel=kernel)),
        ("effective_rank", lambda: jaxinfo.effective_rank(x)),
        (
            f"diffusion_spectral_entropy(sigma={_shown(dse_sigma)})",
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
                f"diffusion_spectral_mutual_information(sigma={_shown(dse_sigma)})",
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

    from jaxinfo._src.bench.progress import Progress

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
    except (ValueError, TypeError) as error:
        raise _UsageError(_one_line(error)) from None
    progress = Progress(len(measures)) if not args.quiet else None
    reasons: dict[str, str] = {}
    for name, thunk in measures:
        try:
            results[name] = float(thunk())  # type: ignore[arg-type]
        except ValueError as error:  # the data do not suit this measure (n <= d for a covariance)
            results[name], reasons[name] = math.nan, _one_line(error)
        if progress is not None:
            progress.step(name)
    failed = [name for name, _ in measures if not math.isfinite(cast(float, results[name]))]
    if args.json:  # JSON has no NaN or inf: a measure without a value is null
        shown = {key: None if key in failed else value for key, value in results.items()}
        print(json.dumps(shown, indent=2, allow_nan=False))
    else:
        for key, value in results.items():
            print(f"{key:52s} {value:.6f}" if isinstance(value, float) else f"{key:52s} {value}")
    return _report_failed(failed, len(measures), "null" if args.json else "nan", reasons)


def _report_failed(failed: list[str], total: int, shown_as: str, reasons: dict[str, str]) -> int:
    """Names the measures without a finite value on stderr; exit status 1 when none has one.

    A NaN or inf is the library's "no answer" (non-finite intermediate values, e.g. squared
    distances of data near the float64 limit); it is printed as ``nan`` / ``null``, never
    passed off as a result. A measure that refused the data (``reasons``: e.g. the Gaussian
    MI with no more rows than dimensions) is shown the same way, with its own message.
    """
    if not failed:
        return 0
    level = "error" if len(failed) == total else "warning"
    for name, reason in reasons.items():
        print(f"{level}: no value for {name}, shown as {shown_as}: {reason}", file=sys.stderr)
    unexplained = [name for name in failed if name not in reasons]
    if unexplained:
        print(
            f"{level}: no finite value for {len(unexplained)} of {total} measures "
            f"({', '.join(unexplained)}), shown as {shown_as}. Check the data's scale (values "
            "near the float range overflow) and rescale or standardise them.",
            file=sys.stderr,
        )
    return 1 if len(failed) == total else 0


def _writable_folder(text: str) -> pathlib.Path:
    """The ``--output`` folder, created and probed with a file before the bench runs."""
    folder = pathlib.Path(text)
    if folder.exists() and not folder.is_dir():
        raise _UsageError(
            f"`--output {text}` is a file; the bench writes bench.json and bench.png into a "
            "folder. Pass a folder (it is created if missing)."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = error.strerror or _one_line(error)
        raise _UsageError(
            f"`--output {text}`: cannot write there ({reason}); pass a folder you can write to."
        ) from None
    return folder


def _guide(args) -> int:
    import jax

    from jaxinfo._src.bench import guide

    if args.compare or args.families or args.max_n is not None:
        raise _UsageError("`--guide` takes --quick, --x64 and --output only.")
    jax.config.update("jax_enable_x64", args.x64)
    output = _writable_folder(args.output)
    start = time.perf_counter()
    result = guide.run(args.quick, progress=lambda line: print(line, file=sys.stderr))
    table = guide.markdown(result)
    (output / "guide.json").write_text(json.dumps(result, indent=2) + "\n")
    (output / "guide.md").write_text(table)
    print(table)
    seconds = time.perf_counter() - start
    print(f"wrote {output / 'guide.md'} and {output / 'guide.json'} in {seconds:.0f} s")
    return 0


def _bench(args) -> int:
    if args.guide:
        return _guide(args)
    from jaxinfo._src.bench import runner as _bench

    settings = _bench.Settings(
        quick=args.quick,
        compare=args.compare,
        x64=args.x64,
        families=tuple(part for part in (args.families or "").split(",") if part),
        max_n=args.max_n,
        repeats=args.repeats,
    )
    if _bench.count_steps(settings) == 0:
        names = ", ".join(family.name for family in _bench.families())
        raise _UsageError(
            f"`--families {args.families}` matches no family or estimator; the families: {names}."
        )
    output = _writable_folder(args.output)
    results = _bench.run(settings, output)
    _bench.report(results)
    png = results["png"] or "no PNG (pip install matplotlib)"
    print(f"\nwrote {output / 'bench.json'} and {png} in {results['wall_seconds']:.0f} s")
    return 0


def _parser() -> argparse.ArgumentParser:
    """The ``jaxinfo`` parser; each subcommand stores itself as ``parser`` for its errors."""
    parser = argparse.ArgumentParser(prog="jaxinfo", description="Information measures in JAX.")
    parser.add_argument("--version", action="version", version=f"jaxinfo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="print versions and devices")
    info.set_defaults(func=_info, parser=info)
    measure = sub.add_parser(
        "measure",
        help="entropies of a saved [n, d] array; MI with a second array; DSMI with labels",
        description=f"Reads {FORMATS}; rows are samples.",
    )
    measure.add_argument("path", help="the [n, d] array x (rows are samples)")
    measure.add_argument(
        "--y",
        default=None,
        help="an [n, d_y] array paired row by row with x: adds KSG, Gaussian, matrix and "
        "Cauchy-Schwarz mutual information",
    )
    measure.add_argument(
        "--labels",
        default=None,
        help="integer [n] class labels: adds the diffusion spectral mutual information",
    )
    measure.add_argument(
        "--dse-bandwidth",
        type=_bandwidth_flag,
        default="10",
        help="diffusion sigma > 0 or a rule (default 10, the dse-dsmi reference)",
    )
    measure.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    measure.add_argument(
        "--alpha", type=_alpha_flag, default=1.01, help="Renyi order (default 1.01)"
    )
    measure.add_argument("--kernel", choices=KERNEL_NAMES, default="gaussian")
    measure.add_argument(
        "--bandwidth",
        type=_bandwidth_flag,
        default=None,
        help="gaussian/laplacian sigma > 0, or median / silverman / scott (default median)",
    )
    measure.add_argument(
        "--base", type=_base_flag, default=None, help="log base (2 for bits); default nats"
    )
    measure.add_argument("--x64", action="store_true", help="compute in float64")
    measure.add_argument("--json", action="store_true", help="print JSON")
    measure.set_defaults(func=_measure, parser=measure)
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
    bench.add_argument(
        "--max-n", type=_int_flag(2), default=None, help="cap every size at this n (>= 2)"
    )
    bench.add_argument(
        "--repeats",
        type=_int_flag(1),
        default=BenchSettings.repeats,
        help=f"timed calls per cell after the first (default {BenchSettings.repeats}); "
        "with --compare the peers' calls alternate with jaxinfo's",
    )
    bench.add_argument(
        "--output",
        default="jaxinfo-bench",
        help="folder for bench.json and bench.png, created if missing (default ./jaxinfo-bench)",
    )
    bench.add_argument(
        "--guide",
        action="store_true",
        help="instead: every sample estimator on the accuracy suite as the Markdown table of "
        "docs/choosing.md (--quick: n = 500, 4-7 minutes on 2 shared CPU cores; without: "
        "n = 2000, about 20 minutes)",
    )
    bench.set_defaults(func=_bench, parser=bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the ``jaxinfo`` command.

    Args:
      argv: the arguments after the program name; ``None`` reads ``sys.argv``.

    Returns:
      The exit status: 0 on success (``--help`` and ``--version`` included; also when only
      some measures have no finite value, named on stderr); 1 when no measure has a finite
      value (each shown as ``nan``, or ``null`` with ``--json``); 2 for a bad
      command line (an unknown flag or a bad flag value: the subcommand's usage and an error
      naming the flag, from argparse) and for refused input (a missing or unreadable file, an
      array that is not finite ``[n, d]`` floats, an unwritable ``--output``: one ``error:``
      line on stderr). No traceback either way.
    """
    parser = _parser()
    try:
        # Unknown flags are reported by the subcommand they were given to, with its usage
        # (parse_args would blame the top-level parser and print its usage).
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as stop:  # --help, --version, and argparse's usage errors (status 2)
        return stop.code if isinstance(stop.code, int) else 0
    try:
        return args.func(args)
    except _UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
