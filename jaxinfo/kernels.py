"""Kernel objects for jaxinfo's kernel-based measures.

``Gaussian`` and ``Laplacian`` take ``bandwidth`` (sigma, a number or a rule name from
``BANDWIDTH_RULES``); ``Linear`` and ``Cosine`` have explicit feature maps. Every kernel
provides ``gram(x, y=None)`` and ``diagonal(x)``.
"""

from jaxinfo._src.bandwidths import BANDWIDTH_RULES, bandwidth_from_rule
from jaxinfo._src.kernels import (
    Cosine,
    Gaussian,
    Kernel,
    Laplacian,
    Linear,
    squared_distances,
)

__all__ = [
    "BANDWIDTH_RULES",
    "Cosine",
    "Gaussian",
    "Kernel",
    "Laplacian",
    "Linear",
    "bandwidth_from_rule",
    "squared_distances",
]
