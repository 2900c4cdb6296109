"""Online detectors of single signals, vectorised over rows with carried filter state.

:class:`EwmaZScore` scores how far each value lies from an exponentially weighted mean, in units
of an exponentially weighted mean absolute deviation (a robust spread); :class:`Cusum` accumulates
standardised drift away from a reference level learned on a training prefix (Page's two-sided
CUSUM) and scores the accumulated evidence of a changepoint. Both run every column of a
multi-signal row at once and report the largest per-signal score.
"""

from __future__ import annotations

import math
from typing import Self

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter
from scipy.special import erf

from valueloop.analytics.anomaly.base import Matrix, StreamingDetector, as_matrix, floor_scale
from valueloop.analytics.anomaly.data import Stamps, Vector
from valueloop.errors import ModelError

MAD_TO_SIGMA = math.sqrt(math.pi / 2.0)


def ewma(
    values: Matrix, alpha: float, previous: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Exponentially weighted means of each column, continuing from ``previous`` (one per column).

    ``m_t = (1 - alpha) m_{t-1} + alpha x_t``, computed by a linear filter, not a Python loop.
    """
    state = ((1.0 - alpha) * previous).reshape(1, -1)
    smoothed, _ = lfilter([alpha], [1.0, alpha - 1.0], values, axis=0, zi=state)
    result: npt.NDArray[np.float64] = smoothed
    return result


def tail_probability(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``P(|Z| < z)`` of a standard normal: 0 at the mean, towards 1 far from it."""
    result: npt.NDArray[np.float64] = erf(np.abs(z) / math.sqrt(2.0))
    return result


class EwmaZScore(StreamingDetector):
    """Robust z-score against exponentially weighted mean and mean absolute deviation.

    ``alpha`` is the weight of a new value in the mean (per row; ``1/alpha`` rows of memory),
    ``spread_alpha`` the same for the mean absolute deviation, ``warmup`` the rows scored 0 while
    the spread settles. The score of row ``t`` is ``P(|Z| < z_t)`` with
    ``z_t = |x_t - m_{t-1}| / (sqrt(pi/2) d_{t-1})``, the largest over the signals;
    :attr:`signal_scores` keeps the per-signal scores of the last call.
    """

    def __init__(
        self,
        *,
        signals: int = 1,
        alpha: float = 0.05,
        spread_alpha: float = 0.02,
        warmup: int = 30,
    ) -> None:
        self.signals = signals
        self.alpha = alpha
        self.spread_alpha = spread_alpha
        self.warmup = warmup
        self.reset()

    def reset(self) -> None:
        """Forget the mean, the spread and the row count."""
        self._mean: npt.NDArray[np.float64] | None = None
        self._spread = np.zeros(self.signals or 1)
        self._rows = 0
        self.signal_scores = np.zeros((0, self.signals or 1))

    def _score(self, timestamps: Stamps, values: Matrix) -> Vector:
        if self._mean is None:
            self._mean = values[0].copy()
        means = ewma(values, self.alpha, self._mean)
        before = np.vstack([self._mean, means[:-1]])
        deviation = np.abs(values - before)
        spreads = ewma(deviation, self.spread_alpha, self._spread)
        spread_before = np.vstack([self._spread, spreads[:-1]])
        z = deviation / (MAD_TO_SIGMA * floor_scale(spread_before, before))
        rows = self._rows + np.arange(values.shape[0])
        scores = np.where((rows < self.warmup)[:, None], 0.0, tail_probability(z))
        self._mean, self._spread = means[-1].copy(), spreads[-1].copy()
        self._rows += values.shape[0]
        self.signal_scores = scores
        result: Vector = scores.max(axis=1)
        return result


class Cusum(StreamingDetector):
    """Two-sided CUSUM changepoint detector against a reference learned on a training prefix.

    Each signal is standardised by the median and the scaled median absolute deviation of the
    training rows; ``drift`` (in standard deviations) is subtracted per row before accumulating,
    ``threshold`` (in standard deviations) sets the score scale: the score is ``S / (S + h)`` with
    ``S`` the larger one-sided sum, the largest over signals. The Lindley recursion
    ``S_t = max(0, S_{t-1} + y_t)`` is evaluated in closed form with running minima.
    """

    def __init__(self, *, signals: int = 1, drift: float = 0.5, threshold: float = 5.0) -> None:
        self.signals = signals
        self.drift = drift
        self.threshold = threshold
        self._centre: npt.NDArray[np.float64] | None = None
        self._scale = np.ones(signals)
        self.reset()

    def fit(self, timestamps: Stamps, values: npt.ArrayLike) -> Self:
        """Learn the reference level and spread of each signal from normal rows."""
        matrix = as_matrix(values, self.signals, "Cusum")
        matrix = matrix[~np.isnan(matrix).any(axis=1)]
        if matrix.shape[0] < 2:
            raise ModelError("Cusum needs at least 2 complete training rows to learn a reference")
        self._centre = np.median(matrix, axis=0)
        mad = 1.4826 * np.median(np.abs(matrix - self._centre), axis=0)
        self._scale = floor_scale(np.maximum(mad, matrix.std(axis=0)), self._centre)
        self.reset()
        return self

    def reset(self) -> None:
        """Restart the sums at zero (the reference learned by :meth:`fit` is kept)."""
        size = self.signals or 1
        self._cumulative = np.zeros((2, size))
        self._lowest = np.zeros((2, size))

    def _score(self, timestamps: Stamps, values: Matrix) -> Vector:
        if self._centre is None:
            raise ModelError("Cusum is not fitted: call fit() on normal rows first")
        z = (values - self._centre) / self._scale
        sums = []
        for side, signed in enumerate((z, -z)):
            cumulative = self._cumulative[side] + np.cumsum(signed - self.drift, axis=0)
            lowest = np.minimum(np.minimum.accumulate(cumulative, axis=0), self._lowest[side])
            sums.append(cumulative - lowest)
            self._cumulative[side], self._lowest[side] = cumulative[-1], lowest[-1]
        evidence = np.maximum(sums[0], sums[1])
        result: Vector = (evidence / (evidence + self.threshold)).max(axis=1)
        return result
