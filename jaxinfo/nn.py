"""Flax NNX modules for information-theoretic training: critics, encoders, a trainer.

The critics map paired rows ``(x, y)`` to the score matrix the variational bounds in
:mod:`jaxinfo` read; :func:`estimate_mutual_information` trains one and returns a held-out
estimate; :class:`GaussianEncoder` is the stochastic encoder of the variational information
bottleneck; :class:`GaussianConditional` is the learned ``q(y | x)`` of the upper bounds
:func:`jaxinfo.club_estimate` and :func:`jaxinfo.l1out_estimate`;
:class:`KoopmanAutoencoder` is the model of :func:`jaxinfo.koopman_information_lagrangian`;
:func:`minde_mutual_information`, :func:`minde_entropy` and :func:`soi_o_information` train a
:class:`ScoreNetwork` and read a score-based (Girsanov) estimate out;
:func:`autoencoder_compress` is the trained lossy compressor of the information plane.
"""

from jaxinfo._src.autoencoders import KoopmanAutoencoder
from jaxinfo._src.compressors import autoencoder_compress
from jaxinfo._src.conditionals import GaussianConditional
from jaxinfo._src.critics import (
    MLP,
    BilinearCritic,
    ConcatCritic,
    Critic,
    GaussianBaselineCritic,
    SeparableCritic,
)
from jaxinfo._src.encoders import GaussianCode, GaussianEncoder
from jaxinfo._src.estimation import MutualInformationEstimate, estimate_mutual_information
from jaxinfo._src.score_estimation import (
    ScoreEstimate,
    minde_entropy,
    minde_mutual_information,
    soi_o_information,
)
from jaxinfo._src.score_networks import ScoreNetwork

__all__ = [
    "MLP",
    "BilinearCritic",
    "ConcatCritic",
    "Critic",
    "GaussianCode",
    "GaussianConditional",
    "GaussianBaselineCritic",
    "GaussianEncoder",
    "KoopmanAutoencoder",
    "MutualInformationEstimate",
    "ScoreEstimate",
    "ScoreNetwork",
    "SeparableCritic",
    "autoencoder_compress",
    "estimate_mutual_information",
    "minde_entropy",
    "minde_mutual_information",
    "soi_o_information",
]
