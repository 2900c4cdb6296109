"""NAB's windowed Gaussian detector, reimplemented exactly to check our scorer against NAB's scores.

Source: numenta/NAB at commit ea702d75cc2258d9d7dd35ca8e5e2539d71f3140,
``nab/detectors/gaussian/windowedGaussian_detector.py`` (MIT). Each row is scored against the
mean and population standard deviation of the window as it stood before the row: 0 for the first
row, else ``1 - Q(x)`` with the Gaussian tail ``Q(x) = erfc(z / sqrt(2)) / 2``, ``z`` the distance
to the mean in standard deviations (below the mean, measured from the mirror image
``2 mean - x``). The row then joins the window: every row while the window holds fewer than 6400,
after that in steps of 100 rows that replace the oldest 100. A zero deviation becomes 1e-6.

Means and deviations are reduced as ``numpy.mean`` and ``numpy.std`` reduce them, over the same
values in the same order as NAB does, so that the scores are the same to the last bit.
"""

from __future__ import annotations

import math

import numpy as np

WINDOW = 6400
STEP = 100


def _tail(value: float, mean: float, std: float) -> float:
    """NAB's ``normalProbability``: the probability of a sample beyond ``value``."""
    if value < mean:
        value = 2 * mean - value
    return 0.5 * math.erfc((value - mean) / std / math.sqrt(2))


def _mean_std(window: np.ndarray) -> tuple[float, float]:
    """``numpy.mean`` and ``numpy.std`` of a window by the same reductions, without the overhead."""
    mean = np.add.reduce(window) / window.size
    deviation = window - mean
    return float(mean), float(np.sqrt(np.add.reduce(deviation * deviation) / window.size))


def windowed_gaussian(values: np.ndarray) -> np.ndarray:
    """NAB's windowed Gaussian anomaly score of each row, in ``[0, 1]``."""
    scores = np.zeros(values.size)
    mean, std = 0.0, 1.0
    for row, value in enumerate(values.tolist()):
        if row:
            scores[row] = 1 - _tail(value, mean, std)
        if row < WINDOW:
            window = values[: row + 1]
        elif (row - WINDOW + 1) % STEP == 0:
            start = row + 1 - WINDOW
            window = values[start : row + 1]
        else:
            continue
        mean, std = _mean_std(window)
        if std == 0.0:
            std = 0.000001
    return scores
