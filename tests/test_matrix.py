"""Matrix-based Rényi / von Neumann family: golden values, invariants, paths, errors."""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo import kernels

DATA = pathlib.Path(__file__).parent / "data"
GOLDEN = json.loads((DATA / "golden.json").read_text())["matrix_renyi"]
GAUSS = kernels.Gaussian(1.0)


def _load(name):
    return np.load(DATA / f"{name}.npy")


X, Y, Z = _load("X"), _load("Y"), _load("Z")


# ---------------------------------------------------------------- golden values


def _bits_cases():
    for alpha, ref in GOLDEN["MI.py_bits"].items():
        yield float(alpha), "H_X", ref["H_X"]
        yield float(alpha), "H_XY", ref["H_XY"]
        yield float(alpha), "I_XY", ref["I_XY(=H_X+H_Y-H_XY)"]


def _measure(name, alpha, x, y, base):
    if name == "H_X":
        return jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=GAUSS, base=base)
    if name == "H_XY":
        return jaxinfo.matrix_joint_entropy(x, y, alpha=alpha, kernels=GAUSS, base=base)
    return jaxinfo.matrix_mutual_information(
        x, y, alpha=alpha, kernel_x=GAUSS, kernel_y=GAUSS, base=base
    )


@pytest.mark.parametrize(("alpha", "name", "expected"), list(_bits_cases()))
def test_golden_bits_float64(alpha, name, expected, x64):
    assert abs(float(_measure(name, alpha, X, Y, 2)) - expected) < 1e-10


@pytest.mark.parametrize(("alpha", "name", "expected"), list(_bits_cases()))
def test_golden_bits_float32(alpha, name, expected):
    value = _measure(name, alpha, X.astype(np.float32), Y.astype(np.float32), 2)
    assert value.dtype == jnp.float32
    np.testing.assert_allclose(float(value), expected, rtol=1e-4)


@pytest.mark.parametrize("alpha", ["1", "1.01", "2", "3"])
def test_golden_nats_with_von_neumann_and_total_correlation(alpha, x64):
    ref = GOLDEN["repitl_nats"][alpha]
    a = float(alpha)
    values = {
        "H_X": jaxinfo.matrix_renyi_entropy(X, alpha=a, kernel=GAUSS),
        "H_Z": jaxinfo.matrix_renyi_entropy(Z, alpha=a, kernel=GAUSS),
        "H_XY": jaxinfo.matrix_joint_entropy(X, Y, alpha=a, kernels=GAUSS),
        "H_XYZ": jaxinfo.matrix_joint_entropy(X, Y, Z, alpha=a, kernels=GAUSS),
        "I_XY": jaxinfo.matrix_mutual_information(X, Y, alpha=a, kernel_x=GAUSS, kernel_y=GAUSS),
        "TC_XYZ(=H_X+H_Y+H_Z-H_XYZ)": jaxinfo.matrix_total_correlation(
            X, Y, Z, alpha=a, kernels=GAUSS
        ),
    }
    for name, value in values.items():
        assert abs(float(value) - ref[name]) < 1e-10, name
    if alpha == "1":
        assert abs(float(jaxinfo.von_neumann_entropy(X, kernel=GAUSS)) - ref["H_X"]) < 1e-10


@pytest.mark.parametrize("sigma", [0.25, 0.5, 2.0, 5.0])
def test_golden_bandwidth_variants(sigma, x64):
    expected = GOLDEN["MI.py_bits_sigma_variants_alpha2"][f"H_X_sigma{sigma}"]
    value = jaxinfo.matrix_renyi_entropy(X, alpha=2, kernel=kernels.Gaussian(sigma), base=2)
    assert abs(float(value) - expected) < 1e-10


def test_golden_linear_and_cosine_kernels(x64):
    linear = GOLDEN["linear_kernel"]
    for alpha in ("1", "1.01", "3"):
        expected = linear["repitl_matrixAlphaEntropy_nats"][alpha]
        value = jaxinfo.matrix_renyi_entropy(X, alpha=float(alpha), kernel=kernels.Linear())
        assert abs(float(value) - expected) < 1e-10, alpha
    # repitl's alpha = 2 shortcut is wrong for non-unit diagonals (-0.956); the eigen path is right.
    expected = linear["repitl_alpha2_with_eigh(allow_frobenius_speedup=False)_nats"]
    assert (
        abs(float(jaxinfo.matrix_renyi_entropy(X, alpha=2, kernel=kernels.Linear())) - expected)
        < 1e-10
    )
    for alpha, expected in linear["cosine_normalized_D^-1/2 K D^-1/2_entropy_nats"].items():
        value = jaxinfo.matrix_renyi_entropy(X, alpha=float(alpha), kernel=kernels.Cosine())
        assert abs(float(value) - expected) < 1e-10, alpha


def test_golden_gradients(x64):
    def h2(x):
        return jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=GAUSS, base=2)

    def mi(x):
        return jaxinfo.matrix_mutual_information(
            x, Y, alpha=1.01, kernel_x=GAUSS, kernel_y=GAUSS, base=2
        )

    for fn, name in ((h2, "grad_H2_X_wrt_X"), (mi, "grad_I1.01_XY_wrt_X")):
        expected = _load(name)
        grad = np.asarray(jax.grad(fn)(jnp.asarray(X)))
        assert np.abs(grad - expected).max() < 1e-6 * np.linalg.norm(expected), name
        assert np.abs(grad - expected).max() < 1e-12, name


def test_golden_gradients_float32():
    expected = _load("grad_H2_X_wrt_X")
    grad = jax.grad(lambda x: jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=GAUSS, base=2))(
        jnp.asarray(X, jnp.float32)
    )
    assert np.linalg.norm(np.asarray(grad) - expected) < 1e-4 * np.linalg.norm(expected)


# ---------------------------------------------------------------- invariants


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 2.0, 3.0, math.inf])
def test_bounds_and_identities(alpha, key, x64):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (48, 2), jnp.float64)
    y = jnp.sin(x[:, :1]) + 0.3 * jax.random.normal(ky, (48, 1), jnp.float64)
    hx = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=GAUSS)
    hy = jaxinfo.matrix_renyi_entropy(y, alpha=alpha, kernel=GAUSS)
    hxy = jaxinfo.matrix_joint_entropy(x, y, alpha=alpha, kernels=GAUSS)
    mi = jaxinfo.matrix_mutual_information(x, y, alpha=alpha, kernel_x=GAUSS, kernel_y=GAUSS)
    mi_yx = jaxinfo.matrix_mutual_information(y, x, alpha=alpha, kernel_x=GAUSS, kernel_y=GAUSS)
    tol = 1e-10
    assert 0 <= hx <= math.log(48) + tol
    assert max(hx, hy) - tol <= hxy <= hx + hy + tol
    assert -tol <= mi <= min(hx, hy) + tol
    assert abs(mi - mi_yx) < tol
    cond = jaxinfo.matrix_conditional_entropy(x, y, alpha=alpha, kernel_x=GAUSS, kernel_y=GAUSS)
    assert abs(cond - (hxy - hy)) < tol and -tol <= cond <= hx + tol


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 2.0, 3.0, math.inf])
def test_labels_give_closed_form_renyi_entropy_and_self_information(alpha, key, x64):
    # Cosine kernel on one-hot labels is the delta kernel: K o K = K and the spectrum of
    # K / n is the label frequencies, so H is the Renyi entropy of those and I(x; x) = H(x).
    labels = jax.random.categorical(key, jnp.log(jnp.array([0.5, 0.3, 0.15, 0.05])), shape=(60,))
    onehot = jax.nn.one_hot(labels, 4, dtype=jnp.float64)
    freqs = np.bincount(np.asarray(labels), minlength=4) / 60
    freqs = freqs[freqs > 0]
    if alpha == 1.0:
        expected = -np.sum(freqs * np.log(freqs))
    elif math.isinf(alpha):
        expected = -np.log(freqs.max())
    else:
        expected = np.log(np.sum(freqs**alpha)) / (1 - alpha)
    cosine = kernels.Cosine()
    h = jaxinfo.matrix_renyi_entropy(onehot, alpha=alpha, kernel=cosine)
    assert abs(h - expected) < 1e-10
    mi = jaxinfo.matrix_mutual_information(
        onehot, onehot, alpha=alpha, kernel_x=cosine, kernel_y=cosine
    )
    assert abs(mi - h) < 1e-10


def test_permutation_invariance(key, x64):
    x = jax.random.normal(key, (40, 3), jnp.float64)
    perm = jax.random.permutation(jax.random.key(1), 40)
    for alpha in (1.0, 1.01, 2.0):
        for kernel in (GAUSS, kernels.Gaussian("median"), kernels.Linear()):
            a = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel)
            b = jaxinfo.matrix_renyi_entropy(x[perm], alpha=alpha, kernel=kernel)
            assert abs(a - b) < 1e-10


def test_limits_of_the_bandwidth(key, x64):
    x = jax.random.normal(key, (32, 3), jnp.float64)
    for alpha in (0.5, 1.0, 2.0, 3.0):
        small = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernels.Gaussian(1e-4))
        large = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernels.Gaussian(1e6))
        assert abs(small - math.log(32)) < 1e-9  # K -> I
        # K -> 11^T; the remaining eigenvalues are O(|x|^2 / sigma^2) = 1e-12, which
        # alpha < 1 weights as lambda ** alpha, so it converges more slowly there
        assert abs(large) < (1e-4 if alpha < 1 else 1e-6)


def test_alpha_near_one_is_continuous(x64):
    h1 = float(jaxinfo.matrix_renyi_entropy(X, alpha=1.0, kernel=GAUSS))
    for delta in (1e-3, 1e-5, 1e-7, 1e-9):
        lo = float(jaxinfo.matrix_renyi_entropy(X, alpha=1 - delta, kernel=GAUSS))
        hi = float(jaxinfo.matrix_renyi_entropy(X, alpha=1 + delta, kernel=GAUSS))
        assert lo >= h1 >= hi
        assert hi - h1 < 10 * delta and h1 - lo < 10 * delta


def test_alpha_near_one_float32_has_no_cancellation():
    x32 = jnp.asarray(X, jnp.float32)
    h1 = jaxinfo.matrix_renyi_entropy(x32, alpha=1.0, kernel=GAUSS)
    near = jaxinfo.matrix_renyi_entropy(x32, alpha=1.0001, kernel=GAUSS)
    assert abs(near - h1) < 1e-3  # naive log(sum lambda**alpha) / (1 - alpha) is off by ~0.1


def test_alpha_two_frobenius_path_equals_eigen_path(x64):
    gram = GAUSS.gram(jnp.asarray(X))
    frobenius = jaxinfo.matrix_renyi_entropy_from_gram(gram, alpha=2)
    values = np.linalg.eigvalsh(np.asarray(gram) / np.trace(gram))
    assert abs(float(frobenius) + np.log(np.sum(values**2))) < 1e-12


@pytest.mark.parametrize("kernel", [kernels.Linear(), kernels.Cosine()], ids=["linear", "cosine"])
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 3.0])
def test_covariance_path_equals_gram_path(kernel, alpha, key, x64):
    x = jax.random.normal(key, (50, 4), jnp.float64) + 1.0
    via_cov = jaxinfo.matrix_renyi_entropy(x, alpha=alpha, kernel=kernel)
    via_gram = jaxinfo.matrix_renyi_entropy_from_gram(kernel.gram(x), alpha=alpha)
    assert abs(via_cov - via_gram) < 1e-10
    g_cov = jax.grad(lambda v: jaxinfo.matrix_renyi_entropy(v, alpha=alpha, kernel=kernel))(x)
    g_gram = jax.grad(
        lambda v: jaxinfo.matrix_renyi_entropy_from_gram(kernel.gram(v), alpha=alpha)
    )(x)
    np.testing.assert_allclose(g_cov, g_gram, atol=1e-8)


def test_von_neumann_from_covariance_matches_linear_kernel_on_centred_data(key, x64):
    z = jax.random.normal(key, (30, 5), jnp.float64) @ jnp.diag(jnp.arange(1.0, 6.0))
    zc = z - z.mean(0)
    cov = zc.T @ zc / 29
    a = jaxinfo.von_neumann_entropy_from_covariance(cov)
    b = jaxinfo.von_neumann_entropy(zc, kernel=kernels.Linear())
    assert abs(a - b) < 1e-12 and 0 < a < math.log(5)
    collapsed = jnp.outer(jnp.ones(30), jnp.arange(1.0, 6.0))
    grad = jax.grad(lambda v: jaxinfo.von_neumann_entropy(v, kernel=kernels.Linear()))(collapsed)
    assert np.all(np.isfinite(grad))


def test_gram_functions_accept_batches(x64):
    grams = jnp.stack([jnp.eye(4), jnp.ones((4, 4))])
    np.testing.assert_allclose(
        jaxinfo.von_neumann_entropy_from_gram(grams), [math.log(4), 0.0], atol=1e-12
    )


# ---------------------------------------------------------------- vendi score and effective rank


def test_vendi_score_matches_definition_and_peer_conventions(key, x64):
    x = jax.random.normal(key, (40, 6), jnp.float64)
    xn = x / jnp.linalg.norm(x, axis=1, keepdims=True)
    values = np.clip(np.linalg.eigvalsh(np.asarray(xn @ xn.T) / 40), 0, None)
    values = values[values > 1e-14]
    expected_q1 = np.exp(-np.sum(values * np.log(values)))
    expected_q2 = 1.0 / np.sum(values**2)
    assert abs(jaxinfo.vendi_score(x) - expected_q1) < 1e-9
    assert abs(jaxinfo.vendi_score(x, q=2) - expected_q2) < 1e-9
    assert abs(jaxinfo.vendi_score(x, q=math.inf) - 1 / values.max()) < 1e-9
    identical = jnp.ones((10, 3))
    assert abs(jaxinfo.vendi_score(identical) - 1.0) < 1e-9


def test_effective_rank_matches_singular_values(key, x64):
    x = jax.random.normal(key, (30, 5), jnp.float64) * jnp.array([5.0, 1.0, 1.0, 0.1, 0.0])
    s = np.linalg.svd(np.asarray(x), compute_uv=False)
    p = s[s > 1e-12] / s.sum()
    expected = np.exp(-np.sum(p * np.log(p)))
    assert abs(jaxinfo.effective_rank(x) - expected) < 1e-9
    assert abs(jaxinfo.effective_rank(x.T) - expected) < 1e-9  # the n < d route
    assert np.all(np.isfinite(jax.grad(jaxinfo.effective_rank)(x)))


# ---------------------------------------------------------------- blocking and memory


def test_blocked_equals_materialised_value_and_gradient(key, x64):
    x = jax.random.normal(key, (37, 3), jnp.float64)
    for block in (1, 5, 16, 64):

        def blocked(v, block=block):
            return jaxinfo.matrix_joint_entropy(
                v, v[:, :1] ** 2, alpha=2, kernels=GAUSS, block_size=block
            )

        def full(v):
            return jaxinfo.matrix_joint_entropy(v, v[:, :1] ** 2, alpha=2, kernels=GAUSS)

        assert abs(blocked(x) - full(x)) < 1e-12
        np.testing.assert_allclose(jax.grad(blocked)(x), jax.grad(full)(x), atol=1e-12)


def test_blocked_alpha_two_memory_is_linear_in_n(key):
    n, block = 8192, 128
    x = jax.random.normal(key, (n, 8))

    def loss(v):
        return jaxinfo.matrix_renyi_entropy(v, alpha=2, kernel=GAUSS, block_size=block)

    compiled = jax.jit(jax.value_and_grad(loss)).lower(x).compile()
    analysis = compiled.memory_analysis()
    assert analysis is not None
    temp = analysis.temp_size_in_bytes
    slab = n * block * 4  # one [block, n] float32 slab of the Gram matrix
    assert temp < 8 * slab, f"temp {temp / 2**20:.1f} MiB vs slab {slab / 2**20:.0f} MiB"
    assert temp < n * n * 4 / 8  # far from the 256 MiB of one [n, n] matrix


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: jaxinfo.matrix_renyi_entropy(jnp.ones(5)),
            ValueError,
            r"shape \[n, d\].*x\[:, None\]",
        ),
        (lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((2, 3, 4))), ValueError, r"shape \[n, d\]"),
        (
            lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2), jnp.int32)),
            TypeError,
            "floating-point",
        ),
        (lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((1, 2))), ValueError, "at least 2 samples"),
        (lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), alpha=0), ValueError, "alpha"),
        (lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), alpha=-1.0), ValueError, "alpha"),
        (lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), base=1), ValueError, "base"),
        (
            lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), block_size=0),
            ValueError,
            "block_size",
        ),
        (
            lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), kernel=cast(Any, "rbf")),
            ValueError,
            "`kernel` must be a kernel object .* one of the names",
        ),
        (
            lambda: jaxinfo.matrix_mutual_information(jnp.ones((5, 2)), jnp.ones((6, 2))),
            ValueError,
            "same number of rows.*`x` has 5, `y` has 6",
        ),
        (
            lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), where=jnp.ones(4, bool)),
            ValueError,
            "where",
        ),
        (
            lambda: jaxinfo.matrix_renyi_entropy(jnp.ones((5, 2)), where=jnp.ones(5)),
            TypeError,
            "boolean",
        ),
        (lambda: kernels.Gaussian(bandwidth=-1.0), ValueError, "finite positive"),
        (lambda: kernels.Gaussian(bandwidth=0.0), ValueError, "finite positive"),
        (lambda: kernels.Laplacian(bandwidth="mean"), ValueError, "rule must be one of"),
        (lambda: jaxinfo.matrix_joint_entropy(jnp.ones((5, 2))), ValueError, "at least two"),
        (
            lambda: jaxinfo.matrix_renyi_entropy_from_gram(jnp.ones((3, 4)), alpha=2),
            ValueError,
            "square",
        ),
        (lambda: jaxinfo.vendi_score(jnp.ones((5, 2)), q=0.0), ValueError, "`q`"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_traced_alpha_is_rejected_with_advice():
    with pytest.raises(TypeError, match="static"):
        jax.jit(lambda a: jaxinfo.matrix_renyi_entropy(jnp.ones((4, 2)), alpha=a))(2.0)


def test_traced_bandwidth_is_differentiable(key):
    x = jax.random.normal(key, (20, 2))
    grad = jax.grad(lambda s: jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=kernels.Gaussian(s)))(
        1.0
    )
    assert np.isfinite(grad) and grad < 0  # a wider kernel lowers the entropy
