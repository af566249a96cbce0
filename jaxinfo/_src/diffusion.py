"""Diffusion spectral entropy (DSE) and diffusion spectral mutual information (DSMI).

Liao, Liu et al., "Assessing neural network representations during training using
noise-resilient diffusion spectral entropy" (CISS 2024). The defaults reproduce the reference
package ``dse-dsmi`` 1.1: a fixed-bandwidth Gaussian kernel ``G`` (sigma = 10, diagonal kept),
the symmetric conjugate ``K = D^-1/2 G D^-1/2`` of the diffusion matrix ``P = D^-1 G`` (same
spectrum), ``p_i = |lambda_i|^t / sum_j |lambda_j|^t`` and ``-sum p log p``.
"""

from __future__ import annotations

import functools
import math
from typing import cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.typing import ArrayLike

from jaxinfo._src import (
    batching,
    collectives,
    deprecation,
    guards,
    lanczos,
    numerics,
    programs,
    samples,
    spectral,
    validation,
)
from jaxinfo._src.kernels import Cosine, Gaussian, squared_distances
from jaxinfo._src.lanczos import StochasticLanczos
from jaxinfo._src.moments import masked_moments
from jaxinfo._src.options import (
    BANDWIDTH_RULES,
    PREPROCESSINGS,
    BandwidthRule,
    Preprocessing,
    SpectralMethod,
)


def _check_options(bandwidth: float | jax.Array | BandwidthRule, t, adaptive_k, preprocess):
    """Validates the options; returns ``(bandwidth, t)`` (NaN where traced and invalid).

    A traced ``bandwidth`` or ``t`` (every array option of an eager call is traced by
    :mod:`programs`) has only its shape checked here: a ``[3]`` array would otherwise fail
    deep inside as a broadcast between the Gram and the spectrum, naming neither option.
    """
    for name, value in (("bandwidth", bandwidth), ("t", t)):
        if isinstance(value, Tracer) and value.ndim != 0:
            raise TypeError(f"`{name}` must be a real scalar number; got shape {value.shape}.")
    if isinstance(bandwidth, str):
        validation.check_choice(bandwidth, "bandwidth", BANDWIDTH_RULES, hint="Or pass sigma > 0.")
    else:  # raises on a concrete value <= 0; a number in, a number out
        bandwidth = cast(jax.Array, Gaussian(bandwidth).bandwidth)
    t = validation.check_number(t, "t", low=0.0, low_open=True, hint="The reference uses t = 1.")
    if adaptive_k is not None:
        validation.check_positive_int(adaptive_k, "adaptive_k")
    validation.check_choice(preprocess, "preprocess", (None, *PREPROCESSINGS))
    return bandwidth, t


def _min_rows(adaptive_k) -> int:
    """Valid rows DSE needs: two, or one more than the adaptive bandwidth's neighbour rank."""
    return 2 if adaptive_k is None else adaptive_k + 1


def _check_adaptive_k(adaptive_k, num_samples, counted_by: str | None = None):
    if adaptive_k is not None and adaptive_k >= num_samples:
        under = validation.rows_under(counted_by)
        raise ValueError(
            f"`adaptive_k` must be smaller than the number of samples ({num_samples}"
            f"{under}); got {adaptive_k}. Use a smaller k (e.g. 5 to 15)."
        )


def _preprocess(x, weights, preprocess):
    """Removes DSE's dependence on the absolute scale of the data (the reference has none)."""
    if preprocess is None:
        return x
    if preprocess == "l2":
        return Cosine().features(x)
    _, mean, std = masked_moments(x, weights)
    return (x - mean) / jnp.where(std > 0, std, 1.0)


def _affinity(x, mask, weights, bandwidth, adaptive_k):
    """Gaussian affinity ``G`` ``[n, n]`` with exact unit diagonal (masked rows not removed)."""
    whole = samples.whole_block((x,), weights)
    if adaptive_k is None:
        return whole.gram(Gaussian(bandwidth).resolve(x, mask), 0)
    # Zelnik-Manor & Perona: sigma_i = distance to the k-th nearest valid neighbour.
    sq = squared_distances(x, x)
    far = jnp.asarray(jnp.finfo(x.dtype).max, x.dtype)
    candidates = sq if mask is None else jnp.where(mask[None, :], sq, far)
    same = whole.self_pairs()
    candidates = jnp.where(same, far, candidates)
    kth = -jax.lax.top_k(-candidates, adaptive_k)[0][:, -1]
    sigma = jax.lax.stop_gradient(numerics.safe_sqrt(kth))
    sigma = jnp.where(sigma > 0, sigma, 1.0)
    gram = jnp.exp(-sq / (2.0 * sigma[:, None] * sigma[None, :]))
    return jnp.where(same, 1.0, gram)


def _entropy_from_affinity(affinity, weights, t):
    """DSE (nats) of the rows selected by ``weights`` (0/1), from the full affinity.

    Masked rows and columns are zeroed and given degree 1, which adds exact zero eigenvalues
    and equals computing on the subset. The stationary direction ``u = D^1/2 1 / |D^1/2 1|``
    is an exact eigenvector of ``K = D^-1/2 G D^-1/2`` with eigenvalue 1, the largest
    ``|lambda|``; the solver gets ``K - u u^T`` (same spectrum, 1 replaced by 0) and the 1 is
    put back. Its round-off then scales with ``lambda_2`` instead of 1: on the golden
    near-rank-one input (a plane in 50-d, 9 (sigma, t) pairs) float32 DSE erred by up to
    1.1e-4 bits, 2.4e-5 now (float32 rounding of the operator alone: 1.7e-5).
    """
    gram = affinity * weights[:, None] * weights[None, :]
    degree = jnp.sum(gram, axis=1)
    valid = weights > 0
    inv_sqrt = jnp.where(valid, jax.lax.rsqrt(jnp.where(valid, degree, 1.0)), 0.0)
    root = degree * inv_sqrt  # sqrt(D), 0 at masked rows
    total_degree = jnp.sum(root * root)
    top = root * jnp.where(total_degree > 0, jax.lax.rsqrt(total_degree), 0.0)
    top = jax.lax.stop_gradient(top)  # v_i^T u = 0: no eigenvalue's derivative depends on u
    # No explicit symmetrisation: the eigensolvers read one triangle (LAPACK on CPU) or
    # symmetrise themselves (``jnp.linalg.eigvalsh``), and the derivative rule symmetrises
    # the tangent.
    operator = gram * inv_sqrt[:, None] * inv_sqrt[None, :] - top[:, None] * top[None, :]
    values = numerics.eigvalsh(operator)
    values = jnp.concatenate([values, jnp.ones((1,), values.dtype)])
    powered = numerics.safe_power(jnp.abs(values), t)
    total = jnp.sum(powered)
    probabilities = powered / jnp.where(total > 0, total, 1.0)
    return numerics.renyi_entropy_of_probabilities(probabilities, 1.0)


def _diffusion_operator(theta, consts, vectors, *, axis_name):
    """``D^-1/2 G D^-1/2 @ vectors`` from the implicit Gram (the SLQ operator of DSE)."""
    kernel, x, inv_sqrt = theta
    (mask,) = consts
    s = samples.from_global((x,), mask, axis_name)
    scaled = vectors * inv_sqrt[:, None]
    return spectral.gram_matmul(s, (kernel,), scaled) * inv_sqrt[:, None]


def _diffusion_trace(theta, consts):
    """``tr D^-1/2 G D^-1/2 = sum_i G_ii / D_i`` over the valid rows (exact)."""
    kernel, x, inv_sqrt = theta
    del consts  # masked rows have inv_sqrt = 0
    return jnp.sum(kernel.diagonal(x) * inv_sqrt * inv_sqrt)


def _dse_integrand(lam, t):
    """``|l|^t`` and ``|l|^t log |l|^t``: the two spectral sums of DSE (both 0 at 0)."""
    magnitude = jnp.abs(lam)
    safe, positive = lanczos.positive_part(magnitude)
    powered = jnp.where(positive, numerics.safe_power(safe, t), 0.0 * lam)
    return jnp.stack([powered, numerics.xlogx(powered)], axis=-1)


def _randomized_entropy(x, mask, weights, bandwidth, t, options, axis_name):
    """DSE (nats) by stochastic Lanczos quadrature of the implicit diffusion operator.

    With ``Z = tr |K|^t`` and ``L = tr |K|^t log |K|^t`` from one quadrature,
    ``-sum p log p = log Z - L / Z``. The degrees ``D = G 1`` are one exact product.
    """
    kernel = Gaussian(bandwidth).resolve(x, mask)
    kernel = jax.tree.map(lambda a: jnp.asarray(a, x.dtype), kernel)
    s = samples.from_global((x,), mask, axis_name)
    degree = spectral.gram_matmul(s, (kernel,), weights[:, None])[:, 0]
    valid = weights > 0
    inv_sqrt = jnp.where(valid, jax.lax.rsqrt(jnp.where(valid, degree, 1.0)), 0.0)
    operator = lanczos.Operator(
        functools.partial(_diffusion_operator, axis_name=axis_name), _diffusion_trace
    )
    theta = (kernel, x, inv_sqrt)
    total, weighted_log = lanczos.estimate_traces(
        operator, _dse_integrand, options, theta, t, (mask,), valid
    )
    return jnp.log(total) - weighted_log / total


# Run-time eigenproblem sizes: consecutive rungs differ by sqrt(2), so a mask padded up to the
# next rung costs at most 2.8x the cubic solve of its own size (1.7x on average; finer rungs
# cost compile time: benchmarks/README.md, "Design choices"); the smallest
# rung is 16.
SIZE_LADDER_RATIO = 2.0**0.5
SIZE_LADDER_MIN = 16


def size_ladder(largest: int) -> tuple[int, ...]:
    """Static block sizes from ``SIZE_LADDER_MIN`` to ``largest``, ratio ``SIZE_LADDER_RATIO``."""
    sizes = [largest]
    while sizes[-1] > SIZE_LADDER_MIN:
        sizes.append(max(SIZE_LADDER_MIN, math.floor(sizes[-1] / SIZE_LADDER_RATIO)))
    return tuple(sorted(set(sizes)))


@functools.partial(jax.jit, static_argnames="sizes")
def _masked_entropies(affinity, masks, t, sizes: tuple[int, ...]):
    """DSE of each 0/1 mask, one eigendecomposition at a time (memory O(n^2)).

    Each mask's rows are first compacted into a ``[size, size]`` block (members first, then
    zero-weight padding), so the eigensolver costs ``size^3`` instead of ``n^3``; with
    ``size >=`` the mask's member count this equals the subset's DSE exactly. With several
    ``sizes`` (member counts known only at run time, e.g. traced labels) each mask takes the
    smallest size that holds it, through ``lax.switch`` (one compiled branch per size).
    Jitted so eager callers compile the loop once per shape instead of on every call.
    """

    def compacted(order, mask, size):
        rows = order[:size]
        return _entropy_from_affinity(affinity[rows][:, rows], mask[rows], t)

    branches = [functools.partial(compacted, size=size) for size in sizes]

    def one(mask):
        order = jnp.argsort(-mask, stable=True)
        if len(branches) == 1:
            return branches[0](order, mask)
        rung = jnp.searchsorted(jnp.asarray(sizes), jnp.sum(mask > 0))  # first size >= count
        return jax.lax.switch(jnp.minimum(rung, len(sizes) - 1), branches, order, mask)

    return jax.lax.map(one, masks)


def _prepare(rows: guards.Checked, preprocess, adaptive_k):
    """All-gathered samples of :func:`guards.checked` rows, mask, weights and answer flag.

    The flag is :meth:`guards.Checked.holds`: finite valid rows, enough of them.
    """
    (x,), mask, axis_name = rows.arrays, rows.mask, rows.axis_name
    if axis_name is None:
        _check_adaptive_k(adaptive_k, *validation.valid_rows(mask, x.shape[0], "where"))
    holds = rows.holds(_min_rows(adaptive_k))
    x = collectives.gather_rows(x, axis_name)
    mask = collectives.gather_rows(mask, axis_name)
    _check_adaptive_k(adaptive_k, x.shape[0])
    weights = samples.row_weights(mask, x.shape[0], x.dtype)
    return _preprocess(x, weights, preprocess), mask, weights, holds


@deprecation.renamed_keywords(normalize="preprocess")
@programs.one_program
@batching.one_call_at_a_time
def diffusion_spectral_entropy(
    x: ArrayLike,
    *,
    bandwidth: float | jax.Array | BandwidthRule = 10.0,
    t: float | jax.Array = 1,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    adaptive_k: int | None = None,
    preprocess: Preprocessing | None = None,
    method: SpectralMethod | StochasticLanczos = "exact",
) -> jax.Array:
    r"""Diffusion spectral entropy of samples.

    .. math::
       S_D(X, t) = -\sum_i p_i \log p_i, \quad
       p_i = \frac{|\lambda_i|^t}{\sum_j |\lambda_j|^t},

    with ``lambda_i`` the eigenvalues of the diffusion matrix ``P = D^{-1} G``, computed from
    its symmetric conjugate ``D^{-1/2} G D^{-1/2}``, ``G_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))``.
    With the defaults and ``base=2`` this is the ``dse-dsmi`` reference value (which adds
    ``2.2e-16`` to every ``p_i``; that shifts values by < 1e-11 bits at n <= 1000 and is not
    done here). DSE depends on the absolute scale of the data and on ``n`` (its maximum is
    ``log n``): compare values at equal ``n`` and fix the scale (``preprocess`` or a rule).

    ``method=StochasticLanczos(key)`` replaces the ``O(n^3)`` eigensolver of the ``[n, n]``
    operator by stochastic Lanczos quadrature of ``tr |K|^t`` and ``tr |K|^t log |K|^t``
    on the implicit, blocked Gram (one extra product for the degrees): for large ``n``,
    never an ``[n, n]`` matrix, a random estimate (docs/diffusion.md), gradients by a custom
    rule. ``adaptive_k`` is refused there (its per-row bandwidths need a kNN search).

    Args:
      x: samples ``[n, d]``.
      bandwidth: ``sigma`` (reference default 10; differentiable if traced), or a rule
        ``"median"``, ``"silverman"``, ``"scott"`` computed under ``stop_gradient``.
      t: diffusion time ``> 0`` (eigenvalues to the power ``t``); may be traced.
      base: logarithm base (``2`` for the reference's bits); default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map`` (rows are all-gathered).
      adaptive_k: use the self-tuning kernel ``exp(-d_ij^2 / (2 sigma_i sigma_j))`` with
        ``sigma_i`` the distance to the ``k``-th nearest neighbour (Zelnik-Manor & Perona
        2004), under ``stop_gradient``; ``bandwidth`` is then ignored.
      preprocess: ``None`` (reference), ``"standardize"`` (z-score features over valid rows)
        or ``"l2"`` (unit-norm rows); gradients flow through the normalisation, so a
        regulariser cannot change DSE by rescaling features.
      method: ``"exact"`` (eigensolver) or a :class:`StochasticLanczos` with the PRNG key
        and the probe and step counts of the randomized route.

    Returns:
      Scalar entropy in ``[0, log n]`` (the randomized estimate may leave it by its error).

    Raises:
      ValueError: bad shapes, ``n < 2``, non-positive ``bandwidth`` or ``t``, unknown options,
        ``adaptive_k`` with the randomized route.
      TypeError: ``method`` is neither a string nor :class:`StochasticLanczos`.

    Example:
      >>> import jax, jaxinfo
      >>> x = jax.random.normal(jax.random.key(0), (200, 5))
      >>> print(f"{jaxinfo.diffusion_spectral_entropy(x, bandwidth=2.0, base=2):.4f}")
      4.0563

    References:
      Liao, Liu et al., "Assessing Neural Network Representations During Training Using
      Noise-Resilient Diffusion Spectral Entropy", CISS 2024, arXiv:2312.04823.
    """
    bandwidth, t = _check_options(bandwidth, t, adaptive_k, preprocess)
    options = lanczos.as_method(method)
    if options is not None and adaptive_k is not None:
        raise ValueError(
            "`adaptive_k` needs each row's k-th neighbour distance, which the stochastic "
            'Lanczos route does not compute; use method="exact" or a bandwidth (number or rule).'
        )
    rows = guards.checked((x,), ("x",), where, axis_name, base)
    x, mask, weights, holds = _prepare(rows, preprocess, adaptive_k)
    t = jnp.asarray(t, x.dtype)
    if options is None:
        affinity = _affinity(x, mask, weights, bandwidth, adaptive_k)
        nats = _entropy_from_affinity(affinity, weights, t)
    else:
        nats = _randomized_entropy(x, mask, weights, bandwidth, t, options, axis_name)
    return rows.result(nats, holds)


def random_subset_masks(
    key: jax.Array, weights: jax.Array, sizes: jax.Array, num_repeats: int
) -> jax.Array:
    """Baseline masks ``[classes, repeats, n]`` of random subsets of the classes' sizes.

    For repeat ``r`` a uniformly random ordering of the valid rows, of which each class takes
    its first ``n_c``.

    Like the reference (which re-seeds per class), classes of equal size share a subset.
    """
    n = weights.shape[0]
    ranks = []
    for repeat_key in jax.random.split(key, num_repeats):
        scores = jax.random.uniform(repeat_key, (n,))
        scores = jnp.where(weights > 0, scores, 2.0)  # invalid rows never drawn
        ranks.append(jnp.argsort(jnp.argsort(scores)))
    ranks = jnp.stack(ranks)  # [repeats, n]
    return ranks[None, :, :] < jnp.round(sizes).astype(ranks.dtype)[:, None, None]


def diffusion_reference_bins(y: ArrayLike, *, num_bins: int = 10) -> jax.Array:
    """Discretises a continuous scalar reference as ``dse-dsmi`` does, for DSMI.

    Min-max scales ``y`` to ``[0, 1]`` and assigns ``num_bins`` equal-width bins, giving
    labels ``0 .. num_bins - 1`` (the reference's labels minus one). For a vector reference
    the reference spectrally clusters it; do that outside ``jit`` (e.g. scikit-learn) and
    pass the cluster labels.

    Args:
      y: ``[n]`` or ``[n, 1]`` floating array.
      num_bins: number of bins (reference default 10).

    Returns:
      Integer labels ``[n]``. A non-finite ``y`` has no binning: eagerly a ``ValueError``,
      under ``jit`` every label is ``-1`` (DSMI then gives NaN).

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> jaxinfo.diffusion_reference_bins(jnp.array([0.0, 0.5, 0.99, 1.0]), num_bins=2)
      Array([0, 1, 1, 1], dtype=int32)
    """
    num_bins = validation.check_positive_int(num_bins, "num_bins")
    y = validation.as_float_array(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"`y` must be a scalar reference of shape [n] or [n, 1]; got {tuple(y.shape)}. "
            "Cluster a vector reference first and pass its labels."
        )
    if y.shape[0] == 0:
        raise ValueError(
            "`y` must hold at least one value to bin; got an empty array. Pass the reference "
            "values of the samples."
        )
    finite = jnp.all(jnp.isfinite(y))
    concrete = validation.concrete_value(finite)
    if concrete is not None and not concrete:
        raise ValueError(
            f"`y` must be finite; got {int(jnp.sum(~jnp.isfinite(y)))} non-finite values. "
            "Drop or impute those samples first."
        )
    lo, hi = jnp.min(y), jnp.max(y)
    scaled = (y - lo) / jnp.where(hi > lo, hi - lo, 1.0)
    edges = jnp.linspace(0.0, 1.0, num_bins + 1)[:-1].astype(y.dtype)
    labels = (jnp.searchsorted(edges, scaled, side="right") - 1).astype(jnp.int32)
    return jnp.where(finite, labels, -1)


@deprecation.renamed_keywords(normalize="preprocess")
@batching.one_call_at_a_time
def diffusion_spectral_mutual_information(
    x: ArrayLike,
    labels: ArrayLike,
    *,
    num_classes: int,
    key: jax.Array | None = None,
    bandwidth: float | jax.Array | BandwidthRule = 10.0,
    t: float | jax.Array = 1,
    num_repeats: int = 5,
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    adaptive_k: int | None = None,
    preprocess: Preprocessing | None = None,
    baseline_masks: ArrayLike | None = None,
    max_class_size: int | None = None,
) -> jax.Array:
    r"""Diffusion spectral mutual information between samples and discrete labels.

    .. math::
       I_D(X; Y) = \sum_c \frac{n_c}{n}\left(\bar S_c - S_D(X_{Y=c}, t)\right),

    where ``S_D(X_{Y=c})`` is the DSE of class ``c`` and ``bar S_c`` the mean DSE of
    ``num_repeats`` random subsets of the same size ``n_c`` drawn from all valid rows (the
    reference's baseline, which removes DSE's dependence on ``n``). Shapes are static under
    ``jit``: classes and subsets are masks over the full kernel, compacted to a static
    ``[m, m]`` block before the eigensolver. Cost: ``num_classes * (1 + num_repeats)``
    eigendecompositions of ``[m, m]``, one at a time, where ``m`` is ``max_class_size`` if
    given, else the largest class when the labels are concrete (eager calls, or labels closed
    over as constants); with traced labels each mask takes the smallest rung of a ``sqrt(2)``
    ladder of sizes that holds it (one compiled branch per rung: longer compilation, run time
    close to the eager call's).
    Estimates can be slightly negative and are not symmetric.

    Empty classes (``num_classes`` larger than the labels present) contribute 0. A class with
    exactly one member, or a label outside ``[0, num_classes)``, raises ``ValueError`` when
    the labels are concrete and gives NaN under ``jit``. For a continuous scalar reference
    use :func:`diffusion_reference_bins`; cluster vector references outside ``jit``.

    Args:
      x: samples ``[n, d]``.
      labels: integer labels ``[n]`` in ``[0, num_classes)``.
      num_classes: static number of classes.
      key: PRNG key for the random baseline subsets, e.g. ``jax.random.key(0)`` (an integer
        seed is refused); required unless ``baseline_masks``.
      bandwidth: as in
        :func:`diffusion_spectral_entropy`.
      t: as in
        :func:`diffusion_spectral_entropy`.
      base: as in
        :func:`diffusion_spectral_entropy`.
      where: as in
        :func:`diffusion_spectral_entropy`.
      axis_name: as in
        :func:`diffusion_spectral_entropy`.
      adaptive_k: as in
        :func:`diffusion_spectral_entropy`.
      preprocess: as in
        :func:`diffusion_spectral_entropy`.
      num_repeats: random subsets per class (reference default 5).
      baseline_masks: optional boolean ``[num_classes, num_repeats, n]`` giving the baseline
        subsets explicitly (e.g. the reference's own indices); overrides ``key``.
      max_class_size: static bound on the class sizes (e.g. ``2 * n // num_classes`` for
        balanced batches) that makes each eigenproblem ``[m, m]`` instead of ``[n, n]``
        under ``jit``. A class larger than the bound raises ``ValueError`` for concrete
        labels and gives NaN under ``jit``.

    Returns:
      Scalar DSMI.

    Example:
      >>> import jax, jax.numpy as jnp, jaxinfo
      >>> labels = jnp.repeat(jnp.arange(3), 40)
      >>> centres = 6.0 * jax.nn.one_hot(labels, 4)
      >>> x = centres + jax.random.normal(jax.random.key(0), (120, 4))
      >>> mi = jaxinfo.diffusion_spectral_mutual_information(
      ...     x, labels, num_classes=3, key=jax.random.key(1), bandwidth=2.0, base=2)
      >>> print(f"{mi:.3f}")
      1.093
    """
    if max_class_size is None and axis_name is None:
        max_class_size = _concrete_largest_class(labels, where, num_classes)
    return _spectral_mutual_information(
        x,
        labels,
        num_classes=num_classes,
        key=key,
        bandwidth=bandwidth,
        t=t,
        num_repeats=num_repeats,
        base=base,
        where=where,
        axis_name=axis_name,
        adaptive_k=adaptive_k,
        preprocess=preprocess,
        baseline_masks=baseline_masks,
        max_class_size=max_class_size,
    )


def _concrete_largest_class(labels, where, num_classes) -> int | None:
    """The largest class of concrete labels (NumPy), ``None`` when traced or degenerate.

    Passed on as the static ``max_class_size``, it lets an eager call run as one compiled
    program (:mod:`programs`) with each class solved at its concrete size, as before.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        return None
    values = validation.concrete_value(labels) if not isinstance(labels, Tracer) else None
    valid = None if where is None or isinstance(where, Tracer) else validation.concrete_value(where)
    if values is None or values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        return None
    if where is not None and (valid is None or valid.shape != values.shape):
        return None
    kept = values if valid is None else values[valid.astype(bool)]
    kept = kept[(kept >= 0) & (kept < num_classes)]
    largest = int(np.bincount(kept, minlength=1).max()) if kept.size else 0
    return largest if largest >= 2 else None


@programs.one_program
def _spectral_mutual_information(
    x,
    labels,
    *,
    num_classes,
    key,
    bandwidth,
    t,
    num_repeats,
    base,
    where,
    axis_name,
    adaptive_k,
    preprocess,
    baseline_masks,
    max_class_size,
) -> jax.Array:
    """:func:`diffusion_spectral_mutual_information` once ``max_class_size`` is settled."""
    bandwidth, t = _check_options(bandwidth, t, adaptive_k, preprocess)
    num_classes = validation.check_positive_int(num_classes, "num_classes")
    num_repeats = validation.check_positive_int(num_repeats, "num_repeats")
    if key is not None:
        key = validation.as_prng_key(key)
    rows = guards.checked((x,), ("x",), where, axis_name, base)
    labels = validation.as_array(labels, "labels")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(
            f"`labels` must be integers in [0, num_classes); got dtype {labels.dtype}. "
            "Bin a continuous reference with jaxinfo.diffusion_reference_bins."
        )
    if labels.ndim != 1 or labels.shape[0] != jnp.shape(x)[0]:
        raise ValueError(
            f"`labels` must have shape [n] = ({jnp.shape(x)[0]},); got {tuple(labels.shape)}."
        )
    x, mask, weights, holds = _prepare(rows, preprocess, adaptive_k)
    labels = collectives.gather_rows(labels, axis_name)
    one_hot = jax.nn.one_hot(labels, num_classes, dtype=x.dtype) * weights[:, None]
    sizes = jnp.sum(one_hot, axis=0)
    in_range = jnp.all((labels >= 0) & (labels < num_classes) | (weights == 0))
    _check_concrete_labels(labels, weights, sizes, num_classes, in_range)

    if baseline_masks is None:
        if key is None:
            raise ValueError(
                "`key` is required for the random baseline subsets (or pass baseline_masks)."
            )
        baseline = random_subset_masks(key, weights, sizes, num_repeats)
    else:
        baseline = validation.as_array(baseline_masks, "baseline_masks")
        expected = (num_classes, baseline.shape[1] if baseline.ndim == 3 else -1, x.shape[0])
        if baseline.dtype != jnp.bool_ or baseline.ndim != 3 or baseline.shape != expected:
            raise ValueError(
                f"`baseline_masks` must be boolean [num_classes, num_repeats, n] = "
                f"[{num_classes}, R, {x.shape[0]}]; got {baseline.dtype}{tuple(baseline.shape)}."
            )
    num_baseline = baseline.shape[1]
    affinity = _affinity(x, mask, weights, bandwidth, adaptive_k)
    time = jnp.asarray(t, x.dtype)
    all_masks = jnp.concatenate([one_hot.T[:, None, :], baseline.astype(x.dtype)], axis=1)
    block_sizes = _block_sizes(max_class_size, sizes, x.shape[0])
    entropies = _masked_entropies(
        affinity, all_masks.reshape(-1, x.shape[0]), time, sizes=block_sizes
    )
    entropies = entropies.reshape(num_classes, 1 + num_baseline)
    gaps = jnp.mean(entropies[:, 1:], axis=1) - entropies[:, 0]
    value = jnp.sum(sizes * gaps) / jnp.sum(weights)
    valid = holds & in_range & jnp.all(sizes != 1) & (jnp.max(sizes) <= block_sizes[-1])
    return rows.result(value, valid)


def _block_sizes(max_class_size, sizes, num_samples: int) -> tuple[int, ...]:
    """Static eigenproblem sizes for DSMI's class and subset masks.

    ``(max_class_size,)`` when given; ``(largest class,)`` when the labels are concrete;
    otherwise (traced labels) the :func:`size_ladder` up to ``n``, so each mask is solved
    at most ``sqrt(2)`` times its own size instead of at ``n``.
    """
    largest = validation.concrete_value(jnp.max(sizes))
    if max_class_size is not None:
        bound = validation.check_positive_int(max_class_size, "max_class_size", minimum=2)
        if largest is not None and int(largest) > bound:
            raise ValueError(
                f"`max_class_size` ({bound}) is smaller than the largest class ({int(largest)}); "
                "raise it or leave it as None."
            )
        return (min(bound, num_samples),)
    if largest is None:
        return size_ladder(num_samples)
    return (max(int(largest), 2),)


def _check_concrete_labels(labels, weights, sizes, num_classes, in_range):
    """Raises for bad labels when they are concrete (outside ``jit``)."""
    in_range, sizes = validation.concrete_value(in_range), validation.concrete_value(sizes)
    if in_range is None or sizes is None:
        return
    if not in_range:
        raise ValueError(
            f"`labels` must lie in [0, num_classes) = [0, {num_classes}); got values outside. "
            "Remap the labels or raise num_classes."
        )
    singles = [c for c in range(num_classes) if sizes[c] == 1]
    if singles:
        raise ValueError(
            f"every class needs at least 2 members (a single point has DSE 0 and no baseline); "
            f"classes {singles} have 1. Merge or drop those samples."
        )
