"""Kernel objects for jaxinfo's kernel-based measures.

``Gaussian`` and ``Laplacian`` take ``bandwidth`` (sigma, a number or a rule name from
``BANDWIDTH_RULES``); ``Linear`` and ``Cosine`` have explicit feature maps. Every kernel
provides ``gram(x, y=None)`` and ``diagonal(x)``. A kernel of your own subclasses
:class:`Kernel` (or :class:`DistanceKernel` for a function of ``|a - b|``); see
docs/extending.md. Wherever a kernel is taken, a name from ``KERNEL_NAMES`` (``"gaussian"``)
stands for that kernel with its default options.
"""

from jaxinfo._src.bandwidths import BANDWIDTH_RULES, bandwidth_from_rule
from jaxinfo._src.kernels import (
    KERNEL_NAMES,
    Cosine,
    DistanceKernel,
    Gaussian,
    Kernel,
    Laplacian,
    Linear,
    squared_distances,
)

__all__ = [
    "BANDWIDTH_RULES",
    "KERNEL_NAMES",
    "Cosine",
    "DistanceKernel",
    "Gaussian",
    "Kernel",
    "Laplacian",
    "Linear",
    "bandwidth_from_rule",
    "squared_distances",
]
