"""Reading one value and its standard error out of a curve of held-out evaluations.

Reporting the best of ``e`` noisy held-out evaluations is biased upward by about the noise
times ``sqrt(2 log e)``: a flat curve of noise reads high. The cross-checked rule splits the
held-out chunks into two halves, picks each half's best evaluation, and reports every chunk
at the evaluation the *other* half picked. A chunk never votes for the evaluation it is read
at, so on a flat curve the report is unbiased, and at a real peak both halves find it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Selection(NamedTuple):
    """The report of :func:`cross_checked`.

    Attributes:
      value: the weighted mean over chunks, each read at the other half's best evaluation.
      standard_error: standard error of ``value`` over the held-out chunks (NaN for one).
      evaluation: the evaluation the first half picked (whose critic is returned).
    """

    value: float
    standard_error: float
    evaluation: int


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return values @ weights / np.sum(weights)


def cross_checked(values: np.ndarray, weights: np.ndarray) -> Selection:
    """Select and read out a curve ``values[e, c]`` (evaluation ``e``, chunk ``c``).

    ``weights[c]`` is the number of pairs in chunk ``c``. Chunks alternate between the
    halves (even, odd); with a single chunk the rule reads the best evaluation itself.
    NaN evaluations (a diverged critic) are never picked unless every one is NaN.
    """
    values = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.float64)
    count = values.shape[1]
    if count < 2:
        curve = values[:, 0]
        index = 0 if np.all(np.isnan(curve)) else int(np.nanargmax(curve))
        return Selection(float(curve[index]), math.nan, index)
    first = np.arange(count) % 2 == 0
    picked = []
    for half in (first, ~first):
        curve = _weighted_mean(values[:, half], weights[half])
        picked.append(0 if np.all(np.isnan(curve)) else int(np.nanargmax(curve)))
    # chunks of the first half are read where the second half peaked, and vice versa
    read = np.where(first, values[picked[1]], values[picked[0]])
    value = _weighted_mean(read, weights)
    share = weights / np.sum(weights)
    variance = np.sum(share**2 * (read - value) ** 2) * count / (count - 1)
    return Selection(float(value), float(math.sqrt(variance)), picked[0])
