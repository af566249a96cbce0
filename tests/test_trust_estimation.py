"""Issue 24 (trust, round two): kNN options, the trained MI estimator, the CLI, DSMI, Task keys.

Each test reproduces a wrong number or a raw error of the bad-input sweep and pins the fix.
"""

import json
import math
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxinfo
from jaxinfo import cli, testing
from jaxinfo.nn import estimate_mutual_information


def _x():
    return jax.random.normal(jax.random.key(0), (16, 3))


def _knn_calls(method):
    """The three kNN estimators on 16 x 3 samples (1-D for the sorted search)."""
    x = _x()
    y = jax.random.normal(jax.random.key(1), (16, 3))
    if method == "sorted":
        x, y = x[:, :1], y[:, :1]
    calls = {
        "knn_entropy": lambda **kw: jaxinfo.knn_entropy(x, method=method, **kw),
        "knn_kl_divergence": lambda **kw: jaxinfo.knn_kl_divergence(x, y, method=method, **kw),
    }
    if method != "sorted":  # KSG's joint search is never 1-D
        calls["ksg_mutual_information"] = lambda **kw: jaxinfo.ksg_mutual_information(
            x, y, method=method, **kw
        )
    return calls


@pytest.mark.parametrize("method", ["tree", "sorted", "brute", "auto"])
def test_knn_block_size_is_checked_whatever_the_method(method):
    # before: method="tree" (and "sorted") ignored block_size: knn_entropy(x, method="tree",
    # block_size=0) gave 4.345 while method="brute" raised; 2.5 and -1 likewise.
    for name, call in _knn_calls(method).items():
        with pytest.raises(ValueError, match=r"`block_size` must be an int >= 1; got 0\."):
            call(block_size=0)
        with pytest.raises(ValueError, match=r"`block_size` must be an int >= 1; got -1\."):
            call(block_size=-1)
        with pytest.raises(TypeError, match=r"`block_size` must be a Python int; got float"):
            call(block_size=cast(Any, 2.5))
        with pytest.raises(TypeError, match=r"`block_size` must be a Python int; got str"):
            call(block_size=cast(Any, "8"))
        # A valid block_size is accepted by every route; it changes the value by round-off
        # only (the slab sums its blocks in another order).
        np.testing.assert_allclose(call(block_size=5), call(), rtol=1e-5, atol=1e-6, err_msg=name)


def _pairs():
    return testing.correlated_gaussians(1, 1, correlation=0.8).sample(jax.random.key(0), 200)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        # before: a negative rate ascended the loss (14834 nats for a true 0.51, 2000 pairs)
        ({"learning_rate": -1e-2}, ValueError, r"`learning_rate` must be a finite positive"),
        ({"learning_rate": 0.0}, ValueError, r"`learning_rate` must be a finite positive"),
        ({"learning_rate": math.nan}, ValueError, r"`learning_rate` must be a finite positive"),
        ({"learning_rate": "1e-3"}, TypeError, r"`learning_rate` must be a real scalar"),
        # before: raw "'<' not supported between instances of 'float' and 'str'"
        ({"held_out": "0.3"}, TypeError, r"`held_out` must be a real scalar number; got str"),
        ({"held_out": 0.0}, ValueError, r"`held_out` must lie in \(0, 1\); got 0\.0"),
        ({"held_out": 1.5}, ValueError, r"`held_out` must lie in \(0, 1\); got 1\.5"),
        ({"held_out": math.nan}, ValueError, r"`held_out` must be a finite number"),
        (
            {"clip": "5", "method": "smile"},
            TypeError,
            r"`clip` must be a real scalar number; got str",
        ),
        (
            {"clip": -1.0, "method": "smile"},
            ValueError,
            r"`clip` must be a finite positive number; got -1\.0",
        ),
        (
            {"clip": -math.inf, "method": "smile"},
            ValueError,
            r"`clip` must be a finite positive number; got -inf",
        ),
        (
            {"clip": math.nan, "method": "smile"},
            ValueError,
            r"`clip` must be a finite positive number; got nan",
        ),
        ({"method": "mine", "decay": "0.9"}, TypeError, r"`decay` must be a real scalar"),
        ({"method": "mine", "decay": 0.0}, ValueError, r"`decay` must lie in \(0, 1\)"),
        ({"method": "mine", "decay": 1.0}, ValueError, r"`decay` must lie in \(0, 1\)"),
        ({"max_steps": 0}, ValueError, r"`max_steps` must be an int >= 1; got 0"),
        ({"max_steps": 200.0}, TypeError, r"`max_steps` must be a Python int; got float"),
        ({"batch_size": 1}, ValueError, r"`batch_size` must be an int >= 2; got 1"),
        ({"batch_size": "64"}, TypeError, r"`batch_size` must be a Python int; got str"),
        ({"evaluate_every": 0}, ValueError, r"`evaluate_every` must be an int >= 1"),
        ({"evaluation_batch_size": 1}, ValueError, r"`evaluation_batch_size` must be an int"),
        ({"patience": 0}, ValueError, r"`patience` must be an int >= 1"),
        # before: seed=-1 raised NumPy's "expected non-negative integer", naming no option
        ({"seed": -1}, ValueError, r"`seed` must be an int >= 0; got -1"),
        ({"seed": "0"}, TypeError, r"`seed` must be a Python int; got str"),
        # before: "no" is truthy, so standardisation ran
        ({"standardize": "no"}, TypeError, r"`standardize` must be True or False"),
        ({"progress": 1}, TypeError, r"`progress` must be True or False"),
        ({"optimizer": "adam"}, TypeError, r"`optimizer` must be an optax transformation"),
        ({"critic": "mlp"}, TypeError, r"`critic` must be a `jaxinfo.nn.Critic`"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_estimate_mutual_information_checks_every_option(options, error, message):
    x, y = _pairs()
    with pytest.raises(error, match=message):
        estimate_mutual_information(x, y, **{"max_steps": 200, **cast(Any, options)})


def test_estimate_mutual_information_keeps_valid_edge_options():
    # clip=inf is DV (as smile_estimate allows); a learning-rate schedule is optax's to check
    x, y = _pairs()
    schedule = optax.constant_schedule(3e-3)
    result = estimate_mutual_information(
        x,
        y,
        method="smile",
        clip=math.inf,
        learning_rate=schedule,
        max_steps=10,
        evaluate_every=10,
    )
    assert math.isfinite(result.value) and result.steps.tolist() == [10]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("abc", r"`{}` must be an array of numbers; got str"),
        (None, r"`{}` must be an array of numbers; got NoneType"),
        ([["ab"], ["cd"]], r"`{}` must be an array of numbers; got list"),
        (np.ones((200, 1), np.int32), r"`{}` must be a floating-point array .* int32"),
    ],
)
def test_estimate_mutual_information_names_bad_data(bad, message):
    x, y = _pairs()
    with pytest.raises(TypeError, match=message.format("x")):
        estimate_mutual_information(cast(Any, bad), y)
    with pytest.raises(TypeError, match=message.format("y")):
        estimate_mutual_information(x, cast(Any, bad))


def test_estimate_mutual_information_names_a_variable_without_columns():
    # before: "`y_features` must be a positive integer", an argument the caller never passed
    x, y = _pairs()
    with pytest.raises(ValueError, match=r"`y` has no columns \(shape \(200, 0\)\)"):
        estimate_mutual_information(x, np.ones((200, 0), np.float32))


def _strict_json(text: str):
    """``json.loads`` that refuses ``NaN`` and ``Infinity`` (Python's accepts them; JSON not)."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_cli_json_is_valid_and_a_run_without_values_fails(tmp_path, capsys, x64):
    del x64  # --x64 turns float64 on for the process; the fixture restores the setting
    path = tmp_path / "big.npy"
    np.save(path, np.random.default_rng(0).normal(size=(20, 3)) * 1e300)
    # before: exit status 0, every measure NaN, written as `NaN` (not JSON)
    status = cli.main(["measure", str(path), "--x64", "--json", "--quiet"])
    out, err = capsys.readouterr()
    got = _strict_json(out)
    names = [key for key in got if key not in ("n", "d", "kernel", "units")]
    assert len(names) == 5 and all(got[name] is None for name in names), got
    assert got["n"] == 20 and got["d"] == 3
    assert status == 1
    assert err.startswith("error: no finite value for 5 of 5 measures (matrix_renyi_entropy")
    assert "shown as null" in err and err.count("\n") == 1, err


def test_cli_names_a_measure_without_value_and_keeps_the_others(tmp_path, capsys, monkeypatch):
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, x)
    monkeypatch.setattr(jaxinfo, "effective_rank", lambda x: jnp.float32(jnp.nan))
    status = cli.main(["measure", str(path), "--json", "--quiet"])
    out, err = capsys.readouterr()
    got = _strict_json(out)
    assert status == 0 and got["effective_rank"] is None
    assert got["von_neumann_entropy"] == pytest.approx(
        float(jaxinfo.von_neumann_entropy(x, kernel=jaxinfo.kernels.Gaussian("median"))),
        rel=1e-6,
    )
    assert err == (
        "warning: no finite value for 1 of 5 measures (effective_rank), shown as null. "
        "Check the data's scale (values near the float range overflow) and rescale or "
        "standardise them.\n"
    )
    # The text output shows nan and says the same on stderr.
    assert cli.main(["measure", str(path), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "effective_rank" in out and out.split("effective_rank")[1].split()[0] == "nan"
    assert err.startswith("warning: no finite value for 1 of 5 measures (effective_rank)")


def test_cli_reports_a_measure_that_refuses_the_data_and_keeps_the_others(tmp_path, capsys):
    """n <= d_x + d_y: the Gaussian MI refuses the data (singular covariance); before, that
    ValueError aborted every measure with exit status 2."""
    rng = np.random.default_rng(0)
    x_path, y_path = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x_path, rng.normal(size=(5, 4)).astype(np.float32))
    np.save(y_path, rng.normal(size=(5, 3)).astype(np.float32))
    status = cli.main(["measure", str(x_path), "--y", str(y_path), "--json", "--quiet"])
    out, err = capsys.readouterr()
    got = _strict_json(out)
    assert status == 0 and got["gaussian_mutual_information"] is None
    assert np.isfinite(got["ksg_mutual_information(k=3)"])
    assert err.startswith(
        "warning: no value for gaussian_mutual_information, shown as null: the joint "
        "covariance of `x` and `y` (d = 4 + 3) needs more samples than dimensions"
    )
    assert "Pass shrinkage=" in err and "scale" not in err


def _labels():
    return jnp.arange(16) % 2


def _dsmi(x, **options):
    options = {"labels": _labels(), "num_classes": 2, "key": jax.random.key(0), **options}
    return jaxinfo.diffusion_spectral_mutual_information(x, **options)


@pytest.mark.parametrize("shape", [(1, 16, 3), (16, 3, 1), (4, 4, 3)])
def test_dsmi_blames_x_for_a_wrong_rank(shape):
    x = jnp.zeros(shape)
    with pytest.raises(ValueError, match=r"`x` must have shape \[n, d\]"):
        _dsmi(x)


def test_dsmi_and_task_sample_refuse_an_integer_key():
    # before: JAX's raw "invalid PRNG key data: expected key_data to have ndim, shape, and
    # dtype attributes. Got 0", naming neither the argument nor the fix
    key_error = r"`key` must be a JAX PRNG key, e.g. `jax.random.key\(0\)`; got int 0"
    with pytest.raises(TypeError, match=key_error):
        _dsmi(_x(), key=cast(Any, 0))
    with pytest.raises(TypeError, match=r"`key` must be a JAX PRNG key.*got str 'abc'"):
        _dsmi(_x(), key=cast(Any, "abc"))
    task = testing.correlated_gaussians(1, 1, correlation=0.5)
    with pytest.raises(TypeError, match=key_error):
        task.sample(cast(Any, 0), 10)
    # Typed and legacy uint32 keys still work and draw the same samples.
    typed, legacy = task.sample(jax.random.key(3), 10), task.sample(jax.random.PRNGKey(3), 10)
    np.testing.assert_array_equal(typed[0], legacy[0])
    np.testing.assert_array_equal(typed[1], legacy[1])
    assert jnp.isfinite(_dsmi(_x(), key=jax.random.PRNGKey(0)))


def test_diffusion_reference_bins_refuses_an_empty_reference():
    # before: NumPy's "zero-size array to reduction operation min which has no identity"
    message = r"`y` must hold at least one value to bin; got an empty array"
    with pytest.raises(ValueError, match=message):
        jaxinfo.diffusion_reference_bins(jnp.zeros((0,)))
    with pytest.raises(ValueError, match=message):
        jaxinfo.diffusion_reference_bins(jnp.zeros((0, 1)))
    labels = jaxinfo.diffusion_reference_bins(jnp.array([2.0]), num_bins=3)
    np.testing.assert_array_equal(labels, [0])  # one value: one bin, no error


@pytest.mark.parametrize("bad", ["ab", None, [["ab"]]])
def test_dsmi_names_non_numeric_labels_and_baseline_masks(bad):
    # before: JAX's "Value 'ab' with dtype <U2 is not a valid JAX array type" and
    # "None is not a valid value for jnp.array", naming no argument
    with pytest.raises(TypeError, match=r"`labels` must be an array of numbers"):
        _dsmi(_x(), labels=cast(Any, bad))
    if bad is not None:  # None: no masks given, the key draws them
        with pytest.raises(TypeError, match=r"`baseline_masks` must be an array of numbers"):
            _dsmi(_x(), key=None, baseline_masks=cast(Any, bad))


@pytest.mark.parametrize("option", ["bandwidth", "t"])
def test_diffusion_options_must_be_scalars(option):
    # before: "Incompatible shapes for broadcasting: shapes=[(16, 16), (3,)]" or "mul got
    # incompatible shapes (3,), (17,)", naming no option (array options are traced)
    message = rf"`{option}` must be a real scalar number; got shape \(3,\)"
    with pytest.raises(TypeError, match=message):
        jaxinfo.diffusion_spectral_entropy(_x(), **cast(Any, {option: jnp.ones(3)}))
    with pytest.raises(TypeError, match=message):
        _dsmi(_x(), **{option: jnp.ones(3)})
    # A scalar array is still a differentiable option.
    grad = jax.grad(lambda v: jaxinfo.diffusion_spectral_entropy(_x(), **cast(Any, {option: v})))
    assert jnp.isfinite(grad(jnp.float32(2.0)))
