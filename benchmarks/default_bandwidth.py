"""The default bandwidth rule against the same call with that bandwidth passed as a number.

For every family that takes a data-driven bandwidth, the jitted value-and-gradient (with
respect to the samples) with the default kernel (``Gaussian("median")``; KDE's default
Silverman rule and its median rule; DSE with ``bandwidth="median"``, its default being the
number 10) is timed against the same call with ``Gaussian(sigma)``, ``sigma`` the value the
rule gives on that data. Calls alternate (default, fixed, default, ...) and each side reports
its median, so machine noise hits both alike. Data: N(0, I_16) samples (CS: two sets, the
second shifted by 0.5; CS-QMI and CS-IB: y = tanh(x W) + noise).

Also: the compiled temporary memory of ``jit(value_and_grad(cauchy_schwarz_divergence))``
with the default kernel at n = 10 000 and 100 000 (compiled, never run), default vs fixed.

Run (one thread on every side):
  ``.venv/bin/python benchmarks/default_bandwidth.py [--dtype float32|float64|both]
  [--sizes 1000 4000 16384] [--families ...] [--memory-only]``; with ``--sharded`` the
  CS-IB loss under ``shard_map`` on 8 CPU devices (``--sizes 512 4096``), default vs fixed.
Results go to ``benchmarks/results/default_bandwidth-cpu.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

DEVICES = "--xla_force_host_platform_device_count=8"
if "--sharded" in sys.argv and DEVICES not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {DEVICES}".strip()  # before JAX

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from jaxinfo._src.bench import results, timing  # noqa: E402

THREADS = timing.pin_threads()  # re-executes with one-thread pools if unpinned

D = 16
# Dense eigensolvers (matrix alpha = 1.01, DSE) at n = 16 384 take minutes per call on one
# core whichever bandwidth is used; they run at the smaller sizes only.
DENSE_MAX_N = 4096


def _data(n: int, dtype):
    kx, ky, kw, kn = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (n, D), dtype)
    y_shift = jax.random.normal(ky, (n, D), dtype) + 0.5
    w = jax.random.normal(kw, (D, 4), dtype) / 4.0
    t = jnp.tanh(x @ w)
    y = t[:, :1] + 0.1 * jax.random.normal(kn, (n, 1), dtype)
    return x, y_shift, t, y


def _families():
    import jaxinfo
    from jaxinfo import kernels

    def rule(x, name="median"):
        return float(kernels.bandwidth_from_rule(name, x))

    def cs(x, y_shift, t, y, kernel):
        return jaxinfo.cauchy_schwarz_divergence(x, y_shift, kernel=kernel)

    def cs_rule(x, y_shift, t, y):
        return rule(jnp.concatenate([x, y_shift]))

    def qmi(x, y_shift, t, y, kernel):
        return jaxinfo.cauchy_schwarz_mutual_information(x, y, kernel_x=kernel, kernel_y=kernel)

    def csib(x, y_shift, t, y, kernel):
        loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            x,
            y,
            y + 0.1 * t[:, :1],
            t,
            beta=0.1,
            kernel_x=kernel,
            kernel_y=kernel,
            kernel_t=kernel,
        )
        return loss

    def matrix(alpha):
        def fn(x, y_shift, t, y, kernel):
            return jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel)

        return fn

    def kde(name):
        def fn(x, y_shift, t, y, kernel):
            bandwidth = name if kernel is None else kernel.bandwidth
            return jaxinfo.kde_entropy(x, bandwidth=bandwidth)

        return fn

    def dse(x, y_shift, t, y, kernel):
        bandwidth = "median" if kernel is None else kernel.bandwidth
        return jaxinfo.diffusion_spectral_entropy(x, bandwidth=bandwidth)

    x_rule = lambda x, *rest: rule(x)  # noqa: E731
    # name -> (function of (data..., kernel or None for the default), the default's sigma on
    # the data (None: several variables, see _callables), largest n)
    return {
        "cs_divergence": (cs, cs_rule, None),
        "cs_qmi": (qmi, None, None),
        "cs_ib_loss": (csib, None, None),
        "matrix_renyi_a2": (matrix(2.0), x_rule, None),
        "matrix_renyi_a1.01": (matrix(1.01), x_rule, DENSE_MAX_N),
        "kde_silverman": (kde("silverman"), lambda x, *r: rule(x, "silverman"), None),
        "kde_median": (kde("median"), x_rule, None),
        "dse_median": (dse, x_rule, DENSE_MAX_N),
    }


def _callables(name, fn, sigma_of, data):
    import jaxinfo
    from jaxinfo import kernels

    x, y_shift, t, y = data
    if name == "cs_qmi":
        sx = float(kernels.bandwidth_from_rule("median", x))
        sy = float(kernels.bandwidth_from_rule("median", y))

        def default(x):
            return jaxinfo.cauchy_schwarz_mutual_information(x, y)

        def fixed(x, sx, sy):
            return jaxinfo.cauchy_schwarz_mutual_information(
                x, y, kernel_x=kernels.Gaussian(sx), kernel_y=kernels.Gaussian(sy)
            )

        return default, fixed, (sx, sy)
    if name == "cs_ib_loss":
        y_pred = y + 0.1 * t[:, :1]
        sx = float(kernels.bandwidth_from_rule("median", x))
        sy = float(kernels.bandwidth_from_rule("median", jnp.concatenate([y, y_pred])))
        st = float(kernels.bandwidth_from_rule("median", t))

        def default(x):
            tt = jnp.tanh(x[:, :4])
            return jaxinfo.cauchy_schwarz_information_bottleneck_loss(x, y, y_pred, tt, beta=0.1)[0]

        def fixed(x, sx, sy, st):
            tt = jnp.tanh(x[:, :4])
            return jaxinfo.cauchy_schwarz_information_bottleneck_loss(
                x,
                y,
                y_pred,
                tt,
                beta=0.1,
                kernel_x=kernels.Gaussian(sx),
                kernel_y=kernels.Gaussian(sy),
                kernel_t=kernels.Gaussian(st),
            )[0]

        st = float(kernels.bandwidth_from_rule("median", jnp.tanh(x[:, :4])))
        return default, fixed, (sx, sy, st)
    sigma = sigma_of(*data)

    def default(x):
        return fn(x, y_shift, t, y, None)

    def fixed(x, s):
        return fn(x, y_shift, t, y, kernels.Gaussian(s))

    return default, fixed, (sigma,)


def time_pair(default, fixed, x, sigmas, repeats: int, budget_s: float, transform=True):
    """Interleaved medians (seconds) of jitted value-and-grad, default vs fixed."""
    d = jax.jit(jax.value_and_grad(default)) if transform else default
    f = jax.jit(jax.value_and_grad(fixed)) if transform else fixed
    args = tuple(jnp.asarray(s, x.dtype) for s in sigmas)
    timing.block(d(x))
    timing.block(f(x, *args))
    td, tf = [], []
    start = time.perf_counter()
    while len(td) < repeats or (time.perf_counter() - start < budget_s and len(td) < 25):
        t0 = time.perf_counter()
        timing.block(d(x))
        td.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        timing.block(f(x, *args))
        tf.append(time.perf_counter() - t0)
        if len(td) >= repeats and time.perf_counter() - start > budget_s:
            break
    return statistics.median(td), statistics.median(tf)


def sharded_pair(n: int, dtype, repeats: int, budget_s: float):
    """CS-IB loss value and gradient under shard_map on 8 devices, default vs fixed kernels."""
    from jax.sharding import AxisType
    from jax.sharding import PartitionSpec as P

    import jaxinfo
    from jaxinfo import kernels

    x, _, t, y = _data(n, dtype)
    y_pred = y + 0.1 * t[:, :1]
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))
    sigmas = [
        float(kernels.bandwidth_from_rule("median", a))
        for a in (x, jnp.concatenate([y, y_pred]), t)
    ]

    def make(fixed: bool):
        def local(x, y, y_pred, t, *s):
            options = {}
            if fixed:
                options = {
                    f"kernel_{v}": kernels.Gaussian(si) for v, si in zip("xyt", s, strict=True)
                }
            loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
                x, y, y_pred, t, beta=0.1, axis_name="d", **options
            )
            return loss

        specs = (P("d"),) * 4 + ((P(),) * 3 if fixed else ())
        sharded = jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=P())
        return jax.jit(jax.value_and_grad(sharded, argnums=3))

    default, fixed = make(False), make(True)
    args = (x, y, y_pred, t)
    s = tuple(jnp.asarray(v, dtype) for v in sigmas)
    return time_pair(
        lambda *a: default(*args),
        lambda *a: fixed(*args, *s),
        x,
        (),
        repeats,
        budget_s,
        transform=False,
    )


def compiled_temp_gib(n: int, dtype, fixed: bool) -> float:
    import jaxinfo
    from jaxinfo import kernels

    kernel = kernels.Gaussian(1.0) if fixed else None

    def loss(x, y):
        return jaxinfo.cauchy_schwarz_divergence(x, y, kernel=kernel)

    spec = jax.ShapeDtypeStruct((n, D), dtype)
    compiled = jax.jit(jax.value_and_grad(loss)).lower(spec, spec).compile()
    return compiled.memory_analysis().temp_size_in_bytes / 2**30


def _timing_row(kind: str, family: str, n: int, dtype: str, default_s: float, fixed_s: float):
    row = {
        "kind": kind,
        "family": family,
        "n": n,
        "dtype": dtype,
        "default_ms": default_s * 1e3,
        "fixed_ms": fixed_s * 1e3,
        "ratio": default_s / fixed_s,
    }
    print(row, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dtype", default="both", choices=["float32", "float64", "both"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16384])
    parser.add_argument("--families", nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=3.0)
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument(
        "--sharded", action="store_true", help="CS-IB loss on 8 CPU devices (shard_map) only"
    )
    args = parser.parse_args()
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    if "float64" in dtypes:
        jax.config.update("jax_enable_x64", True)
    rows = []
    if args.sharded:
        for dtype_name in dtypes:
            for n in args.sizes:
                times = sharded_pair(n, jnp.dtype(dtype_name), args.repeats, args.budget)
                rows.append(_timing_row("sharded", "cs_ib_loss 8 devices", n, dtype_name, *times))
        results.print_table(rows, ["family", "n", "dtype", "default_ms", "fixed_ms", "ratio"])
        print(f"wrote {results.write_results('default_bandwidth_sharded', rows)}")
        return
    for dtype_name in dtypes:
        dtype = jnp.dtype(dtype_name)
        for n in (10_000, 100_000):
            for fixed in (False, True):
                gib = compiled_temp_gib(n, dtype, fixed)
                row = {
                    "kind": "memory",
                    "family": "cs_divergence value+grad",
                    "n": n,
                    "dtype": dtype_name,
                    "bandwidth": "fixed" if fixed else "default",
                    "temp_GiB": gib,
                }
                print(row, flush=True)
                rows.append(row)
    if not args.memory_only:
        families = _families()
        names = args.families or list(families)
        for dtype_name in dtypes:
            dtype = jnp.dtype(dtype_name)
            for n in args.sizes:
                data = _data(n, dtype)
                for name in names:
                    fn, sigma_of, largest = families[name]
                    if largest is not None and n > largest:
                        continue
                    default, fixed, sigmas = _callables(name, fn, sigma_of, data)
                    times = time_pair(default, fixed, data[0], sigmas, args.repeats, args.budget)
                    rows.append(_timing_row("time", name, n, dtype_name, *times))
    path = results.write_results("default_bandwidth", rows)
    results.print_table(
        [r for r in rows if r["kind"] == "time"],
        ["family", "n", "dtype", "default_ms", "fixed_ms", "ratio"],
    )
    results.print_table(
        [r for r in rows if r["kind"] == "memory"],
        ["family", "n", "dtype", "bandwidth", "temp_GiB"],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
