"""Incremental feature windows for multivariate detectors: smoothing and slow-signal slopes.

:class:`FeatureWindow` turns raw rows into detector features one call at a time, keeping only the
state it needs (the last smoothed row and the last ``lag`` smoothed rows), so new data is never
re-read. Every signal is smoothed by an exponentially weighted mean; a *slow* signal (one that
drifts over a run, such as a motor or fluid temperature) is replaced by its change over the last
``lag`` rows, so a slow warm-up does not read as an anomaly while a change of its rate still does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from valueloop.analytics.anomaly.base import Matrix
from valueloop.analytics.anomaly.data import Vector
from valueloop.analytics.anomaly.univariate import ewma


class FeatureWindow:
    """Causal features of rows: EWMA-smoothed levels, and ``lag``-row changes of slow signals.

    ``smoothing`` is the weight of a new row (1.0: no smoothing); ``slow`` the column numbers of
    slow signals; ``lag`` in rows. Before ``lag`` rows have arrived the change is measured from the
    first row.
    """

    def __init__(self, *, smoothing: float, slow: Sequence[int], lag: int) -> None:
        self.smoothing = smoothing
        self.slow = tuple(slow)
        self.lag = lag
        self.reset()

    def reset(self) -> None:
        """Forget the smoothed level, the first row and the lag buffer."""
        self._level: Vector | None = None
        self._first: Vector | None = None
        self._buffer: Matrix = np.zeros((0, len(self.slow)))

    def transform(self, values: Matrix) -> Matrix:
        """Features of ``values`` (rows in time order), continuing from the previous call."""
        if self._level is None:
            self._level = values[0].copy()
        smoothed = ewma(values, self.smoothing, self._level)
        self._level = smoothed[-1].copy()
        if not self.slow:
            return smoothed
        columns = list(self.slow)
        slow = smoothed[:, columns]
        if self._first is None:
            self._first = slow[0].copy()
        combined = np.vstack([self._buffer, slow])
        position = len(self._buffer) + np.arange(slow.shape[0]) - self.lag
        reference = np.where(
            (position >= 0)[:, None], combined[np.maximum(position, 0)], self._first
        )
        features = smoothed.copy()
        features[:, columns] = slow - reference
        self._buffer = combined[max(len(combined) - self.lag, 0) :]
        return features
