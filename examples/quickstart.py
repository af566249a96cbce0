"""jaxinfo quickstart: compute matrix-based information measures, then train with one.

Part 1 evaluates the entropies and mutual information of a synthetic data set. Part 2
trains a Flax NNX regressor with optax twice, from the same initial weights and batches:
once on the squared error alone, once adding a matrix-based mutual-information penalty
beta * I_2(X; T) between the inputs and the hidden representation (the deterministic
information bottleneck of Yu et al. 2021) inside the same jitted step, and prints what the
penalty did to I_2(X; T) and to the error.

Run: python examples/quickstart.py [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import jaxinfo
from jaxinfo import kernels


def make_data(key, n=512):
    kx, kn = jax.random.split(key)
    x = jax.random.normal(kx, (n, 4))
    y = jnp.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 + 0.1 * jax.random.normal(kn, (n, 1))
    return x, y


class Regressor(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.encoder = nnx.Linear(4, 32, rngs=rngs)
        self.hidden = nnx.Linear(32, 8, rngs=rngs)
        self.head = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        t = jnp.tanh(self.hidden(jax.nn.relu(self.encoder(x))))
        return self.head(t), t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--beta", type=float, default=0.5)
    args = parser.parse_args(argv)

    x, y = make_data(jax.random.key(0))
    gauss = kernels.Gaussian(bandwidth="median")

    print("== measures (nats) ==")
    print(f"H_2(X)              {jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=gauss):.4f}")
    print(f"H_1.01(X)           {jaxinfo.matrix_renyi_entropy(x, alpha=1.01, kernel=gauss):.4f}")
    print(f"von Neumann H(X)    {jaxinfo.von_neumann_entropy(x, kernel=gauss):.4f}")
    print(
        "I_1.01(X; Y)        "
        f"{jaxinfo.matrix_mutual_information(x, y, alpha=1.01, kernel_x=gauss, kernel_y=gauss):.4f}"
    )
    print(f"Vendi score (cos)   {jaxinfo.vendi_score(x):.3f} of {x.shape[0]} samples")
    print(f"effective rank      {jaxinfo.effective_rank(x):.3f} of {x.shape[1]} features")

    def loss_fn(model, xb, yb, beta):
        prediction, t = model(xb)
        mse = jnp.mean((prediction - yb) ** 2)
        mi = jaxinfo.matrix_mutual_information(xb, t, alpha=2, kernel_x=gauss, kernel_y=gauss)
        return mse + beta * mi, (mse, mi)

    @nnx.jit  # beta is traced: the run without the penalty reuses the compiled step
    def train_step(model, optimizer, xb, yb, beta):
        (loss, (mse, mi)), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, xb, yb, beta)
        optimizer.update(model, grads)
        return loss, mse, mi

    def train(beta):
        model = Regressor(nnx.Rngs(0))  # the same initial weights and batches for every beta
        optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
        key = jax.random.key(1)
        for step in range(args.steps + 1):
            key, sub = jax.random.split(key)
            idx = jax.random.choice(sub, x.shape[0], (128,), replace=False)
            loss, mse, mi = train_step(model, optimizer, x[idx], y[idx], jnp.float32(beta))
            if step % max(args.steps // 4, 1) == 0:
                print(f"  step {step:4d}  loss {loss:.4f}  mse {mse:.4f}  I_2(X;T) {mi:.4f}")
        prediction, t = model(x)
        mse = float(jnp.mean((prediction - y) ** 2))
        mi = float(jaxinfo.matrix_mutual_information(x, t, alpha=2, kernel_x=gauss, kernel_y=gauss))
        if not (jnp.isfinite(mse) and jnp.isfinite(mi)):
            raise SystemExit(f"training with beta = {beta} diverged")
        return mse, mi

    results = {}
    start = time.perf_counter()
    for beta in (0.0, args.beta):
        print(f"== training with loss = mse + beta * I_2(X; T), beta = {beta} ==")
        results[beta] = train(beta)
    elapsed = time.perf_counter() - start
    print(f"== effect of the penalty (all {x.shape[0]} samples, {elapsed:.1f} s) ==")
    print(f"{'beta':>6s} {'mse':>8s} {'I_2(X;T) nats':>14s}")
    for beta, (mse, mi) in results.items():
        print(f"{beta:6.3f} {mse:8.4f} {mi:14.4f}")
    (mse0, mi0), (mse1, mi1) = results[0.0], results[args.beta]
    print(
        f"the penalty changed I_2(X;T) by {mi1 - mi0:+.4f} nats ({100 * (mi1 / mi0 - 1):+.1f} %) "
        f"and the mse by {mse1 - mse0:+.4f}"
    )


if __name__ == "__main__":
    main()
