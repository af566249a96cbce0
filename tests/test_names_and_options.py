"""Renamed functions and keywords (deprecated aliases), typed options, refused combinations.

docs/conventions.md, "What a name promises" and "Options": the old names and keywords warn
for one minor version and give exactly the values of the new ones.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo
from jaxinfo._src import options, validation
from jaxinfo._src.estimation import MutualInformationEstimate, estimate_mutual_information

SCORES = jnp.asarray(np.random.default_rng(0).normal(size=(6, 6)) + 2.0 * np.eye(6))
Z = jnp.asarray(np.random.default_rng(1).normal(size=(2, 5, 3)))
H = jnp.asarray(np.random.default_rng(2).normal(size=(12, 2)))

RENAMED = [
    ("donsker_varadhan_lower_bound", "donsker_varadhan_estimate", (SCORES,), {}),
    ("smile_lower_bound", "smile_estimate", (SCORES,), {"clip": 1.0}),
    ("jensen_shannon_lower_bound", "jensen_shannon_objective", (SCORES,), {}),
    ("mine_lower_bound", "mine_estimate", (SCORES, jaxinfo.mine_initial_state()), {}),
    ("temporal_infonce_loss", "temporal_infonce_cross_entropy", (Z,), {"temperature": 0.5}),
    (
        "gaussian_noise_mutual_information_bound",
        "gaussian_noise_mutual_information_upper_bound",
        (H,),
        {"noise_variance": 0.5},
    ),
]


@pytest.mark.parametrize(("old", "new", "args", "kwargs"), RENAMED, ids=[r[0] for r in RENAMED])
def test_old_name_warns_at_the_caller_and_equals_the_new_one(old, new, args, kwargs):
    with pytest.warns(DeprecationWarning, match=f"jaxinfo.{old} is deprecated.*jaxinfo.{new}") as w:
        before = getattr(jaxinfo, old)(*args, **kwargs)
    assert w[0].filename == __file__  # the warning points at the caller's line
    after = getattr(jaxinfo, new)(*args, **kwargs)
    jax.tree.map(np.testing.assert_array_equal, before, after)
    assert old not in jaxinfo.__all__ and new in jaxinfo.__all__  # importable, not public
    assert inspect.signature(getattr(jaxinfo, old)) == inspect.signature(getattr(jaxinfo, new))


def test_old_name_gradient_equals_the_new_one():
    with pytest.warns(DeprecationWarning):
        before = jax.grad(jaxinfo.smile_lower_bound)(SCORES)
    np.testing.assert_array_equal(before, jax.grad(jaxinfo.smile_estimate)(SCORES))


X = jnp.asarray(np.random.default_rng(3).normal(size=(16, 2)))
Y = X[:, :1] + 0.5 * jnp.asarray(np.random.default_rng(4).normal(size=(16, 1)))
Y_PRED = Y + 0.1
T = jnp.tanh(X)


def _cond(**kw):
    return jaxinfo.conditional_cauchy_schwarz_divergence(X, Y, Y_PRED, **kw)


def _csib(**kw):
    return jaxinfo.cauchy_schwarz_information_bottleneck_loss(X, Y, Y_PRED, T, beta=0.1, **kw)


def _dse(**kw):
    return jaxinfo.diffusion_spectral_entropy(X, **kw)


def _dsmi(**kw):
    labels = jnp.arange(16) % 2
    return jaxinfo.diffusion_spectral_mutual_information(
        X, labels, num_classes=2, key=jax.random.key(0), **kw
    )


def _koopman(**kw):
    states = jnp.asarray(np.random.default_rng(5).normal(size=(2, 7, 2)))
    return jaxinfo.koopman_information_lagrangian(
        states, states, jnp.eye(2), lambda z: z, window=2, **kw
    )


RENAMED_KEYWORDS = [
    ("conditional_cauchy_schwarz_divergence", _cond, "estimator", "method", "single_cross"),
    ("cauchy_schwarz_information_bottleneck_loss", _csib, "estimator", "method", "csib_code"),
    ("diffusion_spectral_entropy", _dse, "normalize", "preprocess", "standardize"),
    ("diffusion_spectral_mutual_information", _dsmi, "normalize", "preprocess", "l2"),
    ("koopman_information_lagrangian", _koopman, "mutual_information", "method", "gaussian"),
]


@pytest.mark.parametrize(
    ("name", "call", "old", "new", "value"), RENAMED_KEYWORDS, ids=[r[0] for r in RENAMED_KEYWORDS]
)
def test_old_keyword_warns_and_equals_the_new_one(name, call, old, new, value):
    with pytest.warns(DeprecationWarning, match=f"{name}\\(\\): the keyword `{old}`.*`{new}=`"):
        before = call(**{old: value})
    after = call(**{new: value})
    jax.tree.map(np.testing.assert_array_equal, before, after)
    default = call()
    assert not np.allclose(jax.tree.leaves(after)[0], jax.tree.leaves(default)[0])  # it is used
    with pytest.raises(TypeError, match=f"both `{new}` and its deprecated name `{old}`"):
        call(**{old: value, new: value})


def test_estimate_mutual_information_bound_keyword_is_method():
    x = np.zeros((20, 1), np.float32)
    with (
        pytest.warns(DeprecationWarning, match="keyword `bound`"),
        pytest.raises(ValueError, match="`method` must be one of"),
    ):
        estimate_mutual_information(x, x, bound="tuba")  # pyright: ignore[reportCallIssue]


def test_estimate_result_bound_attribute_is_method():
    result = MutualInformationEstimate(0.5, "nwj", np.zeros(1), np.zeros(1), np.zeros(1), 1, None)  # pyright: ignore[reportArgumentType]
    with pytest.warns(DeprecationWarning, match="MutualInformationEstimate.bound is deprecated"):
        assert result.bound == result.method == "nwj"


def test_normalized_cs_qmi_refuses_a_base():
    with pytest.raises(ValueError, match=r"`normalized=True`.*`base`"):
        jaxinfo.cauchy_schwarz_mutual_information(X, Y, normalized=True, base=2)
    nats = jaxinfo.cauchy_schwarz_mutual_information(X, Y, base=None)
    bits = jaxinfo.cauchy_schwarz_mutual_information(X, Y, base=2)
    np.testing.assert_allclose(bits, nats / np.log(2.0), rtol=1e-6)


# Each public option annotated with a Literal alias, and the tuple its check reads.
TYPED_OPTIONS = [
    (jaxinfo.conditional_cauchy_schwarz_divergence, "method", options.ConditionalMethod),
    (jaxinfo.cauchy_schwarz_information_bottleneck_loss, "method", options.ConditionalMethod),
    (jaxinfo.koopman_information_lagrangian, "method", options.TemporalInformation),
    (jaxinfo.koopman_information_lagrangian, "similarity", options.Similarity | None),
    (jaxinfo.temporal_infonce_cross_entropy, "similarity", options.Similarity),
    (jaxinfo.temporal_infonce_cross_entropy, "negatives", options.TemporalNegatives),
    (jaxinfo.temporal_infonce_cross_entropy, "positives", options.TemporalPositives),
    (jaxinfo.temporal_infonce_cross_entropy, "anchors", options.TemporalAnchors),
    (jaxinfo.koopman_information_lagrangian, "negatives", options.TemporalNegatives | None),
    (jaxinfo.koopman_information_lagrangian, "positives", options.TemporalPositives | None),
    (jaxinfo.koopman_information_lagrangian, "anchors", options.TemporalAnchors | None),
    (jaxinfo.testing.pendulum, "observation", options.PendulumObservation),
    (jaxinfo.diffusion_spectral_entropy, "preprocess", options.Preprocessing | None),
    (jaxinfo.knn_entropy, "method", options.NeighbourSearch),
    (jaxinfo.binned_mutual_information, "correction", options.EntropyCorrection | None),
    (estimate_mutual_information, "method", options.VariationalMethod),
    (jaxinfo.nn.minde_mutual_information, "variant", options.MindeVariant),
    (jaxinfo.nn.minde_mutual_information, "marginals", options.MarginalTransform | None),
    (jaxinfo.nn.soi_o_information, "marginals", options.MarginalTransform | None),
    (jaxinfo.nn.minde_entropy, "marginals", options.MarginalTransform | None),
    (jaxinfo.dataset_entropy, "pooling", options.TokenPooling | None),
    (jaxinfo.compressed_mutual_information, "method", options.MutualInformationMethod),
    (jaxinfo.information_plane, "method", options.MutualInformationMethod),
]


@pytest.mark.parametrize(("fn", "name", "alias"), TYPED_OPTIONS)
def test_public_options_are_typed_with_the_literal_alias(fn, name, alias):
    hints = typing.get_type_hints(inspect.unwrap(fn))
    assert hints[name] == alias
    default = inspect.signature(fn).parameters[name].default
    literal = typing.get_args(alias)[0] if typing.get_origin(alias) is not typing.Literal else alias
    assert default is None or default in typing.get_args(literal)


def test_bandwidth_rules_come_from_the_literal():
    assert jaxinfo.kernels.BANDWIDTH_RULES == typing.get_args(options.BandwidthRule)
    hints = typing.get_type_hints(inspect.unwrap(jaxinfo.kde_entropy))
    assert options.BandwidthRule in typing.get_args(hints["bandwidth"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: _cond(method="tpami"), "`method` must be one of ('symmetric', 'single_cross'"),
        (lambda: _dse(preprocess="max"), "`preprocess` must be one of (None, 'standardize'"),
        (lambda: _dse(bandwidth="mean"), "`bandwidth` must be one of ('median', 'silverman'"),
        (
            lambda: jaxinfo.knn_entropy(X, method="kd"),  # pyright: ignore[reportArgumentType]
            "`method` must be one of ('auto', 'brute', 'sorted', 'tree'); got 'kd'",
        ),
        (
            lambda: jaxinfo.ksg_mutual_information(X, Y, method="sorted"),
            "`method` must be one of ('auto', 'brute', 'tree'); got 'sorted'",
        ),
    ],
)
def test_one_choice_error_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_check_choice_returns_the_value_and_refuses_other_types():
    assert validation.check_choice("dot", "similarity", options.SIMILARITIES) == "dot"
    with pytest.raises(ValueError, match=r"`similarity` must be one of .*got \['dot'\]"):
        validation.check_choice(["dot"], "similarity", options.SIMILARITIES)


def test_separable_critic_normalize_is_a_deprecated_similarity():
    from flax import nnx

    from jaxinfo.nn import SeparableCritic

    x, y = jnp.ones((4, 2)), jnp.arange(12.0).reshape(4, 3)
    with pytest.warns(DeprecationWarning, match="normalize"):
        old = SeparableCritic(2, 3, normalize=True, temperature=0.1, rngs=nnx.Rngs(0))
    new = SeparableCritic(2, 3, similarity="cosine", temperature=0.1, rngs=nnx.Rngs(0))
    np.testing.assert_array_equal(old(x, y), new(x, y))
    assert float(jnp.max(jnp.abs(new(x, y)))) <= 10.0 + 1e-5  # cosine / 0.1
    dot = SeparableCritic(2, 3, temperature=0.1, rngs=nnx.Rngs(0))
    assert not np.allclose(dot(x, y), new(x, y))
    with pytest.raises(ValueError, match="`similarity` must be one of"):
        SeparableCritic(2, 3, similarity=cast(Any, "l2"), rngs=nnx.Rngs(0))
