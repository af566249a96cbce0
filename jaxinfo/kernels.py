"""Kernel objects for jaxinfo's kernel-based measures.

``Gaussian`` and ``Laplacian`` take ``bandwidth`` (sigma, a number or a rule name from
``BANDWIDTH_RULES``); ``Linear`` and ``Cosine`` have explicit feature maps. Every kernel
provides ``gram(x, y=None)`` and ``diagonal(x)``.
"""

from jaxinfo._src.kernels import (
    BANDWIDTH_RULES,
    Cosine,
    Gaussian,
    Kernel,
    Laplacian,
    Linear,
    bandwidth_from_rule,
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
