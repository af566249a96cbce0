"""Information plane of a small stochastic convolutional network on scikit-learn's digits.

Is there a compression phase? Shwartz-Ziv & Tishby (2017) claimed that, late in training,
I(X; T) of a hidden layer T falls while I(T; Y) stays. Butakov et al. ("Information
Bottleneck Analysis of Deep Neural Networks via Lossy Compression", ICLR 2024) revisit the
claim with estimates made in a few dimensions: each side is compressed first. This script
asks the same question of one small network:

- the network (Flax NNX): conv 3x3, 8 channels, tanh -> 2x2 average pool -> conv 3x3, 16
  channels, tanh -> 2x2 average pool -> dense 32, tanh -> dense 10 logits, on the 8x8
  images scaled to [0, 1]; trained with optax Adam on the cross-entropy, on a stratified
  70 % of the 1797 images;
- stochastic layers (Goldfeld et al., 2019): every tracked layer's output (after the tanh,
  before the pooling; and the logits) gets ``jaxinfo.add_layer_noise`` of a fixed scale
  ``--noise-scale`` (default 0.1) in training and in measurement. Without it, I(X; T) of
  these injective deterministic layers is infinite at every epoch. 0.1 is small against
  the range of a tanh unit ([-1, 1]; the bounded activations give the scale the same
  meaning in every epoch), so the layers still separate the digits, and large enough that
  I(X; T) stays below the about 5 nats that KSG (k = 3) can read at most from 540 rows in
  4 + 4 dimensions (a nearly noiseless copy reads 5.0), where a fall would be invisible;
- the plane: after each epoch (and at initialisation) the tracked layers' pre-noise outputs
  of one noisy forward pass over the held-out 30 % (fixed), and
  ``jaxinfo.information_plane(x, y, activations, noise_scale=..., dim=4,
  num_resamples=...)``: X (64 pixels) and each layer compressed by PCA to 4 components,
  I(X; T) by KSG, I(T; Y) by Ross's kNN estimator for class labels, nats, with standard
  errors from half-sample redraws.

Prints a table per epoch, then for each layer whether I(X; T) falls after its peak by more
than twice the standard error of the difference, and writes ``information_plane_digits.json``
and ``information_plane_digits.png`` to ``--out`` (default ``examples/output/``). Needs
scikit-learn and matplotlib (``pip install -e ".[examples]"``).

Run: python examples/information_plane_digits.py [--epochs 100] [--quick] [--out DIR]
(docs/information_plane.md, "Example: a convolutional network on load_digits": runtime,
the final table and the answer)
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxinfo

LAYERS = ("conv1", "conv2", "dense", "logits")
ESTIMATOR = "PCA-{dim} + KSG (I(X;T)), PCA-{dim} + Ross (I(T;Y)), nats"


def load_digits(seed: int):
    """Images ``[n, 8, 8, 1]`` in [0, 1] and labels, split 70/30 (stratified)."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    data = sklearn_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]
    y = data.target.astype(np.int32)
    return train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)


class ConvNet(nnx.Module):
    """conv 8 -> conv 16 -> dense 32 -> 10 logits, noise on every tracked layer's output."""

    def __init__(self, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 8, kernel_size=(3, 3), rngs=rngs)
        self.conv2 = nnx.Conv(8, 16, kernel_size=(3, 3), rngs=rngs)
        self.dense = nnx.Linear(2 * 2 * 16, 32, rngs=rngs)
        self.out = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, x, key, noise_scale):
        """``(logits, {layer: pre-noise output [n, features]})`` of the stochastic network.

        Each layer reads the previous layer's noisy output, so the recorded pre-noise output
        plus fresh noise (what ``information_plane`` adds) is a draw of the stochastic layer.
        """
        keys = iter(jax.random.split(key, len(LAYERS)))
        clean = {}

        def stochastic(name, t):
            clean[name] = t.reshape(t.shape[0], -1)
            return jaxinfo.add_layer_noise(t, noise_scale, key=next(keys))

        pool = lambda t: nnx.avg_pool(t, window_shape=(2, 2), strides=(2, 2))  # noqa: E731
        t = pool(stochastic("conv1", jnp.tanh(self.conv1(x))))  # [n, 4, 4, 8]
        t = pool(stochastic("conv2", jnp.tanh(self.conv2(t))))  # [n, 2, 2, 16]
        t = stochastic("dense", jnp.tanh(self.dense(t.reshape(t.shape[0], -1))))
        logits = stochastic("logits", self.out(t))
        return logits, clean


@nnx.jit
def train_step(model, optimizer, x, y, key, noise_scale):
    def loss_fn(model):
        logits, _ = model(x, key, noise_scale)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def measure(model, x, y, key, noise_scale):
    """Accuracy of the stochastic network (one noise draw) and the layers' outputs."""
    logits, clean = model(x, key, noise_scale)
    return jnp.mean(jnp.argmax(logits, -1) == y), clean


def compression_verdicts(rows, layers):
    """Per layer: I(X;T)'s peak epoch and its fall from the peak to the last epoch, in SEs.

    A compression phase means a rise, then a fall beyond the error bars: the peak after
    epoch 0 and before the last, and ``peak - last > 2 * sqrt(se_peak^2 + se_last^2)``.
    (The peak is the largest of noisy points, so its error bar is, if anything, too small.)
    """
    verdicts = {}
    for name in layers:
        values = np.array([row["layers"][name]["i_xt"] for row in rows])
        errors = np.array([row["layers"][name]["i_xt_se"] for row in rows])
        peak = int(np.argmax(values))
        fall = float(values[peak] - values[-1])
        error = float(math.hypot(errors[peak], errors[-1]))
        significant = fall > 2 * error
        verdicts[name] = {
            "peak_epoch": peak,
            "peak": float(values[peak]),
            "last": float(values[-1]),
            "fall": fall,
            "fall_se": error,
            "rise_from_init": float(values[peak] - values[0]),
            "compression_phase": bool(0 < peak < len(values) - 1 and significant),
        }
    return verdicts


def plot(rows, layers, args, path: pathlib.Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxinfo.plotting import plot_information_plane

    epochs = np.array([row["epoch"] for row in rows])

    def series(name, term):
        value = np.array([row["layers"][name][term] for row in rows])
        return value, np.array([row["layers"][name][f"{term}_se"] for row in rows])

    fig, axes = plt.subplots(1, 3, figsize=(17.0, 4.8))
    curves = {
        name: np.stack([series(name, "i_xt")[0], series(name, "i_ty")[0]], axis=1)
        for name in layers
    }
    estimator = ESTIMATOR.format(dim=args.dim)
    plot_information_plane(
        curves,
        x_label=f"I(X;T) [PCA-{args.dim} + KSG, σ = {args.noise_scale:g}, nats]",
        y_label=f"I(T;Y) [PCA-{args.dim} + Ross, nats]",
        ax=axes[0],
        title="information plane (± 1 SE)",
    )
    for line, name in zip(axes[0].lines[: len(layers)], layers, strict=True):
        (ixt, ixt_se), (ity, ity_se) = series(name, "i_xt"), series(name, "i_ty")
        axes[0].errorbar(
            ixt, ity, xerr=ixt_se, yerr=ity_se, fmt="none", ecolor=line.get_color(), alpha=0.35
        )
    colors = {name: line.get_color() for name, line in zip(layers, axes[0].lines, strict=False)}
    for ax, term, label in (
        (axes[1], "i_xt", f"I(X;T) [PCA-{args.dim} + KSG, nats]"),
        (axes[2], "i_ty", f"I(T;Y) [PCA-{args.dim} + Ross, nats]"),
    ):
        for name in layers:
            value, error = series(name, term)
            ax.plot(epochs, value, "-o", markersize=3, color=colors[name], label=name)
            ax.fill_between(epochs, value - error, value + error, color=colors[name], alpha=0.2)
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].set_title("I(X;T) per epoch (band: ± 1 SE)")
    axes[1].legend(fontsize="small")
    accuracy = axes[2].twinx()
    accuracy.plot(epochs, [row["test_accuracy"] for row in rows], "k--", label="test accuracy")
    accuracy.set_ylabel("test accuracy (stochastic net)")
    accuracy.legend(fontsize="small", loc="lower right")
    axes[2].set_title("I(T;Y) per epoch")
    fig.suptitle(
        f"load_digits, conv 8 -> conv 16 -> dense 32 -> 10 (tanh), noise σ = "
        f"{args.noise_scale:g} on every layer, {rows[0]['n']} held-out images; {estimator}",
        fontsize="medium",
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--noise-scale", type=float, default=0.1, help="σ of every layer")
    parser.add_argument("--dim", type=int, default=4, help="PCA components of X and each T")
    parser.add_argument("--num-resamples", type=int, default=30, help="for the error bars")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 epochs, 10 redraws")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path(__file__).parent / "output",
        help="folder for the JSON and the PNG",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.num_resamples = 3, 10

    start = time.perf_counter()
    x_train, x_test, y_train, y_test = load_digits(args.seed)
    x_flat = x_test.reshape(len(x_test), -1)  # X of the plane: the 64 pixels
    print(
        f"digits: train {len(y_train)}, held-out {len(y_test)} (accuracy and the plane); "
        f"{args.epochs} epochs, batch {args.batch}, Adam lr {args.lr:g}; noise σ = "
        f"{args.noise_scale:g}; {ESTIMATOR.format(dim=args.dim)}; SE from "
        f"{args.num_resamples} half-sample redraws"
    )
    model = ConvNet(nnx.Rngs(args.seed))
    optimizer = nnx.Optimizer(model, optax.adam(args.lr), wrt=nnx.Param)
    rng = np.random.default_rng(args.seed + 1)
    train_key, measure_key, plane_key = jax.random.split(jax.random.key(args.seed + 2), 3)
    noise_scale = jnp.float32(args.noise_scale)

    header = " | ".join(f"{name}: I(X;T)  I(T;Y)" for name in LAYERS)
    print(f"\n| epoch | loss | test acc | {header} | s |")
    rows = []
    loss = float("nan")
    for epoch in range(args.epochs + 1):
        epoch_start = time.perf_counter()
        if epoch > 0:
            order = rng.permutation(len(y_train))
            losses = []
            for begin in range(0, len(order) - args.batch + 1, args.batch):
                idx = order[begin : begin + args.batch]
                train_key, step_key = jax.random.split(train_key)
                losses.append(
                    train_step(model, optimizer, x_train[idx], y_train[idx], step_key, noise_scale)
                )
            loss = float(np.mean(jax.device_get(losses)))
        accuracy, clean = measure(
            model, x_test, y_test, jax.random.fold_in(measure_key, epoch), noise_scale
        )
        plane = jaxinfo.information_plane(
            x_flat,
            y_test,
            {name: clean[name][None] for name in LAYERS},  # one epoch: [1, n, features]
            key=jax.random.fold_in(plane_key, epoch),
            dim=args.dim,
            noise_scale=args.noise_scale,
            num_resamples=args.num_resamples,
        )
        assert plane.input_standard_error is not None and plane.label_standard_error is not None
        row = {
            "epoch": epoch,
            "train_loss": loss,
            "test_accuracy": float(accuracy),
            "n": len(y_test),
            "layers": {
                name: {
                    "i_xt": float(plane.input_information[i, 0]),
                    "i_xt_se": float(plane.input_standard_error[i, 0]),
                    "i_ty": float(plane.label_information[i, 0]),
                    "i_ty_se": float(plane.label_standard_error[i, 0]),
                }
                for i, name in enumerate(LAYERS)
            },
        }
        rows.append(row)
        cells = " | ".join(
            f"{v['i_xt']:.2f}±{v['i_xt_se']:.2f} {v['i_ty']:.2f}±{v['i_ty_se']:.2f}"
            for v in row["layers"].values()
        )
        print(
            f"| {epoch} | {loss:.3f} | {row['test_accuracy']:.3f} | {cells} | "
            f"{time.perf_counter() - epoch_start:.1f} |",
            flush=True,
        )

    verdicts = compression_verdicts(rows, LAYERS)
    print("\nCompression phase? (I(X;T) falls from its peak to the last epoch by > 2 SE)")
    print("| layer | I(X;T) init | peak (epoch) | last | fall ± SE | compression phase |")
    print("|---|---|---|---|---|---|")
    for name, v in verdicts.items():
        print(
            f"| {name} | {rows[0]['layers'][name]['i_xt']:.2f} | {v['peak']:.2f} "
            f"({v['peak_epoch']}) | {v['last']:.2f} | {v['fall']:.2f} ± {v['fall_se']:.2f} | "
            f"{'yes' if v['compression_phase'] else 'no'} |"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "information_plane_digits.png"
    plot(rows, LAYERS, args, png)
    summary = {
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "estimator": {
            "function": "jaxinfo.information_plane",
            "dim": args.dim,
            "input_method": plane.input_method,
            "label_method": plane.label_method,
            "noise_scale": args.noise_scale,
            "num_resamples": args.num_resamples,
            "unit": "nats",
        },
        "layers": list(LAYERS),
        "epochs": rows,
        "compression": verdicts,
        "platform": platform.platform(),
        "seconds": time.perf_counter() - start,
    }
    json_path = args.out / "information_plane_digits.json"
    json_path.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\nwrote {png} and {json_path}; total {time.perf_counter() - start:.0f} s")
    return summary


if __name__ == "__main__":
    main()
