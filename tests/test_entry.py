"""The entry point: ``jaxinfo.mutual_information`` / ``jaxinfo.entropy`` and their auto rule."""

import pathlib
import re
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo._src import entry

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
N = 120


def _pair(key, dx=1, dy=1, n=N):
    kx, kn = jax.random.split(key)
    x = jax.random.normal(kx, (n, dx))
    y = jnp.tile(x[:, :1], (1, dy)) + 0.7 * jax.random.normal(kn, (n, dy))
    return x, y


def _labels(key, n=N):
    x = jax.random.randint(key, (n,), 0, 6)
    return x, (x + jax.random.randint(jax.random.fold_in(key, 1), (n,), 0, 2)) % 6


# --- the auto rule against the docs tables ---------------------------------------------------

_ROW = re.compile(
    r"^\| `(mutual_information|entropy)` \| (integer|float|mixed) \| ([^|]+) \| `\"(\w+)\"` \|$"
)


def _table(page: str) -> list[tuple[str, str, int | None, str]]:
    """Rows ``(function, dtype, max_dim, method)`` of the auto-rule table on a docs page."""
    rows = []
    for line in (DOCS / page).read_text().splitlines():
        match = _ROW.match(line.strip())
        if match is None:
            continue
        function, dtype, dims, method = match.groups()
        bound = re.search(r"(≤|>)\s*(\d+)", dims)
        if dims.strip() == "any":
            max_dim = None
        elif bound is not None and bound.group(1) == "≤":
            max_dim = int(bound.group(2))
        else:
            max_dim = None  # "> N": the catch-all row after "≤ N"
        rows.append((function, dtype, max_dim, method))
    return rows


def _code_table():
    return [
        (function, r.dtype, r.max_dim, r.method)
        for function, rule in (
            ("mutual_information", entry.MUTUAL_INFORMATION_RULE),
            ("entropy", entry.ENTROPY_RULE),
        )
        for r in rule
    ]


@pytest.mark.parametrize("page", ["choosing.md", "conventions.md"])
def test_docs_auto_rule_table_is_the_code_rule(page):
    assert _table(page) == _code_table()


@pytest.mark.parametrize("function", ["mutual_information", "entropy"])
def test_docstring_auto_table_names_the_rule(function):
    """The docstring's table (``help(jaxinfo.entropy)``) holds each row of the code rule."""
    rule = entry.MUTUAL_INFORMATION_RULE if function == "mutual_information" else entry.ENTROPY_RULE
    doc = " ".join(getattr(jaxinfo, function).__doc__.split())
    for row in rule:
        assert f'``"{row.method}"``' in doc
        if row.max_dim is not None:
            assert f"<= {row.max_dim}``" in doc and f"> {row.max_dim}``" in doc


def _inputs_of(function, dtype, dim, key):
    if dtype == "mixed":  # float samples [N, dim - 1] and integer labels [N]
        x, _ = _pair(key, max(dim - 1, 1))
        return x, _labels(key)[0]
    if dtype == "integer":
        labels = jax.random.randint(key, (N, dim), 0, 3)
        return (labels, labels) if function == "mutual_information" else (labels,)
    if function == "mutual_information":
        return _pair(key, 1, dim - 1)
    return (jax.random.normal(key, (N, dim)),)


def _dims_to_try(rows, function, dtype):
    """Total dimensions on both sides of every boundary of the docs table."""
    bounds = [r[2] for r in rows if r[0] == function and r[1] == dtype and r[2] is not None]
    low = 2 if function == "mutual_information" else 1
    return sorted({*bounds, *(b + 1 for b in bounds)} or {low})


@pytest.mark.parametrize(
    ("function", "dtype"),
    [
        ("mutual_information", "integer"),
        ("mutual_information", "float"),
        ("mutual_information", "mixed"),
        ("entropy", "integer"),
        ("entropy", "float"),
    ],
)
def test_auto_picks_what_the_docs_table_says(function, dtype, key):
    rows = _table("choosing.md")
    assert rows, "the auto-rule table is missing from docs/choosing.md"
    call = getattr(jaxinfo, function)
    for dim in _dims_to_try(rows, function, dtype):
        documented = next(
            r[3]
            for r in rows
            if r[0] == function and r[1] == dtype and (r[2] is None or dim <= r[2])
        )
        result = call(*_inputs_of(function, dtype, dim, key))
        assert result.method == documented, (function, dtype, dim)
        assert np.isfinite(float(result.value))


# --- every method is the direct call -----------------------------------------------------------


def _kde_mi(x, y, **options):
    joint = jnp.concatenate([x, y], axis=1)
    return (
        jaxinfo.kde_entropy(x, **options)
        + jaxinfo.kde_entropy(y, **options)
        - jaxinfo.kde_entropy(joint, **options)
    )


CONTINUOUS_MI = [
    ("ksg", {"k": 5}, lambda x, y, **o: jaxinfo.ksg_mutual_information(x, y, **o)),
    (
        "gaussian",
        {"shrinkage": 0.1, "bias_correction": True},
        lambda x, y, **o: jaxinfo.gaussian_mutual_information(x, y, **o),
    ),
    ("copula", {}, lambda x, y, **o: jaxinfo.gaussian_copula_mutual_information(x, y, **o)),
    ("kde", {"bandwidth": 0.4}, _kde_mi),
    (
        "binned",
        {"bins": 5, "adaptive": True, "correction": "miller_madow"},
        lambda x, y, **o: jaxinfo.binned_mutual_information(x, y, **o),
    ),
]


@pytest.mark.parametrize(("method", "options", "direct"), CONTINUOUS_MI)
def test_every_mutual_information_method_is_the_direct_call(method, options, direct, key):
    x, y = _pair(key, 2, 1)
    where = jnp.arange(N) % 7 != 0
    result = jaxinfo.mutual_information(x, y, method=method, base=2, where=where, **options)
    assert result.method == method
    np.testing.assert_array_equal(result.value, direct(x, y, base=2, where=where, **options))


def test_discrete_method_is_the_direct_call_and_infers_the_alphabets(key):
    x, y = _labels(key)
    direct = jaxinfo.discrete_mutual_information(x, y, num_x=6, num_y=6)
    np.testing.assert_array_equal(jaxinfo.mutual_information(x, y).value, direct)
    corrected = jaxinfo.mutual_information(
        x, y, method="discrete", num_x=9, num_y=6, correction="miller_madow"
    )
    np.testing.assert_array_equal(
        corrected.value,
        jaxinfo.discrete_mutual_information(x, y, num_x=9, num_y=6, correction="miller_madow"),
    )
    # Masked rows do not count towards the inferred alphabet: a garbage 99 there is ignored.
    padded = x.at[0].set(99)
    where = jnp.arange(N) != 0
    np.testing.assert_array_equal(
        jaxinfo.mutual_information(padded, y, where=where).value,
        jaxinfo.discrete_mutual_information(x, y, num_x=6, num_y=6, where=where),
    )


ENTROPY = [
    ("knn", {"k": 4}, lambda x, **o: jaxinfo.knn_entropy(x, **o)),
    ("gaussian", {"shrinkage": 0.2}, lambda x, **o: jaxinfo.gaussian_entropy(x, **o)),
    ("kde", {"bandwidth": "scott"}, lambda x, **o: jaxinfo.kde_entropy(x, **o)),
]


@pytest.mark.parametrize(("method", "options", "direct"), ENTROPY)
def test_every_entropy_method_is_the_direct_call(method, options, direct, key):
    x, _ = _pair(key, 3, 1)
    result = jaxinfo.entropy(x, method=method, base=2, **options)
    assert result.method == method
    np.testing.assert_array_equal(result.value, direct(x, base=2, **options))


def test_discrete_entropies_are_the_direct_calls(key):
    labels, _ = _labels(key)
    np.testing.assert_array_equal(
        jaxinfo.entropy(labels, method="plugin").value,
        jaxinfo.plugin_entropy(labels, num_classes=6),
    )
    np.testing.assert_array_equal(
        jaxinfo.entropy(labels, method="miller_madow", num_classes=8).value,
        jaxinfo.miller_madow_entropy(labels, num_classes=8),
    )
    np.testing.assert_array_equal(
        jaxinfo.entropy(labels, method="grassberger").value,
        jaxinfo.grassberger_entropy(labels, num_classes=6),
    )
    np.testing.assert_array_equal(
        jaxinfo.entropy(labels, method="chao_shen").value,
        jaxinfo.chao_shen_entropy(labels, num_classes=6),
    )
    assert jaxinfo.entropy(labels).method == "miller_madow"


@pytest.mark.slow
def test_neural_method_is_the_direct_call(key):
    from jaxinfo import nn

    x, y = _pair(key, 1, 1, n=600)
    result = jaxinfo.mutual_information(x, y, method="neural", seed=3)
    direct = nn.estimate_mutual_information(x, y, seed=3, progress=False)
    assert result.method == "neural"
    np.testing.assert_allclose(result.value, direct.value, rtol=1e-6)


# --- errors ------------------------------------------------------------------------------------


def test_unknown_method_is_an_error_listing_the_methods(key):
    x, y = _pair(key)
    with pytest.raises(ValueError, match=r"`method` must be one of \('auto', 'ksg'"):
        jaxinfo.mutual_information(x, y, method=cast(Any, "mine"))
    with pytest.raises(ValueError, match=r"`method` must be one of \('auto', 'knn'"):
        jaxinfo.entropy(x, method=cast(Any, "ksg"))


def test_an_option_of_another_method_is_an_error_naming_both(key):
    x, y = _pair(key)
    with pytest.raises(ValueError, match=r"`bins` is not an option of method='ksg'.*'binned'"):
        jaxinfo.mutual_information(x, y, method="ksg", bins=8)
    with pytest.raises(ValueError, match=r"`k` is not an option of method='auto' \(which chose"):
        jaxinfo.mutual_information(*_pair(key, 5, 5), k=5)  # auto chose "copula"
    with pytest.raises(ValueError, match=r"`where` is not an option of method='neural'"):
        jaxinfo.mutual_information(x, y, method="neural", where=jnp.ones(N, bool))
    with pytest.raises(ValueError, match=r"`num_classes` is not an option of method='knn'"):
        jaxinfo.entropy(x, method="knn", num_classes=3)


def test_mixed_dtypes_run_ross_with_the_integer_side_as_labels(key):
    x, _ = _pair(key)
    labels, _ = _labels(key)
    where = jnp.arange(N) % 5 != 0
    direct = jaxinfo.ross_mutual_information(x, labels, k=4, base=2, where=where)
    for pair in ((x, labels), (labels, x)):  # either order: MI is symmetric
        result = jaxinfo.mutual_information(*pair, k=4, base=2, where=where)
        assert result.method == "ross"
        np.testing.assert_array_equal(result.value, direct)
    with pytest.raises(TypeError, match="`y` must be integer class labels"):
        jaxinfo.mutual_information(x, x, method="ross")
    with pytest.raises(ValueError, match="`y` must have shape \\[n\\]"):
        jaxinfo.mutual_information(x, labels[:, None], method="ross")


def test_mixed_ksg_method_takes_integer_inputs_as_float_columns(key):
    x, _ = _pair(key)
    labels, _ = _labels(key)
    result = jaxinfo.mutual_information(x, labels, method="mixed_ksg", k=2, block_size=16)
    assert result.method == "mixed_ksg"
    direct = jaxinfo.mixed_ksg_mutual_information(
        x, labels[:, None].astype(x.dtype), k=2, block_size=16
    )
    np.testing.assert_array_equal(result.value, direct)


def test_integer_data_for_a_continuous_method_is_the_estimators_error(key):
    labels, _ = _labels(key)
    with pytest.raises(TypeError, match="`x`"):
        jaxinfo.mutual_information(labels[:, None], labels[:, None], method="ksg")


def test_discrete_under_jit_needs_the_alphabets(key):
    x, y = _labels(key)
    with pytest.raises(ValueError, match="`num_x` is needed under jit"):
        jax.jit(lambda a, b: jaxinfo.mutual_information(a, b))(x, y)
    value = jax.jit(lambda a, b: jaxinfo.mutual_information(a, b, num_x=6, num_y=6).value)(x, y)
    np.testing.assert_allclose(value, jaxinfo.discrete_mutual_information(x, y, num_x=6, num_y=6))


def test_neural_under_jit_is_an_error(key):
    x, y = _pair(key)
    with pytest.raises(TypeError, match="cannot run under"):
        jax.jit(lambda a, b: jaxinfo.mutual_information(a, b, method="neural").value)(x, y)


def test_confidence_interval_reads_the_estimate(key):
    """The quick-start snippet: the lead's error bar takes the entry point as its estimator."""
    x, y = _pair(key, 1, 1, n=200)
    ci = jaxinfo.confidence_interval(
        jaxinfo.mutual_information, x, y, key=jax.random.key(1), num_resamples=8
    )
    np.testing.assert_allclose(ci.value, jaxinfo.mutual_information(x, y).value, rtol=1e-6)
    assert ci.low <= ci.value <= ci.high


# --- the result under transformations ----------------------------------------------------------


def test_result_passes_through_jit_with_its_method(key):
    x, y = _pair(key)
    eager = jaxinfo.mutual_information(x, y, method="gaussian")
    jitted = jax.jit(jaxinfo.mutual_information, static_argnames="method")(x, y, method="gaussian")
    assert isinstance(jitted, jaxinfo.Estimate)
    assert jitted.method == "gaussian"
    np.testing.assert_allclose(jitted.value, eager.value, rtol=1e-6)
    auto = jax.jit(jaxinfo.entropy)(x)
    assert auto.method == "knn"


def test_vmap_batches_the_value_and_keeps_the_method(key):
    xs, ys = _pair(key, 3, 3, n=4 * 60)
    xs, ys = xs.reshape(4, 60, 3), ys.reshape(4, 60, 3)
    # jit(vmap): an eager vmap dispatches (and compiles) every batched operation on its own.
    batched = jax.jit(jax.vmap(lambda a, b: jaxinfo.mutual_information(a, b, method="gaussian")))(
        xs, ys
    )
    assert batched.method == "gaussian"
    assert batched.value.shape == (4,)
    loop = [jaxinfo.gaussian_mutual_information(a, b) for a, b in zip(xs, ys, strict=True)]
    np.testing.assert_allclose(batched.value, loop, rtol=1e-5)


def test_float32_agrees_with_float64(key, x64):
    x64_pair = _pair(key, 1, 1, n=60)
    x32_pair = tuple(a.astype(jnp.float32) for a in x64_pair)
    for method in ("gaussian",):
        v64 = jaxinfo.mutual_information(*x64_pair, method=method).value
        v32 = jaxinfo.mutual_information(*x32_pair, method=method).value
        assert v64.dtype == jnp.float64 and v32.dtype == jnp.float32
        np.testing.assert_allclose(v32, v64, atol=2e-4, err_msg=method)
    h64 = jaxinfo.entropy(x64_pair[0]).value
    h32 = jaxinfo.entropy(x32_pair[0]).value
    np.testing.assert_allclose(h32, h64, atol=2e-4)
