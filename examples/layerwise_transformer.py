"""A small character-level transformer, layer by layer, during training.

Trains a 4-block Flax NNX transformer (d_model 64, 4 heads, causal attention, context 64)
on the source of eight Python standard-library modules (read with ``inspect.getsource``:
no download) and, at several checkpoints, scores the residual stream of every layer
(the embedding output and each block's output) on a fixed batch of held-out prompts with
the measures of Skean et al., "Layer by Layer" (ICML 2025):

- prompt entropy (mean over prompts), dataset entropy (mean pooling), token curvature
  (mean over prompts), all on the representations as given (no centring or normalising);
- augmentation invariance: LiDAR over 4 views and DiME between 2 views of every prompt,
  each view replacing 10% of its characters (chosen at random) by random characters of the
  vocabulary; one mean-pooled row per prompt and view;
- two ridge-regression probes fitted on half of the prompts and scored on the other half:
  the next character from each token's representation (the training task), and which of the
  eight modules a prompt comes from, from its mean-pooled representation (a task the model
  was never trained on: the paper's question is whether an intermediate layer beats the last).

Run: python examples/layerwise_transformer.py [--quick] [--out examples/output]
(docs/representations.md: runtime, the final table and what it shows)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import pathlib
import platform
import string
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxinfo

MODULES = (
    "argparse",
    "difflib",
    "calendar",
    "fractions",
    "textwrap",
    "heapq",
    "statistics",
    "random",
)
CHARS = "\n" + string.printable[:95]  # printable ASCII and newline; anything else becomes "?"
METRICS = (
    "prompt_entropy",
    "dataset_entropy",
    "curvature",
    "lidar",
    "dime",
    "probe_next_char",
    "probe_module",
)


def corpus(held_out: float = 0.1):
    """Per module: its source as token ids, split into a training head and a held-out tail."""
    lookup = np.full(128, CHARS.index("?"), np.int32)
    lookup[[ord(c) for c in CHARS]] = np.arange(len(CHARS))
    parts = []
    for name in MODULES:
        codes = np.frombuffer(
            inspect.getsource(importlib.import_module(name)).encode("ascii", "replace"), np.uint8
        )
        ids = lookup[np.minimum(codes, 127)]
        cut = int(len(ids) * (1 - held_out))
        parts.append((ids[:cut], ids[cut:]))
    return parts


class Block(nnx.Module):
    """Pre-LayerNorm block: causal self-attention, then a GELU MLP, each added to the stream."""

    def __init__(self, d: int, heads: int, rngs: nnx.Rngs):
        self.heads = heads
        self.norm1 = nnx.LayerNorm(d, rngs=rngs)
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs)
        self.proj = nnx.Linear(d, d, rngs=rngs)
        self.norm2 = nnx.LayerNorm(d, rngs=rngs)
        self.up = nnx.Linear(d, 4 * d, rngs=rngs)
        self.down = nnx.Linear(4 * d, d, rngs=rngs)

    def __call__(self, x):
        batch, tokens, d = x.shape
        q, k, v = jnp.split(self.qkv(self.norm1(x)), 3, axis=-1)
        q, k, v = (a.reshape(batch, tokens, self.heads, d // self.heads) for a in (q, k, v))
        attended = jax.nn.dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.reshape(batch, tokens, d))
        return x + self.down(jax.nn.gelu(self.up(self.norm2(x))))


class CharTransformer(nnx.Module):
    def __init__(self, vocab: int, context: int, d: int, heads: int, depth: int, rngs):
        self.embed = nnx.Embed(vocab, d, rngs=rngs)
        self.position = nnx.Param(0.02 * jax.random.normal(rngs.params(), (context, d)))
        self.blocks = nnx.List([Block(d, heads, rngs) for _ in range(depth)])
        self.norm = nnx.LayerNorm(d, rngs=rngs)
        self.head = nnx.Linear(d, vocab, rngs=rngs)

    def __call__(self, ids):
        """Logits ``[batch, tokens, vocab]``, residual stream ``[layers, batch, tokens, d]``."""
        x = self.embed(ids) + self.position[: ids.shape[1]]
        stream = [x]
        for block in self.blocks:
            x = block(x)
            stream.append(x)
        return self.head(self.norm(x)), jnp.stack(stream)


def augment(ids, key, rate: float, vocab: int):
    """Each character independently replaced, with probability ``rate``, by a random one."""
    swap_key, char_key = jax.random.split(key)
    swap = jax.random.bernoulli(swap_key, rate, ids.shape)
    return jnp.where(swap, jax.random.randint(char_key, ids.shape, 0, vocab), ids)


@jax.jit
def representation_metrics(stream, view_rows, key):
    """Label-free measures per layer, ``jax.vmap`` over the layer axis.

    ``stream`` is ``[layers, n, tokens, d]``; ``view_rows`` is ``[layers, n, views, d]``.
    """
    prompt = jax.vmap(jaxinfo.prompt_entropy)(stream)  # [layers, n]
    dataset = jax.vmap(jaxinfo.dataset_entropy)(stream)  # [layers]
    curvature = jax.vmap(jaxinfo.token_curvature)(stream)  # [layers, n]
    lidar = jax.vmap(jaxinfo.lidar)(view_rows)  # [layers]
    dime = jax.vmap(lambda rows: jaxinfo.dime(rows[:, 0], rows[:, 1], key=key))(view_rows)
    return {
        "prompt_entropy": prompt.mean(-1),
        "dataset_entropy": dataset,
        "curvature": curvature.mean(-1),
        "lidar": lidar,
        "dime": dime,
    }


def ridge_accuracy(features, labels, train, classes: int, ridge: float) -> float:
    """Held-out accuracy of a ridge regression onto one-hot labels (features standardised)."""
    x_train, x_test = features[train], features[~train]
    mean, scale = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / scale, (x_test - mean) / scale
    x_train = np.concatenate([x_train, np.ones((len(x_train), 1))], 1)
    x_test = np.concatenate([x_test, np.ones((len(x_test), 1))], 1)
    targets = np.eye(classes)[labels[train]]
    gram = x_train.T @ x_train + ridge * np.eye(x_train.shape[1])
    weights = np.linalg.solve(gram, x_train.T @ targets)
    return float(np.mean(np.argmax(x_test @ weights, 1) == labels[~train]))


def probes(stream, ids, targets, modules, train_prompts) -> dict[str, list[float]]:
    """Per layer: next-character accuracy from tokens, module accuracy from mean-pooled rows."""
    stream = np.asarray(stream, np.float64)
    layers, n, tokens, d = stream.shape
    token_train = np.repeat(train_prompts, tokens)
    next_char, module = [], []
    for layer in stream:
        next_char.append(
            ridge_accuracy(
                layer.reshape(-1, d), targets.reshape(-1), token_train, len(CHARS), ridge=1.0
            )
        )
        module.append(
            ridge_accuracy(layer.mean(1), modules, train_prompts, len(MODULES), ridge=10.0)
        )
    return {"probe_next_char": next_char, "probe_module": module}


def evaluation_set(parts, per_module: int, context: int, seed: int):
    """``per_module`` windows from each module's held-out tail: inputs, targets, module index."""
    rng = np.random.default_rng(seed)
    inputs, targets, modules = [], [], []
    for index, (_, tail) in enumerate(parts):
        starts = rng.choice(len(tail) - context - 1, per_module, replace=False)
        inputs += [tail[s : s + context] for s in starts]
        targets += [tail[s + 1 : s + context + 1] for s in starts]
        modules += [index] * per_module
    return np.stack(inputs), np.stack(targets), np.array(modules)


def table(step: int, loss: float, metrics: dict) -> str:
    header = (
        f"== step {step}  held-out loss {loss:.3f} nats/char\n"
        "| layer | prompt H | dataset H | curvature | LiDAR | DiME | probe next char "
        "| probe module |\n|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for layer in range(len(metrics["dime"])):
        name = "embedding" if layer == 0 else f"block {layer}"
        cells = [f"{metrics[key][layer]:.3f}" for key in METRICS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([header, *rows])


def plot(history, path: pathlib.Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {
        "prompt_entropy": "prompt entropy (nats)",
        "dataset_entropy": "dataset entropy (nats)",
        "curvature": "curvature (rad)",
        "lidar": "LiDAR (nats)",
        "dime": "DiME (nats)",
        "probe_next_char": "probe: next character (acc.)",
        "probe_module": "probe: source module (acc.)",
    }
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.5))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(history)))
    for ax, key in zip(axes.flat, METRICS, strict=False):
        for color, record in zip(colors, history, strict=True):
            values = record["metrics"][key]
            ax.plot(range(len(values)), values, "o-", color=color, label=f"step {record['step']}")
        ax.set(title=titles[key], xlabel="layer (0 = embedding)")
    steps = [r["step"] for r in history]
    axes.flat[-1].plot(steps, [r["eval_loss"] for r in history], "o-", color="k")
    axes.flat[-1].set(title="held-out loss (nats/char)", xlabel="step")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 steps, 3 checkpoints (smoke)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--per-module", type=int, default=48, help="held-out prompts per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("examples/output"))
    args = parser.parse_args(argv)
    steps = 20 if args.quick else args.steps
    checkpoints = sorted({0, *(s for s in (10, 25, 50, 100, 200) if s < steps), steps})
    if args.quick:
        args.per_module = min(args.per_module, 8)
    started = time.perf_counter()

    parts = corpus()
    vocab = len(CHARS)
    ids, targets, modules = evaluation_set(parts, args.per_module, args.context, args.seed)
    train_prompts = np.arange(len(ids)) % 2 == 0  # half of each module's prompts
    view_key, dime_key = jax.random.split(jax.random.key(args.seed + 1))
    views = jnp.stack(
        [augment(jnp.asarray(ids), k, 0.1, vocab) for k in jax.random.split(view_key, 4)], 1
    )  # [n, views, tokens]

    model = CharTransformer(vocab, args.context, 64, 4, 4, nnx.Rngs(args.seed))
    optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)

    def loss_fn(model, x, y):
        logits, _ = model(x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @nnx.jit
    def train_step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return loss

    @nnx.jit
    def observe(model, ids, targets, views):
        logits, stream = model(ids)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()
        n, count, tokens = views.shape
        _, view_stream = model(views.reshape(n * count, tokens))
        view_rows = view_stream.mean(2).reshape(stream.shape[0], n, count, -1)
        return loss, stream, representation_metrics(stream, view_rows, dime_key)

    heads = [head for head, _ in parts]
    weights = np.array([len(h) - args.context - 1 for h in heads], np.float64)
    rng = np.random.default_rng(args.seed)
    history = []
    for step in range(steps + 1):
        if step in checkpoints:
            loss, stream, measured = observe(model, jnp.asarray(ids), jnp.asarray(targets), views)
            metrics = {k: np.asarray(v).tolist() for k, v in measured.items()}
            metrics |= probes(stream, ids, targets, modules, train_prompts)
            history.append({"step": step, "eval_loss": float(loss), "metrics": metrics})
            print(table(step, float(loss), metrics), flush=True)
        if step == steps:
            break
        which = rng.choice(len(heads), args.batch, p=weights / weights.sum())
        starts = rng.integers(0, weights[which].astype(np.int64))
        x = np.stack([heads[m][s : s + args.context] for m, s in zip(which, starts, strict=True)])
        y = np.stack(
            [heads[m][s + 1 : s + args.context + 1] for m, s in zip(which, starts, strict=True)]
        )
        train_step(model, optimizer, jnp.asarray(x), jnp.asarray(y))

    final = history[-1]["metrics"]
    best = {key: int(np.argmax(final[key])) for key in ("probe_next_char", "probe_module")}
    last = len(final["dime"]) - 1
    print(
        f"\nbest layer (0 = embedding, {last} = last): next-character probe "
        f"{best['probe_next_char']}, module probe {best['probe_module']}"
    )
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "config": {
            "modules": MODULES,
            "python": platform.python_version(),
            "steps": steps,
            "batch": args.batch,
            "context": args.context,
            "d_model": 64,
            "heads": 4,
            "blocks": 4,
            "eval_prompts": len(ids),
            "views": int(views.shape[1]),
            "augmentation": "10% of characters replaced by uniformly random vocabulary characters",
            "seed": args.seed,
        },
        "layers": ["embedding", *(f"block {i}" for i in range(1, last + 1))],
        "checkpoints": history,
        "best_layer": best,
        "seconds": seconds,
    }
    (args.out / "layerwise_transformer.json").write_text(json.dumps(summary, indent=1))
    try:
        plot(history, args.out / "layerwise_transformer.png")
    except ImportError:
        print("matplotlib not installed: no figure")
    print(f"wrote {args.out}/layerwise_transformer.json ({seconds:.0f} s)")
    if not all(math.isfinite(v) for r in history for vals in r["metrics"].values() for v in vals):
        raise SystemExit("a metric is not finite")


if __name__ == "__main__":
    main()
