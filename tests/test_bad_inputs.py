"""The bad-input battery: no plausible number where there is no answer (registry-driven).

Rules held for every estimator in tests/registry.py:

- a non-finite value in a valid row gives NaN (masked rows may hold anything: see
  ``test_masking_equals_slicing`` in test_common.py);
- fewer valid rows than the estimator needs: NaN under ``jit``, and with a concrete mask the
  ``ValueError`` of slicing the valid rows, naming the mask;
- an invalid option passed as a traced value gives NaN;
- a constant (collapsed) input gives a finite gradient.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from registry import BOUNDS, ENTRIES, STATEFUL, Entry

import jaxinfo
from jaxinfo import kernels

N = 16


def _first_per_function() -> set[str]:
    """The first registry entry of each public function runs by default; the rest with slow.

    The guards sit in the public functions, in front of every code path, so further
    configurations of one function repeat the same check (and CI time).
    """
    seen: dict[str, str] = {}
    for e in ENTRIES:
        seen.setdefault(e.name.split("[")[0], e.name)
    return set(seen.values())


# The host-tree route hands the data to SciPy, which rejects non-finite points itself: its
# entries run by default too (the guard alone did not cover it).
DEFAULT = _first_per_function() | {e.name for e in ENTRIES if "tree" in e.name}


def _params(keep: Callable[[Entry], bool] = lambda e: True):
    """One pytest param per registry entry that ``keep`` selects (outside DEFAULT: slow)."""
    return [
        pytest.param(e, id=e.name, marks=[] if e.name in DEFAULT else [pytest.mark.slow])
        for e in ENTRIES
        if keep(e)
    ]


PARAMS = _params()
MASKED = _params(lambda e: e.supports_where)


@pytest.mark.parametrize("entry", PARAMS)
def test_nonfinite_value_in_a_valid_row_gives_nan(entry, key):
    arrays = entry.make_inputs(key, N)
    fn = jax.jit(entry.fn)
    for index in range(len(arrays)):
        for bad in (jnp.nan, jnp.inf, -jnp.inf):
            poisoned = list(arrays)
            poisoned[index] = arrays[index].at[5, 0].set(bad)
            value = fn(*poisoned)
            assert np.isnan(value), f"array {index} holding {bad} gave {value}"


def _few_rows(entry) -> list[int]:
    return sorted({0, 1, entry.min_samples - 1})


@pytest.mark.parametrize("entry", MASKED)
def test_too_few_valid_rows_give_nan_under_jit(entry, key):
    arrays = entry.make_inputs(key, N)
    fn = jax.jit(lambda a, m: entry.fn(*a, where=m))
    for count in _few_rows(entry):
        value = fn(arrays, jnp.arange(N) < count)
        assert np.isnan(value), f"{count} valid rows gave {value}"
    assert np.isfinite(fn(arrays, jnp.arange(N) < max(entry.min_samples, 2)))


@pytest.mark.parametrize("entry", MASKED)
def test_too_few_valid_rows_raise_like_slicing_when_the_mask_is_concrete(entry, key):
    arrays = entry.make_inputs(key, N)
    for count in _few_rows(entry):
        with pytest.raises(ValueError) as sliced:
            entry.fn(*(a[:count] for a in arrays))
        with pytest.raises(ValueError) as masked:
            entry.fn(*arrays, where=jnp.arange(N) < count)
        # the slicing error, naming the mask that left the rows
        message = str(masked.value)
        assert re.search(r" valid under `where\w*`", message), message
        unnamed = re.sub(r" (valid under|or mark more rows valid in) `where\w*`", "", message)
        assert unnamed == str(sliced.value)


@pytest.mark.parametrize("entry", _params(lambda e: e.differentiable))
def test_constant_input_gives_finite_gradient(entry, key):
    arrays = entry.make_inputs(key, N)
    value_and_grad = jax.jit(jax.value_and_grad(lambda a: entry.fn(*a)))
    for index in range(len(arrays)):
        collapsed = list(arrays)
        collapsed[index] = jnp.broadcast_to(arrays[index][:1] + 0.3, arrays[index].shape)
        value, grads = value_and_grad(tuple(collapsed))
        assert not np.isnan(value), f"array {index} constant"
        for g in grads:
            assert np.all(np.isfinite(g)), f"non-finite gradient with array {index} constant"


def _x(key, d=3):
    return jax.random.normal(key, (N, d))


# (id, fn(x, y, option), valid value, invalid values): every numeric option that may be traced.
TRACED_OPTIONS = [
    (
        "matrix_renyi_entropy[bandwidth]",
        lambda x, y, s: jaxinfo.matrix_renyi_entropy(x, kernel=kernels.Gaussian(s)),
        1.0,
        (-1.0, 0.0, jnp.nan, jnp.inf),
    ),
    (
        "matrix_renyi_entropy[alpha=2,laplacian bandwidth]",
        lambda x, y, s: jaxinfo.matrix_renyi_entropy(x, alpha=2, kernel=kernels.Laplacian(s)),
        1.0,
        (-1.0, 0.0),
    ),
    (
        "cauchy_schwarz_divergence[bandwidth]",
        lambda x, y, s: jaxinfo.cauchy_schwarz_divergence(x, y, kernel=kernels.Gaussian(s)),
        1.0,
        (-1.0, 0.0),
    ),
    (
        "kde_entropy[bandwidth]",
        lambda x, y, s: jaxinfo.kde_entropy(x, bandwidth=s),
        0.5,
        (-1.0, 0.0),
    ),
    (
        "diffusion_spectral_entropy[bandwidth]",
        lambda x, y, s: jaxinfo.diffusion_spectral_entropy(x, bandwidth=s),
        1.0,
        (-1.0, 0.0),
    ),
    (
        "diffusion_spectral_entropy[t]",
        lambda x, y, t: jaxinfo.diffusion_spectral_entropy(x, bandwidth=1.0, t=t),
        2.0,
        (-1.0, 0.0, jnp.nan),
    ),
    (
        "gaussian_entropy[shrinkage]",
        lambda x, y, s: jaxinfo.gaussian_entropy(x, shrinkage=s),
        0.2,
        (-0.1, 1.5, jnp.nan),
    ),
    (
        "gaussian_mutual_information[shrinkage]",
        lambda x, y, s: jaxinfo.gaussian_mutual_information(x, y, shrinkage=s),
        0.2,
        (-0.1, 1.5),
    ),
    (
        "gaussian_noise_mutual_information_upper_bound[noise_variance]",
        lambda x, y, v: jaxinfo.gaussian_noise_mutual_information_upper_bound(x, noise_variance=v),
        0.5,
        (-1.0, 0.0),
    ),
    (
        "cauchy_schwarz_information_bottleneck_loss[beta]",
        lambda x, y, b: jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            x, y[:, 0], y[:, 1], x[:, :2], beta=b
        )[0],
        0.1,
        (-1.0, jnp.nan),
    ),
]


@pytest.mark.parametrize(
    "fn, valid, invalid", [case[1:] for case in TRACED_OPTIONS], ids=[c[0] for c in TRACED_OPTIONS]
)
def test_invalid_traced_option_gives_nan(fn, valid, invalid, key):
    kx, ky = jax.random.split(key)
    x, y = _x(kx), _x(ky)
    jitted = jax.jit(fn)
    np.testing.assert_allclose(jitted(x, y, valid), fn(x, y, valid), rtol=1e-5)
    for value in invalid:
        assert np.isnan(jitted(x, y, value)), f"traced option {value}"


# --- Issue 24: the categories of the second bad-input sweep ------------------------------

NON_ARRAYS = ("abc", None, ["a", "b"])


@pytest.mark.parametrize("entry", _params(lambda e: e.passes_arrays_through))
def test_non_array_data_is_refused_naming_the_argument(entry, key):
    """Strings, ``None`` and lists of strings: a TypeError naming the argument, not JAX's."""
    arrays = entry.make_inputs(key, N)
    for index in range(len(arrays)):
        for bad in NON_ARRAYS:
            args = list(arrays)
            args[index] = bad
            with pytest.raises(TypeError, match=r"^`[\w\[\]]+` must be an array of numbers"):
                entry.fn(*args)


@pytest.mark.parametrize(
    "entry", _params(lambda e: e.supports_axis_name and e.passes_arrays_through)
)
def test_axis_name_without_a_mapped_axis_names_the_argument(entry, key):
    arrays = entry.make_inputs(key, N)
    with pytest.raises(ValueError, match=r"`axis_name`='rows' names no mapped axis"):
        entry.fn(*arrays, axis_name="rows")
    with pytest.raises(ValueError, match=r"`axis_name`='rows' names no mapped axis"):
        jax.jit(lambda a: entry.fn(*a, axis_name="rows"))(arrays)


@pytest.mark.parametrize("entry", PARAMS)
def test_an_empty_batch_is_a_value_error_naming_an_argument(entry, key):
    arrays = entry.make_inputs(key, N)
    with pytest.raises(ValueError, match=r"`[\w\[\]]+`"):
        entry.fn(*(a[:0] for a in arrays))


# The variational bounds take a score matrix: the same categories, called directly.
BOUND_PARAMS = [pytest.param(fn, id=name) for name, fn in BOUNDS.items()]


@pytest.mark.parametrize("bound", BOUND_PARAMS)
def test_bounds_refuse_non_array_scores_empty_batches_and_unbound_axes(bound):
    for bad in NON_ARRAYS:
        with pytest.raises(TypeError, match=r"^`scores` must be an array of numbers"):
            bound(bad)
    with pytest.raises(ValueError, match=r"`scores`"):
        bound(jnp.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"`axis_name`='rows' names no mapped axis"):
        bound(jnp.zeros((4, 4)), axis_name="rows")


@pytest.mark.parametrize("bound", BOUND_PARAMS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_bounds_have_finite_gradients_at_extreme_finite_scores(bound, dtype, request):
    """Scores of +-1e4 (a saturated critic): the value may round to +-inf, the gradient not."""
    if dtype == jnp.float64:
        request.getfixturevalue("x64")
    eye = jnp.eye(4, dtype=bool)
    for scores in (
        jnp.full((4, 4), 1e4, dtype),
        jnp.full((4, 4), -1e4, dtype),
        jnp.where(eye, 1e4, -1e4).astype(dtype),
        jnp.where(eye, -1e4, 1e4).astype(dtype),
    ):
        value, grad = jax.value_and_grad(bound)(scores)
        assert not np.isnan(value), f"value NaN at {scores[0, :2]}"
        assert np.all(np.isfinite(grad)), f"gradient {grad[0, :2]} at {scores[0, :2]}"


@pytest.mark.parametrize("stateful", [pytest.param(s, id=s.name) for s in STATEFUL])
@pytest.mark.parametrize("bad", [jnp.nan, jnp.inf, -jnp.inf])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_a_bad_batch_does_not_outlive_itself_in_carried_state(stateful, bad, jit):
    """clean, bad, clean: the last value is the one that clean, clean gives."""
    step = nnx.jit(stateful.step) if jit else stateful.step  # nnx.jit: modules and pytrees
    first, second = (stateful.make_batch(k) for k in jax.random.split(jax.random.key(3)))
    poisoned = first.reshape(-1).at[3].set(bad).reshape(first.shape)

    def run(batches):
        state, readouts = stateful.start(), []
        for batch in batches:
            readout, state = step(state, batch)
            readouts.append([np.asarray(leaf) for leaf in jax.tree.leaves(readout)])
        return readouts

    clean = run([first, second])
    readouts = run([first, poisoned, second])
    assert np.all(np.isnan(readouts[1][0])), "the bad batch itself has no answer"
    for after_bad, after_clean in zip(readouts[2], clean[1], strict=True):
        np.testing.assert_allclose(after_bad, after_clean, rtol=1e-6, atol=1e-7)
