"""The Koopman information Lagrangian on Lorenz-63: latent effective dimension and forecasts.

Trains ``jaxinfo.nn.KoopmanAutoencoder`` (MLP 3 -> 128 -> 128 -> 32, learned K spectrally
normalised so rollouts cannot grow) on Lorenz-63 windows with
``jaxinfo.koopman_information_lagrangian`` for every (alpha, gamma) in a grid and several
seeds; (alpha, gamma) = (0, 0) is the plain Koopman autoencoder (reconstruction, one-step
prediction and an H-step decoded rollout only). Reports, on held-out trajectories:

- d_eff = exp S(C / tr C) of the test latents (``jaxinfo.effective_dimension``),
- N-step NRMSE of latent rollouts (encode once, z <- K z, decode): relative L2
  sqrt(sum |x_hat - x|^2 / sum |x|^2) in the original units over the whole N-step window,
  from starts every 20 steps,
- KLD between binned state marginals of 1000-step free rollouts and the truth (60 bins per
  coordinate over the truth's range, averaged over x, y, z; Cheng et al. compare distributions
  of 100 000-step samples),
- the time per training step.

Paper (Cheng, Yuan et al., ICLR 2026, Table 2, Lorenz 63): KAE 5/20/50-NRMSE 0.006 / 0.014 /
0.023, KLD 0.464; Ours 0.003 / 0.007 / 0.013, KLD 0.285. Writes ``koopman_lorenz.json`` and
``koopman_lorenz.png`` to ``--out``.

Run: python examples/koopman_lorenz.py [--steps 3000] [--seeds 0 1 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxinfo
from jaxinfo import testing
from jaxinfo.nn import KoopmanAutoencoder

HORIZONS = (5, 20, 50)
GRID = [(0.0, 0.0), (0.0, 0.1), (0.0, 0.5), (2.0, 0.0), (2.0, 0.1), (2.0, 0.5)]


def lorenz_data(num_train, num_test, train_steps, test_steps):
    key_train, key_test = jax.random.split(jax.random.key(1234))
    train = testing.lorenz63(key_train, num_train, train_steps)
    test = testing.lorenz63(key_test, num_test, test_steps)
    mean, std = jnp.mean(train, axis=(0, 1)), jnp.std(train, axis=(0, 1))
    return train, test, mean, std


def make_trainer(graphdef, optimizer, window: int, rollout_steps: int):
    """One jitted function training ``chunk`` steps; alpha and gamma are traced (one compile)."""

    def loss_fn(params, x, alpha, gamma):
        model = nnx.merge(graphdef, params)
        z = model.encode(x)
        return jaxinfo.koopman_information_lagrangian(
            x,
            z,
            model.operator(z),
            model.decode,
            alpha=alpha,
            gamma=gamma,
            window=window,
            rollout_steps=rollout_steps,
        )

    @jax.jit
    def train_chunk(params, opt_state, batches, alpha, gamma):
        def step(carry, x):
            params, opt_state = carry
            (loss, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, x, alpha, gamma
            )
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (loss, terms["entropy"])

        (params, opt_state), history = jax.lax.scan(step, (params, opt_state), batches)
        return params, opt_state, history

    return train_chunk


def evaluate(model, test, mean, std):
    """d_eff, N-step NRMSE and long-rollout KLD on the test trajectories (original units)."""
    normalised = (test - mean) / std
    d_eff = float(jaxinfo.effective_dimension(model.encode(normalised)))
    starts = np.arange(0, test.shape[1] - max(HORIZONS) - 1, 20)
    x0 = normalised[:, starts].reshape(-1, 3)
    predicted = model.rollout(x0, max(HORIZONS)) * std + mean  # [S, 50, 3]
    index = starts[:, None] + np.arange(1, max(HORIZONS) + 1)[None, :]
    truth = test[:, index].reshape(-1, max(HORIZONS), 3)
    nrmse = {}
    for horizon in HORIZONS:
        error = jnp.sum((predicted[:, :horizon] - truth[:, :horizon]) ** 2)
        nrmse[horizon] = float(jnp.sqrt(error / jnp.sum(truth[:, :horizon] ** 2)))
    long = model.rollout(normalised[:, 0], 1000) * std + mean
    kld = binned_kl(np.asarray(test[:, 1:1001]).reshape(-1, 3), np.asarray(long).reshape(-1, 3))
    return {"d_eff": d_eff, "nrmse": nrmse, "kld": kld}


def binned_kl(truth: np.ndarray, model: np.ndarray, bins: int = 60) -> float:
    """Mean over coordinates of KL(truth marginal || model marginal), histograms + 1e-6."""
    values = []
    for j in range(truth.shape[1]):
        edges = np.linspace(truth[:, j].min(), truth[:, j].max(), bins + 1)
        p = np.histogram(np.clip(truth[:, j], edges[0], edges[-1]), edges)[0] + 1e-6
        q = np.histogram(np.clip(model[:, j], edges[0], edges[-1]), edges)[0] + 1e-6
        p, q = p / p.sum(), q / q.sum()
        values.append(float(np.sum(p * np.log(p / q))))
    return float(np.mean(values))


def run(args):
    train, test, mean, std = lorenz_data(
        args.train_trajectories, args.test_trajectories, args.train_steps, args.test_steps
    )
    windows = np.asarray(testing.trajectory_windows((train - mean) / std, args.window_length))
    schedule = optax.exponential_decay(1e-3, transition_steps=1000, decay_rate=0.5)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))
    results = []
    train_chunk = None
    for seed in args.seeds:
        for alpha, gamma in GRID:
            model = KoopmanAutoencoder(3, args.latent, hidden=(128, 128), rngs=nnx.Rngs(seed))
            graphdef, params = nnx.split(model)
            if train_chunk is None:
                train_chunk = make_trainer(graphdef, optimizer, args.window, args.rollout_steps)
            opt_state = optimizer.init(params)
            rng = np.random.default_rng(seed)
            chunk_times = []
            for _ in range(0, args.steps, args.chunk):
                picks = rng.integers(0, len(windows), (args.chunk, args.batch))
                tic = time.perf_counter()
                params, opt_state, (losses, _) = train_chunk(
                    params, opt_state, jnp.asarray(windows[picks]), alpha, gamma
                )
                losses.block_until_ready()
                chunk_times.append((time.perf_counter() - tic) / args.chunk)
            model = nnx.merge(graphdef, params)
            metrics = evaluate(model, test, mean, std)
            metrics.update(
                alpha=alpha,
                gamma=gamma,
                seed=seed,
                final_loss=float(losses[-1]),
                ms_per_step=1e3 * statistics.median(chunk_times[1:] or chunk_times),
            )
            results.append(metrics)
            print(
                f"seed {seed} alpha {alpha:g} gamma {gamma:g}: d_eff {metrics['d_eff']:.2f}  "
                + "  ".join(f"{h}-NRMSE {metrics['nrmse'][h]:.3f}" for h in HORIZONS)
                + f"  KLD {metrics['kld']:.3f}  {metrics['ms_per_step']:.1f} ms/step",
                flush=True,
            )
    return results


def summarize(results):
    table = []
    for alpha, gamma in GRID:
        rows = [r for r in results if r["alpha"] == alpha and r["gamma"] == gamma]

        def stat(values):
            return float(np.mean(values)), float(np.std(values))

        table.append(
            {
                "alpha": alpha,
                "gamma": gamma,
                "seeds": len(rows),
                "d_eff": stat([r["d_eff"] for r in rows]),
                **{f"nrmse_{h}": stat([r["nrmse"][h] for r in rows]) for h in HORIZONS},
                "kld": stat([r["kld"] for r in rows]),
            }
        )
    header = "| alpha | gamma | d_eff | " + " | ".join(f"{h}-NRMSE" for h in HORIZONS) + " | KLD |"
    print(header)
    print("|" + "---|" * (4 + len(HORIZONS)))
    for row in table:
        cells = [row["d_eff"]] + [row[f"nrmse_{h}"] for h in HORIZONS] + [row["kld"]]
        print(
            f"| {row['alpha']:g} | {row['gamma']:g} | "
            + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in cells)
            + " |"
        )
    return table


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for alpha, marker in ((0.0, "o"), (2.0, "s")):
        rows = [r for r in table if r["alpha"] == alpha]
        gammas = [r["gamma"] for r in rows]
        for ax, metric in zip(axes, ("d_eff", "nrmse_20"), strict=True):
            ax.errorbar(
                gammas,
                [r[metric][0] for r in rows],
                [r[metric][1] for r in rows],
                marker=marker,
                capsize=3,
                label=f"alpha = {alpha:g}",
            )
    axes[0].set(xlabel="gamma (latent entropy weight)", ylabel="d_eff = exp S(C / tr C)")
    axes[1].set(xlabel="gamma", ylabel="20-step NRMSE (latent rollout)")
    for ax in axes:
        ax.legend()
    fig.suptitle("Koopman information Lagrangian on Lorenz-63 (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=250, help="steps per jitted scan")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch", type=int, default=32, help="windows per step")
    parser.add_argument("--window-length", type=int, default=16)
    parser.add_argument("--window", type=int, default=3, help="InfoNCE neighbourhood k")
    parser.add_argument("--rollout-steps", type=int, default=4)
    parser.add_argument("--latent", type=int, default=32)
    parser.add_argument("--train-trajectories", type=int, default=40)
    parser.add_argument("--train-steps", type=int, default=1000)
    parser.add_argument("--test-trajectories", type=int, default=10)
    parser.add_argument("--test-steps", type=int, default=1200)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.chunk, args.seeds, args.batch = 20, 10, [0], 8
        args.train_trajectories, args.train_steps = 4, 100
        args.test_trajectories, args.test_steps = 2, 1060
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {vars(args)}")
    results = run(args)
    table = summarize(results)
    payload = {"config": vars(args), "runs": results, "table": table}
    (out / "koopman_lorenz.json").write_text(json.dumps(payload, indent=1))
    try:
        plot(table, out / "koopman_lorenz.png")
    except ImportError:
        print("matplotlib not installed: no figure")


if __name__ == "__main__":
    main()
