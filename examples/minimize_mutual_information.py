"""Minimise mutual information with an upper bound: remove a nuisance from a learned code.

The inputs ``x`` mix a label's causes ``(z1, z2)`` with a nuisance ``s`` (think of a sensitive
attribute). An encoder maps ``x`` to a noisy 2-D code ``t = f(x) + 0.1 eps`` and a linear
head predicts the label ``z1 + z2 > 0`` from ``t``. Predicting the label does not need ``s``,
so the encoder is also asked to forget it: the loss adds ``beta`` times CLUB, an *upper*
bound on ``I(T; S)`` (minimising a lower bound would say nothing about the information).

CLUB needs ``log q(s | t)``, the conditional of the nuisance given the code, which is
unknown and changes as the encoder trains. It is learned alongside, in two alternating steps
(Cheng et al., ICML 2020, Algorithm 1):

1. the conditional's step: ``q`` maximises the likelihood of the pairs ``(t_i, s_i)``, with
   ``t`` held constant (``stop_gradient``): the encoder must not learn to help ``q``;
2. the model's step: the encoder and head minimise cross-entropy + ``beta * CLUB``, with
   ``q`` held constant (only the model is differentiated).

``q`` is warmed up on the initial encoder first, so the first bound printed is a real one.
The table shows the bound falling while the accuracy rises; L1Out (the other upper bound,
from the same ``q``) and a KSG estimate of ``I(T; S)`` on fresh samples, which uses no
``q`` at all, confirm that the information itself went down.

Run: python examples/minimize_mutual_information.py [--steps 400] [--beta 1.0]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import jaxinfo
from jaxinfo.nn import MLP, GaussianConditional

NOISE = 0.1  # the code's noise: keeps I(T; S) finite and lets the encoder shrink it smoothly


def sample(key, n):
    """``x [n, 4]`` mixing ``(z1, z2)`` with the nuisance ``s [n, 1]``; labels ``z1 + z2 > 0``."""
    z1, z2, s = jax.random.normal(key, (3, n))
    x = jnp.stack([z1 + s, z2 - s, s + 0.5 * z1, z1 + z2 + 0.5 * s], axis=1)
    return x, s[:, None], (z1 + z2 > 0).astype(jnp.int32)


class Model(nnx.Module):
    """Encoder ``x -> t = f(x) + NOISE eps`` and a linear classifier on ``t``."""

    def __init__(self, rngs: nnx.Rngs):
        self.encoder = MLP(4, (32,), 2, activation=nnx.tanh, rngs=rngs)
        self.head = nnx.Linear(2, 2, rngs=rngs)

    def encode(self, x, key):
        return self.encoder(x) + NOISE * jax.random.normal(key, (x.shape[0], 2))


def conditional_step(q, optimizer, t, s):
    """Step 1: ``q`` fits ``(t, s)`` by maximum likelihood; the encoder gets no gradient."""
    loss, grads = nnx.value_and_grad(
        lambda q: q.negative_log_likelihood(jax.lax.stop_gradient(t), s)
    )(q)
    optimizer.update(q, grads)
    return loss


def model_step(model, optimizer, q, x, s, labels, key, beta):
    """Step 2: the model minimises cross-entropy + beta * CLUB; ``q`` is held fixed."""

    def loss_fn(model):
        t = model.encode(x, key)
        cross_entropy = optax.softmax_cross_entropy_with_integer_labels(
            model.head(t), labels
        ).mean()
        log_likelihoods = q.log_likelihood_matrix(t, s)  # log q(s_j | t_i)
        club = jaxinfo.club_estimate(log_likelihoods)
        l1out = jax.lax.stop_gradient(jaxinfo.l1out_estimate(log_likelihoods))
        accuracy = jnp.mean(jnp.argmax(model.head(t), axis=1) == labels)
        return cross_entropy + beta * club, (cross_entropy, accuracy, club, l1out)

    # nnx.value_and_grad differentiates its first argument only: q's parameters stay put
    (_, metrics), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    optimizer.update(model, grads)
    return metrics


def train_step(model, model_optimizer, q, q_optimizer, key, beta, batch, q_steps):
    """One round: ``q_steps`` conditional steps on fresh codes, then one model step."""
    for k in jax.random.split(key, q_steps + 1)[:-1]:
        kd, kn = jax.random.split(k)
        x, s, _ = sample(kd, batch)
        conditional_step(q, q_optimizer, model.encode(x, kn), s)  # step 1
    kd, kn = jax.random.split(jax.random.split(key, q_steps + 1)[-1])
    x, s, labels = sample(kd, batch)
    return model_step(model, model_optimizer, q, x, s, labels, kn, beta)  # step 2


def code_nuisance_information(model, key, n=1000):
    """KSG estimate of ``I(T; S)`` (nats) on fresh samples: a check that needs no ``q``."""
    kd, kn = jax.random.split(key)
    x, s, _ = sample(kd, n)
    return float(jaxinfo.ksg_mutual_information(model.encode(x, kn), s, k=5))


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--steps", type=int, default=800, help="model steps (60 for a quick run)")
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the CLUB penalty")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--q-steps", type=int, default=5, help="conditional steps per model step")
    parser.add_argument("--lr", type=float, default=3e-4, help="the model's learning rate")
    parser.add_argument("--q-lr", type=float, default=1e-2, help="the conditional's learning rate")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    model = Model(nnx.Rngs(0))
    q = GaussianConditional(2, 1, hidden=(32,), rngs=nnx.Rngs(1))
    model_optimizer = nnx.Optimizer(model, optax.adam(args.lr), wrt=nnx.Param)
    q_optimizer = nnx.Optimizer(q, optax.adam(args.q_lr), wrt=nnx.Param)
    statics = ("batch", "q_steps")
    q_update = nnx.jit(conditional_step)
    step_fn = nnx.jit(train_step, static_argnames=statics)

    key = jax.random.key(42)
    key, warm, check = jax.random.split(key, 3)
    before = code_nuisance_information(model, check)
    encode = nnx.jit(Model.encode)
    for k in jax.random.split(warm, 200):  # fit q to the initial code: a real first bound
        kd, kn = jax.random.split(k)
        x, s, _ = sample(kd, args.batch)
        q_update(q, q_optimizer, encode(model, x, kn), s)

    print(f"I(T; S) by KSG before training: {before:.3f} nats")
    print(f"{'step':>5} {'cross-entropy':>13} {'accuracy':>8} {'CLUB':>7} {'L1Out':>7}")
    every = max(args.steps // 8, 1)
    for step in range(args.steps + 1):
        key, k = jax.random.split(key)
        metrics = step_fn(
            model, model_optimizer, q, q_optimizer, k, args.beta, args.batch, args.q_steps
        )
        if step % every == 0 or step == args.steps:
            cross_entropy, accuracy, club, l1out = (float(m) for m in metrics)
            print(f"{step:5d} {cross_entropy:13.4f} {accuracy:8.3f} {club:7.4f} {l1out:7.4f}")
    after = code_nuisance_information(model, check)
    print(f"I(T; S) by KSG after training:  {after:.3f} nats")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
