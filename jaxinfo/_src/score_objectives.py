"""What a score network is trained on and what the Girsanov read-outs compute from it.

A *mask* gives each variable a role: ``DIFFUSED`` (noised to time ``t``), ``CLEAN`` (given at
time 0: conditioned on) or ``MARGINALISED`` (zeroed, time 1). Training is denoising score
matching on the diffused columns, one mask drawn per row. The read-outs are Monte Carlo
estimates of Girsanov's ``KL = ½ ∫ β E ‖s_p - s_q‖² dt`` (:mod:`jaxinfo._src.vp_sde`), each
row contributing ``½ w(t) ‖ε_p - ε_q‖²`` at its own time and noise:

* MI, conditional (MINDE-C): ``KL(p(y | x) ‖ p(y))`` averaged over ``x``: ``y`` diffused,
  ``x`` clean against ``x`` marginalised.
* MI, joint (MINDE-J): ``KL(p(x, y) ‖ p(x) p(y))``: both diffused against each marginalised
  in turn (the product law diffuses each factor on its own).
* entropy: ``H(p) = E[-log N(x; 0, I)] - KL(p ‖ N(0, I))``, whose score along the VP-SDE is
  ``-x_t`` at every ``t``.
* O-information (SΩI's network, amortised over masks): ``TC = KL(p ‖ ∏ p_i)`` as in the
  joint MI and the same for each leave-one-out set; ``Ω = (2 - V) TC + Σ_j TC(X_-j)``.

Every read-out is a KL between two laws diffused by the same SDE, so each term is >= 0 and
exact up to ``KL(p_1 ‖ q_1)`` at ``t = 1`` (below 1e-5 nats for standardised data).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinfo._src import vp_sde

DIFFUSED, CLEAN, MARGINALISED = 1, 0, -1

Network = Callable[[jax.Array, jax.Array], jax.Array]


def column_roles(mask: ArrayLike, sizes: Sequence[int]) -> jax.Array:
    """A ``[..., V]`` mask repeated over each variable's columns: ``[..., sum(sizes)]``."""
    return jnp.repeat(mask, np.asarray(sizes), axis=-1, total_repeat_length=sum(sizes))


def network_inputs(x0, noisy, t, mask, sizes):
    """The network's ``(x, times)`` for rows ``x0`` with diffused values ``noisy`` at ``t``.

    ``mask`` is ``[V]`` or ``[b, V]``; ``t`` is ``[b, 1]``.
    """
    roles = column_roles(mask, sizes)
    x = jnp.where(roles == DIFFUSED, noisy, jnp.where(roles == CLEAN, x0, 0.0))
    times = jnp.where(mask == DIFFUSED, t, jnp.where(mask == CLEAN, 0.0, 1.0))
    return x, jnp.broadcast_to(times, (x0.shape[0], len(sizes))).astype(x0.dtype)


def diffuse(schedule: vp_sde.VPSchedule, x0, t, noise):
    """``x_t = m_t x0 + σ_t ε``."""
    return schedule.mean_scale(t) * x0 + schedule.noise_scale(t) * noise


def predict_noise(network: Network, x0, noisy, t, mask, sizes, schedule, baseline=None):
    """The network's noise prediction, plus the Gaussian baseline's when one is given."""
    x, times = network_inputs(x0, noisy, t, mask, sizes)
    prediction = network(x, times)
    if baseline is None:
        return prediction
    return prediction + baseline.predict(x0, noisy, t, mask, schedule)


def denoising_loss(network: Network, x0, t, noise, mask, sizes, schedule, *, baseline=None):
    """Per-row mean squared noise error over the diffused columns ``[b]``."""
    noisy = diffuse(schedule, x0, t, noise)
    predicted = predict_noise(network, x0, noisy, t, mask, sizes, schedule, baseline)
    diffused = column_roles(mask, sizes) == DIFFUSED
    error = jnp.where(diffused, (predicted - noise) ** 2, 0.0)
    return jnp.sum(error, axis=-1) / jnp.sum(diffused, axis=-1)


def draw(schedule, key, rows: int, features: int, dtype):
    """One time ``[rows, 1]`` from the importance proposal and one noise ``[rows, d]``."""
    time_key, noise_key = jax.random.split(key)
    t = vp_sde.sample_time(schedule, time_key, (rows, 1), dtype)
    return t, jax.random.normal(noise_key, (rows, features), dtype)


def _prediction(network, x0, noisy, t, roles: Sequence[int], sizes, schedule, baseline):
    """The prediction for fixed roles (a NumPy mask: the baseline then runs one law only)."""
    return predict_noise(network, x0, noisy, t, np.asarray(roles), sizes, schedule, baseline)


def _one_hot_roles(count: int, index: int, others: int) -> tuple[int, ...]:
    return tuple(DIFFUSED if j == index else others for j in range(count))


def _leave_one_out_roles(count: int, index: int) -> tuple[int, ...]:
    """Every variable diffused but ``index``, which is marginalised."""
    return tuple(MARGINALISED if j == index else DIFFUSED for j in range(count))


def _blocks(sizes: Sequence[int]) -> list[slice]:
    ends = np.cumsum(sizes)
    return [slice(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]


def mutual_information_terms(
    network, x0, t, noise, sizes, schedule, *, variant: str = "conditional", baseline=None
):
    """Per-row MI contributions ``[b, 1]`` (``sizes = (dx, dy)``)."""
    noisy = diffuse(schedule, x0, t, noise)
    weight = 0.5 * vp_sde.time_weight(schedule, t)[:, 0]
    if variant == "conditional":  # y diffused; x clean against x marginalised
        y = _blocks(sizes)[1]
        predict = functools.partial(_prediction, network, x0, noisy, t)
        marginal = predict((MARGINALISED, DIFFUSED), sizes, schedule, baseline)[:, y]
        conditional = predict((CLEAN, DIFFUSED), sizes, schedule, baseline)[:, y]
        return (weight * jnp.sum((marginal - conditional) ** 2, axis=-1))[:, None]
    terms = total_correlation_terms(network, x0, noisy, t, sizes, weight, schedule, baseline)
    return terms[:, None]


def _product_prediction(network, x0, noisy, t, sizes, variables, schedule, baseline):
    """Each of ``variables`` predicted alone (the rest marginalised), concatenated."""
    count, blocks = len(sizes), _blocks(sizes)
    return jnp.concatenate(
        [
            _prediction(
                network,
                x0,
                noisy,
                t,
                _one_hot_roles(count, i, MARGINALISED),
                sizes,
                schedule,
                baseline,
            )[:, blocks[i]]
            for i in variables
        ],
        axis=-1,
    )


def total_correlation_terms(network, x0, noisy, t, sizes, weight, schedule, baseline):
    """``½ w ‖ε_joint - [ε_i alone]_i‖²`` per row: ``KL(p ‖ ∏ p_i)``'s integrand."""
    joint = _prediction(network, x0, noisy, t, (DIFFUSED,) * len(sizes), sizes, schedule, baseline)
    product = _product_prediction(
        network, x0, noisy, t, sizes, range(len(sizes)), schedule, baseline
    )
    return weight * jnp.sum((joint - product) ** 2, axis=-1)


def o_information_terms(network, x0, t, noise, sizes, schedule, *, baseline=None):
    """Per-row ``[TC, Σ_j TC(X_-j)]`` contributions ``[b, 2]``.

    ``Ω = (2 - V) TC + Σ_j TC(X_-j)`` (Rosas et al. 2019): every term a KL between a joint
    law and the product of its marginals, read from the scores of the joint, of each
    variable alone and of each leave-one-out set. (``Ω = 2 TC - Σ_i I(X_i; X_-i)`` needs
    the conditional scores instead and doubles the error of TC: 0.13 nats off on a 3-variable
    Gaussian where this form is within 0.05.)
    """
    noisy = diffuse(schedule, x0, t, noise)
    weight = 0.5 * vp_sde.time_weight(schedule, t)[:, 0]
    count, blocks = len(sizes), _blocks(sizes)
    tc = total_correlation_terms(network, x0, noisy, t, sizes, weight, schedule, baseline)
    leave_one_out = jnp.zeros_like(tc)
    for j in range(count):
        others = [i for i in range(count) if i != j]
        roles = _leave_one_out_roles(count, j)
        joint = _prediction(network, x0, noisy, t, roles, sizes, schedule, baseline)
        joint = jnp.concatenate([joint[:, blocks[i]] for i in others], axis=-1)
        product = _product_prediction(network, x0, noisy, t, sizes, others, schedule, baseline)
        leave_one_out += weight * jnp.sum((joint - product) ** 2, axis=-1)
    return jnp.stack([tc, leave_one_out], axis=-1)


def entropy_terms(network, x0, t, noise, sizes, schedule, *, baseline=None):
    """Per-row entropy contributions ``[b, 1]`` of standardised rows (nats)."""
    noisy = diffuse(schedule, x0, t, noise)
    weight = 0.5 * vp_sde.time_weight(schedule, t)[:, 0]
    predicted = _prediction(network, x0, noisy, t, (DIFFUSED,), sizes, schedule, baseline)
    # the reference score -x_t as a noise prediction: ε = σ_t x_t
    divergence = weight * jnp.sum((predicted - schedule.noise_scale(t) * noisy) ** 2, axis=-1)
    cross_entropy = 0.5 * x0.shape[1] * math.log(2 * math.pi) + 0.5 * jnp.sum(x0**2, axis=-1)
    return (cross_entropy - divergence)[:, None]


def training_masks(kind: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The masks a network is trained on ``[M, V]`` and their sampling probabilities.

    Each mask is drawn in proportion to its diffused variables (MINDE's weighting: the joint
    score, which must model every variable, is seen more often).
    """
    if kind == "conditional":
        masks = [(MARGINALISED, DIFFUSED), (CLEAN, DIFFUSED)]
    elif kind == "entropy":
        masks = [(DIFFUSED,)]
    else:  # joint MI (count 2) and O-information: the joint, each variable alone
        masks = [(DIFFUSED,) * count]
        masks += [_one_hot_roles(count, i, MARGINALISED) for i in range(count)]
        if kind == "o_information":  # and each leave-one-out set
            masks += [_leave_one_out_roles(count, j) for j in range(count)]
    array = np.asarray(masks, np.int32)
    weights = np.sum(array == DIFFUSED, axis=1).astype(np.float64)
    return array, weights / weights.sum()
