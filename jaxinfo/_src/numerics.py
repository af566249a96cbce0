"""Numerically safe primitives and every custom derivative rule in jaxinfo.

Entropies evaluate ``log`` and powers at values that are exactly zero (masked rows, empty
bins) or slightly negative (round-off in eigenvalues of rank-deficient matrices). Plain
``jnp.log`` / ``**`` give NaN values or NaN gradients there; the helpers below give the
limit value and a finite gradient instead. A NaN input stays NaN: the "zero" branch is
``0 * x``, not ``0``, because ``x > 0`` is false for NaN too.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

HIGHEST = jax.lax.Precision.HIGHEST

# Round-off floor in units of eps times the matrix scale: covariances get
# ROUNDOFF_FLOOR * eps * trace added so Cholesky never meets a singular matrix, and
# self-informations below it count as zero.
ROUNDOFF_FLOOR = 32.0
# Eigenvalues of a unit-trace PSD matrix at or below SPECTRUM_FLOOR * eps * lambda_max count
# as exact zeros. Symmetric eigensolvers resolve smaller eigenvalues to ~0.3 eps lambda_max
# (float32, n = 4096), and genuine ones sit down there: a floor of 32 eps dropped 1347
# eigenvalues holding 8.7e-4 of the mass, a -0.0095 nats bias in float32.
SPECTRUM_FLOOR = 1.0
# Round-off scatters the zero eigenvalues of a rank-deficient matrix symmetrically around 0
# (measured: largest positive / largest negative 0.7 to 1.2 at n = 2048). A negative
# eigenvalue of a PSD matrix is pure round-off, so twice its size bounds the positive noise.
NEGATIVE_NOISE_MULTIPLE = 2.0


def mask_fill(dtype) -> jax.Array:
    """The stand-in for ``log 0`` in masked log-sums: a large finite negative number.

    ``-inf`` would make an all-masked sum ``-inf`` and its gradient NaN; a quarter of the
    most negative float survives the additions of a few such terms without overflowing,
    and vanishes when combined with any real term.
    """
    return jnp.asarray(jnp.finfo(dtype).min / 4, dtype)


def logsumexp(logits: jax.Array, axis: int | None = None) -> jax.Array:
    """``log sum exp(logits)`` over ``axis``, robust to logits that XLA computes twice.

    XLA recomputes a fused producer in each consumer (the max pass, the exp-and-sum pass)
    and the copies may round differently (FMA contraction). That is harmless while
    ``|logits| * eps << 1``, but a bandwidth of 1e-15 gives ``log k ~ -1e30``: the copies
    differ by ~1e23 and ``jax.nn.logsumexp`` returns -inf or +inf. Here the shifted logits
    are clamped at 0, and where the exp-sum came out below 1 (rounding lost the maximum's
    own term, which is exactly 1) the value is the maximum itself: the maximum to relative
    ``eps`` whatever the rounding, ``jax.nn.logsumexp`` otherwise. The derivative is the
    softmax, as there (the maximum held constant, no cancellation, so a cotangent near the
    float range stays finite); where the term was lost it is zero. Cost: within noise of
    ``jax.nn.logsumexp`` (an un-held maximum, whose one-hot derivative would fill that case,
    cost 10 % more on a ``[2048, 2048]`` value and gradient).
    """
    top = jnp.max(logits, axis=axis, keepdims=True)
    finite = jnp.isfinite(top)
    shift = jax.lax.stop_gradient(jnp.where(finite, top, jnp.zeros((), logits.dtype)))
    shifted = logits - shift
    terms = jnp.exp(jnp.where(shifted > 0, jnp.zeros((), logits.dtype), shifted))
    total = jnp.sum(terms, axis=axis, keepdims=True)
    # XLA's CPU max skips NaN (an all-NaN row has max -inf): a NaN sum must stay NaN
    summed = (finite & ~(total < 1)) | jnp.isnan(total)
    safe_total = jnp.where(summed, total, jnp.ones((), total.dtype))
    fallback = jax.lax.stop_gradient(top)  # a lost term, +-inf
    value = jnp.where(summed, shift + jnp.log(safe_total), fallback)
    return jnp.squeeze(value, tuple(range(logits.ndim)) if axis is None else axis)


def masked_logsumexp(logits: jax.Array, mask: jax.Array, axis=None) -> jax.Array:
    """``log sum exp(logits)`` over entries where ``mask`` is true (finite when all masked)."""
    return logsumexp(jnp.where(mask, logits, mask_fill(logits.dtype)), axis)


def safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(max(x, 0))`` with gradient 0 (not inf/NaN) at ``x <= 0``.

    Used for Euclidean norms of differences, where duplicated points give exactly 0.
    """
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0 * x)


def xlogx(p: jax.Array) -> jax.Array:
    """``p log p`` with the limit 0 at ``p <= 0`` and a zero gradient there.

    The double ``where`` keeps the unused ``log`` branch away from 0, so its backward pass
    never produces ``0 * inf``.
    """
    positive = p > 0
    return jnp.where(positive, p * jnp.log(jnp.where(positive, p, 1.0)), 0.0 * p)


def safe_power(x: jax.Array, exponent) -> jax.Array:
    """``x ** exponent`` for ``x >= 0`` with value 0 and zero gradient at ``x <= 0``.

    ``exponent`` may be traced. Plain ``x ** t`` has an infinite derivative at 0 for
    ``t < 1`` and NaN gradients with respect to ``t`` there (``log 0``).
    """
    positive = x > 0
    return jnp.where(positive, jnp.exp(exponent * jnp.log(jnp.where(positive, x, 1.0))), 0.0 * x)


def renyi_entropy_of_probabilities(p: jax.Array, alpha: float, axis: int = -1) -> jax.Array:
    """Rényi entropy (nats) of probability vectors ``p`` that sum to 1 along ``axis``.

    ``alpha`` is a static Python float. Entries ``<= 0`` count as zero probability. For
    ``alpha`` near 1 the textbook ``log(sum p**alpha) / (1 - alpha)`` cancels catastrophically
    (relative error ~ eps / |1 - alpha|); instead we use, with ``sum p = 1``,

        sum p**alpha = 1 + sum p * expm1((alpha - 1) * log p),

    so ``log1p``/``expm1`` keep full precision and the value tends smoothly to the Shannon
    entropy as ``alpha -> 1``. Orders above 2 sum in the log domain (no underflow of
    ``p**alpha``, so ``alpha = 1e6`` is close to the min-entropy).
    """
    if alpha == 1.0:
        return -jnp.sum(xlogx(p), axis=axis)
    if math.isinf(alpha):
        return -jnp.log(jnp.max(p, axis=axis))
    positive = p > 0
    log_p = jnp.log(jnp.where(positive, p, 1.0))
    if alpha > 2.0:
        # sum p**alpha underflows for large orders (alpha = 1e6 gave inf); in the log domain
        # the value tends to the min-entropy as it should.
        log_sum = masked_logsumexp(alpha * log_p, positive, axis=axis)
        nan = jnp.any(jnp.isnan(p), axis=axis)
        return jnp.where(nan, jnp.nan, log_sum / (1.0 - alpha))
    excess = jnp.where(positive, p * jnp.expm1((alpha - 1.0) * log_p), 0.0 * p)
    return jnp.log1p(jnp.sum(excess, axis=axis)) / (1.0 - alpha)


# Matrices larger than this (bytes) take LAPACK's two-stage values-only reduction (dense ->
# band -> tridiagonal, ``?syevd_2stage``) where the host LAPACK exports it: the one-stage
# ``?sytrd`` streams the whole matrix through ``?symv`` once per column, which is cheap while
# it stays in the last-level cache (32 MiB on the benchmark machine) and memory-bound beyond.
# Two-stage wins on large matrices and loses on small ones (benchmarks/README.md, "Design
# choices").
TWO_STAGE_MIN_BYTES = 40 * 2**20


@functools.cache
def _one_stage_workspace(letter: str, n: int) -> int:
    """Optimal ``lwork`` of values-only ``?syevd``.

    The f2py default (``2n + 1``) is the minimum, with which ``?sytrd`` falls back to its
    unblocked code (slower; benchmarks/README.md, "Design choices").
    """
    from scipy.linalg import lapack  # a JAX dependency

    work, _, info = getattr(lapack, f"{letter}syevd_lwork")(n, compute_v=0, lower=1)
    return max(int(work), 2 * n + 1) if info == 0 else 2 * n + 1


def _lapacke_solver(library, name: str, ctype):
    """``LAPACKE_?syevd_2stage`` (LP64) from ``library`` as ``(matrix) -> values``, or ``None``.

    ``None`` when the symbol is missing or fails a 3 x 3 check (e.g. ILP64 integers, or a
    library reading the other triangle).
    """
    import ctypes

    function = getattr(library, name, None)
    if function is None:
        return None
    pointer = ctypes.POINTER(ctype)
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, ctypes.c_int]
    function.argtypes += [pointer, ctypes.c_int, pointer]
    dtype = np.float32 if ctype is ctypes.c_float else np.float64

    def solve(matrix: np.ndarray) -> np.ndarray:
        # Column-major 'U' of a C-ordered buffer is the lower triangle of ``matrix``, read in
        # place; the routine overwrites it, hence the private copy.
        work = np.array(matrix, dtype, order="C", copy=True)
        n = work.shape[-1]
        values = np.empty(n, dtype)
        info = function(102, b"N", b"U", n, work.ctypes.data_as(pointer), n,
                        values.ctypes.data_as(pointer))  # fmt: skip
        return values if info == 0 else np.full(n, np.nan, dtype)

    check = np.array([[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 1.0]], dtype)
    try:
        values = solve(check)
    except Exception:  # noqa: BLE001  (a foreign library: any failure means "not usable")
        return None
    expected = np.array([1.0, 2.5 - 0.5 * np.sqrt(5.0), 2.5 + 0.5 * np.sqrt(5.0)])
    return solve if np.allclose(values, expected, rtol=1e-5) else None


@functools.cache
def _two_stage_solver(letter: str):
    """The two-stage values-only solver of SciPy's LAPACK for ``letter`` (``"s"``/``"d"``).

    SciPy's wheels bundle OpenBLAS (LAPACK >= 3.7) with LAPACKE under a ``scipy_`` prefix;
    other builds may export plain ``LAPACKE_`` names or none (then ``None``).
    """
    import ctypes

    try:
        from scipy.linalg import _flapack  # pyright: ignore[reportAttributeAccessIssue]

        library = ctypes.CDLL(_flapack.__file__)  # resolves symbols of its LAPACK too
    except Exception:  # noqa: BLE001
        return None
    ctype = ctypes.c_float if letter == "s" else ctypes.c_double
    for name in (f"scipy_LAPACKE_{letter}syevd_2stage", f"LAPACKE_{letter}syevd_2stage"):
        solver = _lapacke_solver(library, name, ctype)
        if solver is not None:
            return solver
    return None


def _host_values(matrix: np.ndarray) -> np.ndarray:
    """Eigenvalues (ascending) of one symmetric matrix from its lower triangle; NaN on failure."""
    from scipy.linalg import lapack  # a JAX dependency

    letter = "s" if matrix.dtype == np.float32 else "d"
    n = matrix.shape[-1]
    if matrix.nbytes > TWO_STAGE_MIN_BYTES:
        solver = _two_stage_solver(letter)
        if solver is not None:
            return solver(matrix)
    # The transpose is Fortran-ordered (no reordering copy); its upper triangle is our lower.
    values, _, info = getattr(lapack, f"{letter}syevd")(
        matrix.T, compute_v=0, lower=0, lwork=_one_stage_workspace(letter, n)
    )
    return values if info == 0 else np.full(n, np.nan, matrix.dtype)


def _host_lapack_eigenvalues(matrix: np.ndarray) -> np.ndarray:
    """Values-only LAPACK (no eigenvectors) over a batch ``[..., n, n]``."""
    matrix = np.asarray(matrix)
    out = np.empty(matrix.shape[:-1], matrix.dtype)
    for index in np.ndindex(matrix.shape[:-2]):
        out[index] = _host_values(matrix[index])
    return out


def _values_on_host(matrix: jax.Array) -> jax.Array:
    result = jax.ShapeDtypeStruct(matrix.shape[:-1], matrix.dtype)
    return jax.pure_callback(_host_lapack_eigenvalues, result, matrix, vmap_method="expand_dims")


@jax.jit
def _values_only_eigvalsh(matrix: jax.Array) -> jax.Array:
    """``jnp.linalg.eigvalsh`` computes eigenvectors too (LAPACK ``syevd`` in vector mode).

    On CPU, float32 and float64 call LAPACK in values-only mode on the host (a
    ``pure_callback``: XLA exposes no values-only symmetric solver), reading the lower
    triangle: ``?syevd`` with its optimal workspace, or the two-stage ``?syevd_2stage`` for
    matrices beyond ``TWO_STAGE_MIN_BYTES``: on par with NumPy's and PyTorch's values-only
    solves, faster than the earlier JAX tridiagonalisation and bisection
    (benchmarks/README.md, "Design choices").
    Other backends keep ``eigvalsh``. Jitted so eager callers compile once per shape.
    """
    if matrix.shape[-1] < 3 or matrix.dtype not in (jnp.float32, jnp.float64):
        return jnp.linalg.eigvalsh(matrix)
    return jax.lax.platform_dependent(matrix, cpu=_values_on_host, default=jnp.linalg.eigvalsh)


@jax.custom_jvp
def eigvalsh(matrix: jax.Array) -> jax.Array:
    """Eigenvalues (ascending) of symmetric ``[..., m, m]`` matrices, differentiable safely.

    The derivative of an eigenvalue is ``d lambda_i = u_i^T dA u_i`` (Hellmann-Feynman). It
    has no ``1 / (lambda_i - lambda_j)`` gap term, so gradients of any function of the
    eigenvalues alone stay finite at repeated eigenvalues (duplicated samples, ``K -> I``).
    We state the rule explicitly instead of relying on JAX pruning the eigenvector branch.
    Evaluation without differentiation takes a values-only route (no eigenvectors); the
    eigenvectors are computed only in the derivative rule.
    """
    return _values_only_eigvalsh(matrix)


@eigvalsh.defjvp
def _eigvalsh_jvp(primals, tangents):
    (matrix,), (tangent,) = primals, tangents
    values, vectors = jnp.linalg.eigh(matrix)
    tangent = 0.5 * (tangent + jnp.swapaxes(tangent, -1, -2))
    d_values = jnp.einsum("...ji,...jk,...ki->...i", vectors, tangent, vectors, precision=HIGHEST)
    return values, d_values


def spectrum_to_probabilities(values: jax.Array) -> jax.Array:
    """Turns eigenvalues of a unit-trace PSD matrix into a probability vector.

    Round-off leaves the zero eigenvalues of rank-deficient matrices at a few
    ``eps * lambda_max`` either side of 0; powers and logs of those are meaningless and (for
    ``alpha <= 1``) have unbounded derivatives. Eigenvalues at or below the floor are set to
    exactly zero (zero gradient) and the rest renormalised to sum to 1. The floor is
    ``SPECTRUM_FLOOR * eps * lambda_max``, raised to ``NEGATIVE_NOISE_MULTIPLE`` times the
    most negative eigenvalue: that is the round-off this decomposition actually made, so
    full-rank spectra keep their small genuine eigenvalues and rank-deficient ones drop their
    noise. Gradients are finite, bounded by the derivative at the floor (e.g.
    ``log(floor)`` for von Neumann). Zero-padding (masking) adds exact zeros and so does
    not move the floor.
    """
    eps = jnp.finfo(values.dtype).eps
    top = jnp.max(jnp.abs(values), axis=-1, keepdims=True)
    negative = jnp.maximum(-jnp.min(values, axis=-1, keepdims=True), 0.0)
    floor = jnp.maximum(SPECTRUM_FLOOR * eps * top, NEGATIVE_NOISE_MULTIPLE * negative)
    floor = jax.lax.stop_gradient(floor)
    kept = jnp.where(values > floor, values, 0.0 * values)  # NaN stays NaN
    total = jnp.sum(kept, axis=-1, keepdims=True)
    return kept / jnp.where(total > 0, total, 1.0)
