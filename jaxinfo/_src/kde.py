"""Gaussian kernel density estimates: leave-one-out entropy and the nonlinear-IB bound.

Both are means over rows of ``log sum_j exp(-|x_i - x_j|^2 / (2 s^2))``. Each row's sum is a
``masked_logsumexp`` over one ``[block, n]`` slab of the Gaussian log-Gram (tiny bandwidths
stay finite), and the per-row logs are added up block by block by ``Samples.reduce``
(O(n * block) memory for value and gradient). With ``axis_name`` each device reduces its own
rows against the all-gathered rows and the sums are ``psum``'d.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import batching, deprecation, guards, programs, samples, validation
from jaxinfo._src.kernels import Gaussian, checked_bandwidth
from jaxinfo._src.options import BandwidthRule


@functools.partial(jax.jit, static_argnames=("axis_name", "block_size", "leave_one_out"))
def _sum_of_row_log_sums(x, mask, kernel, *, axis_name, block_size, leave_one_out: bool):
    """``sum_i log sum_j k(x_i, x_j)`` over valid rows, their count and the resolved kernel.

    ``j != i`` when ``leave_one_out``; the kernel is resolved on the gathered rows.
    """
    s = samples.gather((x,), mask, axis_name, block_size)
    kernel = kernel.resolve(s.all[0], s.mask)

    def block(b):
        return b.sum(b.row_logsumexp(b.log_gram(kernel, 0, leave_self_out=leave_one_out)))

    return s.reduce(block), s.count, kernel


@programs.one_program
@batching.one_call_at_a_time
def kde_entropy(
    x: ArrayLike,
    *,
    bandwidth: float | jax.Array | BandwidthRule = "silverman",
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Leave-one-out Gaussian kernel density (resubstitution) estimate of entropy.

    .. math::
       \hat H = -\frac{1}{n}\sum_i \log \frac{1}{n - 1}\sum_{j \ne i}
       \mathcal N(x_i;\, x_j,\, h^2 I).

    Leaving the sample out of its own density removes the ``log n``-sized bias of plain
    resubstitution (hoi's ``entropy_kernel``). Sums are taken in the log domain, so a small
    bandwidth gives a finite value. The rules (``kernels.bandwidth_from_rule``) are constants
    for ``grad``; a numeric bandwidth may be traced and differentiated.

    Args:
      x: samples ``[n, d]``.
      bandwidth: ``h > 0`` or a rule ``"silverman"``, ``"scott"``, ``"median"``
        (:func:`jaxinfo.kernels.bandwidth_from_rule`; O(n d), no ``[n, n]`` matrix).
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      block_size: rows per block; ``None`` picks it from the temporary-memory
        budget (docs/conventions.md). Memory O(n * block) for value and gradient.

    Returns:
      Scalar entropy estimate.

    Raises:
      ValueError: ``x`` not ``[n, d]`` or ``n < 2``; an unknown rule or a bandwidth <= 0.

    Example:
      >>> import jax, jaxinfo
      >>> x = jax.random.normal(jax.random.key(0), (2000, 1))
      >>> print(f"{jaxinfo.kde_entropy(x):.2f}")  # truth 0.5 log(2 pi e) = 1.42
      1.43

    References:
      Beirlant, Dudewicz, Györfi & van der Meulen, "Nonparametric entropy estimation: an
      overview", Int. J. Math. Stat. Sci. 6(1), 1997 (resubstitution estimates).
    """
    kernel = Gaussian(bandwidth)
    rows = guards.checked((x,), ("x",), where, axis_name, base)
    (x,) = rows.arrays
    total, n, kernel = _sum_of_row_log_sums(
        x, rows.mask, kernel, axis_name=axis_name, block_size=block_size, leave_one_out=True
    )
    h = checked_bandwidth(kernel.bandwidth, x.dtype)
    log_norm = 0.5 * x.shape[1] * (math.log(2.0 * math.pi) + 2.0 * jnp.log(h))
    return rows.result(-total / n + jnp.log(n - 1.0) + log_norm)


@programs.one_program
@batching.one_call_at_a_time
def gaussian_noise_mutual_information_upper_bound(
    h: ArrayLike,
    *,
    noise_variance: ArrayLike,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise-distance upper bound on ``I(X; T)`` for ``T = h(X) + N(0, s^2 I)``.

    .. math::
       I(X; T) \le -\frac{1}{n}\sum_i \log \frac{1}{n}\sum_j
       \exp\!\Big(-\frac{\lVert h_i - h_j\rVert^2}{2 s^2}\Big),

    the compression term of the nonlinear information bottleneck: with ``X`` the empirical
    distribution of the ``n`` inputs, ``T`` is a mixture of Gaussians ``N(h_i, s^2 I)`` and
    the bound uses the KL divergence ``|h_i - h_j|^2 / (2 s^2)`` between components
    (Kolchinsky & Tracey 2017). It lies in ``[0, log n]`` (``log n`` when the encodings are
    far apart relative to the noise) and is differentiable in ``h`` and in a traced
    ``noise_variance``. Named for what it bounds (the MI of a Gaussian-noise channel) rather
    than the loss it is used in, so it serves information-plane analysis as well as training.

    Args:
      h: encodings ``h(x_i)``, shape ``[n, d]`` (the noise-free layer output).
      noise_variance: ``s^2 > 0``, the per-dimension variance of the added noise.
      base: as in :func:`kde_entropy`.
      where: as in :func:`kde_entropy`.
      axis_name: as in :func:`kde_entropy`.
      block_size: as in :func:`kde_entropy` (memory O(n * block)).

    Returns:
      Scalar upper bound on ``I(X; T)``.

    Raises:
      ValueError: ``h`` not ``[n, d]``, ``n < 2`` or ``noise_variance <= 0``.

    Example:
      >>> import jax, jaxinfo
      >>> h = jax.random.normal(jax.random.key(0), (1000, 1))
      >>> bound = jaxinfo.gaussian_noise_mutual_information_upper_bound(h, noise_variance=0.25)
      >>> print(f"{bound:.2f}")  # true I(X; T) = 0.5 log(1 + 1 / 0.25) = 0.80
      1.19

    References:
      Kolchinsky, Tracey & Wolpert, "Nonlinear information bottleneck", Entropy 21(12),
      1181, 2019; Kolchinsky & Tracey, "Estimating mixture entropy with pairwise
      distances", Entropy 19(7), 361, 2017.
    """
    rows = guards.checked((h,), ("h",), where, axis_name, base)
    (h,) = rows.arrays
    noise_variance = validation.check_number(
        noise_variance,
        "noise_variance",
        low=0.0,
        low_open=True,
        hint="It is the variance s^2 of the added Gaussian noise.",
    )
    variance = jnp.asarray(noise_variance, h.dtype)
    kernel = Gaussian(jnp.sqrt(variance))
    total, n, _ = _sum_of_row_log_sums(
        h, rows.mask, kernel, axis_name=axis_name, block_size=block_size, leave_one_out=False
    )
    return rows.result(jnp.log(n) - total / n)


gaussian_noise_mutual_information_bound = deprecation.deprecated_alias(
    gaussian_noise_mutual_information_upper_bound, "gaussian_noise_mutual_information_bound"
)
