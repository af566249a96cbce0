"""jaxinfo: differentiable, jit-compiled, shardable information measures for JAX."""

from jaxinfo import kernels
from jaxinfo import testing as testing  # public submodule, not a flat function
from jaxinfo._src.bottleneck import (
    gaussian_kl_to_standard_normal,
    matrix_information_bottleneck_loss,
    nonlinear_information_bottleneck_loss,
    variational_information_bottleneck_loss,
)
from jaxinfo._src.cauchy_schwarz import (
    cauchy_schwarz_conditional_mutual_information,
    cauchy_schwarz_divergence,
    cauchy_schwarz_information_bottleneck_loss,
    cauchy_schwarz_mutual_information,
    conditional_cauchy_schwarz_divergence,
    conditional_cauchy_schwarz_divergence_two_sample,
)
from jaxinfo._src.compression import (
    InformationPlane,
    add_layer_noise,
    compressed_mutual_information,
    information_plane,
    pca_compress,
)
from jaxinfo._src.diffusion import (
    diffusion_reference_bins,
    diffusion_spectral_entropy,
    diffusion_spectral_mutual_information,
)
from jaxinfo._src.discrete import (
    binned_mutual_information,
    chao_shen_entropy,
    discrete_mutual_information,
    grassberger_entropy,
    miller_madow_entropy,
    plugin_entropy,
)
from jaxinfo._src.distributions import (
    js_divergence,
    kl_divergence,
    renyi_entropy,
    shannon_entropy,
    shannon_entropy_from_logits,
)
from jaxinfo._src.entry import (
    Estimate,
    conditional_mutual_information,
    entropy,
    mutual_information,
)
from jaxinfo._src.gaussian import (
    gaussian_conditional_mutual_information,
    gaussian_copula_conditional_mutual_information,
    gaussian_copula_mutual_information,
    gaussian_entropy,
    gaussian_mutual_information,
)
from jaxinfo._src.kde import (
    gaussian_noise_mutual_information_bound,
    gaussian_noise_mutual_information_upper_bound,
    kde_entropy,
)
from jaxinfo._src.koopman import (
    effective_dimension,
    gaussian_koopman_mutual_information,
    koopman_information_lagrangian,
)
from jaxinfo._src.lanczos import StochasticLanczos
from jaxinfo._src.matrix import (
    effective_rank,
    matrix_conditional_entropy,
    matrix_joint_entropy,
    matrix_mutual_information,
    matrix_renyi_entropy,
    matrix_renyi_entropy_from_gram,
    matrix_total_correlation,
    vendi_score,
    von_neumann_entropy,
    von_neumann_entropy_from_covariance,
    von_neumann_entropy_from_gram,
)
from jaxinfo._src.mixed import mixed_ksg_mutual_information, ross_mutual_information
from jaxinfo._src.multivariate import (
    Multiplets,
    dual_total_correlation,
    multiplet_information,
    o_information,
    s_information,
    total_correlation,
)
from jaxinfo._src.neighbours import (
    knn_entropy,
    knn_kl_divergence,
    ksg_conditional_mutual_information,
    ksg_mutual_information,
)
from jaxinfo._src.representations import (
    dataset_entropy,
    dime,
    lidar,
    prompt_entropy,
    token_curvature,
)
from jaxinfo._src.resampling import (
    ConfidenceInterval,
    PermutationTest,
    confidence_interval,
    permutation_test,
)
from jaxinfo._src.time_series import (
    gaussian_copula_transfer_entropy,
    gaussian_transfer_entropy,
    ksg_transfer_entropy,
)
from jaxinfo._src.upper_bounds import club_estimate, l1out_estimate
from jaxinfo._src.variational import (
    MineState,
    donsker_varadhan_estimate,
    donsker_varadhan_lower_bound,
    infonce_lower_bound,
    jensen_shannon_lower_bound,
    jensen_shannon_objective,
    mine_estimate,
    mine_initial_state,
    mine_lower_bound,
    nwj_lower_bound,
    smile_estimate,
    smile_lower_bound,
    temporal_infonce_cross_entropy,
    temporal_infonce_loss,
)
from jaxinfo._version import __version__ as __version__


def __getattr__(name: str):
    """``jaxinfo.nn`` loads Flax NNX on first use, not at ``import jaxinfo``."""
    if name == "nn":
        import importlib

        return importlib.import_module("jaxinfo.nn")
    raise AttributeError(f"module 'jaxinfo' has no attribute {name!r}")


# Importable until 0.3.0 but not public (docs/api.md, "Deprecated aliases").
_DEPRECATED_ALIASES = (
    donsker_varadhan_lower_bound,
    smile_lower_bound,
    mine_lower_bound,
    jensen_shannon_lower_bound,
    temporal_infonce_loss,
    gaussian_noise_mutual_information_bound,
)

__all__ = [
    "ConfidenceInterval",
    "Estimate",
    "InformationPlane",
    "MineState",
    "Multiplets",
    "PermutationTest",
    "StochasticLanczos",
    "add_layer_noise",
    "binned_mutual_information",
    "cauchy_schwarz_conditional_mutual_information",
    "cauchy_schwarz_divergence",
    "cauchy_schwarz_information_bottleneck_loss",
    "cauchy_schwarz_mutual_information",
    "chao_shen_entropy",
    "club_estimate",
    "compressed_mutual_information",
    "conditional_cauchy_schwarz_divergence",
    "conditional_cauchy_schwarz_divergence_two_sample",
    "conditional_mutual_information",
    "confidence_interval",
    "dataset_entropy",
    "diffusion_reference_bins",
    "diffusion_spectral_entropy",
    "diffusion_spectral_mutual_information",
    "dime",
    "discrete_mutual_information",
    "donsker_varadhan_estimate",
    "dual_total_correlation",
    "effective_dimension",
    "effective_rank",
    "entropy",
    "gaussian_conditional_mutual_information",
    "gaussian_copula_conditional_mutual_information",
    "gaussian_copula_mutual_information",
    "gaussian_copula_transfer_entropy",
    "gaussian_entropy",
    "gaussian_kl_to_standard_normal",
    "gaussian_koopman_mutual_information",
    "gaussian_mutual_information",
    "gaussian_noise_mutual_information_upper_bound",
    "gaussian_transfer_entropy",
    "grassberger_entropy",
    "infonce_lower_bound",
    "information_plane",
    "jensen_shannon_objective",
    "js_divergence",
    "kde_entropy",
    "kernels",
    "kl_divergence",
    "knn_entropy",
    "knn_kl_divergence",
    "koopman_information_lagrangian",
    "ksg_conditional_mutual_information",
    "ksg_mutual_information",
    "ksg_transfer_entropy",
    "l1out_estimate",
    "lidar",
    "matrix_conditional_entropy",
    "matrix_information_bottleneck_loss",
    "matrix_joint_entropy",
    "matrix_mutual_information",
    "matrix_renyi_entropy",
    "matrix_renyi_entropy_from_gram",
    "matrix_total_correlation",
    "miller_madow_entropy",
    "mine_estimate",
    "mine_initial_state",
    "mixed_ksg_mutual_information",
    "multiplet_information",
    "mutual_information",
    "nonlinear_information_bottleneck_loss",
    "nwj_lower_bound",
    "o_information",
    "pca_compress",
    "permutation_test",
    "plugin_entropy",
    "prompt_entropy",
    "renyi_entropy",
    "ross_mutual_information",
    "s_information",
    "shannon_entropy",
    "shannon_entropy_from_logits",
    "smile_estimate",
    "temporal_infonce_cross_entropy",
    "token_curvature",
    "total_correlation",
    "variational_information_bottleneck_loss",
    "vendi_score",
    "von_neumann_entropy",
    "von_neumann_entropy_from_covariance",
    "von_neumann_entropy_from_gram",
]
