"""Transfer entropy: closed form on a VAR(1), Granger identity, embedding, masks, windows, peers.

The registry battery (tests/registry.py) adds jit, vmap, bf16, retracing, masks = slicing of
trailing steps, float32 vs float64, gradients and the bad-input categories.
"""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import jaxinfo
from jaxinfo import testing

DATA = pathlib.Path(__file__).parent / "data"
TASK = testing.linear_gaussian_var1(a=0.5, b=0.5, c=0.8)


def _lstsq_residual_logdet(target: np.ndarray, regressors: list[np.ndarray]) -> float:
    """log det of the ML residual covariance of ``target`` on ``[1, regressors]``."""
    design = np.column_stack([np.ones(len(target)), *regressors])
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    residual = target - design @ coef
    return float(np.linalg.slogdet(residual.T @ residual / len(target))[1])


def _rows(x: np.ndarray, y: np.ndarray, k: int, m: int, u: int):
    """The embedding written as a loop over rows (module notes of time_series.py)."""
    t0 = max(k, u + m - 1)
    future, target_past, source_past, steps = [], [], [], []
    for t in range(t0, len(y)):
        future.append(y[t])
        target_past.append(np.concatenate([y[t - j] for j in range(1, k + 1)]))
        source_past.append(np.concatenate([x[t - j] for j in range(u, u + m)]))
        steps.append({t, *(t - j for j in range(1, k + 1)), *(t - j for j in range(u, u + m))})
    return np.array(future), np.array(target_past), np.array(source_past), steps


def test_var1_closed_form_matches_a_long_least_squares_fit(x64):
    """The task's truth against half the log ratio of residual variances at T = 200 000."""
    x, y = (np.asarray(a)[:, 0] for a in TASK.sample(jax.random.key(3), 200_000))
    restricted = _lstsq_residual_logdet(y[1:, None], [y[:-1]])
    full = _lstsq_residual_logdet(y[1:, None], [y[:-1], x[:-1]])
    # standard error of the estimate ~ sqrt(2 TE / T) ~ 1.7e-3
    assert 0.5 * (restricted - full) == pytest.approx(TASK.transfer_entropy, abs=4e-3)
    assert TASK.reverse_transfer_entropy == 0.0


def test_gaussian_transfer_entropy_recovers_the_var1_closed_form(x64):
    x, y = TASK.sample(jax.random.key(0), 20_000)
    # sampling sd ~ sqrt(2 TE / T) = 5e-3; the plug-in bias is ~ 1 / (2T)
    assert float(jaxinfo.gaussian_transfer_entropy(x, y)) == pytest.approx(
        TASK.transfer_entropy, abs=1e-2
    )
    assert abs(float(jaxinfo.gaussian_transfer_entropy(y, x))) < 2e-3  # truth 0


@pytest.mark.slow  # 5 s; the peer cases check the KSG route by default
def test_copula_and_ksg_transfer_entropy_recover_the_var1_closed_form(x64):
    x, y = TASK.sample(jax.random.key(1), 3000)
    # the copula TE is exact for this Gaussian process up to the rank transform's noise;
    # KSG at k = 3 is biased towards 0 by a few 1e-2 at this T (Kraskov et al. 2004); the
    # sampling sd at T = 3000 is ~ 1e-2
    copula = jaxinfo.gaussian_copula_transfer_entropy(jnp.exp(x), y**3)
    assert float(copula) == pytest.approx(TASK.transfer_entropy, abs=3e-2)
    ksg = jaxinfo.ksg_transfer_entropy(x, y)
    assert float(ksg) == pytest.approx(TASK.transfer_entropy, abs=4e-2)
    assert abs(float(jaxinfo.ksg_transfer_entropy(y, x))) < 3e-2


@pytest.mark.parametrize(("k", "m", "u", "dx", "dy"), [(1, 1, 1, 1, 1), (2, 3, 2, 2, 2)])
def test_gaussian_transfer_entropy_is_granger_causality(x64, k, m, u, dx, dy):
    """0.5 log det of the residual covariances (own past vs own and source past), lstsq."""
    rng = np.random.default_rng(0)
    steps = 600
    x = rng.normal(size=(steps, dx))
    y = rng.normal(size=(steps, dy))
    for t in range(3, steps):  # a coupled, autocorrelated process
        y[t] += 0.5 * y[t - 1] + 0.4 * x[t - u].sum() - 0.2 * x[t - u - 1, :1].sum()
    future, target_past, source_past, _ = _rows(x, y, k, m, u)
    restricted = _lstsq_residual_logdet(future, [target_past])
    full = _lstsq_residual_logdet(future, [target_past, source_past])
    # under jit, the histories and delay static
    te = jax.jit(
        functools.partial(
            jaxinfo.gaussian_transfer_entropy, target_history=k, source_history=m, delay=u
        )
    )(x, y)
    np.testing.assert_allclose(float(te), 0.5 * (restricted - full), rtol=1e-10, atol=1e-12)


def test_a_masked_step_drops_exactly_the_rows_that_touch_it(x64):
    """Against the explicit rows minus those that read a masked step (a gap of two steps)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 2)), rng.normal(size=(60, 1))
    y[1:] += 0.6 * x[:-1, :1]
    k, m, u = 2, 2, 3
    where = np.ones(60, bool)
    where[[20, 21, 45]] = False
    future, target_past, source_past, touched = _rows(x, y, k, m, u)
    keep = np.array([not ({20, 21, 45} & steps) for steps in touched])
    expected = jaxinfo.gaussian_conditional_mutual_information(
        future[keep], source_past[keep], target_past[keep]
    )
    garbage_x = np.where(where[:, None], x, np.nan)
    te = jaxinfo.gaussian_transfer_entropy(
        garbage_x, y, target_history=k, source_history=m, delay=u, where=where
    )
    np.testing.assert_allclose(float(te), float(expected), rtol=1e-12)


def test_vmap_over_channel_pairs_equals_a_loop(key):
    """Every ordered pair (i, j), i != j, of C channels: T(i -> j) in one vmap."""
    channels = jax.random.normal(key, (200, 4))
    channels = channels.at[1:, 2].add(0.8 * channels[:-1, 0])
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    sources = jnp.stack([channels[:, i : i + 1] for i, _ in pairs])
    targets = jnp.stack([channels[:, j : j + 1] for _, j in pairs])
    batched = jax.jit(jax.vmap(jaxinfo.gaussian_transfer_entropy))(sources, targets)
    fn = jaxinfo.gaussian_transfer_entropy
    looped = [fn(s, t) for s, t in zip(sources, targets, strict=True)]
    np.testing.assert_allclose(batched, np.array(looped), rtol=1e-5, atol=1e-7)
    assert pairs[int(jnp.argmax(batched))] == (0, 2)


@pytest.mark.slow  # the battery compares float32 with float64 by default
def test_float32_agrees_with_float64_on_the_var1(x64):
    x, y = TASK.sample(jax.random.key(0), 2000)
    fn = jaxinfo.gaussian_transfer_entropy
    value64 = fn(x, y, target_history=2, base=2)
    value32 = fn(x.astype(jnp.float32), y.astype(jnp.float32), target_history=2, base=2)
    assert value32.dtype == jnp.float32
    np.testing.assert_allclose(float(value32), float(value64), rtol=1e-4)


@pytest.mark.parametrize(
    "fn",
    [
        jaxinfo.gaussian_transfer_entropy,  # psum of the moments
        pytest.param(jaxinfo.ksg_transfer_entropy, marks=pytest.mark.slow),  # gathered rows
    ],
)
def test_windows_under_shard_map_equal_the_padded_concatenation(fn, x64):
    """Each device's window is embedded on its own; t0 masked steps between windows agree."""
    k, m, u = 2, 1, 2
    t0 = 2
    windows, length = 8, 40
    x, y = TASK.sample(jax.random.key(4), windows * length)
    where = np.ones(windows * length, bool)
    where[7::13] = False  # gaps inside windows
    mesh = jax.make_mesh((8,), ("time",), axis_types=(AxisType.Auto,))
    options = {"target_history": k, "source_history": m, "delay": u}

    def pad(a, fill):  # t0 masked steps after every window but the last
        parts = np.split(np.asarray(a), windows)
        gap = np.full((t0, *parts[0].shape[1:]), fill, parts[0].dtype)
        return np.concatenate([p for part in parts for p in (part, gap)][:-1])

    sharded = jax.jit(
        jax.shard_map(
            lambda a, b, m: fn(a, b, where=m, axis_name="time", **options),
            mesh=mesh,
            in_specs=(P("time"), P("time"), P("time")),
            out_specs=P(),
        )
    )(x, y, where)
    unsharded = fn(pad(x, np.nan), pad(y, np.nan), where=pad(where, False), **options)
    np.testing.assert_allclose(float(sharded), float(unsharded), rtol=1e-10)


@pytest.mark.parametrize(
    ("options", "steps", "match"),
    [
        ({"target_history": 0}, 50, r"`target_history` must be an int >= 1; got 0"),
        ({"source_history": 0}, 50, r"`source_history` must be an int >= 1; got 0"),
        ({"delay": 0}, 50, r"`delay` must be an int >= 1; got 0"),
        ({"target_history": 1.5}, 50, r"`target_history` must be a Python int"),
        ({"delay": 4, "source_history": 3}, 6, r"`delay`=4 .* need more than 6 time steps"),
        ({"target_history": 3}, 6, r"gives 3 embedded rows .* needs at least 6"),
    ],
)
def test_bad_histories_and_short_series_name_the_argument(options, steps, match):
    x = jnp.sqrt(jnp.arange(steps, dtype=jnp.float32))[:, None]
    error = TypeError if "Python int" in match else ValueError
    with pytest.raises(error, match=match):
        jaxinfo.gaussian_transfer_entropy(x, jnp.sin(x), **cast(Any, options))


def test_mismatched_lengths_and_shapes_name_the_argument():
    x = jnp.zeros((50, 1))
    with pytest.raises(ValueError, match=r"`source` has 50, `target` has 49"):
        jaxinfo.ksg_transfer_entropy(x, jnp.zeros((49, 1)))
    with pytest.raises(ValueError, match=r"`target` must have shape \[n, d\]"):
        jaxinfo.gaussian_transfer_entropy(x, jnp.zeros(50))
    with pytest.raises(ValueError, match=r"`k` must be at most|needs at least 6"):
        jaxinfo.ksg_transfer_entropy(x, x, k=5, where=jnp.arange(50) < 5)


# The delay convention and a 2-D source by default; the other cases compile their own programs.
DEFAULT_PEER_CASES = {"x->y,k3,src2,delay2", "xx->y,k3,2d-source"}


def _peer_cases():
    with (DATA / "peers_transfer_entropy.json").open() as f:
        cases = json.load(f)["cases"]
    return [
        pytest.param(
            c, id=c["id"], marks=[] if c["id"] in DEFAULT_PEER_CASES else [pytest.mark.slow]
        )
        for c in cases
    ]


@pytest.mark.parametrize("case", _peer_cases())
def test_ksg_transfer_entropy_equals_infomeasure(case, x64):
    """infomeasure 0.6.3 ``transfer_entropy(approach="ksg", noise_level=0)`` on the same data.

    Regenerate with ``/tmp/im-venv/bin/python benchmarks/transfer_entropy.py --peers``.
    infomeasure's ``prop_time = p`` is our ``delay = p + 1``; its rows start at
    ``max(k, m) + p``, ours at ``max(k, u + l - 1)``: the cases keep the two equal.
    """
    data = np.load(DATA / "peers_transfer_entropy.npz")
    x, y = data[case["source"]], data[case["target"]]
    te = jaxinfo.ksg_transfer_entropy(
        x,
        y,
        k=case["k"],
        target_history=case["target_history"],
        source_history=case["source_history"],
        delay=case["delay"],
    )
    np.testing.assert_allclose(float(te), case["value"], rtol=1e-6, atol=1e-9)
