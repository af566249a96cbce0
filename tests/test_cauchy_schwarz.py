"""Cauchy–Schwarz divergence and CS-QMI: golden values of the reference codes, properties."""

from __future__ import annotations

import json
import pathlib
from typing import Any, TypedDict, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo import kernels

DATA = pathlib.Path(__file__).parent / "data"
GOLDEN = json.loads((DATA / "golden.json").read_text())
G1, G2 = kernels.Gaussian(1.0), kernels.Gaussian(2.0)


def _load(name):
    return np.load(DATA / f"{name}.npy")


P, Q, X, T = _load("P"), _load("Q"), _load("X"), _load("T")


def test_golden_divergence(x64):
    ref = GOLDEN["cs_div_two_sample"]  # nats
    assert abs(jaxinfo.cauchy_schwarz_divergence(P, Q, kernel=G1) - ref["csadv_CS"]) < 1e-10
    assert (
        abs(jaxinfo.cauchy_schwarz_divergence(P, Q, kernel=G2) - ref["csadv_CS_sigma_eq_2"]) < 1e-10
    )
    assert abs(jaxinfo.cauchy_schwarz_divergence(P, P, kernel=G1)) < 1e-12
    blocked = jaxinfo.cauchy_schwarz_divergence(P, Q, kernel=G1, block_size=7)
    assert abs(blocked - ref["csadv_CS"]) < 1e-10


def test_golden_divergence_float32():
    value = jaxinfo.cauchy_schwarz_divergence(P.astype(np.float32), Q.astype(np.float32), kernel=G1)
    np.testing.assert_allclose(value, GOLDEN["cs_div_two_sample"]["csadv_CS"], rtol=1e-4)


def test_golden_mutual_information(x64):
    ref = GOLDEN["cs_qmi"]  # bits
    mi = jaxinfo.cauchy_schwarz_mutual_information
    assert abs(mi(X, T, kernel_x=G1, kernel_y=G1, base=2) - ref["csib_CS_QMI_sigma1"]) < 1e-10
    assert abs(mi(X, T, kernel_x=G2, kernel_y=G2, base=2) - ref["csib_CS_QMI_sigma2"]) < 1e-10
    assert abs(mi(X, X, kernel_x=G1, kernel_y=G1, base=2) - ref["csib_CS_QMI_X_X_sigma1"]) < 1e-10
    normalized = mi(X, T, kernel_x=G1, kernel_y=G1, normalized=True)
    assert abs(normalized - ref["csib_CS_QMI_normalized_sigma1"]) < 1e-10
    # The reference heuristic: sigma = 10 x median squared distance (degenerate, K ~ 11^T).
    sx, st = 10 * ref["csib_sigma_estimation_x"], 10 * ref["csib_sigma_estimation_t"]
    wide = mi(X, T, kernel_x=kernels.Gaussian(sx), kernel_y=kernels.Gaussian(st), base=2)
    assert abs(wide - ref["csib_CS_QMI_sigmaNone_median_heuristic"]) < 1e-12
    np.testing.assert_allclose(
        mi(X.astype(np.float32), T.astype(np.float32), kernel_x=G1, kernel_y=G1, base=2),
        ref["csib_CS_QMI_sigma1"],
        rtol=1e-4,
    )


def test_golden_mutual_information_gradient(x64):
    expected = _load("grad_CSQMI_X_T_wrt_T")
    grad = jax.grad(
        lambda t: jaxinfo.cauchy_schwarz_mutual_information(X, t, kernel_x=G1, kernel_y=G1, base=2)
    )(jnp.asarray(T))
    assert np.abs(np.asarray(grad) - expected).max() < 1e-12


def test_divergence_properties(key, x64):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (80, 2), jnp.float64)
    y = jax.random.normal(ky, (60, 2), jnp.float64) * 1.5 + 0.5
    for kernel in (G1, kernels.Laplacian(1.0), kernels.Gaussian("median")):
        d_xy = jaxinfo.cauchy_schwarz_divergence(x, y, kernel=kernel)
        d_yx = jaxinfo.cauchy_schwarz_divergence(y, x, kernel=kernel)
        assert d_xy > 0 and abs(d_xy - d_yx) < 1e-12
        # Laplacian: sqrt of the distance expansion's ~eps round-off on coinciding points
        # perturbs those cross entries by ~1e-8 relative
        assert abs(jaxinfo.cauchy_schwarz_divergence(x, x[::-1], kernel=kernel)) < 1e-9


def test_tiny_bandwidth_stays_finite(x64):
    far = jaxinfo.cauchy_schwarz_divergence(P, P + 3.0, kernel=kernels.Gaussian(0.02))
    assert np.isfinite(far) and far > 50  # a naive estimator returns inf here
    grad = jax.grad(
        lambda q: jaxinfo.cauchy_schwarz_divergence(P, q, kernel=kernels.Gaussian(0.02))
    )(P + 3.0)
    assert np.all(np.isfinite(grad))


def test_mutual_information_independence_and_dependence(key, x64):
    kx, ky, kn = jax.random.split(key, 3)
    x = jax.random.normal(kx, (1500, 1), jnp.float64)
    independent = jax.random.normal(ky, (1500, 1), jnp.float64)
    dependent = x + 0.3 * jax.random.normal(kn, (1500, 1), jnp.float64)
    low = jaxinfo.cauchy_schwarz_mutual_information(x, independent, kernel_x=G1, kernel_y=G1)
    high = jaxinfo.cauchy_schwarz_mutual_information(x, dependent, kernel_x=G1, kernel_y=G1)
    assert 0 <= low < 0.01 and high > 0.1
    normalized = jaxinfo.cauchy_schwarz_mutual_information(
        x, x, kernel_x=G1, kernel_y=G1, normalized=True
    )
    assert abs(normalized - 1.0) < 1e-12


def test_blocked_memory_is_linear_in_n(key):
    n, block = 8192, 128
    x = jax.random.normal(key, (n, 4))

    def loss(v):
        return jaxinfo.cauchy_schwarz_divergence(v, v[::-1] + 0.1, kernel=G1, block_size=block)

    analysis = jax.jit(jax.grad(loss)).lower(x).compile().memory_analysis()
    assert analysis is not None
    temp = analysis.temp_size_in_bytes
    assert temp < 8 * n * block * 4, f"{temp / 2**20:.1f} MiB"


def test_golden_conditional_divergence(x64):
    ref = GOLDEN["cond_cs_div"]
    y, y_hat = _load("yreg"), _load("yhat")
    cond = jaxinfo.conditional_cauchy_schwarz_divergence
    g05 = kernels.Gaussian(0.5)
    cases = [
        (cond(X, y, y_hat, kernel_x=G1, kernel_y=G1), ref["csadv_CondCSD_nats"]),
        (cond(X, y, y_hat, kernel_x=g05, kernel_y=g05), ref["csadv_CondCSD_nats_sigma0.5"]),
        (cond(X, y, y_hat, kernel_x=G1, kernel_y=G1, block_size=9), ref["csadv_CondCSD_nats"]),
        (
            cond(X, y, y_hat, kernel_x=G1, kernel_y=G1, method="single_cross"),
            GOLDEN["numpy_crosscheck"]["cond_cs_CSIB_paper_Prop1_nats_sigma1"],
        ),
        (
            cond(X, y, y_hat, kernel_x=G1, kernel_y=G1, method="csib_code", base=2),
            ref["csib_CS_Div_bits"],
        ),
        (
            cond(X, y, y_hat, kernel_x=g05, kernel_y=g05, method="csib_code", base=2),
            ref["csib_CS_Div_bits_sigma0.5"],
        ),
        (
            jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
                X[:64], y[:64], X[64:], y_hat[64:], kernel_x=G1, kernel_y=G1
            ),
            ref["csadv_CondCSD_two_sets_nats"],
        ),
    ]
    for value, expected in cases:
        assert abs(float(value) - expected) < 1e-10
    for estimator in ("symmetric", "single_cross", "csib_code"):
        assert abs(cond(X, y, y, kernel_x=G1, kernel_y=G1, method=estimator)) < 1e-12
    symmetric = cond(X, y_hat, y, kernel_x=G1, kernel_y=G1)
    assert abs(symmetric - ref["csadv_CondCSD_nats"]) < 1e-12  # y <-> y_pred


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: jaxinfo.cauchy_schwarz_divergence(jnp.ones((5, 2)), jnp.ones((5, 3))),
            ValueError,
            "features",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_divergence(jnp.ones(5), jnp.ones((5, 1))),
            ValueError,
            r"\[n, d\]",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_divergence(
                jnp.ones((5, 2)), jnp.ones((5, 2)), kernel=kernels.Linear()
            ),
            TypeError,
            "log-domain",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_mutual_information(jnp.ones((5, 2)), jnp.ones((4, 2))),
            ValueError,
            "same number of rows",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_mutual_information(
                jnp.ones((5, 2), jnp.int32), jnp.ones((5, 2))
            ),
            TypeError,
            "floating-point",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_divergence(
                jnp.ones((5, 2)), jnp.ones((5, 2)), where_x=jnp.ones(4, bool)
            ),
            ValueError,
            "where",
        ),
        (
            lambda: jaxinfo.conditional_cauchy_schwarz_divergence(
                jnp.ones((5, 2)), jnp.ones(5), jnp.ones(5)
            ),
            ValueError,
            r"y\[:, None\]",
        ),
        (
            lambda: jaxinfo.conditional_cauchy_schwarz_divergence(
                jnp.ones((5, 2)), jnp.ones((5, 1)), jnp.ones((5, 1)), method=cast(Any, "tpami")
            ),
            ValueError,
            "`method` must be one of",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_information_bottleneck_loss(
                jnp.ones((5, 2)), jnp.ones(5), jnp.ones((5, 1, 1)), jnp.ones((5, 3)), beta=0.1
            ),
            ValueError,
            "same shape",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_information_bottleneck_loss(
                jnp.ones((5, 2)), jnp.ones(5), jnp.ones(5), jnp.ones((5, 3)), beta=-1.0
            ),
            ValueError,
            "beta",
        ),
        (
            lambda: jaxinfo.cauchy_schwarz_conditional_mutual_information(
                jnp.ones((5, 2)), jnp.ones((5, 1)), jnp.ones((4, 1))
            ),
            ValueError,
            "same number of rows",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _numpy_cs_cmi(x, y, z, sigma):
    """The CS-TE proposition written directly with dense Grams (float64 reference)."""

    def gram(a):
        d2 = ((a[:, None, :] - a[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * sigma**2))

    k, ell, m = gram(x), gram(y), gram(z)
    m_t, km, lm, klm = m.sum(1), (k * m).sum(1), (ell * m).sum(1), (k * ell * m).sum(1)
    self_joint = np.sum(klm * m_t**2)
    self_product = np.sum(km**2 * lm**2 / klm)
    cross = np.sum(m_t * km * lm)
    return np.log(self_joint) + np.log(self_product) - 2 * np.log(cross)


def test_conditional_mutual_information_matches_dense_formula(x64):
    y, z = _load("Y"), _load("Z")
    cmi = jaxinfo.cauchy_schwarz_conditional_mutual_information
    for sigma, block in [(1.0, None), (0.5, 9)]:
        g = kernels.Gaussian(sigma)
        value = cmi(X, y, z, kernel_x=g, kernel_y=g, kernel_z=g, block_size=block)
        assert abs(float(value) - _numpy_cs_cmi(X, y, z, sigma)) < 1e-10
    g = kernels.Gaussian(1.0)
    bits = cmi(X, y, z, kernel_x=g, kernel_y=g, kernel_z=g, base=2)
    assert abs(float(bits) * np.log(2) - _numpy_cs_cmi(X, y, z, 1.0)) < 1e-10
    swapped = cmi(y, X, z, kernel_x=g, kernel_y=g, kernel_z=g)
    assert abs(float(swapped) - _numpy_cs_cmi(X, y, z, 1.0)) < 1e-12  # symmetric in x, y


def test_conditional_mutual_information_properties(key, x64):
    kz, kx, ky = jax.random.split(key, 3)
    n = 400
    z = jax.random.normal(kz, (n, 1))
    x = z + 0.5 * jax.random.normal(kx, (n, 1))
    chain = x + 0.5 * jax.random.normal(ky, (n, 1))  # depends on x beyond z
    screened = z + 0.5 * jax.random.normal(ky, (n, 1))  # x and y independent given z
    g = kernels.Gaussian(0.5)

    def cmi(a, b, c):
        return float(
            jaxinfo.cauchy_schwarz_conditional_mutual_information(
                a, b, c, kernel_x=g, kernel_y=g, kernel_z=g
            )
        )

    dependent, independent = cmi(x, chain, z), cmi(x, screened, z)
    assert dependent > 2.5 * independent > 0
    for seed in range(5):  # >= 0 exactly (Cauchy-Schwarz), on arbitrary data
        a, b, c = jax.random.normal(jax.random.key(seed), (3, 60, 2))
        assert cmi(a, b, c) >= -1e-12
    tiny = kernels.Gaussian(1e-3)  # the notebook's clamped sums break down here; ours are finite
    value, grad = jax.value_and_grad(
        lambda a: jaxinfo.cauchy_schwarz_conditional_mutual_information(
            a, chain, z, kernel_x=tiny, kernel_y=tiny, kernel_z=tiny
        )
    )(x + 1.0)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_information_bottleneck_loss_matches_reference_code(x64):
    """loss_cs.CS_Div + beta * normalised CS_QMI of the released CS-IB code (bits, sigma = 1)."""
    y, y_hat = _load("yreg"), _load("yhat")
    beta = 0.1
    loss, terms = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
        X,
        y,
        y_hat,
        T,
        beta=beta,
        kernel_x=G1,
        kernel_y=G1,
        kernel_t=G1,
        method="csib_code",
        base=2,
    )
    expected_prediction = GOLDEN["cond_cs_div"]["csib_CS_Div_bits"]
    expected_compression = GOLDEN["cs_qmi"]["csib_CS_QMI_normalized_sigma1"]
    assert abs(float(terms["prediction"]) - expected_prediction) < 1e-10
    assert abs(float(terms["compression"]) - expected_compression) < 1e-10
    assert abs(float(loss) - (expected_prediction + beta * expected_compression)) < 1e-10


def test_information_bottleneck_loss_treats_1d_targets_as_columns(x64):
    y, y_hat = _load("yreg"), _load("yhat")
    loss_fn = jaxinfo.cauchy_schwarz_information_bottleneck_loss
    kw = {
        "beta": 0.01,
        "kernel_x": G1,
        "kernel_y": G1,
        "kernel_t": G1,
        "method": "csib_code",
        "base": 2,
    }
    flat, _ = loss_fn(X, y[:, 0], y_hat[:, 0], T, **kw)
    column, _ = loss_fn(X, y, y_hat, T, **kw)
    assert abs(float(flat) - float(column)) < 1e-14
    # The released script's 1-D path gives SSE / ln 2 = 16.78 bits here, not a divergence.
    assert abs(float(flat) - GOLDEN["cond_cs_div"]["csib_CS_Div_bits_with_1D_y_yhat"]) > 10
    perfect, terms = loss_fn(X, y[:, 0], y[:, 0], T, beta=0.0)
    assert abs(float(perfect)) < 1e-12 and float(terms["compression"]) > 0


def test_information_bottleneck_loss_trains_under_jit(key):
    """One jitted value_and_grad with has_aux, traced beta (a sweep compiles once)."""
    x = jax.random.normal(key, (64, 3))
    y = jnp.sin(x[:, :1])
    w = 0.1 * jnp.ones((3, 4))

    def objective(w, beta):
        t = jnp.tanh(x @ w)
        return jaxinfo.cauchy_schwarz_information_bottleneck_loss(x, y, t[:, :1], t, beta=beta)

    step = jax.jit(jax.value_and_grad(objective, has_aux=True))
    for beta in (0.0, 0.1, 1.0):
        (loss, terms), grad = step(w, beta)
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
        np.testing.assert_allclose(
            loss, terms["prediction"] + beta * terms["compression"], rtol=1e-6
        )
    # _cache_size is a private method of the C++ jit wrapper, absent from the JitWrapped stub.
    assert step._cache_size() == 1  # pyright: ignore[reportAttributeAccessIssue]


# --------------------------------------------------------------------------- fused kernel sums
# The default route sums kernels in the linear domain (one GEMM and one fused exp-and-sum per
# slab, samples.reduce_sets(linear_first=True)); `log_domain=True` keeps every sum a
# log-sum-exp. The two must agree to round-off, values and gradients, in every situation.


def _fused_cases():
    g, lap = kernels.Gaussian(0.8), kernels.Laplacian(1.5)

    def divergence(a, b, c, mask, **kw):
        mask_y = None if mask is None else mask[:-5]
        return jaxinfo.cauchy_schwarz_divergence(
            a, b[:-5], kernel=g, where_x=mask, where_y=mask_y, **kw
        )

    def divergence_laplacian(a, b, c, mask, **kw):
        return jaxinfo.cauchy_schwarz_divergence(a, b, kernel=lap, where_y=mask, **kw)

    def qmi(a, b, c, mask, **kw):
        return jaxinfo.cauchy_schwarz_mutual_information(a, b, where=mask, **kw)

    def qmi_normalized(a, b, c, mask, **kw):
        return jaxinfo.cauchy_schwarz_mutual_information(
            a, c, kernel_x=lap, normalized=True, where=mask, **kw
        )

    def conditional(estimator):
        def fn(a, b, c, mask, **kw):
            return jaxinfo.conditional_cauchy_schwarz_divergence(
                a, b[:, :1], c[:, :1], method=estimator, where=mask, **kw
            )

        return fn

    def csib(a, b, c, mask, **kw):
        loss, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            a, b[:, 0], c[:, 0], c, beta=0.3, kernel_x=g, where=mask, **kw
        )
        return loss

    return {
        "divergence": divergence,
        "divergence_laplacian": divergence_laplacian,
        "qmi": qmi,
        "qmi_normalized": qmi_normalized,
        "conditional_symmetric": conditional("symmetric"),
        "conditional_csib_code": conditional("csib_code"),
        "csib_loss": csib,
    }


FUSED_CASES = _fused_cases()


def _fused_inputs(dtype, n=64):
    ka, kb, kc = jax.random.split(jax.random.key(3), 3)
    a = jax.random.normal(ka, (n, 3), dtype)
    a = a.at[5].set(a[4]).at[9].set(a[4])  # duplicated rows
    b = jax.random.normal(kb, (n, 3), dtype) + 0.4
    c = jnp.tanh(a @ jnp.ones((3, 3), dtype) / 2) + 0.1 * jax.random.normal(kc, (n, 3), dtype)
    return a, b, c


class _Tolerance(TypedDict):
    rtol: float
    atol: float


def _tolerances(dtype, n) -> tuple[_Tolerance, float]:
    """Value and relative gradient tolerances of the fused route against the log domain.

    float32 values are differences of log-sums of size ~log(n^2), each correct to ~eps, so
    the absolute tolerance scales with them; float64: 1e-12 relative.
    """
    if dtype == jnp.float32:
        return _Tolerance(rtol=1e-6, atol=1e-6 * 4 * float(np.log(n * n))), 1e-4
    return _Tolerance(rtol=1e-12, atol=1e-13), 1e-10


def _assert_routes_agree(fn, args, mask, **kw):
    dtype, n = args[0].dtype, args[0].shape[0]
    value_tol, grad_rel = _tolerances(dtype, n)

    def value(log_domain, *a):
        return fn(*a, mask, log_domain=log_domain, **kw)

    fused, logged = value(False, *args), value(True, *args)
    assert np.isfinite(fused)
    np.testing.assert_allclose(fused, logged, **value_tol)
    grads = [jax.grad(value, argnums=(1, 2, 3))(ld, *args) for ld in (False, True)]
    for g_fused, g_log in zip(*grads, strict=True):
        assert np.all(np.isfinite(g_fused))
        scale = float(jnp.max(jnp.abs(g_log))) + float(jnp.finfo(dtype).tiny)
        np.testing.assert_allclose(g_fused, g_log, rtol=0, atol=grad_rel * scale)


# The representative that also runs unmasked and in float64 by default; the other cases
# repeat its code paths with another sum and run unmasked / in float64 with -m slow (CI
# time). CS-IB, the heaviest, runs masked in float32 and under jit/vmap by default.
FUSED_REPRESENTATIVES = ("divergence",)
# Options of a function another case covers (the kernel, normalisation): -m slow throughout.
FUSED_OPTION_REPEATS = ("divergence_laplacian", "qmi_normalized")
# Masked runs whose sums another masked case already runs: CS-IB's loss computes the
# csib_code conditional divergence, and the QMI's pair sums are the divergence's (-m slow;
# 35 s of CI time, given to the score-based estimators' tests).
FUSED_MASKED_ELSEWHERE = ("conditional_csib_code", "qmi")


def _fused_params(other, covered=()):
    """``(name, other)`` pairs: every name with ``other[-1]``; the rest for representatives.

    ``covered`` names run ``other[-1]`` only under ``-m slow`` too.
    """
    for name in FUSED_CASES:
        for value in other:
            slow = (
                name in FUSED_OPTION_REPEATS
                or (value != other[-1] and name not in FUSED_REPRESENTATIVES)
                or (value == other[-1] and name in covered)
            )
            marks = (pytest.mark.slow,) if slow else ()
            yield pytest.param(name, value, marks=marks, id=f"{value}-{name}")


@pytest.mark.parametrize(
    ("name", "masked"), list(_fused_params([False, True], covered=FUSED_MASKED_ELSEWHERE))
)
def test_fused_sums_equal_the_log_domain_float32(name, masked):
    mask = (jnp.arange(64) % 5 != 1) if masked else None  # None: statically unmasked sums
    _assert_routes_agree(FUSED_CASES[name], _fused_inputs(jnp.float32), mask, block_size=24)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=() if name in FUSED_REPRESENTATIVES else (pytest.mark.slow,))
        for name in FUSED_CASES
    ],
)
# block 24 (ragged last block) repeats block 16's code path: -m slow
@pytest.mark.parametrize("block_size", [16, pytest.param(24, marks=pytest.mark.slow)])
def test_fused_sums_equal_the_log_domain_float64(name, block_size, x64):
    mask = jnp.arange(64) % 7 != 3
    _assert_routes_agree(FUSED_CASES[name], _fused_inputs(jnp.float64), mask, block_size=block_size)


# float32 underflows first; float64 repeats the same fallback path (-m slow, CI time), and
# so does the CS-IB loss (its blocks take the same fallback; compiling its gradient twice
# costs most of the test's time).
@pytest.mark.parametrize("dtype", ["float32", pytest.param("float64", marks=pytest.mark.slow)])
@pytest.mark.parametrize("with_csib", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_fused_sums_fall_back_to_the_log_domain_where_they_underflow(dtype, with_csib, x64):
    """Tiny bandwidths: the cross sums underflow in the linear domain; values stay finite."""
    dtype = jnp.dtype(dtype)
    p, q = jnp.asarray(P, dtype), jnp.asarray(P + 3.0, dtype)
    tiny = kernels.Gaussian(0.02)

    def divergence(b, log_domain):  # blocked: one-block reductions stay in the log domain
        return jaxinfo.cauchy_schwarz_divergence(
            p, b, kernel=tiny, log_domain=log_domain, block_size=32
        )

    value_tol, grad_rel = _tolerances(dtype, p.shape[0])
    # At sigma = 0.02 the distance expansion itself carries eps |x|^2 / (2 sigma^2) of
    # round-off in every log k (both routes, in different order): a few 1e-3 in float32.
    centred = np.concatenate([P, P + 3.0]) - np.mean(P + 3.0, axis=0)
    expansion = 4 * float(jnp.finfo(dtype).eps) * np.max(np.sum(centred**2, 1)) / (2 * 0.02**2)
    value_tol = _Tolerance(rtol=value_tol["rtol"], atol=max(value_tol["atol"], 4 * expansion))
    fused, logged = divergence(q, False), divergence(q, True)
    assert np.isfinite(fused) and fused > 50
    np.testing.assert_allclose(fused, logged, **value_tol)
    g_fused, g_log = (jax.grad(divergence)(q, ld) for ld in (False, True))
    assert np.all(np.isfinite(g_fused))
    np.testing.assert_allclose(g_fused, g_log, atol=grad_rel * float(jnp.max(jnp.abs(g_log))))

    if not with_csib:
        return
    # CS-IB: predictions far from the targets at a narrow y kernel underflow the cross terms.
    a, b, c = _fused_inputs(dtype)
    far = c[:, 0] + 40.0

    def loss(pred, log_domain):
        value, _ = jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            a,
            b[:, 0],
            pred,
            c,
            beta=0.1,
            kernel_y=kernels.Gaussian(0.5),
            log_domain=log_domain,
            block_size=24,
        )
        return value

    fused, logged = loss(far, False), loss(far, True)
    assert np.isfinite(fused) and fused > 100
    np.testing.assert_allclose(fused, logged, **value_tol)
    g_fused, g_log = (jax.grad(loss)(far, ld) for ld in (False, True))
    assert np.all(np.isfinite(g_fused))
    np.testing.assert_allclose(g_fused, g_log, atol=grad_rel * float(jnp.max(jnp.abs(g_log))))


def test_fused_sums_under_jit_and_vmap():
    a, b, c = _fused_inputs(jnp.float32)
    batch_a = jnp.stack([a, a * 0.5, a + 1.0])
    batch_c = jnp.stack([c, c[::-1], c * 2.0])
    for name in ("divergence", "csib_loss"):
        fn = FUSED_CASES[name]

        def batched(log_domain, fn=fn):
            per = lambda a_, c_: fn(a_, b, c_, None, log_domain=log_domain, block_size=24)  # noqa: E731
            return jax.jit(jax.vmap(jax.value_and_grad(per, argnums=(0, 1))))(batch_a, batch_c)

        (v_fused, g_fused), (v_log, g_log) = batched(False), batched(True)
        value_tol, grad_rel = _tolerances(jnp.float32, a.shape[0])
        np.testing.assert_allclose(v_fused, v_log, **value_tol)
        for gf, gl in zip(g_fused, g_log, strict=True):
            np.testing.assert_allclose(gf, gl, atol=grad_rel * float(jnp.max(jnp.abs(gl))))
