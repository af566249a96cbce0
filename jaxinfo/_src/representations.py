"""Layer-wise representation measures of token sequences (prompt and dataset entropy, curvature).

Skean et al. score every layer of a language model by how its token representations spread
(the matrix-based α-entropy of their Gram matrix, per input and across a data set) and how
the token trajectory bends (the mean angle between consecutive steps). The entropies go
through :func:`jaxinfo.matrix_renyi_entropy_from_gram`; definitions, sources and the
departures of the released code are in docs/representations.md.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinfo._src import guards, numerics, programs, validation
from jaxinfo._src.kernels import Linear
from jaxinfo._src.matrix import matrix_renyi_entropy_from_gram
from jaxinfo._src.options import TOKEN_POOLINGS, TokenPooling

_DATASET_SHAPE = "[n, tokens, d] or [n, d]"


def _sequences(
    z, name: str, min_tokens: int, *, shape: str = "[..., tokens, d]", ndims=None
) -> jax.Array:
    """``z`` as a float array ``[..., m, d]`` with ``m >= min_tokens`` (``shape`` says how)."""
    arr = validation.as_array(z, name)
    if arr.ndim < 2 or (ndims is not None and arr.ndim not in ndims):
        raise ValueError(f"`{name}` must have shape {shape}; got shape {tuple(arr.shape)}.")
    arr = validation.as_float_array(arr, name)
    if arr.shape[-2] < min_tokens:
        raise ValueError(
            f"`{name}` needs at least {min_tokens} entries along axis -2; got shape "
            f"{tuple(arr.shape)}."
        )
    if arr.shape[-1] < 1:
        raise ValueError(f"`{name}` must have at least one feature; got shape {tuple(arr.shape)}.")
    return arr


def _entry_mask(
    where, shape: tuple[int, ...], minimum: int, name: str, marks: str, what: str
) -> jax.Array | None:
    """Boolean mask of ``shape``; a concrete one leaving fewer than ``minimum`` entries raises."""
    if where is None:
        return None
    mask = validation.as_boolean(where, "where", marks)
    if mask.shape != shape:
        raise ValueError(
            f"`where` must have shape {shape} (the shape of `{name}` without its feature "
            f"axis); got shape {tuple(mask.shape)}."
        )
    values = validation.concrete_value(mask)
    if values is not None and values.size:
        fewest = int(values.sum(axis=-1).min())
        if fewest < minimum:
            raise ValueError(
                f"`{name}` needs at least {minimum} {what}; got {fewest} valid under `where`. "
                "Mark more entries valid in `where`."
            )
    return mask


def _zero_masked(z: jax.Array, mask: jax.Array | None) -> jax.Array:
    """Masked entries become zeros before anything is computed (padding never leaks)."""
    return z if mask is None else jnp.where(mask[..., None], z, jnp.zeros((), z.dtype))


def _holds(z: jax.Array, mask: jax.Array | None, minimum: int) -> jax.Array:
    """Per sequence: every valid entry finite and at least ``minimum`` of them."""
    count = z.shape[-2] if mask is None else jnp.sum(mask, axis=-1)
    return jnp.all(jnp.isfinite(z), axis=(-2, -1)) & (count >= minimum)


def _gram_entropy(gram: jax.Array, alpha: float, base, holds: jax.Array) -> jax.Array:
    """α-entropy of PSD Grams ``[..., m, m]``; NaN where ``holds`` is false or the trace is 0."""
    holds = holds & (jnp.trace(gram, axis1=-2, axis2=-1) > 0)
    # Grams without an answer get a harmless identity (no eager PSD error, no NaN gradient
    # from their branch) and NaN as their value.
    safe = jnp.where(holds[..., None, None], gram, jnp.eye(gram.shape[-1], dtype=gram.dtype))
    return guards.answer(holds, matrix_renyi_entropy_from_gram(safe, alpha=alpha, base=base))


def _linear_gram(rows: jax.Array) -> jax.Array:
    """The library's one linear-kernel Gram (:class:`kernels.Linear`) over leading axes."""
    return jnp.vectorize(Linear().gram, signature="(m,d)->(m,m)")(rows)


def _linear_gram_entropy(rows: jax.Array, alpha: float, base, holds: jax.Array) -> jax.Array:
    """α-entropy of ``rows rows^T / tr`` for rows ``[..., m, d]`` (one value per leading index).

    ``rows^T rows`` is used when ``d < m``: the same non-zero spectrum at ``[d, d]`` cost.
    Zero rows (masked entries) add zero eigenvalues only, so masking equals slicing.
    """
    m, d = rows.shape[-2:]
    return _gram_entropy(
        _linear_gram(rows if m <= d else jnp.swapaxes(rows, -1, -2)), alpha, base, holds
    )


def prompt_entropy(
    z: ArrayLike, *, alpha: float = 1.0, where: ArrayLike | None = None, base: float | None = None
) -> jax.Array:
    r"""Prompt entropy: matrix-based α-entropy of one input's token representations.

    How widely one input's tokens spread in a layer: ``log(tokens)`` when they are
    orthogonal with equal norms, 0 when they all point one way (Skean et al. 2025, Sec. 3).

    .. math::
       S_\alpha(Z) = \frac{1}{1-\alpha}\log\sum_i \left(\frac{\lambda_i(Z Z^\top)}
       {\operatorname{tr} Z Z^\top}\right)^\alpha

    ``Z`` is used as given (the released code first centres the tokens and L2-normalises each:
    docs/representations.md). Leading axes are batch axes: ``[batch, tokens, d]`` gives one
    value per input (average them yourself); ``jax.vmap`` maps over a layer axis.

    Args:
      z: token representations ``[..., tokens, d]``, ``tokens >= 2``.
      alpha: order ``> 0`` (static; ``1`` is the von Neumann entropy, the reference's choice).
      where: boolean ``[..., tokens]`` marking valid tokens (padding); masking equals slicing.
      base: logarithm base of the result (``2`` for bits); default nats.

    Returns:
      ``z.shape[:-2]`` entropies, ``0 <= S <= log(min(tokens, d))``. NaN for a sequence with a
      non-finite valid token, fewer than 2 valid tokens (under ``jit``) or all-zero tokens.

    Raises:
      ValueError: ``z`` is not ``[..., tokens, d]`` with ``tokens >= 2``, ``alpha <= 0``, or a
        concrete ``where`` leaves a sequence fewer than 2 tokens.
      TypeError: ``z`` is not floating point or ``where`` is not boolean.

    Example:
      >>> import jax, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (2, 16, 8))  # [batch, tokens, d]
      >>> h = jaxinfo.prompt_entropy(z)
      >>> print(f"{h[0]:.4f}")
      1.8532

    References:
      Skean, Arefin, Zhao, Patel, Naghiyev, LeCun & Shwartz-Ziv, "Layer by Layer: Uncovering
      Hidden Representations in Language Models", ICML 2025 (arXiv:2502.02013).
    """
    alpha = validation.check_alpha(alpha)
    validation.log_base_divisor(base)
    z = _sequences(z, "z", 2)
    mask = _entry_mask(where, z.shape[:-1], 2, "z", "valid tokens", "valid tokens per sequence")
    z = _zero_masked(z, mask)
    return _linear_gram_entropy(z, alpha, base, _holds(z, mask, 2))


def _pool(z: jax.Array, mask: jax.Array | None, pooling: TokenPooling) -> jax.Array:
    """One row per input ``[n, d]`` from ``[n, tokens, d]`` (masked tokens already zero)."""
    if pooling == "mean":
        if mask is None:
            return jnp.mean(z, axis=-2)
        count = jnp.sum(mask, axis=-1, keepdims=True).astype(z.dtype)
        return jnp.sum(z, axis=-2) / jnp.maximum(count, 1)
    if mask is None:
        return z[:, -1]
    last = z.shape[1] - 1 - jnp.argmax(mask[:, ::-1], axis=-1)
    return jnp.take_along_axis(z, last[:, None, None], axis=1)[:, 0]


def dataset_entropy(
    z: ArrayLike,
    *,
    alpha: float = 1.0,
    pooling: TokenPooling | None = "mean",
    where: ArrayLike | None = None,
    base: float | None = None,
) -> jax.Array:
    r"""Dataset entropy: matrix-based α-entropy of one pooled representation per input.

    How widely a layer spreads different inputs, where :func:`prompt_entropy` looks within
    one input (Skean et al. 2025, Sec. 3). Each input's tokens are pooled into one row
    ``\bar z_i`` and the entropy is that of :func:`prompt_entropy` on the rows:
    ``S_alpha`` of the eigenvalues of ``\bar Z \bar Z^T / tr``.

    Args:
      z: ``[n, tokens, d]`` token representations of ``n`` inputs, or ``[n, d]`` rows that
        are already pooled (then pass ``pooling=None``).
      alpha: order ``> 0`` (static; ``1``, the reference's choice, is the von Neumann entropy).
      pooling: ``"mean"`` (the mean of the valid tokens, the paper's choice) or ``"last"``
        (the last valid token, a causal model's summary); ``None`` for ``[n, d]`` input.
      where: boolean ``z.shape[:-1]``: valid tokens ``[n, tokens]`` (an input without any is
        left out), or valid rows ``[n]`` of pooled input. Masking equals slicing.
      base: logarithm base of the result (``2`` for bits); default nats.

    Returns:
      Scalar entropy, ``0 <= S <= log(min(n, d))``; NaN when a valid token is not finite or,
      under ``jit``, fewer than 2 inputs are valid.

    Raises:
      ValueError: a bad shape, ``n < 2``, ``alpha <= 0``, a ``pooling`` that does not fit the
        rank of ``z``, or a concrete ``where`` that leaves fewer than 2 inputs.
      TypeError: ``z`` is not floating point or ``where`` is not boolean.

    Example:
      >>> import jax, jaxinfo
      >>> z = jax.random.normal(jax.random.key(0), (32, 16, 8))  # [n, tokens, d]
      >>> print(f"{jaxinfo.dataset_entropy(z):.4f}")
      1.9474
    """
    alpha = validation.check_alpha(alpha)
    validation.log_base_divisor(base)
    validation.check_choice(pooling, "pooling", (*TOKEN_POOLINGS, None))
    arr = validation.as_array(z, "z")
    if arr.ndim == 3 and pooling is None:
        raise ValueError(
            f"`z` of shape {tuple(arr.shape)} holds tokens: pass `pooling` "
            f"{TOKEN_POOLINGS}, or pool them yourself and pass [n, d] rows."
        )
    if arr.ndim == 2 and pooling is not None:
        raise ValueError(
            f"`z` of shape {tuple(arr.shape)} is already one row per input: pass "
            "`pooling=None` (or [n, tokens, d] token representations to pool)."
        )
    if arr.ndim == 2:
        rows = _sequences(arr, "z", 2, shape=_DATASET_SHAPE, ndims=(2, 3))
        mask = _entry_mask(where, rows.shape[:-1], 2, "z", "valid rows", "valid inputs (rows)")
        rows = _zero_masked(rows, mask)
        return _linear_gram_entropy(rows, alpha, base, _holds(rows, mask, 2))
    tokens = _sequences(arr, "z", 1, shape=_DATASET_SHAPE, ndims=(2, 3))
    if tokens.shape[0] < 2:
        raise ValueError(f"`z` needs at least 2 inputs (rows); got shape {tuple(tokens.shape)}.")
    mask = _entry_mask(where, tokens.shape[:-1], 0, "z", "valid tokens", "valid tokens")
    tokens = _zero_masked(tokens, mask)
    assert pooling is not None
    rows = _pool(tokens, mask, pooling)
    valid = None if mask is None else jnp.any(mask, axis=-1)
    if valid is not None:
        _entry_mask(valid, valid.shape, 2, "z", "valid rows", "inputs with a valid token")
    finite = jnp.all(jnp.isfinite(tokens))
    holds = _holds(rows, valid, 2) & finite
    return _linear_gram_entropy(rows, alpha, base, holds)


def _norm(v: jax.Array) -> jax.Array:
    """Euclidean norm over the last axis with a finite (zero) gradient at 0."""
    return numerics.safe_sqrt(jnp.sum(v * v, axis=-1))


@programs.one_program
def token_curvature(z: ArrayLike, *, where: ArrayLike | None = None) -> jax.Array:
    r"""Curvature: the mean angle between consecutive steps of the token trajectory.

    A layer whose consecutive tokens move on in a straight line scores 0; one that turns
    back at every token scores π (Hénaff et al. 2019's straightening, used per layer by
    Skean et al. 2025, Sec. 3). With steps ``v_k = z_{k+1} - z_k``:

    .. math::
       \bar C = \frac{1}{T-2}\sum_{k=1}^{T-2}
       \arccos\frac{v_k^\top v_{k+1}}{\lVert v_k\rVert\,\lVert v_{k+1}\rVert}

    Each angle is computed as ``2 atan2(|a - b|, |a + b|)`` of the unit steps (exact near 0
    and π, where ``arccos`` has an infinite derivative). A step of length 0 (a repeated
    token) has no direction: its turns count as angle 0, as in the released code, with a
    finite gradient.

    Args:
      z: token representations ``[..., tokens, d]``, ``tokens >= 3``.
      where: boolean ``[..., tokens]`` marking valid tokens; the valid tokens of each
        sequence form its trajectory in their order (masking equals slicing).

    Returns:
      ``z.shape[:-2]`` mean angles in radians, in ``[0, pi]``. NaN for a sequence with a
      non-finite valid token or, under ``jit``, fewer than 3 valid tokens.

    Raises:
      ValueError: ``z`` is not ``[..., tokens, d]`` with ``tokens >= 3``, or a concrete
        ``where`` leaves a sequence fewer than 3 tokens.
      TypeError: ``z`` is not floating point or ``where`` is not boolean.

    Example:
      >>> import jax.numpy as jnp, jaxinfo
      >>> t = jnp.arange(8.0) * 2 * jnp.pi / 8  # 8 points on a circle: turns of 2 pi / 8
      >>> z = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=-1)
      >>> print(f"{jaxinfo.token_curvature(z):.4f}")
      0.7854

    References:
      Hénaff, Goris & Simoncelli, "Perceptual straightening of natural videos", Nature
      Neuroscience 22, 2019; Skean et al., ICML 2025 (arXiv:2502.02013).
    """
    z = _sequences(z, "z", 3)
    mask = _entry_mask(where, z.shape[:-1], 3, "z", "valid tokens", "valid tokens per sequence")
    z = _zero_masked(z, mask)
    holds = _holds(z, mask, 3)
    count = jnp.asarray(z.shape[-2])
    if mask is not None:
        order = jnp.argsort(~mask, axis=-1, stable=True)  # valid tokens first, in order
        z = jnp.take_along_axis(z, order[..., None], axis=-2)
        count = jnp.sum(mask, axis=-1)
    steps = z[..., 1:, :] - z[..., :-1, :]
    lengths = _norm(steps)
    moving = lengths > 0
    unit = steps / jnp.where(moving, lengths, 1.0)[..., None]
    before, after = unit[..., :-1, :], unit[..., 1:, :]
    turns = moving[..., :-1] & moving[..., 1:]
    # Outside a turn both steps may be zero: atan2(0, 0) has no gradient, so it gets (0, 1).
    apart = jnp.where(turns, _norm(before - after), 0.0)
    together = jnp.where(turns, _norm(before + after), 1.0)
    angles = 2.0 * jnp.arctan2(apart, together)
    turns = turns & (jnp.arange(angles.shape[-1]) < (count - 2)[..., None])
    total = jnp.sum(jnp.where(turns, angles, 0.0), axis=-1)
    mean = total / jnp.maximum(jnp.asarray(count, total.dtype) - 2, 1)
    return guards.answer(holds, mean)


def lidar(
    z: ArrayLike, *, alpha: float = 1.0, delta: float = 1e-4, base: float | None = None
) -> jax.Array:
    r"""LiDAR: the α-entropy of the LDA matrix of inputs seen under several augmentations.

    How many directions separate the inputs (the classes) relative to how much each input
    moves under augmentation (Thilak et al. 2024), as Skean et al. score invariance per layer.
    With class means ``mu_i``, their mean ``mu`` and ``V`` views per input:

    .. math::
       \Sigma_b = \frac1n\sum_i (\mu_i - \mu)(\mu_i - \mu)^\top, \quad
       \Sigma_w = \frac{1}{nV}\sum_{i,j} (z_{ij} - \mu_i)(z_{ij} - \mu_i)^\top + \delta I,

    and the value is :math:`S_\alpha` of :math:`\Sigma_w^{-1/2}\Sigma_b\Sigma_w^{-1/2}`
    (trace-normalised). Its spectrum is computed through the Cholesky factor of
    :math:`\Sigma_w` (the same eigenvalues, finite gradients at repeated eigenvalues).
    ``exp`` of the ``alpha = 1`` value is the effective rank that Thilak et al. call LiDAR;
    Skean et al.'s code reports the entropy, returned here.

    Args:
      z: representations ``[n, views, d]`` of ``n >= 2`` inputs under ``views >= 2``
        augmentations (for a layer, e.g. mean-pooled over tokens).
      alpha: order ``> 0`` (static; ``1``, the reference's choice, is the von Neumann entropy).
      delta: ridge ``> 0`` added to the within-class scatter (the reference's ``1e-4``).
      base: logarithm base of the result (``2`` for bits); default nats.

    Returns:
      Scalar entropy in ``[0, log min(n, d)]``; NaN for non-finite input.

    Raises:
      ValueError: ``z`` is not ``[n, views, d]`` with ``n, views >= 2``, ``alpha <= 0``, or
        ``delta <= 0``.
      TypeError: ``z`` is not floating point.

    Example:
      >>> import jax, jaxinfo
      >>> keys = jax.random.split(jax.random.key(0))
      >>> inputs = jax.random.normal(keys[0], (32, 1, 8))
      >>> views = inputs + 0.1 * jax.random.normal(keys[1], (32, 2, 8))
      >>> print(f"{jaxinfo.lidar(views):.4f}")
      1.8424

    References:
      Thilak, Huang, Saremi, Dinh, Goh, Nakkiran, Susskind & Littwin, "LiDAR: Sensing linear
      probing performance in joint embedding SSL architectures", ICLR 2024; Skean et al.,
      ICML 2025 (arXiv:2502.02013).
    """
    alpha = validation.check_alpha(alpha)
    validation.log_base_divisor(base)
    ridge = validation.check_number(delta, "delta", low=0.0, low_open=True)
    z = _sequences(z, "z", 2, shape="[n, views, d]", ndims=(3,))
    if z.shape[0] < 2:
        raise ValueError(f"`z` needs at least 2 inputs (rows); got shape {tuple(z.shape)}.")
    d = z.shape[-1]
    means = jnp.mean(z, axis=1)
    spread = (z - means[:, None]).reshape(-1, d)
    within = jnp.matmul(spread.T, spread, precision=numerics.HIGHEST) / spread.shape[0]
    factor = jnp.linalg.cholesky(within + ridge * jnp.eye(d, dtype=z.dtype))
    between = means - jnp.mean(means, axis=0)
    # Rows C = B L^-T: C^T C = L^-1 B^T B L^-T, similar to Sigma_w^-1/2 Sigma_b Sigma_w^-1/2.
    whitened = jax.scipy.linalg.solve_triangular(factor, between.T, lower=True).T
    return _linear_gram_entropy(whitened, alpha, base, jnp.all(jnp.isfinite(whitened)))


def dime(
    view_a: ArrayLike,
    view_b: ArrayLike,
    *,
    key: jax.Array,
    alpha: float = 1.0,
    num_permutations: int = 10,
    base: float | None = None,
) -> jax.Array:
    r"""DiME: how much the pairing of two views lowers their joint matrix entropy.

    Two views of the same inputs that agree share structure, so their joint Gram (the
    Hadamard product of the two Grams) has a lower entropy than with the pairing shuffled
    (Skean et al. 2023); Skean et al. 2025 score augmentation invariance per layer with it.
    With linear Grams ``K_a = A A^T``, ``K_b = B B^T`` and random permutations ``P``:

    .. math::
       \mathrm{DiME} = \mathbb E_P\, S_\alpha(K_a \circ P K_b P^\top) - S_\alpha(K_a \circ K_b)

    The expectation is the mean over ``num_permutations`` permutations; permutation ``p``
    is ``jax.random.permutation(jax.random.fold_in(key, p), n)``.

    Args:
      view_a: representations ``[n, d_a]`` of ``n`` inputs under one augmentation.
      view_b: representations ``[n, d_b]`` of the same inputs, in the same order, under another.
      key: JAX PRNG key of the permutations.
      alpha: order ``> 0`` (static; ``1``, the reference's choice, is the von Neumann entropy).
      num_permutations: shuffled pairings averaged (the reference's 10).
      base: logarithm base of the result (``2`` for bits); default nats.

    Returns:
      Scalar; 0 for views unrelated beyond chance, larger for views that pair up. NaN for
      non-finite input.

    Raises:
      ValueError: views that are not ``[n, d]`` with the same ``n >= 2``, or ``alpha <= 0``.
      TypeError: a view that is not floating point, or ``key`` that is not a PRNG key.

    Example:
      >>> import jax, jaxinfo
      >>> keys = jax.random.split(jax.random.key(0), 3)
      >>> a = jax.random.normal(keys[0], (32, 8))
      >>> b = a + 0.1 * jax.random.normal(keys[1], (32, 8))
      >>> print(f"{jaxinfo.dime(a, b, key=keys[2]):.4f}")
      0.4290

    References:
      Skean, Osorio, Brockmeier & Sanchez Giraldo, "DiME: Maximizing mutual information by a
      difference of matrix-based entropies", arXiv:2301.08164, 2023.
    """
    alpha = validation.check_alpha(alpha)
    validation.log_base_divisor(base)
    key = validation.as_prng_key(key, "key")
    count = validation.check_positive_int(num_permutations, "num_permutations")
    a = validation.as_samples(view_a, "view_a")
    b = validation.as_samples(view_b, "view_b")
    n = validation.check_same_num_samples((a, b), ("view_a", "view_b"))
    gram_a, gram_b = _linear_gram(a), _linear_gram(b)
    orders = jax.vmap(lambda p: jax.random.permutation(jax.random.fold_in(key, p), n))(
        jnp.arange(count)
    )
    shuffled = jax.vmap(lambda order: gram_b[order][:, order])(orders)
    joint = gram_a * jnp.concatenate([gram_b[None], shuffled.astype(gram_b.dtype)])
    holds = jnp.all(jnp.isfinite(a)) & jnp.all(jnp.isfinite(b))
    entropies = _gram_entropy(joint, alpha, base, jnp.broadcast_to(holds, joint.shape[:1]))
    return jnp.mean(entropies[1:]) - entropies[0]
