"""The allowed values of every string option, typed once.

Public signatures annotate an option with its alias here, and the tuple that validates it is
``typing.get_args`` of the same alias, so the type checker, the rendered signature and the
error message all read one list. An option that also accepts ``None`` (meaning "off") says
so in the signature (``Preprocessing | None``); the tuple then lists only the strings.
"""

from __future__ import annotations

from typing import Literal, get_args

BandwidthRule = Literal["median", "silverman", "scott"]
"""A bandwidth computed from the data (:func:`jaxinfo.kernels.bandwidth_from_rule`)."""

ConditionalMethod = Literal["symmetric", "single_cross", "csib_code"]
"""Estimator of the conditional Cauchy–Schwarz divergence (and of the CS-IB prediction term)."""

VariationalMethod = Literal["smile", "infonce", "nwj", "donsker_varadhan", "mine", "jensen_shannon"]
"""Variational estimator trained and read out by ``estimate_mutual_information``."""

MarginalTransform = Literal["asinh", "standardize", "normal_scores"]
"""Per-column map fitted on the training split of ``estimate_mutual_information``."""

TemporalInformation = Literal["infonce", "gaussian"]
"""Estimator of the temporal information term of the Koopman information Lagrangian."""

TemporalNegatives = Literal["batch", "trajectory"]
"""Temporal InfoNCE candidates: every other step of the batch (the paper) or of the anchor's own
trajectory only (the released code of Cheng et al.)."""

TemporalPositives = Literal["separate", "pooled"]
"""Temporal InfoNCE with several positives: the mean of each positive's log-softmax (Khosla et
al.'s L_out, the paper) or the log of their summed probability (the released code)."""

TemporalAnchors = Literal["all", "interior"]
"""Which steps are temporal InfoNCE anchors: every step, or only those with a full neighbourhood
``window`` steps on each side inside the trajectory (the released code)."""

PendulumObservation = Literal["cartesian", "angle"]
"""What ``jaxinfo.testing.pendulum`` returns: ``(cos theta, sin theta, theta')`` or
``(theta, theta')``."""

Similarity = Literal["cosine", "dot"]
"""Score between two embeddings: cosine (L2-normalised, bounded) or raw dot product."""

Preprocessing = Literal["standardize", "l2"]
"""Per-feature z-scoring or per-row L2 normalisation of the inputs (DSE and DSMI)."""

KernelName = Literal["gaussian", "laplacian", "linear", "cosine"]
"""A kernel by name: that class of :mod:`jaxinfo.kernels` with its default options."""

SpectralMethod = Literal["exact"]
"""The eigensolver route; the randomized one is a :class:`StochasticLanczos` object."""

NeighbourSearch = Literal["auto", "brute", "sorted", "tree"]
"""k-nearest-neighbour search route."""

EntropyCorrection = Literal["miller_madow", "grassberger", "chao_shen"]
"""Bias correction of plug-in entropies (each entropy of an MI gets the same one)."""

KoopmanOperator = Literal["learned", "ridge"]
"""How a Koopman autoencoder gets its linear operator."""

MutualInformationMethod = Literal[
    "auto", "ksg", "gaussian", "copula", "kde", "binned", "discrete", "neural", "ross", "mixed_ksg"
]
"""Estimator run by ``jaxinfo.mutual_information`` (``"auto"``: the documented static rule)."""

EntropyMethod = Literal[
    "auto", "knn", "gaussian", "kde", "plugin", "miller_madow", "grassberger", "chao_shen"
]
"""Estimator run by ``jaxinfo.entropy`` (``"auto"``: the documented static rule)."""

ConditionalMutualInformationMethod = Literal["auto", "ksg", "gaussian", "copula", "cauchy_schwarz"]
"""Estimator run by ``jaxinfo.conditional_mutual_information`` (``"auto"``: the static rule)."""

ResamplingMethod = Literal["subsample", "bootstrap"]
"""How :func:`jaxinfo.confidence_interval` redraws rows: without or with replacement."""

MultivariateMethod = Literal["gaussian", "copula", "knn"]
"""Entropy estimator of every term of ``jaxinfo.total_correlation`` and its siblings."""

MultivariateMeasure = Literal[
    "o_information", "total_correlation", "dual_total_correlation", "s_information"
]
"""Measure scored by ``jaxinfo.multiplet_information``."""

TokenPooling = Literal["mean", "last"]
"""How ``jaxinfo.dataset_entropy`` pools one input's tokens into one row: the mean of its valid
tokens, or its last valid token (the summary of a causal language model)."""

MindeVariant = Literal["conditional", "joint"]
"""Which KL ``jaxinfo.nn.minde_mutual_information`` reads: ``p(y | x)`` vs ``p(y)``, or the
joint vs the product of marginals."""

BANDWIDTH_RULES: tuple[BandwidthRule, ...] = get_args(BandwidthRule)
CONDITIONAL_METHODS: tuple[ConditionalMethod, ...] = get_args(ConditionalMethod)
VARIATIONAL_METHODS: tuple[VariationalMethod, ...] = get_args(VariationalMethod)
MARGINAL_TRANSFORMS: tuple[MarginalTransform, ...] = get_args(MarginalTransform)
TOKEN_POOLINGS: tuple[TokenPooling, ...] = get_args(TokenPooling)
MINDE_VARIANTS: tuple[MindeVariant, ...] = get_args(MindeVariant)
TEMPORAL_INFORMATION: tuple[TemporalInformation, ...] = get_args(TemporalInformation)
SIMILARITIES: tuple[Similarity, ...] = get_args(Similarity)
PENDULUM_OBSERVATIONS: tuple[PendulumObservation, ...] = get_args(PendulumObservation)
TEMPORAL_NEGATIVES: tuple[TemporalNegatives, ...] = get_args(TemporalNegatives)
TEMPORAL_POSITIVES: tuple[TemporalPositives, ...] = get_args(TemporalPositives)
TEMPORAL_ANCHORS: tuple[TemporalAnchors, ...] = get_args(TemporalAnchors)
PREPROCESSINGS: tuple[Preprocessing, ...] = get_args(Preprocessing)
KERNEL_NAMES: tuple[KernelName, ...] = get_args(KernelName)
SPECTRAL_METHODS: tuple[SpectralMethod, ...] = get_args(SpectralMethod)
NEIGHBOUR_SEARCHES: tuple[NeighbourSearch, ...] = get_args(NeighbourSearch)
ENTROPY_CORRECTIONS: tuple[EntropyCorrection, ...] = get_args(EntropyCorrection)
KOOPMAN_OPERATORS: tuple[KoopmanOperator, ...] = get_args(KoopmanOperator)
MUTUAL_INFORMATION_METHODS: tuple[MutualInformationMethod, ...] = get_args(MutualInformationMethod)
ENTROPY_METHODS: tuple[EntropyMethod, ...] = get_args(EntropyMethod)
RESAMPLING_METHODS: tuple[ResamplingMethod, ...] = get_args(ResamplingMethod)
CONDITIONAL_MUTUAL_INFORMATION_METHODS: tuple[ConditionalMutualInformationMethod, ...] = get_args(
    ConditionalMutualInformationMethod
)
MULTIVARIATE_METHODS: tuple[MultivariateMethod, ...] = get_args(MultivariateMethod)
MULTIVARIATE_MEASURES: tuple[MultivariateMeasure, ...] = get_args(MultivariateMeasure)
