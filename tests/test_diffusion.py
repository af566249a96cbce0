"""Diffusion spectral entropy / MI: golden values of dse-dsmi 1.1, the paper's claims, errors."""

from __future__ import annotations

import itertools
import json
import math
import pathlib
import random
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinfo

DATA = pathlib.Path(__file__).parent / "data" / "dse"
GOLDEN = json.loads((DATA / "golden.json").read_text())
GRID = GOLDEN["dse"][:45]


def _load(name):
    return np.load(DATA / f"{name}.npy")


INPUTS = sorted({r["input"] for r in GRID})


@pytest.mark.parametrize("name", INPUTS)
def test_golden_dse_grid(name, x64):
    """All (sigma, t) rows of one input through one compiled program per dtype (traced
    bandwidth and t: the grid costs one compilation, not nine)."""
    x = _load(name)
    dse = jax.jit(
        lambda v, sigma, t: jaxinfo.diffusion_spectral_entropy(v, bandwidth=sigma, t=t, base=2)
    )
    rows = [r for r in GRID if r["input"] == name]
    assert len(rows) == 9
    for row in rows:
        sigma, t = row["gaussian_kernel_sigma"], row["t"]
        value64 = dse(x, jnp.float64(sigma), jnp.float64(t))
        assert abs(float(value64) - row["dse"]) < 1e-10, row
        value32 = dse(x.astype(np.float32), jnp.float32(sigma), jnp.float32(t))
        assert value32.dtype == jnp.float32
        assert abs(float(value32) - row["dse"]) < 1e-4, row


def test_golden_dse_defaults_and_invariances(x64):
    x = _load("gauss_500x20")
    assert abs(jaxinfo.diffusion_spectral_entropy(x, base=2) - GOLDEN["dse"][45]["dse"]) < 1e-10
    base = float(jaxinfo.diffusion_spectral_entropy(x, bandwidth=math.sqrt(20), base=2))
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(20, 20)))
    for transformed in (x + 5.0, x @ q, x[::-1]):
        value = jaxinfo.diffusion_spectral_entropy(transformed, bandwidth=math.sqrt(20), base=2)
        assert abs(value - base) < 1e-9
    scaled = jaxinfo.diffusion_spectral_entropy(2 * x, bandwidth=2 * math.sqrt(20), base=2)
    assert abs(scaled - base) < 1e-9
    nats = jaxinfo.diffusion_spectral_entropy(x, bandwidth=math.sqrt(20))
    assert abs(nats - base * math.log(2)) < 1e-9
    tiny = jaxinfo.diffusion_spectral_entropy(x, bandwidth=0.01, base=2)
    assert abs(tiny - math.log2(500)) < 1e-9


def _dsmi_row(reference, sigma=10.0, t=1):
    for row in GOLDEN["dsmi"]:
        params = row["params"]
        if (
            row["reference"] == reference
            and abs(params.get("gaussian_kernel_sigma", 10.0) - sigma) < 1e-9
            and params.get("t", 1) == t
            and "random_seed" not in params
        ):
            return row
    raise KeyError(reference)


def _masks_from_indices(indices, n):
    masks = np.zeros(indices.shape[:2] + (n,), bool)
    for c in range(indices.shape[0]):
        for r in range(indices.shape[1]):
            masks[c, r, indices[c, r]] = True
    return jnp.asarray(masks)


def _python_random_indices(sizes, n, seed, repeats):
    """The reference's subset recipe: stdlib random re-seeded per class."""
    out = []
    for size in sizes:
        random.seed(seed)
        out.append([random.sample(range(n), size) for _ in range(repeats)])
    return out


BLOBS_CASES = [
    (ref, sigma, t)
    for ref in (
        "blobs3_600x10_labels",
        "blobs3_600x10_labels_corrupt50",
        "blobs3_600x10_labels_corrupt100",
    )
    for sigma in (10.0, math.sqrt(10))
    for t in (1, 2)
]


@pytest.mark.parametrize(("reference", "sigma", "t"), BLOBS_CASES)
def test_golden_dsmi_blobs_with_reference_subsets(reference, sigma, t, x64):
    row = _dsmi_row(reference, sigma, t)
    x, labels = _load("blobs3_600x10"), _load(reference)
    masks = _masks_from_indices(_load("dsmi_subsample_idx_blobs3_seed0"), 600)
    value = jaxinfo.diffusion_spectral_mutual_information(
        x, labels, num_classes=3, bandwidth=sigma, t=t, base=2, baseline_masks=masks
    )
    assert abs(float(value) - row["dsmi"]) < 1e-10


def test_golden_dsmi_tree_and_continuous_references(x64):
    tree, tree_labels = _load("tree5_500x20"), _load("tree5_500x20_labels")
    masks = _masks_from_indices(_load("dsmi_subsample_idx_tree5_seed0"), 500)
    value = jaxinfo.diffusion_spectral_mutual_information(
        tree, tree_labels, num_classes=5, base=2, baseline_masks=masks
    )
    assert abs(float(value) - _dsmi_row("tree5_500x20_labels")["dsmi"]) < 1e-10

    seeded = next(r for r in GOLDEN["dsmi"] if r["params"].get("random_seed") == 3)
    sizes = np.bincount(tree_labels, minlength=5)
    masks = np.zeros((5, 3, 500), bool)
    for c, subsets in enumerate(_python_random_indices(sizes, 500, 3, 3)):
        for r, idx in enumerate(subsets):
            masks[c, r, idx] = True
    value = jaxinfo.diffusion_spectral_mutual_information(
        tree, tree_labels, num_classes=5, base=2, baseline_masks=jnp.asarray(masks)
    )
    assert abs(float(value) - seeded["dsmi"]) < 1e-10

    x = _load("blobs3_600x10")
    bins = jaxinfo.diffusion_reference_bins(_load("blobs3_ref_scalar"), num_bins=10)
    np.testing.assert_array_equal(np.asarray(bins) + 1, _load("blobs3_ref_scalar_bins"))
    sizes = np.bincount(np.asarray(bins), minlength=10)
    masks = np.zeros((10, 5, 600), bool)
    for c, subsets in enumerate(_python_random_indices(sizes, 600, 0, 5)):
        for r, idx in enumerate(subsets):
            masks[c, r, idx] = True
    scalar_row = _dsmi_row("blobs3_ref_scalar", math.sqrt(10))
    value = jaxinfo.diffusion_spectral_mutual_information(
        x, bins, num_classes=10, bandwidth=math.sqrt(10), base=2, baseline_masks=jnp.asarray(masks)
    )
    assert abs(float(value) - scalar_row["dsmi"]) < 1e-10

    clusters = _load("blobs3_ref_vector_spectral3")
    masks = _masks_from_indices(_load("dsmi_subsample_idx_blobs3_seed0"), 600)
    value = jaxinfo.diffusion_spectral_mutual_information(
        x,
        clusters - clusters.min(),
        num_classes=3,
        bandwidth=math.sqrt(10),
        base=2,
        baseline_masks=masks,
    )
    assert abs(float(value) - _dsmi_row("blobs3_ref_vector", math.sqrt(10))["dsmi"]) < 1e-10


def test_dse_increases_with_intrinsic_dimension(x64):
    # Paper's toy claim (recipe of the golden acceptance curve, smaller ambient dimension).
    rng = np.random.default_rng(100)
    n, ambient = 300, 256
    values = []
    for d in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        x = rng.uniform(-1, 1, size=(n, ambient))
        x[:, d:] = rng.standard_normal()
        x += 0.01 * rng.uniform(-1, 1, size=(n, ambient))
        values.append(float(jaxinfo.diffusion_spectral_entropy(x, base=2)))
    assert all(b > a for a, b in itertools.pairwise(values)), values
    assert values[0] < 0.1


def _corrupt(labels, ratio, rng):
    labels = labels.copy()
    chosen = rng.choice(len(labels), round(ratio * len(labels)), replace=False)
    labels[chosen] = labels[rng.permutation(chosen)]
    return labels


def test_dsmi_decays_with_label_corruption_and_vanishes_for_random_labels():
    rng = np.random.default_rng(200)
    per_class, d = 150, 20
    centres = rng.uniform(-10, 10, size=(3, d))
    labels = np.repeat(np.arange(3), per_class)
    x = (centres[labels] + rng.standard_normal((3 * per_class, d))).astype(np.float32)
    key = jax.random.key(0)
    values = []
    for ratio in (0.0, 0.25, 0.5, 0.75, 1.0):
        noisy = _corrupt(labels, ratio, np.random.default_rng(201))
        values.append(
            float(
                jaxinfo.diffusion_spectral_mutual_information(
                    x, noisy, num_classes=3, key=key, bandwidth=math.sqrt(d), base=2
                )
            )
        )
    assert values[0] > 0.8
    assert all(b < a + 0.02 for a, b in itertools.pairwise(values)), values
    assert abs(values[-1]) < 0.05
    permuted = rng.permutation(labels)
    random_mi = jaxinfo.diffusion_spectral_mutual_information(
        x, permuted, num_classes=3, key=key, bandwidth=math.sqrt(d), base=2
    )
    assert abs(random_mi) < 0.05


def test_dsmi_masking_equals_slicing_with_explicit_subsets(key, x64):
    x = jax.random.normal(key, (20, 3), jnp.float64)
    labels = jnp.arange(20) % 2
    valid = 14
    rows = np.arange(20)
    masks = np.stack([np.stack([(rows + r) % 3 != 0 for r in range(2)])] * 2) & (rows < valid)
    masks[:, :, :] &= np.cumsum(masks, axis=-1) <= 7  # 7 members each, as in the classes
    kwargs = {"num_classes": 2, "bandwidth": 1.5, "t": 2}
    masked = jaxinfo.diffusion_spectral_mutual_information(
        x.at[valid:].set(jnp.nan),
        labels,
        where=rows < valid,
        baseline_masks=jnp.asarray(masks),
        **kwargs,
    )
    sliced = jaxinfo.diffusion_spectral_mutual_information(
        x[:valid], labels[:valid], baseline_masks=jnp.asarray(masks[:, :, :valid]), **kwargs
    )
    assert abs(masked - sliced) < 1e-9


def test_random_baseline_draws_from_valid_rows_only(key):
    weights = (jnp.arange(12) < 9).astype(jnp.float32)
    sizes = jnp.array([4.0, 5.0])
    from jaxinfo._src.diffusion import random_subset_masks

    masks = random_subset_masks(key, weights, sizes, 3)
    assert masks.shape == (2, 3, 12)
    np.testing.assert_array_equal(masks.sum(-1), [[4, 4, 4], [5, 5, 5]])
    assert not bool(jnp.any(masks[:, :, 9:]))


def test_dse_options_scale_free_and_differentiable(key):
    x = jax.random.normal(key, (64, 5))
    options: list[dict[str, Any]] = [
        {"preprocess": "standardize", "bandwidth": 1.0},
        {"preprocess": "l2", "bandwidth": 0.5},
        {"adaptive_k": 5},
        {"bandwidth": "median"},
    ]
    for kwargs in options:
        a = jaxinfo.diffusion_spectral_entropy(x, **kwargs)
        b = jaxinfo.diffusion_spectral_entropy(100.0 * x, **kwargs)
        assert abs(a - b) < 1e-4 * max(1.0, float(abs(a))), kwargs
        grad = jax.grad(lambda v, kw=kwargs: jaxinfo.diffusion_spectral_entropy(v, **kw))(x)
        assert np.all(np.isfinite(grad)), kwargs
    traced_t = jax.grad(lambda t: jaxinfo.diffusion_spectral_entropy(x, bandwidth=2.0, t=t))(1.5)
    assert np.isfinite(traced_t) and traced_t < 0  # longer diffusion, lower entropy


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: jaxinfo.diffusion_spectral_entropy(jnp.ones(5)), ValueError, r"\[n, d\]"),
        (
            lambda: jaxinfo.diffusion_spectral_entropy(jnp.ones((5, 2)), bandwidth=0.0),
            ValueError,
            "positive",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_entropy(jnp.ones((5, 2)), bandwidth=-2.0),
            ValueError,
            "positive",
        ),
        (lambda: jaxinfo.diffusion_spectral_entropy(jnp.ones((5, 2)), t=0), ValueError, "`t`"),
        (
            lambda: jaxinfo.diffusion_spectral_entropy(
                jnp.ones((5, 2)), preprocess=cast(Any, "max")
            ),
            ValueError,
            "`preprocess` must be one of",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_entropy(
                jnp.ones((5, 2)), bandwidth=cast(Any, "mean")
            ),
            ValueError,
            "bandwidth",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_entropy(jnp.ones((5, 2)), adaptive_k=5),
            ValueError,
            "adaptive_k",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_mutual_information(
                jnp.ones((6, 2)),
                jnp.array([0, 0, 1, 1, 3, 3]),
                num_classes=3,
                key=jax.random.key(0),
            ),
            ValueError,
            r"\[0, num_classes\)",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_mutual_information(
                jnp.ones((6, 2)),
                jnp.array([0, 0, 0, 1, 2, 2]),
                num_classes=3,
                key=jax.random.key(0),
            ),
            ValueError,
            r"at least 2 members.*\[1\]",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_mutual_information(
                jnp.ones((6, 2)), jnp.ones(6), num_classes=2, key=jax.random.key(0)
            ),
            TypeError,
            "integers",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_mutual_information(
                jnp.ones((6, 2)), jnp.zeros(6, jnp.int32), num_classes=2
            ),
            ValueError,
            "key",
        ),
        (
            lambda: jaxinfo.diffusion_spectral_mutual_information(
                jnp.ones((6, 2)), jnp.zeros(5, jnp.int32), num_classes=2, key=jax.random.key(0)
            ),
            ValueError,
            "labels",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_labels_under_jit_give_nan():
    labels = jnp.array([0, 0, 0, 1, 2, 2])
    value = jax.jit(
        lambda lab: jaxinfo.diffusion_spectral_mutual_information(
            jnp.arange(12.0).reshape(6, 2), lab, num_classes=3, key=jax.random.key(0)
        )
    )(labels)
    assert np.isnan(value)


def test_max_class_size_gives_the_same_value_under_jit(key, x64):
    x = jax.random.normal(key, (30, 3), jnp.float64)
    labels = jnp.arange(30) % 3
    kwargs = {"num_classes": 3, "key": jax.random.key(1), "bandwidth": 1.5}
    eager = jaxinfo.diffusion_spectral_mutual_information(x, labels, **kwargs)  # auto: 10
    traced_full = jax.jit(
        lambda v, lab: jaxinfo.diffusion_spectral_mutual_information(v, lab, **kwargs)
    )
    traced_bound = jax.jit(
        lambda v, lab: jaxinfo.diffusion_spectral_mutual_information(
            v, lab, max_class_size=12, **kwargs
        )
    )
    assert abs(traced_full(x, labels) - eager) < 1e-10
    assert abs(traced_bound(x, labels) - eager) < 1e-10
    too_small = jax.jit(
        lambda v, lab: jaxinfo.diffusion_spectral_mutual_information(
            v, lab, max_class_size=8, **kwargs
        )
    )
    assert np.isnan(too_small(x, labels))
    with pytest.raises(ValueError, match="max_class_size"):
        jaxinfo.diffusion_spectral_mutual_information(x, labels, max_class_size=8, **kwargs)


def test_size_ladder_bounds_the_padding():
    from jaxinfo._src.diffusion import SIZE_LADDER_RATIO, size_ladder

    for n in (5, 16, 17, 30, 500, 4096):
        ladder = size_ladder(n)
        assert ladder[-1] == n and ladder[0] == min(n, 16)
        assert all(b > a for a, b in zip(ladder[:-1], ladder[1:], strict=True))
        # a mask of c > 16 members lands on a rung below SIZE_LADDER_RATIO * c (+1 rounding)
        assert all(
            b <= SIZE_LADDER_RATIO * (a + 1) + 1
            for a, b in zip(ladder[:-1], ladder[1:], strict=True)
        )
    assert size_ladder(500) == (16, 21, 30, 43, 61, 87, 124, 176, 249, 353, 500)


def test_traced_labels_solve_each_mask_on_its_own_rung(key):
    # classes of 3, 12 and 25 rows: rungs 16 and 28 of the ladder (16, 19, 28, 40); before the
    # ladder every mask of a traced-label call was solved at n = 40
    x = jax.random.normal(key, (40, 3))
    labels = jnp.repeat(jnp.arange(3), jnp.array([3, 12, 25]), total_repeat_length=40)
    labels = jax.random.permutation(jax.random.key(2), labels)
    kwargs = {"num_classes": 3, "key": jax.random.key(1), "bandwidth": 1.5}
    eager = jaxinfo.diffusion_spectral_mutual_information(x, labels, **kwargs)  # solves at 25
    traced = jax.jit(lambda v, lab: jaxinfo.diffusion_spectral_mutual_information(v, lab, **kwargs))
    assert np.isfinite(eager)
    assert abs(traced(x, labels) - eager) < 1e-5
