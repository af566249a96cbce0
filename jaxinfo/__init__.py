"""jaxinfo: differentiable, jit-compiled, shardable information measures for JAX."""

from jaxinfo import kernels
from jaxinfo._src.cauchy_schwarz import (
    cauchy_schwarz_conditional_mutual_information,
    cauchy_schwarz_divergence,
    cauchy_schwarz_information_bottleneck_loss,
    cauchy_schwarz_mutual_information,
    conditional_cauchy_schwarz_divergence,
    conditional_cauchy_schwarz_divergence_two_sample,
)
from jaxinfo._src.diffusion import (
    diffusion_reference_bins,
    diffusion_spectral_entropy,
    diffusion_spectral_mutual_information,
)
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

__version__ = "0.1.0"

__all__ = [
    "cauchy_schwarz_conditional_mutual_information",
    "cauchy_schwarz_divergence",
    "cauchy_schwarz_information_bottleneck_loss",
    "cauchy_schwarz_mutual_information",
    "conditional_cauchy_schwarz_divergence",
    "conditional_cauchy_schwarz_divergence_two_sample",
    "diffusion_reference_bins",
    "diffusion_spectral_entropy",
    "diffusion_spectral_mutual_information",
    "effective_rank",
    "kernels",
    "matrix_conditional_entropy",
    "matrix_joint_entropy",
    "matrix_mutual_information",
    "matrix_renyi_entropy",
    "matrix_renyi_entropy_from_gram",
    "matrix_total_correlation",
    "vendi_score",
    "von_neumann_entropy",
    "von_neumann_entropy_from_covariance",
    "von_neumann_entropy_from_gram",
]
