"""Registry of estimators run through the common battery (tests/test_common.py).

Every family adds its sample-based estimators here. An entry says how to call the estimator
(positional sample arrays plus keyword options), how to make inputs, and which battery
features it supports.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

import jaxinfo
import jaxinfo.nn
from jaxinfo import kernels
from jaxinfo._src import collectives

ALPHAS = (0.5, 1.0, 1.01, 2.0, 3.0)

# (kernel label, alpha) pairs whose sharding tests cover each code path of the matrix
# family: eigen path, streamed alpha = 2, bandwidth rule, covariance path, gathered Gram.
# One default entry per code path (eigen path below and above 1, the Frobenius order 2, a
# bandwidth rule, the bandwidth extremes, the covariance route, the log-domain order 3);
# the rest of the kernel x alpha grid repeats a path and runs with -m slow.
DEFAULT_MATRIX = {
    ("gauss", 0.5),
    ("gauss", 1.01),
    ("gauss", 2.0),
    ("median", 2.0),
    ("tiny_bw", 1.01),
    ("huge_bw", 1.01),
    ("linear_rankdef", 1.0),
    ("linear_gram", 3.0),
}
SHARDED_MATRIX = {
    ("gauss", 1.01),
    ("gauss", 2.0),
    ("median", 2.0),
    ("linear_rankdef", 1.0),
    ("linear_gram", 3.0),
    ("mi", 1.01),
    ("mi", 2.0),
}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One estimator configuration in the battery.

    Attributes:
      name: test id.
      fn: ``fn(*arrays, where=None, axis_name=None) -> scalar``.
      dims: feature dimension of each positional sample array.
      supports_where / supports_axis_name / differentiable: battery switches.
      min_samples: smallest n the estimator accepts (the degenerate tests use it).
      sharded: run the (compile-heavy) sharding tests; configurations that only vary a
        number along a code path already covered set it to False to keep CI fast.
      slow: run this entry's battery only with ``-m slow`` (configurations that repeat a
        code path the default run covers with another order or bandwidth).
      f32_rtol, f32_atol: tolerance of float32 against float64 (alpha near 1 amplifies
        round-off; a huge bandwidth makes K = 11^T to float32 resolution).
      finite_differences: check the gradient against finite differences. False where a
        data-driven bandwidth rule is held constant under ``grad`` by design (finite
        differences move it).
      shifts: added to each array by :meth:`make_inputs` (two samples of different
        distributions), so that ``fn`` can pass its arrays through unchanged.
      passes_arrays_through: ``fn`` hands its arrays to the public function unchanged (the
        non-array battery needs it; a wrapper that computes on them fails first itself).
    """

    name: str
    fn: Callable
    dims: tuple[int, ...]
    supports_where: bool = True
    supports_axis_name: bool = True
    differentiable: bool = True
    f32_rtol: float = 1e-4
    f32_atol: float = 1e-5
    sharded: bool = True
    min_samples: int = 2
    slow: bool = False
    finite_differences: bool = True
    passes_arrays_through: bool = True
    shifts: tuple[float, ...] | None = None

    def make_inputs(self, key, n: int, dtype=jnp.float32) -> tuple[jax.Array, ...]:
        """Correlated samples: every array is a noisy function of a shared latent."""
        keys = jax.random.split(key, len(self.dims) + 1)
        latent = jax.random.normal(keys[0], (n, 1), dtype)
        arrays = []
        for k, d in zip(keys[1:], self.dims, strict=True):
            noise = jax.random.normal(k, (n, d), dtype)
            arrays.append(jnp.tanh(latent) + 0.5 * noise)
        if self.shifts is not None:
            arrays = [a + s for a, s in zip(arrays, self.shifts, strict=True)]
        return tuple(arrays)


def _matrix_entries() -> list[Entry]:
    gauss = kernels.Gaussian(1.0)
    entries = []
    for alpha in ALPHAS:
        # alpha near 1 amplifies round-off by 1 / |1 - alpha|; alpha < 1 weights eigenvalues
        # below float32 resolution heavily (lambda ** 0.5), so float32 is coarse there.
        rtol = 1e-3 if abs(alpha - 1.0) < 0.05 else (5e-3 if alpha < 1 else 1e-4)
        for label, kernel, dims in [
            ("gauss", gauss, (3,)),
            ("median", kernels.Gaussian("median"), (3,)),
            ("tiny_bw", kernels.Gaussian(1e-3), (3,)),
            ("huge_bw", kernels.Gaussian(1e3), (3,)),
            ("linear_rankdef", kernels.Linear(), (3,)),
            ("linear_gram", kernels.Linear(), (40,)),
        ]:
            entries.append(
                Entry(
                    f"matrix_renyi_entropy[{label},a={alpha}]",
                    lambda x, *, kernel=kernel, alpha=alpha, **kw: jaxinfo.matrix_renyi_entropy(
                        x, alpha=alpha, kernel=kernel, **kw
                    ),
                    dims,
                    f32_rtol=rtol,
                    f32_atol=(5e-3 if alpha < 1 else 1e-4) if label == "huge_bw" else 1e-5,
                    sharded=(label, alpha) in SHARDED_MATRIX,
                    finite_differences=label != "median",
                    slow=(label, alpha) not in DEFAULT_MATRIX | SHARDED_MATRIX,
                )
            )
        entries.append(
            Entry(
                f"matrix_mutual_information[gauss,a={alpha}]",
                lambda x, y, *, alpha=alpha, **kw: jaxinfo.matrix_mutual_information(
                    x, y, alpha=alpha, kernel_x=gauss, kernel_y=gauss, **kw
                ),
                (2, 1),
                f32_rtol=max(rtol, 1e-3),
                f32_atol=1e-4,
                sharded=("mi", alpha) in SHARDED_MATRIX,
                slow=("mi", alpha) not in SHARDED_MATRIX,
            )
        )
    for alpha in (1.01, 2.0):
        entries += [
            Entry(
                f"matrix_joint_entropy[a={alpha}]",
                lambda x, y, z, *, alpha=alpha, **kw: jaxinfo.matrix_joint_entropy(
                    x, y, z, alpha=alpha, kernels=(gauss, kernels.Laplacian(2.0), gauss), **kw
                ),
                (2, 1, 1),
                sharded=alpha == 2.0,
                slow=alpha != 2.0,  # one order per function by default (the sharded one)
            ),
            Entry(
                f"matrix_conditional_entropy[a={alpha}]",
                lambda x, y, *, alpha=alpha, **kw: jaxinfo.matrix_conditional_entropy(
                    x, y, alpha=alpha, kernel_x=gauss, kernel_y=kernels.Gaussian("silverman"), **kw
                ),
                (2, 1),
                f32_rtol=1e-3,
                finite_differences=False,  # bandwidth rule: constant under grad
                sharded=alpha == 1.01,
                slow=alpha != 1.01,
            ),
            Entry(
                f"matrix_total_correlation[a={alpha}]",
                lambda x, y, z, *, alpha=alpha, **kw: jaxinfo.matrix_total_correlation(
                    x, y, z, alpha=alpha, kernels=kernels.Gaussian("scott"), **kw
                ),
                (1, 1, 2),
                f32_rtol=1e-3,
                finite_differences=False,  # bandwidth rule: constant under grad
                sharded=alpha == 2.0,
                slow=alpha != 2.0,
            ),
        ]
    entries += [
        Entry(
            "matrix_renyi_entropy[blocked,a=2]",
            lambda x, **kw: jaxinfo.matrix_renyi_entropy(
                x, alpha=2, kernel=gauss, block_size=3, **kw
            ),
            (3,),
        ),
        Entry(
            "von_neumann_entropy[cosine]",
            lambda x, **kw: jaxinfo.von_neumann_entropy(x, kernel=kernels.Cosine(), **kw),
            (3,),
            f32_rtol=1e-3,
        ),
        Entry(
            "vendi_score[q=1]", lambda x, **kw: jaxinfo.vendi_score(x, **kw), (3,), f32_rtol=1e-3
        ),
        Entry(
            "vendi_score[q=2,gauss]",
            lambda x, **kw: jaxinfo.vendi_score(x, q=2, kernel=gauss, **kw),
            (3,),
        ),
        Entry(
            "effective_rank", lambda x, **kw: jaxinfo.effective_rank(x, **kw), (3,), f32_rtol=1e-3
        ),
        Entry("effective_dimension", jaxinfo.effective_dimension, (4,), f32_rtol=1e-3),
    ]
    return entries


def _dsmi(x, *, where=None, axis_name=None, **kwargs):
    """DSMI with labels alternating by row (consistent under slicing and row sharding)."""
    labels = jnp.arange(x.shape[0]) % 2
    return jaxinfo.diffusion_spectral_mutual_information(
        x, labels, num_classes=2, key=jax.random.key(7), where=where, axis_name=axis_name, **kwargs
    )


def _diffusion_entries() -> list[Entry]:
    return [
        Entry(
            "diffusion_spectral_entropy[s=1,t=1]",
            lambda x, **kw: jaxinfo.diffusion_spectral_entropy(x, bandwidth=1.0, **kw),
            (3,),
            f32_rtol=1e-3,
        ),
        Entry(
            "diffusion_spectral_entropy[median,t=2,standardize]",
            lambda x, **kw: jaxinfo.diffusion_spectral_entropy(
                x, bandwidth="median", t=2, preprocess="standardize", **kw
            ),
            (3,),
            f32_rtol=1e-3,
            finite_differences=False,  # bandwidth rule: constant under grad
        ),
        Entry(
            "diffusion_spectral_entropy[adaptive_k=3,t=0.5]",
            lambda x, **kw: jaxinfo.diffusion_spectral_entropy(x, adaptive_k=3, t=0.5, **kw),
            (3,),
            f32_rtol=1e-3,
            finite_differences=False,  # bandwidth rule: constant under grad
            sharded=False,
            min_samples=4,
            slow=True,  # an option of a path another default entry covers
        ),
        # The random baseline depends on n, so masking != slicing here; see test_diffusion.py.
        Entry(
            "diffusion_spectral_mutual_information",
            lambda x, **kw: _dsmi(x, bandwidth=1.0, **kw),
            (3,),
            supports_where=False,
            passes_arrays_through=False,  # labels from the row count
            f32_rtol=1e-2,
            f32_atol=1e-3,
            min_samples=4,
        ),
    ]


class _UserCauchy(kernels.DistanceKernel):
    """A kernel written against the public contract (docs/extending.md), not built in."""

    def log_kernel(self, squared_distance, bandwidth):
        return -jnp.log1p(squared_distance / (bandwidth * bandwidth))


def _cs_entries() -> list[Entry]:
    gauss = kernels.Gaussian(1.0)

    def divergence(x, y, *, where=None, axis_name=None, **kw):
        # Two samples of different distributions sharing the row mask (and row sharding).
        return jaxinfo.cauchy_schwarz_divergence(
            x, y, where_x=where, where_y=where, axis_name=axis_name, **kw
        )

    return [
        Entry(
            "cauchy_schwarz_divergence[gauss]",
            lambda x, y, **kw: divergence(x, y, kernel=gauss, **kw),
            (2, 2),
            shifts=(0.0, 0.5),
        ),
        Entry(
            "cauchy_schwarz_divergence[laplacian,blocked]",
            lambda x, y, **kw: divergence(x, y, kernel=kernels.Laplacian(1.0), block_size=3, **kw),
            (2, 2),
            shifts=(0.0, 0.5),
            sharded=False,
        ),
        Entry(
            "cauchy_schwarz_divergence[user_distance_kernel,blocked]",
            lambda x, y, **kw: divergence(x, y, kernel=_UserCauchy(1.0), block_size=3, **kw),
            (2, 2),
            shifts=(0.0, 0.5),
            sharded=False,  # shard_map: tests/test_user_kernels.py
        ),
        Entry(
            "cauchy_schwarz_divergence[tiny_bw]",
            lambda x, y, **kw: divergence(x, y, kernel=kernels.Gaussian(1e-3), **kw),
            (2, 2),
            shifts=(0.0, 0.5),
            f32_rtol=1e-3,
            sharded=False,
        ),
        Entry(
            "cauchy_schwarz_mutual_information[gauss]",
            lambda x, y, **kw: jaxinfo.cauchy_schwarz_mutual_information(
                x, y, kernel_x=gauss, kernel_y=gauss, **kw
            ),
            (3, 1),
            f32_rtol=1e-3,
        ),
        Entry(
            "cauchy_schwarz_mutual_information[median,normalized,blocked]",
            lambda x, y, **kw: jaxinfo.cauchy_schwarz_mutual_information(
                x, y, normalized=True, block_size=5, **kw
            ),
            (3, 1),
            f32_rtol=1e-3,
            finite_differences=False,  # bandwidth rule: constant under grad
            sharded=False,
            slow=True,  # an option of a path another default entry covers
        ),
        Entry(
            "conditional_cauchy_schwarz_divergence[symmetric]",
            lambda x, y, z, **kw: jaxinfo.conditional_cauchy_schwarz_divergence(
                x, y, z, kernel_x=gauss, kernel_y=gauss, **kw
            ),
            (2, 1, 1),
            f32_rtol=1e-3,
            f32_atol=1e-4,
        ),
        Entry(
            "conditional_cauchy_schwarz_divergence[single_cross,blocked]",
            lambda x, y, z, **kw: jaxinfo.conditional_cauchy_schwarz_divergence(
                x, y, z, method="single_cross", block_size=5, **kw
            ),
            (2, 1, 1),
            f32_rtol=1e-3,
            finite_differences=False,  # bandwidth rule: constant under grad
            f32_atol=1e-4,
            sharded=False,
            slow=True,  # an option of a path another default entry covers
        ),
        Entry(
            "conditional_cauchy_schwarz_divergence_two_sample",
            lambda a, b, c, d, *, where=None, **kw: (
                jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
                    a,
                    b,
                    c,
                    d,
                    kernel_x=gauss,
                    kernel_y=gauss,
                    where_p=where,
                    where_q=where,
                    **kw,
                )
            ),
            (2, 1, 2, 1),
            shifts=(0.0, 0.0, 0.0, 0.3),
            f32_rtol=1e-3,
            f32_atol=1e-4,
        ),
        Entry(
            "cauchy_schwarz_conditional_mutual_information",
            lambda x, y, z, **kw: jaxinfo.cauchy_schwarz_conditional_mutual_information(
                x, y, z, kernel_x=gauss, kernel_y=gauss, kernel_z=gauss, **kw
            ),
            (2, 1, 1),
            f32_rtol=1e-3,
            f32_atol=1e-4,
        ),
        Entry(
            "cauchy_schwarz_information_bottleneck_loss[median,blocked]",
            lambda x, y, y_pred, t, **kw: jaxinfo.cauchy_schwarz_information_bottleneck_loss(
                x, y[:, 0], y_pred[:, 0], t, beta=0.1, block_size=5, **kw
            )[0],
            (2, 1, 1, 3),
            passes_arrays_through=False,  # slices y and y_pred
            f32_rtol=1e-3,
            finite_differences=False,  # bandwidth rule: constant under grad
            f32_atol=1e-4,
            sharded=False,
            # Its sums are the conditional divergence's and the MI's (default entries above);
            # tests/test_cauchy_schwarz.py checks the loss itself. ~39 s of CI across batteries.
            slow=True,
        ),
    ]


def _distribution_entries() -> list[Entry]:
    """Sample-based Gaussian, binned and discrete-from-continuous estimators (issue 3).

    Gaussian estimators without shrinkage need n > d rows (d = d_x + d_y for MI): fewer give
    a singular covariance, a ValueError naming ``shrinkage=`` (NaN under ``jit``). The rank
    (copula) and bin (binned) estimators have zero gradients; their sharded entries cover
    the all-gather code paths.
    """
    return [
        Entry(
            "gaussian_entropy",
            lambda x, **kw: jaxinfo.gaussian_entropy(x, **kw),
            (3,),
            sharded=False,
            min_samples=4,
        ),
        Entry(
            "gaussian_entropy[shrinkage=0.2,bias_correction]",
            lambda x, **kw: jaxinfo.gaussian_entropy(x, shrinkage=0.2, bias_correction=True, **kw),
            (3,),
            sharded=False,
            min_samples=4,
            slow=True,  # an option of a path another default entry covers
        ),
        Entry(
            "gaussian_mutual_information",
            lambda x, y, **kw: jaxinfo.gaussian_mutual_information(x, y, **kw),
            (3, 2),
            min_samples=6,
        ),
        Entry(
            "gaussian_copula_mutual_information",
            lambda x, y, **kw: jaxinfo.gaussian_copula_mutual_information(x, y, **kw),
            (2, 2),  # (2, 1) at n = 4: the y column ranked like an x column (MI +inf)
            differentiable=False,
            min_samples=5,
        ),
        Entry(
            "binned_mutual_information[fixed]",
            lambda x, y, **kw: jaxinfo.binned_mutual_information(x, y, bins=4, **kw),
            (2, 1),
            differentiable=False,
            sharded=False,
            slow=True,  # an option of a path another default entry covers
        ),
        Entry(
            "binned_mutual_information[adaptive,miller_madow]",
            lambda x, y, **kw: jaxinfo.binned_mutual_information(
                x, y, bins=4, adaptive=True, correction="miller_madow", **kw
            ),
            (2, 1),
            differentiable=False,
        ),
        # the small-alphabet corrections share the counts above; only the final sums differ
        Entry(
            "binned_mutual_information[fixed,grassberger]",
            lambda x, y, **kw: jaxinfo.binned_mutual_information(
                x, y, bins=4, correction="grassberger", **kw
            ),
            (2, 1),
            differentiable=False,
            sharded=False,
            slow=True,  # the Chao-Shen entry below runs the same counts in the default run
        ),
        Entry(
            "binned_mutual_information[adaptive,chao_shen]",
            lambda x, y, **kw: jaxinfo.binned_mutual_information(
                x, y, bins=4, adaptive=True, correction="chao_shen", **kw
            ),
            (2, 1),
            differentiable=False,
            sharded=False,
        ),
    ]


def _neighbour_entries() -> list[Entry]:
    """kNN (Kozachenko-Leonenko, KSG, kNN KL) and KDE estimators (issue 3)."""

    def knn_kl(x, y, *, where=None, axis_name=None, **kw):
        # Two samples of different distributions sharing the row mask (and row sharding).
        return jaxinfo.knn_kl_divergence(
            x, y, where_x=where, where_y=where, axis_name=axis_name, **kw
        )

    return [
        Entry(
            "knn_entropy[k=3]",
            lambda x, **kw: jaxinfo.knn_entropy(x, k=3, **kw),
            (3,),
            min_samples=4,
        ),
        Entry(
            "knn_entropy[d=1,sorted]",
            lambda x, **kw: jaxinfo.knn_entropy(x, k=2, **kw),
            (1,),
            min_samples=3,
        ),
        Entry(
            "knn_entropy[d=3,tree]",
            lambda x, **kw: jaxinfo.knn_entropy(x, k=2, method="tree", **kw),
            (3,),
            min_samples=3,
        ),
        Entry(
            "knn_entropy[k=1,blocked]",
            lambda x, **kw: jaxinfo.knn_entropy(x, k=1, block_size=5, **kw),
            (2,),
            sharded=False,
        ),
        # Neighbour counts are piecewise constant: the gradient is exactly zero by design.
        Entry(
            "ksg_mutual_information[k=3]",
            lambda x, y, **kw: jaxinfo.ksg_mutual_information(x, y, k=3, block_size=5, **kw),
            (2, 1),
            differentiable=False,
            min_samples=4,
        ),
        # the tree route: joint neighbours from the host tree, the 2-D x counted by the tree,
        # the 1-D y by the sorted search in JAX
        Entry(
            "ksg_mutual_information[tree]",
            lambda x, y, **kw: jaxinfo.ksg_mutual_information(x, y, k=3, method="tree", **kw),
            (2, 1),
            differentiable=False,
            min_samples=4,
        ),
        Entry(
            "knn_kl_divergence[k=1]",
            lambda x, y, **kw: knn_kl(x, y, **kw),
            (2, 2),
            shifts=(0.0, 0.5),
        ),
        Entry(
            "knn_kl_divergence[d=2,tree]",
            lambda x, y, **kw: knn_kl(x, y, k=2, method="tree", **kw),
            (2, 2),
            shifts=(0.0, 0.5),
            min_samples=3,
            sharded=False,  # the entropy's tree entry covers the callback under sharding
        ),
        Entry(
            "knn_kl_divergence[d=1,sorted]",
            lambda x, y, **kw: knn_kl(x, y, k=2, **kw),
            (1, 1),
            shifts=(0.0, 0.5),
            min_samples=3,
        ),
        Entry(
            "kde_entropy[silverman]",
            lambda x, **kw: jaxinfo.kde_entropy(x, **kw),
            (3,),
            f32_rtol=1e-3,
            finite_differences=False,  # bandwidth rule: constant under grad
        ),
        Entry(
            "kde_entropy[h=0.5,blocked]",
            lambda x, **kw: jaxinfo.kde_entropy(x, bandwidth=0.5, block_size=5, **kw),
            (3,),
            f32_rtol=1e-3,
            sharded=False,
        ),
        Entry(
            "gaussian_noise_mutual_information_upper_bound",
            lambda x, **kw: jaxinfo.gaussian_noise_mutual_information_upper_bound(
                x, noise_variance=0.5, block_size=5, **kw
            ),
            (3,),
            f32_rtol=1e-3,
        ),
    ]


def _mixed_entries() -> list[Entry]:
    """Discrete-continuous MI: Ross (labels from the sign of y's first column) and mixed KSG."""

    def ross(x, y, **kw):
        labels = (y[:, 0] > 0).astype(jnp.int32)
        x = x + 0.0 * y[:, :1]  # a non-finite y still poisons the row (the labels cannot)
        return jaxinfo.ross_mutual_information(x, labels, k=2, **kw)

    def mixed_ksg(x, y, **kw):
        # y half discrete: rounded to a grid, so the joint space has ties at distance 0
        return jaxinfo.mixed_ksg_mutual_information(x, jnp.round(y), k=2, block_size=5, **kw)

    return [
        # d = 1: the sorted route (one lexsort, windows, the sorted counts)
        Entry(
            "ross_mutual_information[d=1,sorted]",
            ross,
            (1, 1),
            differentiable=False,
            min_samples=3,
            passes_arrays_through=False,  # labels from y
        ),
        # d = 2: the blocked slab
        Entry(
            "ross_mutual_information[d=2,blocked]",
            lambda x, y, **kw: ross(x, y, block_size=5, **kw),
            (2, 1),
            differentiable=False,
            min_samples=3,
            passes_arrays_through=False,
            sharded=False,
            slow=True,  # the slab is checked against a loop in tests/test_mixed.py
        ),
        Entry(
            "mixed_ksg_mutual_information[k=2]",
            mixed_ksg,
            (1, 1),
            differentiable=False,
            min_samples=3,
            passes_arrays_through=False,  # rounds y
            sharded=False,
            slow=True,  # the slab of KSG's battery; values against a loop in test_mixed.py
        ),
    ]


def _separable_scores(x, y, where, axis_name):
    """Scores of a separable critic ``x_i . y_j``: this device's rows against every ``y``.

    Padded rows are zeroed first, as a user's critic must: garbage that enters the matmul
    reaches the gradients of valid rows whatever the bound does with masked scores.
    """
    if where is not None:
        x, y = (jnp.where(where[:, None], a, 0.0) for a in (x, y))
    return x @ collectives.gather_rows(y, axis_name).T  # replicated y, never [n, n] per device


# The variational bounds by name, called on a score matrix (the battery's extreme-score and
# non-array categories call them directly; the registry entries build scores from samples).
BOUNDS: dict[str, Callable] = {
    "infonce_lower_bound": jaxinfo.infonce_lower_bound,
    "donsker_varadhan_estimate": jaxinfo.donsker_varadhan_estimate,
    "nwj_lower_bound": jaxinfo.nwj_lower_bound,
    "smile_estimate[clip=1]": lambda scores, **kw: jaxinfo.smile_estimate(scores, clip=1.0, **kw),
    "jensen_shannon_objective": jaxinfo.jensen_shannon_objective,
}


def _variational_entries() -> list[Entry]:
    """Variational MI bounds on a separable critic's scores (issue 11)."""

    def bound(name, **options):
        def call(x, y, *, where=None, axis_name=None):
            scores = _separable_scores(x, y, where, axis_name)
            return BOUNDS[name](scores, where=where, axis_name=axis_name)

        # the scores are a product of the arrays: the battery gives BOUNDS non-array scores
        return Entry(name, call, (2, 2), passes_arrays_through=False, **options)

    return [
        bound("infonce_lower_bound"),
        bound("donsker_varadhan_estimate"),
        bound("nwj_lower_bound", sharded=False),
        # carries the JS objective's gradient (by design): no finite differences
        bound("smile_estimate[clip=1]", sharded=False, finite_differences=False),
        # its gradient is J's, not the value's (by design)
        bound("jensen_shannon_objective", sharded=False, finite_differences=False),
    ]


def _gaussian_log_likelihoods(x, y, where, axis_name):
    """``log q(y_j | x_i)`` for ``q(y | x) = N(x / 2, I)``: this device's rows, every ``y``.

    Padded rows are zeroed first, as a user's conditional must (see _separable_scores).
    """
    if where is not None:
        x, y = (jnp.where(where[:, None], a, 0.0) for a in (x, y))
    y = collectives.gather_rows(y, axis_name)
    squared = jnp.sum((0.5 * x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
    return -0.5 * squared - 0.5 * x.shape[1] * math.log(2.0 * math.pi)


# The upper bounds by name, called on a log-likelihood matrix (tests/test_upper_bounds.py runs
# the score-matrix categories of tests/test_bad_inputs.py on them; their errors name
# `log_likelihoods`, not `scores`).
UPPER_BOUNDS: dict[str, Callable] = {
    "club_estimate": jaxinfo.club_estimate,
    "l1out_estimate": jaxinfo.l1out_estimate,
}


def _upper_bound_entries() -> list[Entry]:
    """CLUB and L1Out on a fixed Gaussian conditional's log-likelihoods (issue 25)."""

    def bound(name):
        def call(x, y, *, where=None, axis_name=None):
            log_likelihoods = _gaussian_log_likelihoods(x, y, where, axis_name)
            return UPPER_BOUNDS[name](log_likelihoods, where=where, axis_name=axis_name)

        return Entry(name, call, (2, 2), passes_arrays_through=False)

    return [bound(name) for name in UPPER_BOUNDS]


def _bottleneck_entries() -> list[Entry]:
    """Information-bottleneck losses (issue 11); labels from the sign of a logit column, so
    they agree under slicing, masking and row sharding."""

    def loss(fn):
        def call(logits, *arrays, **kw):
            labels = (jax.lax.stop_gradient(logits[:, 0]) > 0).astype(jnp.int32)
            return fn(logits, labels, *arrays, beta=0.1, **kw)[0]

        return call

    def matrix(logits, labels, x, t, **kw):
        return jaxinfo.matrix_information_bottleneck_loss(logits, labels, x, t, **kw)

    # labels come from the logits (non-array logits fail in the wrapper): not passed through
    return [
        Entry(
            "variational_information_bottleneck_loss",
            loss(jaxinfo.variational_information_bottleneck_loss),
            (2, 4, 4),
            passes_arrays_through=False,
        ),
        # Their compression terms have their own entries; these repeat those paths.
        Entry(
            "nonlinear_information_bottleneck_loss",
            loss(jaxinfo.nonlinear_information_bottleneck_loss),
            (2, 3),
            passes_arrays_through=False,
            sharded=False,
            slow=True,
        ),
        Entry(
            "matrix_information_bottleneck_loss",
            loss(matrix),
            (2, 3, 2),
            passes_arrays_through=False,
            sharded=False,
            slow=True,
            f32_rtol=1e-3,
            finite_differences=False,  # median rule: constant under grad
        ),
    ]


def _conditional_entries() -> list[Entry]:
    """Conditional mutual information ``I(X; Y | Z)`` (issue 27): one entry per route.

    The Gaussian route is the family's sharded representative (moments ``psum``-reduced);
    the copula and kNN routes have zero gradients.
    """
    return [
        Entry(
            "gaussian_conditional_mutual_information",
            lambda x, y, z, **kw: jaxinfo.gaussian_conditional_mutual_information(x, y, z, **kw),
            (2, 1, 1),
            min_samples=5,
        ),
        Entry(
            "gaussian_copula_conditional_mutual_information",
            lambda x, y, z, **kw: jaxinfo.gaussian_copula_conditional_mutual_information(
                x, y, z, **kw
            ),
            (2, 2, 1),
            differentiable=False,
            sharded=False,
            min_samples=6,
            # its code is the copula MI's normal scores and the Gaussian CMI's core, both
            # in the default run
            slow=True,
        ),
        # Frenzel-Pompe: the blocked slab (KSG's counts in the (x, z), (y, z), z subspaces)
        Entry(
            "ksg_conditional_mutual_information[brute]",
            lambda x, y, z, **kw: jaxinfo.ksg_conditional_mutual_information(
                x, y, z, k=3, method="brute", block_size=5, **kw
            ),
            (2, 1, 1),
            differentiable=False,
            sharded=False,
            min_samples=4,
        ),
        # the tree route: joint neighbours from the host tree, (x, z) and (y, z) counted by
        # the tree, the 1-D z by the sorted search in JAX
        Entry(
            "ksg_conditional_mutual_information[tree]",
            lambda x, y, z, **kw: jaxinfo.ksg_conditional_mutual_information(
                x, y, z, k=3, method="tree", **kw
            ),
            (2, 1, 1),
            differentiable=False,
            sharded=False,
            min_samples=4,
        ),
    ]


def _time_series_entries() -> list[Entry]:
    """Transfer entropy (issue 27): the arrays are (source, target) series, a row a time step.

    ``axis_name`` splits a series into time windows embedded one by one, so rows that would
    cross a shard boundary are not formed: the value is not the unsharded one on the same
    rows, and the battery's row-sharding tests do not apply (``supports_axis_name=False``).
    tests/test_transfer_entropy.py checks the window rule under ``shard_map``. Masking the
    trailing steps equals slicing them off, as the battery checks.
    """
    return [
        Entry(
            "gaussian_transfer_entropy",
            lambda x, y, **kw: jaxinfo.gaussian_transfer_entropy(x, y, **kw),
            (1, 1),
            supports_axis_name=False,
            min_samples=5,  # 4 embedded rows for d = 3
        ),
        Entry(
            "gaussian_copula_transfer_entropy",
            lambda x, y, **kw: jaxinfo.gaussian_copula_transfer_entropy(
                x, y, target_history=2, **kw
            ),
            (2, 1),
            supports_axis_name=False,
            differentiable=False,
            sharded=False,
            min_samples=8,  # t0 = 2, then 6 embedded rows for d = 1 + 2 + 2
            slow=True,  # the embedding is the Gaussian entry's; the copula CMI has its own
        ),
        Entry(
            "ksg_transfer_entropy",
            lambda x, y, **kw: jaxinfo.ksg_transfer_entropy(x, y, k=3, delay=2, **kw),
            (1, 1),
            supports_axis_name=False,
            differentiable=False,
            sharded=False,
            min_samples=6,  # t0 = 2, then k + 1 embedded rows
            slow=True,  # the embedding is the Gaussian entry's; the KSG CMI has its own
        ),
    ]


def _multivariate_entries() -> list[Entry]:
    """Multivariate measures of three variables (issue 27, item 4): one entry per method.

    The four measures share one core per method, so each method runs through one of them;
    ``dual_total_correlation`` and ``multiplet_information`` are in the axis-name battery
    (tests/test_trust_round_two.py). Gaussian without shrinkage needs n > d = 4.
    """
    return [
        Entry(
            "o_information[gaussian]",
            lambda *xs, **kw: jaxinfo.o_information(*xs, **kw),
            (1, 2, 1),
            min_samples=5,
        ),
        Entry(
            "total_correlation[copula]",
            lambda *xs, **kw: jaxinfo.total_correlation(*xs, method="copula", **kw),
            (2, 1, 1),
            differentiable=False,
            sharded=False,
            min_samples=5,
        ),
        Entry(
            "s_information[knn]",
            lambda *xs, **kw: jaxinfo.s_information(*xs, method="knn", k=2, **kw),
            (1, 2, 1),
            sharded=False,
            min_samples=3,
            slow=True,  # knn_entropy's core, covered in the default run; 7 searches per call
        ),
    ]


ENTRIES: list[Entry] = (
    _matrix_entries()
    + _diffusion_entries()
    + _cs_entries()
    + _distribution_entries()
    + _neighbour_entries()
    + _mixed_entries()
    + _variational_entries()
    + _upper_bound_entries()
    + _bottleneck_entries()
    + _conditional_entries()
    + _time_series_entries()
    + _multivariate_entries()
)


@dataclasses.dataclass(frozen=True)
class Stateful:
    """A function whose state carries across batches (the battery's poisoned-state category).

    Attributes:
      name: test id.
      start: ``start() -> state``, a fresh state.
      step: ``step(state, batch) -> (readout, state)``; ``readout`` (a pytree of arrays)
        is what a user reads: the value, and the gradient where the state shapes it.
      make_batch: ``make_batch(key) -> batch``, a float array a bad value can be written into.
    """

    name: str
    start: Callable
    step: Callable
    make_batch: Callable


def _mine_step(state, scores):
    """MINE's value and gradient: the moving average shapes only the gradient."""

    def loss(scores):
        value, new_state = jaxinfo.mine_estimate(scores, state)
        return value, new_state

    (value, new_state), grad = jax.value_and_grad(loss, has_aux=True)(scores)
    return (value, grad), new_state


def _koopman_ridge_step(model, latents):
    return model.operator(latents), model


STATEFUL: list[Stateful] = [
    Stateful(
        "mine_estimate",
        jaxinfo.mine_initial_state,
        _mine_step,
        lambda key: jax.random.normal(key, (8, 8)),
    ),
    Stateful(
        "KoopmanAutoencoder.operator[ridge]",
        lambda: jaxinfo.nn.KoopmanAutoencoder(
            3, 4, hidden=(8,), operator="ridge", rngs=nnx.Rngs(0)
        ),
        _koopman_ridge_step,
        lambda key: jax.random.normal(key, (2, 5, 4)),
    ),
]
