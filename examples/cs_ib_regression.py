"""Cauchy–Schwarz information bottleneck (CS-IB) for regression on the Bike Sharing data.

Trains the same Flax NNX regressor (encoder -> representation T -> decoder) with

- the MSE baseline, and
- the CS-IB loss  D_CS(p(y|x) || q(y_hat|x)) + beta * I_CS_normalised(X; T)
  (``jaxinfo.cauchy_schwarz_information_bottleneck_loss``) over a beta sweep (beta = 0 is
  the conditional CS prediction term alone),

selects every model's epoch, and the best beta, on a validation split (never on test), and
reports test RMSE, the compression term I(X; T) on the test set, and test RMSE under FGSM
attacks x + eps * sign(grad_x squared error) for eps = 0 ... 0.6 (inputs standardised, as in
the CS-IB paper). Writes ``cs_ib_regression.png``: the information plane (compression vs the
Gaussian proxy 0.5 log2(Var y / MSE) of I(T; Y), per epoch) and the robustness curves.

Data: ``Bikeshare.csv`` (hourly rentals, 8 645 rows) shipped by the ``ISLP`` package; the
script reads the file without importing ISLP, so ``pip install --no-deps ISLP==0.6.0`` is
enough (or pass ``--data path/to/Bikeshare.csv``). Target: log(1 + bikers). Features:
cyclic hour / weekday / month, day index, holiday, working day, weather (one-hot),
temperature, felt temperature, humidity, wind speed. Kernels: Gaussian, sigma = 1 for x, y
and T, with x standardised (the published recipe; y and T are used as they are).

Run: python examples/cs_ib_regression.py [--epochs 40] [--betas 0 0.001 0.01 0.1 1]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxinfo
from jaxinfo import kernels

MONTHS = ["Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec"]
EPSILONS = [round(0.05 * i, 2) for i in range(13)]
SIGMA_ONE = kernels.Gaussian(1.0)  # fixed σ = 1 on purpose: reproduces the published CS-IB loss


def bikeshare_path(explicit: str | None) -> pathlib.Path:
    """The CSV from ``--data`` or from the installed ISLP package (found without importing it)."""
    if explicit:
        return pathlib.Path(explicit)
    spec = importlib.util.find_spec("ISLP")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "Bikeshare.csv not found: `pip install --no-deps ISLP==0.6.0` or pass --data PATH."
        )
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "data" / "Bikeshare.csv"


def _cyclic(values, period):
    angle = 2 * math.pi * np.asarray(values, np.float64) / period
    return [np.sin(angle), np.cos(angle)]


def load_bikeshare(path: pathlib.Path, seed: int = 0):
    """Feature matrix, log-count targets, and train / validation / test index splits."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))

    def col(name):
        return [r[name] for r in rows]

    def num(name):
        return np.asarray(col(name), np.float64)

    month = [MONTHS.index(m) if m in MONTHS else int(m) - 1 for m in col("mnth")]
    weather = col("weathersit")
    categories = sorted(set(weather))
    columns = [
        *_cyclic(num("hr"), 24),
        *_cyclic(num("weekday"), 7),
        *_cyclic(month, 12),
        num("day"),
        num("holiday"),
        num("workingday"),
        *[np.asarray([w == c for w in weather], np.float64) for c in categories],
        num("temp"),
        num("atemp"),
        num("hum"),
        num("windspeed"),
    ]
    x = np.stack(columns, axis=1)
    y = np.log1p(num("bikers"))[:, None]
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = len(y) // 5
    n_val = (len(y) - n_test) // 5
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    mean, std = x[train].mean(0), x[train].std(0)
    std = np.where(std > 1e-8, std, 1.0)  # a weather category absent from train stays 0/1
    x = ((x - mean) / std).astype(np.float32)
    return x, y.astype(np.float32), (train, val, test)


class Regressor(nnx.Module):
    """Encoder 128-128 -> representation T (width K) -> decoder 128 -> 1 (CS-IB paper layout)."""

    def __init__(self, d_in: int, rngs: nnx.Rngs, width: int = 64):
        self.enc1 = nnx.Linear(d_in, 128, rngs=rngs)
        self.enc2 = nnx.Linear(128, 128, rngs=rngs)
        self.enc3 = nnx.Linear(128, width, rngs=rngs)
        self.code = nnx.Linear(width, width, rngs=rngs)
        self.dec1 = nnx.Linear(width, 128, rngs=rngs)
        self.dec2 = nnx.Linear(128, 1, rngs=rngs)

    def __call__(self, x):
        h = jax.nn.relu(self.enc3(jax.nn.relu(self.enc2(jax.nn.relu(self.enc1(x))))))
        t = self.code(h)
        return self.dec2(jax.nn.relu(self.dec1(t))), t


def objective(model, x, y, beta):
    """MSE for beta=None, else the CS-IB loss (sigma = 1 kernels, prediction term in bits)."""
    y_pred, t = model(x)
    if beta is None:
        return jnp.mean((y_pred - y) ** 2)
    loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
        x,
        y,
        y_pred,
        t,
        beta=beta,
        kernel_x=SIGMA_ONE,
        kernel_y=SIGMA_ONE,
        kernel_t=SIGMA_ONE,
        base=2,
    )
    return loss


def rmse(model, x, y):
    return float(jnp.sqrt(jnp.mean((model(x)[0] - y) ** 2)))


@nnx.jit
def compression(model, x):
    """I_CS(X; T), normalised: the CS-IB compression term on held-out data."""
    _, t = model(x)
    return jaxinfo.cauchy_schwarz_mutual_information(
        x, t, kernel_x=SIGMA_ONE, kernel_y=SIGMA_ONE, normalized=True
    )


@nnx.jit
def fgsm(model, x, y, eps):
    """Fast gradient sign attack on the squared error (per sample: the network is row-wise)."""
    grad = jax.grad(lambda inputs: jnp.sum((model(inputs)[0] - y) ** 2))(x)
    return x + eps * jnp.sign(grad)


def train(x, y, splits, beta, epochs, batch, seed):
    train_idx, val_idx, _ = splits
    model = Regressor(x.shape[1], nnx.Rngs(seed))
    steps = epochs * (len(train_idx) // batch)
    schedule = optax.cosine_decay_schedule(1e-3, max(steps, 1))
    optimizer = nnx.Optimizer(model, optax.adam(schedule), wrt=nnx.Param)

    @nnx.jit(static_argnums=3)
    def step(model, optimizer, xb_yb, use_beta):
        xb, yb = xb_yb
        loss, grads = nnx.value_and_grad(objective)(model, xb, yb, beta if use_beta else None)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)
    x_val, y_val = x[val_idx], y[val_idx]
    var_y = float(np.var(y[train_idx]))
    best = (math.inf, -1, None)
    plane = []
    for epoch in range(epochs):
        order = rng.permutation(train_idx)
        for start in range(0, len(order) - batch + 1, batch):
            b = order[start : start + batch]
            step(model, optimizer, (x[b], y[b]), beta is not None)
        val_rmse = rmse(model, x_val, y_val)
        plane.append((float(compression(model, x_val)), 0.5 * math.log2(var_y / val_rmse**2)))
        if val_rmse < best[0]:
            best = (val_rmse, epoch, nnx.clone(model))
    return best, plane


def evaluate(model, x, y, test_idx):
    x_test, y_test = x[test_idx], y[test_idx]
    attacked = [
        rmse(model, fgsm(model, x_test, y_test, jnp.float32(eps)), y_test) for eps in EPSILONS
    ]
    return {
        "test_rmse": rmse(model, x_test, y_test),
        "compression": float(compression(model, x_test)),
        "fgsm": attacked,
    }


def plot(results, planes, out: pathlib.Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_plane, ax_robust) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, plane in planes.items():
        comp, info = zip(*plane, strict=True)
        ax_plane.plot(comp, info, marker=".", label=label)
        ax_plane.scatter(comp[-1], info[-1], s=40)
    ax_plane.set(
        xlabel="compression I_CS(X;T), normalised (validation)",
        ylabel="0.5 log2(Var y / MSE) (validation)",
        title="Information plane (one point per epoch)",
    )
    ax_plane.legend(fontsize=8)
    for label, res in results.items():
        ax_robust.plot(EPSILONS, res["fgsm"], marker="o", label=label)
    ax_robust.set(
        xlabel="FGSM epsilon (standardised inputs)", ylabel="test RMSE", title="Robustness"
    )
    ax_robust.legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "cs_ib_regression.png", dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="path to Bikeshare.csv (default: from the ISLP package)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.001, 0.01, 0.1, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    x, y, splits = load_bikeshare(bikeshare_path(args.data), args.seed)
    print(
        f"Bikeshare: {len(x)} rows, {x.shape[1]} features; train/val/test = "
        f"{len(splits[0])}/{len(splits[1])}/{len(splits[2])}"
    )
    results, planes, selection = {}, {}, {}
    for beta in [None, *args.betas]:
        label = "MSE" if beta is None else f"CS-IB beta={beta:g}"
        (val_rmse, epoch, model), plane = train(
            x, y, splits, beta, args.epochs, args.batch, args.seed
        )
        results[label] = {
            "beta": beta,
            "val_rmse": val_rmse,
            "epoch": epoch,
            **evaluate(model, x, y, splits[2]),
        }
        planes[label] = plane
        selection[label] = val_rmse
        print(
            f"{label:>18}: best epoch {epoch:3d}, val RMSE {val_rmse:.4f}, "
            f"test RMSE {results[label]['test_rmse']:.4f}"
        )
    cs_labels = [k for k in results if k != "MSE"]
    chosen = min(cs_labels, key=selection.get)

    print(f"\nSelected on validation: {chosen}\n")
    print("| model | val RMSE | test RMSE | I_CS(X;T) norm. | FGSM 0.1 | FGSM 0.3 | FGSM 0.6 |")
    print("|---|---|---|---|---|---|---|")
    for label, r in results.items():
        mark = " (selected)" if label == chosen else ""
        f = r["fgsm"]
        print(
            f"| {label}{mark} | {r['val_rmse']:.4f} | {r['test_rmse']:.4f} | "
            f"{r['compression']:.4f} | {f[2]:.4f} | {f[6]:.4f} | {f[12]:.4f} |"
        )
    plot(results, planes, pathlib.Path(args.out))
    print(
        f"\nwrote {pathlib.Path(args.out) / 'cs_ib_regression.png'}; "
        f"total {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
