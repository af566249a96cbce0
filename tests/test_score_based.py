"""Score-based estimators (issue 28): the Girsanov identity with exact scores, then trained.

The read-outs are checked first with analytic Gaussian scores in place of the network, so
the only error left is quadrature or Monte Carlo error; the trained estimators are then
checked against closed forms within a tolerance measured over seeds.
"""

from __future__ import annotations

import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxinfo
from jaxinfo import testing
from jaxinfo._src import score_objectives, vp_sde
from jaxinfo.nn import ScoreNetwork, minde_entropy, minde_mutual_information, soi_o_information

SCHEDULE = vp_sde.VPSchedule()


# --- closed forms -------------------------------------------------------------------------


def _diffused_gaussian(mean, var, t):
    """The VP-SDE's marginal at ``t`` of ``N(mean, diag(var))``: still Gaussian, diagonal."""
    m = math.exp(-0.5 * SCHEDULE.integral(t))
    return m * np.asarray(mean), m**2 * np.asarray(var) + (1.0 - m**2)


def _gaussian_kl(mean_p, var_p, mean_q, var_q) -> float:
    """``KL(N(mean_p, diag var_p) ‖ N(mean_q, diag var_q))``."""
    ratio = var_p / var_q
    return float(0.5 * np.sum(ratio - 1.0 - np.log(ratio) + (mean_p - mean_q) ** 2 / var_q))


def _expected_score_gap(mean_p, var_p, mean_q, var_q) -> float:
    """``E_{x~p} ‖s_p(x) - s_q(x)‖²`` for diagonal Gaussians: ``s_p - s_q = c x + e``."""
    c = 1.0 / var_q - 1.0 / var_p
    e = mean_p / var_p - mean_q / var_q
    return float(np.sum((c * mean_p + e) ** 2 + c**2 * var_p))


def _log_det(cov) -> float:
    return float(np.linalg.slogdet(np.asarray(cov, np.float64))[1])


def _total_correlation(cov, sizes) -> float:
    """``TC = ½ (Σ_i log det Σ_ii - log det Σ)`` of a Gaussian with blocks ``sizes``."""
    ends = np.cumsum(sizes)
    blocks = [slice(e - s, e) for s, e in zip(sizes, ends, strict=True)]
    return 0.5 * (sum(_log_det(cov[b, b]) for b in blocks) - _log_det(cov))


def _gaussian_o_information(cov) -> float:
    """``Ω = (2 - V) TC + Σ_j TC(X_-j)`` of a Gaussian with scalar variables."""
    count = cov.shape[0]
    leave_one_out = 0.0
    for j in range(count):
        keep = [i for i in range(count) if i != j]
        leave_one_out += _total_correlation(cov[np.ix_(keep, keep)], [1] * (count - 1))
    return (2 - count) * _total_correlation(cov, [1] * count) + leave_one_out


# --- the exact noise prediction of a Gaussian ---------------------------------------------


def _gaussian_network(cov, sizes):
    """A callable "network" returning the exact ``ε = -σ_t s`` of a centred Gaussian.

    Each variable's time column gives its role, as :func:`score_objectives.network_inputs`
    builds them: time 0 is clean (observed exactly: ``m = 1, σ = 0``), time 1 is
    marginalised (its input is 0; an independent unit-variance observation ``m = 0, σ = 1``
    conditions on nothing), any other time ``t`` is diffused (``m_t``, ``σ_t``). The
    observations are jointly Gaussian with covariance ``K = M Σ M + S²``, so the score of
    the diffused ones given the clean ones is ``-(K⁻¹ z)`` on the diffused coordinates (the
    clean ones' ``σ = 0`` zeroes theirs).
    """
    cov_array = jnp.asarray(cov)
    repeats = np.asarray(sizes)

    def network(x, times):
        t = jnp.repeat(times, repeats, axis=1, total_repeat_length=int(repeats.sum()))
        marginalised = t >= 1.0
        m = jnp.where(marginalised, 0.0, SCHEDULE.mean_scale(t))
        sigma = jnp.where(marginalised, 1.0, SCHEDULE.noise_scale(t))
        k = m[:, :, None] * cov_array.astype(x.dtype) * m[:, None, :]
        k = k + jax.vmap(jnp.diag)(sigma**2)
        return sigma * jnp.linalg.solve(k, x[:, :, None])[:, :, 0]

    return network


def _gaussian_rows(cov, n, seed, dtype: Any = np.float64):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.multivariate_normal(np.zeros(len(cov)), cov, size=n).astype(dtype))


def _mean_within(values, truth, sigmas=4.0, largest_error=0.01):
    """The mean of ``values`` within ``sigmas`` standard errors of ``truth``, the standard
    error itself below ``largest_error`` (so the check can see a bias that size)."""
    values = np.asarray(values, np.float64)
    mean, error = values.mean(), values.std(ddof=1) / math.sqrt(values.size)
    assert error < largest_error and abs(mean - truth) < sigmas * error, (mean, truth, error)
    return mean, error


# --- 1. the Girsanov identity and the time proposal ----------------------------------------


def _quadrature_in_u(integrand, nodes: int = 200):
    """``∫_0^1 integrand(t(u)) w(t(u)) du`` by Gauss–Legendre: the integral over ``[t_min, 1]``.

    With ``t = Q(u)`` the proposal's quantile, ``dt = du / q(t)``: so ``∫ r(t) f(t) dt =
    ∫ w(t) f(t) du`` with ``w = r / q``, and ``f = ½ E ‖ε_p - ε_q‖²`` gives Girsanov's
    ``½ ∫ β E ‖s_p - s_q‖² dt`` from ``t_min`` on.
    """
    points, weights = np.polynomial.legendre.leggauss(nodes)
    u = 0.5 * points + 0.5
    t = np.asarray(vp_sde.time_quantile(SCHEDULE, jnp.asarray(u)))
    w = np.asarray(vp_sde.time_weight(SCHEDULE, jnp.asarray(t)))
    values = np.array([integrand(ti) for ti in t]) * w
    return 0.5 * float(weights @ values)


def _quadrature_in_t(integrand, low: float, high: float, nodes: int = 50):
    points, weights = np.polynomial.legendre.leggauss(nodes)
    t = 0.5 * (high - low) * points + 0.5 * (high + low)
    return 0.5 * (high - low) * float(weights @ np.array([integrand(ti) for ti in t]))


@pytest.mark.parametrize(
    ("mean_p", "var_p", "mean_q", "var_q"),
    [
        ([0.3], [0.5], [-0.4], [2.0]),
        ([0.0, 1.0, -0.5], [1.0, 0.2, 3.0], [0.5, 0.0, -0.5], [0.7, 1.0, 1.0]),
    ],
    ids=["d1", "d3"],
)
def test_girsanov_integral_of_exact_scores_is_the_kl_lost_by_diffusion(
    x64, mean_p, var_p, mean_q, var_q
):
    mean_p, var_p, mean_q, var_q = map(np.asarray, (mean_p, var_p, mean_q, var_q))

    def integrand(t):  # ½ E ‖ε_p - ε_q‖² = ½ σ_t² E ‖s_p - s_q‖²; w(t) = r / q adds r / q
        p, q = _diffused_gaussian(mean_p, var_p, t), _diffused_gaussian(mean_q, var_q, t)
        return 0.5 * float(-np.expm1(-SCHEDULE.integral(t))) * _expected_score_gap(*p, *q)

    def head_integrand(t):  # ½ β E ‖s_p - s_q‖² below t_min, in t directly (finite at 0)
        p, q = _diffused_gaussian(mean_p, var_p, t), _diffused_gaussian(mean_q, var_q, t)
        return 0.5 * float(SCHEDULE.beta(t)) * _expected_score_gap(*p, *q)

    integral = _quadrature_in_u(integrand)
    head = _quadrature_in_t(head_integrand, 0.0, SCHEDULE.t_min)  # what the read-outs leave out
    kl_0 = _gaussian_kl(mean_p, var_p, mean_q, var_q)
    kl_1 = _gaussian_kl(
        *_diffused_gaussian(mean_p, var_p, 1.0), *_diffused_gaussian(mean_q, var_q, 1.0)
    )
    assert kl_0 > 0.3 and kl_1 < 1e-3 * kl_0  # a real divergence, mostly lost by t = 1
    assert 0 < head < 1e-3 * kl_0  # the part below t_min is small (vp_sde's module notes)
    assert abs(integral + head - (kl_0 - kl_1)) < 1e-6, (integral, head, kl_0 - kl_1)


def test_time_quantile_inverts_the_proposal_cdf(x64):
    """The CDF on ``[t_min, 1]`` is ``(A(t) - A(t_min)) / Z``, ``A = log(e^B - 1)``.

    ``A`` is computed here in NumPy from the schedule's coefficients.
    """
    u = np.linspace(0.0, 1.0, 101)
    t = np.asarray(vp_sde.time_quantile(SCHEDULE, jnp.asarray(u)))
    assert np.all(np.diff(t) > 0) and t[0] == pytest.approx(SCHEDULE.t_min) and t[-1] <= 1.0

    def a(s):
        return np.log(
            np.expm1(SCHEDULE.beta_min * s + 0.5 * (SCHEDULE.beta_max - SCHEDULE.beta_min) * s**2)
        )

    t_min = SCHEDULE.t_min
    z = a(1.0) - a(t_min)
    assert float(SCHEDULE.normaliser()) == pytest.approx(z, rel=1e-12)
    np.testing.assert_allclose((a(t) - a(t_min)) / z, u, rtol=1e-9, atol=1e-12)


def test_sampled_times_weighted_integrate_the_rate(x64):
    """``E_q[w(t) g(t)] = ∫_{t_min}^1 r g``: with ``g = σ_t²``, ``r g = β``, so
    ``B(1) - B(t_min)``; every time is in ``[t_min, 1]``."""
    t = vp_sde.sample_time(SCHEDULE, jax.random.key(3), (1_000_000,), jnp.float64)
    assert float(t.min()) >= SCHEDULE.t_min and float(t.max()) <= 1.0
    values = vp_sde.time_weight(SCHEDULE, t) * SCHEDULE.noise_scale(t) ** 2
    _mean_within(values, SCHEDULE.integral(1.0) - SCHEDULE.integral(SCHEDULE.t_min))


# --- 1b. the per-row read-outs with exact scores: Monte Carlo means hit the closed forms ----

RHO = 0.8
PAIR = np.array([[1.0, RHO], [RHO, 1.0]])
TRIPLE = np.array([[1.0, 0.6, 0.5], [0.6, 1.0, -0.3], [0.5, -0.3, 1.0]])


def _draws(rows, features, seed, dtype=jnp.float64):
    return score_objectives.draw(SCHEDULE, jax.random.key(seed), rows, features, dtype)


def _read_out(read, network, x0, t, noise, sizes, **options):
    """``read(network, x0, t, noise, sizes, SCHEDULE)`` as one jitted program (not op by op)."""
    return jax.jit(lambda a, b, c: read(network, a, b, c, sizes, SCHEDULE, **options))(x0, t, noise)


@pytest.mark.parametrize("variant", ["conditional", "joint"])
def test_mutual_information_read_out_of_exact_scores_is_unbiased(x64, variant):
    n = 100_000
    x0 = _gaussian_rows(PAIR, n, seed=1)
    t, noise = _draws(n, 2, seed=2)
    terms = _read_out(
        score_objectives.mutual_information_terms,
        _gaussian_network(PAIR, (1, 1)),
        *(x0, t, noise, (1, 1)),
        variant=variant,
    )
    assert terms.shape == (n, 1) and float(terms.min()) >= 0.0
    _mean_within(terms[:, 0], -0.5 * math.log(1 - RHO**2))  # 0.5108


def test_mutual_information_read_out_of_exact_scores_with_vector_variables(x64):
    """``(dx, dy) = (2, 1)``: the column blocks, not just the variable count, must line up."""
    cov = np.array([[1.0, 0.3, 0.5], [0.3, 1.0, -0.4], [0.5, -0.4, 1.0]])
    n, sizes = 100_000, (2, 1)
    x0 = _gaussian_rows(cov, n, seed=4)
    t, noise = _draws(n, 3, seed=5)
    truth = _total_correlation(cov, sizes)
    for variant in ("conditional", "joint"):
        terms = _read_out(
            score_objectives.mutual_information_terms,
            _gaussian_network(cov, sizes),
            *(x0, t, noise, sizes),
            variant=variant,
        )
        _mean_within(terms[:, 0], truth)


def test_entropy_read_out_of_exact_scores_is_unbiased(x64):
    n = 100_000
    x0 = _gaussian_rows(PAIR, n, seed=6)
    t, noise = _draws(n, 2, seed=7)
    terms = _read_out(
        score_objectives.entropy_terms, _gaussian_network(PAIR, (2,)), x0, t, noise, (2,)
    )
    _mean_within(terms[:, 0], 0.5 * _log_det(2 * math.pi * math.e * PAIR))


def test_o_information_read_out_of_exact_scores_is_unbiased(x64):
    n, sizes = 100_000, (1, 1, 1)
    x0 = _gaussian_rows(TRIPLE, n, seed=8)
    t, noise = _draws(n, 3, seed=9)
    terms = _read_out(
        score_objectives.o_information_terms,
        _gaussian_network(TRIPLE, sizes),
        *(x0, t, noise, sizes),
    )
    assert terms.shape == (n, 2)
    _mean_within(terms[:, 0], _total_correlation(TRIPLE, sizes))
    omega = (2 - 3) * terms[:, 0] + terms[:, 1]
    truth = _gaussian_o_information(TRIPLE)
    _mean_within(omega, truth)
    # the closed form agrees with the library's Gaussian O-information on the population
    population = _gaussian_rows(TRIPLE, 200_000, seed=10)
    plug_in = jaxinfo.o_information(*(population[:, i : i + 1] for i in range(3)))
    assert abs(float(plug_in) - truth) < 0.01


def _rows_with_moments(cov, n, seed):
    """Rows whose sample mean is 0 and sample covariance (ddof 1) is exactly ``cov``."""
    z = np.random.default_rng(seed).normal(size=(n, len(cov)))
    z -= z.mean(axis=0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)))
    return z @ whiten.T @ np.linalg.cholesky(cov).T


@pytest.mark.parametrize(
    ("kind", "sizes"),
    [("conditional", (2, 1)), ("joint", (2, 1)), ("entropy", (3,)), ("o_information", (1, 2, 1))],
)
def test_gaussian_baseline_is_the_exact_score_of_the_fitted_gaussian(x64, kind, sizes):
    """The trainer's baseline, fitted on rows of covariance Σ, against ``K⁻¹ z`` above."""
    from jaxinfo._src import gaussian_scores

    d = sum(sizes)
    a = np.random.default_rng(1).normal(size=(d, d))
    cov = a @ a.T / d + 0.5 * np.eye(d)
    masks, _ = score_objectives.training_masks(kind, len(sizes))
    baseline = gaussian_scores.fit(_rows_with_moments(cov, 500, 2), masks, sizes, jnp.float64)
    exact = _gaussian_network(cov, sizes)
    x0 = _gaussian_rows(cov, 256, seed=3)
    t, noise = _draws(256, d, seed=4)
    noisy = score_objectives.diffuse(SCHEDULE, x0, t, noise)

    @jax.jit
    def predictions(x0, noisy, t):  # one program for all masks
        inputs = [score_objectives.network_inputs(x0, noisy, t, m, sizes) for m in masks]
        return [
            (baseline.predict(x0, noisy, t, jnp.asarray(m), SCHEDULE), exact(*xt))
            for m, xt in zip(masks, inputs, strict=True)
        ]

    for mask, (got, want) in zip(masks, predictions(x0, noisy, t), strict=True):
        diffused = np.repeat(mask, sizes) == score_objectives.DIFFUSED
        np.testing.assert_allclose(got[:, diffused], want[:, diffused], rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(got[:, ~diffused], 0.0)


# --- 6. the read-outs are pure: jit equals eager ---------------------------------------------


def test_mutual_information_terms_under_jit_equal_eager(x64):
    """In float64: each term squares a difference of two predictions, which float32 rounds
    differently when XLA fuses the jitted program (2e-4 relative seen)."""
    x0 = _gaussian_rows(PAIR, 64, seed=11)
    t, noise = _draws(64, 2, seed=12)
    network = ScoreNetwork((1, 1), width=16, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    # a trained-looking network: a nonzero output layer (it starts at zero)
    kernel = network.out.kernel
    kernel[...] = jax.random.normal(jax.random.key(1), kernel[...].shape, jnp.float64)
    for variant in ("conditional", "joint"):

        def terms(x0, t, noise, variant=variant):
            return score_objectives.mutual_information_terms(
                network, x0, t, noise, (1, 1), SCHEDULE, variant=variant
            )

        eager = terms(x0, t, noise)
        assert float(eager.max()) > 0
        np.testing.assert_allclose(jax.jit(terms)(x0, t, noise), eager, rtol=1e-8, atol=1e-12)
        # and row by row under vmap: each row's term depends on that row alone
        rowwise = jax.jit(jax.vmap(lambda a, b, c: terms(a[None], b[None], c[None])[0]))
        rowwise = rowwise(x0, t, noise)
        np.testing.assert_allclose(rowwise, eager, rtol=1e-8, atol=1e-12)


# --- 4. bad inputs: each public function names the argument --------------------------------


def _small(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1)).astype(np.float32)
    return x, (x + rng.normal(size=(n, 1))).astype(np.float32)


def _mesh(devices=None):
    return jax.sharding.Mesh(np.array(jax.devices() if devices is None else devices), ("batch",))


_TRAINING_OPTION_ERRORS = [
    ({"batch_size": 1}, ValueError, r"`batch_size` must be an int >= 2; got 1"),
    ({"batch_size": 64.0}, TypeError, r"`batch_size` must be a Python int; got float"),
    ({"held_out": 1.0}, ValueError, r"`held_out` must lie in \(0, 1\); got 1\.0"),
    ({"held_out": 0.0}, ValueError, r"`held_out` must lie in \(0, 1\)"),
    ({"held_out": "0.3"}, TypeError, r"`held_out` must be a real scalar"),
    ({"weight_averaging": 1.0}, ValueError, r"`weight_averaging` must lie in \(0, 1\)"),
    ({"weight_averaging": 0.0}, ValueError, r"`weight_averaging` must lie in \(0, 1\)"),
    ({"mc_samples": 0}, ValueError, r"`mc_samples` must be an int >= 1; got 0"),
    ({"mc_samples": True}, TypeError, r"`mc_samples` must be a Python int"),
    ({"max_steps": 0}, ValueError, r"`max_steps` must be an int >= 1"),
    ({"evaluate_every": 0}, ValueError, r"`evaluate_every` must be an int >= 1"),
    ({"patience": 0}, ValueError, r"`patience` must be an int >= 1"),
    ({"learning_rate": 0.0}, ValueError, r"`learning_rate`"),
    ({"optimizer": "adam"}, TypeError, r"`optimizer` must be an optax transformation"),
    ({"seed": -1}, ValueError, r"`seed` must be an int >= 0; got -1"),
    ({"progress": 1}, TypeError, r"`progress` must be True or False"),
    ({"gaussian_baseline": "no"}, TypeError, r"`gaussian_baseline` must be True or False"),
    ({"base": 1.0}, ValueError, r"`base`"),
    ({"mesh": "batch"}, TypeError, r"`mesh` must be a `jax.sharding.Mesh`; got str"),
    (
        {"mesh": _mesh(), "batch_size": 12},
        ValueError,
        r"`batch_size` \(12\) must be a multiple of the 8 devices on `mesh` axis 'batch'",
    ),
    (
        {"mesh": _mesh(), "batch_size": 64},
        ValueError,
        r"`batch_size` \(64\) exceeds the 45 training rows",
    ),
    (
        {"network": nnx.Linear(2, 2, rngs=nnx.Rngs(0))},
        TypeError,
        r"`network` must be a `jaxinfo.nn.ScoreNetwork`; got Linear",
    ),
]


def _public_calls():
    x, y = _small()
    xs = [x, y, x - y]
    return {
        "minde_mutual_information": lambda **kw: minde_mutual_information(x, y, **kw),
        "minde_entropy": lambda **kw: minde_entropy(np.concatenate([x, y], 1), **kw),
        "soi_o_information": lambda **kw: soi_o_information(*xs, **kw),
    }


@pytest.mark.parametrize("name", ["minde_mutual_information", "minde_entropy", "soi_o_information"])
@pytest.mark.parametrize(
    ("options", "error", "message"),
    _TRAINING_OPTION_ERRORS,
    ids=lambda v: ",".join(sorted(v)) if isinstance(v, dict) else "",
)
def test_every_training_option_is_checked_naming_it(name, options, error, message):
    with pytest.raises(error, match=message):
        _public_calls()[name](**{"max_steps": 10, **cast(Any, options)})


def test_data_errors_name_the_argument():
    x, y = _small()
    nan = x.copy()
    nan[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"`y` holds NaN or inf"):
        minde_mutual_information(x, nan)
    with pytest.raises(ValueError, match=r"`x` holds NaN or inf"):
        minde_entropy(nan)
    with pytest.raises(ValueError, match=r"`xs\[2\]` holds NaN or inf"):
        soi_o_information(x, y, nan)
    with pytest.raises(TypeError, match=r"`x` must be a floating-point array .* int64"):
        minde_mutual_information(np.arange(64).reshape(64, 1), y)
    with pytest.raises(TypeError, match=r"`x` must be a floating-point array"):
        minde_entropy(np.arange(64))
    with pytest.raises(TypeError, match=r"`xs\[1\]` must be a floating-point array"):
        soi_o_information(x, np.ones((64, 1), np.int32), y)
    with pytest.raises(TypeError, match=r"`y` must be an array of numbers; got str"):
        minde_mutual_information(x, cast(Any, "y"))
    with pytest.raises(ValueError, match=r"`x`, `y` must hold the same pairs \(rows\); got 64, 63"):
        minde_mutual_information(x, y[:63])
    with pytest.raises(ValueError, match=r"`xs\[0\]`, `xs\[1\]`, `xs\[2\]` must hold the same"):
        soi_o_information(x, y, y[:60])
    with pytest.raises(ValueError, match=r"`y` has no columns \(shape \(64, 0\)\)"):
        minde_mutual_information(x, np.zeros((64, 0), np.float32))  # named `sizes` before
    with pytest.raises(ValueError, match=r"`xs\[1\]` has no columns"):
        soi_o_information(x, np.zeros((64, 0), np.float32), y)
    with pytest.raises(ValueError, match=r"`x` must have shape \[n, d\]"):
        minde_entropy(np.ones((4, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"`variant` must be one of \('conditional', 'joint'\)"):
        minde_mutual_information(x, y, variant=cast(Any, "minde_c"))
    with pytest.raises(ValueError, match=r"`marginals` must be one of"):
        minde_mutual_information(x, y, marginals=cast(Any, "rank"))
    with pytest.raises(ValueError, match=r"at least 3 variables .* got 2"):
        soi_o_information(x, y)
    constant = np.concatenate([x, np.full_like(x, 2.0)], axis=1)
    with pytest.raises(ValueError, match=r"`x` has a constant column \(index 1"):
        minde_entropy(constant)
    with pytest.raises(ValueError, match="each part needs at least 2"):
        minde_mutual_information(x[:3], y[:3])


def test_a_network_built_for_other_widths_is_refused_naming_the_fix():
    x, y = _small()
    wrong = ScoreNetwork((1, 2), rngs=nnx.Rngs(0))
    with pytest.raises(
        ValueError, match=r"`network` was built for variable widths \(1, 2\); the data has \(1, 1\)"
    ):
        minde_mutual_information(x, y, network=wrong)
    with pytest.raises(
        ValueError, match=r"`network` was built for variable widths \(1, 2\); the data has \(2,\)"
    ):
        minde_entropy(np.concatenate([x, y], 1), network=wrong)
    with pytest.raises(ValueError, match=r"the data has \(1, 1, 1\)"):
        soi_o_information(x, y, x - y, network=wrong)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            {"sizes": ()},
            ValueError,
            r"`sizes` must be positive integers, one per variable; got \(\)",
        ),
        ({"sizes": (1, 0)}, ValueError, r"`sizes` must be positive integers"),
        ({"sizes": (1, 2.0)}, ValueError, r"`sizes` must be positive integers"),
        ({"sizes": (1, True)}, ValueError, r"`sizes` must be positive integers"),
        ({"sizes": 3}, TypeError, r"`sizes` must be a sequence of ints, one per variable"),
        ({"sizes": "12"}, TypeError, r"`sizes` must be a sequence of ints"),
        ({"sizes": (1, 1), "width": 0}, ValueError, r"`width` must be a positive integer; got 0"),
        ({"sizes": (1, 1), "depth": 1.5}, ValueError, r"`depth` must be a positive integer"),
    ],
)
def test_score_network_checks_its_arguments(arguments, error, message):
    with pytest.raises(error, match=message):
        ScoreNetwork(**arguments, rngs=nnx.Rngs(0))


def test_score_network_checks_its_inputs_and_starts_at_zero():
    network = ScoreNetwork((2, 1), width=16, rngs=nnx.Rngs(0))
    x, times = jnp.ones((5, 3)), jnp.full((5, 2), 0.5)
    first = jax.jit(lambda a, b: network(a, b))(x, times)  # one program, not op by op
    np.testing.assert_array_equal(first, jnp.zeros((5, 3)))  # the output layer starts at 0
    with pytest.raises(ValueError, match=r"`x` must have shape \[n, 3\] .* ScoreNetwork"):
        network(jnp.ones((5, 2)), times)
    with pytest.raises(ValueError, match=r"`times` must have shape \[n, 2\]"):
        network(x, jnp.ones((5, 3)))
    with pytest.raises(ValueError, match=r"`times` must have one row per row of `x` \(5\)"):
        network(x, jnp.ones((4, 2)))


# --- 5. sharding: the same seed gives the same training with and without a mesh ----------


def test_a_split_batch_gives_the_full_batch_loss_and_gradient():
    """The trainer's sharded loss: each device's mean over an equal share, ``pmean``'d.

    Its gradient was 8 times the batch's (the ``pmean`` of gradients already summed over
    the devices): hidden by Adam's scale invariance, not by SGD or gradient clipping.
    """
    from jaxinfo._src.score_estimation import _sharded

    def loss(p, x0, t, noise, mask):
        rows = (x0 @ p["w"] * t[:, 0] + p["b"] - noise[:, 0]) ** 2
        return jnp.mean(jnp.where(mask[:, 0] == score_objectives.DIFFUSED, rows, 0.0))

    keys = jax.random.split(jax.random.key(0), 3)
    params = {"w": jax.random.normal(keys[0], (3,)), "b": jnp.float32(0.3)}
    x0 = jax.random.normal(keys[1], (64, 3))
    t, noise = score_objectives.draw(SCHEDULE, keys[2], 64, 3, jnp.float32)
    mask = jnp.asarray(np.random.default_rng(0).choice([-1, 0, 1], size=(64, 2)), jnp.int32)
    full_loss, full_grads = jax.jit(jax.value_and_grad(loss))(params, x0, t, noise, mask)
    split = jax.jit(jax.value_and_grad(_sharded(loss, _mesh())))
    split_loss, split_grads = split(params, x0, t, noise, mask)
    np.testing.assert_allclose(split_loss, full_loss, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), split_grads, full_grads)


@pytest.mark.slow  # two trainings, each compiling three programs: 13 CPU-s
@pytest.mark.parametrize("name", ["minde_mutual_information", "soi_o_information"])
def test_a_mesh_splits_each_batch_without_changing_the_training(name):
    x, y = _small(n=200, seed=3)
    call = {
        "minde_mutual_information": lambda **kw: minde_mutual_information(x, y, **kw),
        "soi_o_information": lambda **kw: soi_o_information(x, y, x - y, **kw),
    }[name]
    options = {
        **{"batch_size": 32, "max_steps": 20, "evaluate_every": 10, "mc_samples": 2},
        "optimizer": optax.sgd(0.1),  # not scale-invariant like Adam: a gradient 8x off shows
        "progress": False,
    }
    plain = call(**options)
    sharded = call(mesh=_mesh(), **options)
    assert plain.steps[-1] == 20 and np.all(np.isfinite(plain.held_out_losses))
    np.testing.assert_allclose(sharded.held_out_losses, plain.held_out_losses, rtol=1e-5)
    np.testing.assert_allclose(sharded.train_losses, plain.train_losses, rtol=1e-5)
    assert sharded.value == pytest.approx(plain.value, rel=1e-3)  # 2e-5 measured (MI)


# --- 2, 3. trained estimators against closed forms (slow: ~10-20 s per training) ----------
#
# Tolerance: 3 reported standard errors (the read-out's Monte Carlo noise) plus a training
# bias allowance. Measured 2026-12-07 on 2 loaded cores, n = 2000, max_steps = 3000, float32,
# data keys 100.. with seeds 0.. (value - truth; the first column is what the tests run):
#   without the Gaussian baseline (the network alone):
#     MI rho = 0.8, conditional: -0.076 -0.090 -0.057 -0.018 -0.047 -0.045 (SE 0.021-0.026)
#     MI rho = 0.8, joint:       -0.023 -0.049 -0.044 -0.039 -0.023 -0.040 (SE 0.017-0.035)
#     entropy, 2-D rho = 0.6:    -0.041 -0.028 -0.087 -0.068              (SE 0.040-0.044)
#   with it (the default; best step 0, the baseline alone, in 3 of 6 MI runs):
#     MI rho = 0.8, conditional: -0.040 -0.103 -0.021 (SE 0.025-0.029)
#     MI rho = 0.8, joint:       -0.036 -0.078 -0.021 (SE 0.020)
#     entropy, 2-D rho = 0.6:    +0.005 +0.010 -0.025 (SE 0.042-0.044)
# so the estimates sit low by up to 0.10 and the allowance is 0.06 (the largest error less
# about 1.5 standard errors); every measured error is within 3 SE + 0.06.
BIAS_ALLOWANCE = 0.06
TRAINED = {"max_steps": 3000, "progress": False}
# The self-consistency checks train the network alone: with the baseline a Gaussian law is
# read before any training, so they would check the fitted covariance more than the network.
NETWORK_ALONE = {**TRAINED, "gaussian_baseline": False}


def _within(result, truth, allowance=BIAS_ALLOWANCE):
    assert 0 < result.standard_error < 0.06, result.standard_error
    tolerance = 3 * result.standard_error + allowance
    assert abs(result.value - truth) < tolerance, (result.value, truth, tolerance)


@pytest.mark.slow
@pytest.mark.parametrize("gaussian_baseline", [True, False])
@pytest.mark.parametrize("variant", ["conditional", "joint"])
def test_minde_mutual_information_of_a_correlated_gaussian(variant, gaussian_baseline):
    task = testing.correlated_gaussians(1, 1, correlation=RHO)
    x, y = task.sample(jax.random.key(100), 2000)
    result = minde_mutual_information(
        x, y, variant=variant, gaussian_baseline=gaussian_baseline, **TRAINED
    )
    assert result.method == f"minde_{variant}"
    assert result.best_step == 0 or result.best_step in result.steps  # 0: the baseline alone
    _within(result, task.mutual_information)  # 0.5108


@pytest.mark.slow
@pytest.mark.parametrize("gaussian_baseline", [True, False])
def test_minde_entropy_of_a_correlated_gaussian(gaussian_baseline):
    cov = np.array([[1.0, 0.6], [0.6, 1.0]]) * 4.0  # scale 2: the standardisation's log-scale
    x = np.random.default_rng(0).multivariate_normal([1.0, -1.0], cov, size=2000)
    options = {**TRAINED, "gaussian_baseline": gaussian_baseline}
    result = minde_entropy(x.astype(np.float32), **options)
    _within(result, 0.5 * _log_det(2 * math.pi * math.e * cov))  # 4.4914
    in_bits = minde_entropy(x.astype(np.float32), base=2, **options)  # same seed, same run
    assert in_bits.value == pytest.approx(result.value / math.log(2), rel=1e-5)


# SΩI on TRIPLE (Ω = -0.646, TC = 1.060), n = 2000, float32, seeds 0.. (value - truth):
#   with the Gaussian baseline (default), max_steps = 3000: +0.040 -0.032 +0.073 (SE 0.034-0.046)
#   without it, max_steps = 3000:  +0.394 +0.059 +0.484 (SE 0.026-0.25): synergy underestimated
#   without it, max_steps = 10000 (stops at 7500-10000): +0.181 +0.066 -0.087 -0.011
#     (SE 0.031-0.16); TC -0.047 -0.010 +0.105 +0.014
# Without the baseline the leave-one-out pairs carry most of Ω's error: allowance 0.2 (the
# largest error, 0.18 at SE 0.031, rounded up) at 10000 steps; with it, BIAS_ALLOWANCE.
SOI_ALLOWANCE = 0.2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("gaussian_baseline", "max_steps", "allowance"),
    [(True, 3000, BIAS_ALLOWANCE), (False, 10_000, SOI_ALLOWANCE)],
)
def test_soi_o_information_of_a_three_variable_gaussian(gaussian_baseline, max_steps, allowance):
    z = _gaussian_rows(TRIPLE, 2000, seed=0, dtype=np.float32)
    result = soi_o_information(
        *z.T, max_steps=max_steps, gaussian_baseline=gaussian_baseline, progress=False
    )
    truth = _gaussian_o_information(TRIPLE)  # -0.646: synergy dominates
    _within(result, truth, allowance)
    parts = result.parts
    assert parts["total_correlation"] - parts["dual_total_correlation"] == pytest.approx(
        result.value, abs=1e-6
    )
    assert parts["s_information"] == pytest.approx(
        parts["total_correlation"] + parts["dual_total_correlation"], abs=1e-6
    )
    assert abs(parts["total_correlation"] - _total_correlation(TRIPLE, [1, 1, 1])) < 0.15


def _pair(rng, rho, n=2000):
    x = rng.normal(size=(n, 1))
    return x.astype(np.float32), (rho * x + math.sqrt(1 - rho**2) * rng.normal(size=(n, 1))).astype(
        np.float32
    )


@pytest.mark.slow
def test_minde_respects_data_processing():
    """``I(X; Y) >= I(X; Y + N)``: truths 0.511 and 0.193. Measured on two seeds: 0.471 /
    0.187 and 0.501 / 0.222 (SE 0.013-0.03), a gap of 0.28 against a combined SE of 0.03."""
    rng = np.random.default_rng(10)
    x, y = _pair(rng, RHO)
    noisy = y + rng.normal(size=y.shape).astype(np.float32)
    clean = minde_mutual_information(x, y, **NETWORK_ALONE)
    processed = minde_mutual_information(x, noisy, **NETWORK_ALONE)
    combined = math.hypot(clean.standard_error, processed.standard_error)
    assert clean.value - processed.value > 3 * combined, (clean.value, processed.value)
    _within(processed, -0.5 * math.log(1 - RHO**2 / 2))


@pytest.mark.slow
def test_minde_is_additive_over_independent_pairs():
    """``I([X1, X2]; [Y1, Y2]) = I(X1; Y1) + I(X2; Y2)`` (0.511 + 0.223). Measured on two
    seeds: joint - sum = +0.025, -0.040 (combined SE 0.04); tolerance 3 combined SE + 0.06."""
    rng = np.random.default_rng(10)
    (x1, y1), (x2, y2) = _pair(rng, RHO), _pair(rng, 0.6)
    both = minde_mutual_information(np.hstack([x1, x2]), np.hstack([y1, y2]), **NETWORK_ALONE)
    first = minde_mutual_information(x1, y1, **NETWORK_ALONE)
    second = minde_mutual_information(x2, y2, **NETWORK_ALONE)
    combined = math.sqrt(sum(r.standard_error**2 for r in (both, first, second)))
    gap = both.value - first.value - second.value
    assert abs(gap) < 3 * combined + BIAS_ALLOWANCE, (gap, combined)


@pytest.mark.parametrize("kind", ["standardize", "asinh"])
def test_log_derivative_of_each_smooth_map_is_its_finite_difference(kind):
    from jaxinfo._src import marginal_transforms

    rng = np.random.default_rng(0)
    train = rng.standard_t(2.0, size=(400, 3)) * [1.0, 5.0, 0.1]
    points = rng.standard_t(2.0, size=(50, 3)) * [1.0, 5.0, 0.1]
    transform = marginal_transforms.fit(train, kind)
    step = 1e-6 * np.maximum(1.0, np.abs(points))
    difference = (transform(points + step) - transform(points - step)) / (2 * step)
    log_derivative = marginal_transforms.fit_log_derivative(train, kind)(points)
    np.testing.assert_allclose(log_derivative, np.log(difference), atol=1e-6)


def test_entropy_refuses_a_map_without_a_derivative():
    x = np.random.default_rng(0).normal(size=(100, 2))
    with pytest.raises(ValueError, match="normal_scores"):
        minde_entropy(x, marginals="normal_scores")
