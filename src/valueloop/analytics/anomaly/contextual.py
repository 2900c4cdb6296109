"""A univariate streaming detector for NAB-like series: contextual novelty plus surprise.

Two views of each new value, combined and then thinned:

- **contextual novelty** (the idea of the Contextual Anomaly Detector, CAD OSE): the value is
  quantised into ``levels`` bands of the range seen so far (values outside it get bands of their
  own); for each order ``k = 0..orders`` the detector checks whether the sequence of the last
  ``k`` bands followed by the new band was ever seen. The fraction of unseen sequences is the
  novelty. The range is first learned on the ``warmup`` rows; every ``relearn`` rows after that,
  if the range seen so far has grown by more than ``growth`` (a fraction), the bands are redrawn
  over it and the memory of sequences is rebuilt from the past values (at most ``memory`` rows
  are kept for this), so a series that drifts does not read as ever new;
- **surprise**: the robust z-score of the value and of its short-term mean against a long-term
  exponentially weighted mean and spread (:class:`~.univariate.EwmaZScore` filters).

The score is ``novelty_weight * novelty + (1 - novelty_weight) * surprise`` (in ``[0, 1]``).
After a score reaches ``alarm``, the next ``rest`` rows score 0: one alarm per event, as an
operator wants and as NAB rewards (every extra detection outside a window costs).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

from valueloop.analytics.anomaly.base import Matrix, StreamingDetector
from valueloop.analytics.anomaly.data import Stamps, Vector
from valueloop.analytics.anomaly.univariate import EwmaZScore, ewma

Bands = npt.NDArray[np.int64]


class ContextMemory:
    """The sequences of quantised values seen so far, over a range that is redrawn as it grows."""

    def __init__(self, *, levels: int, orders: int, growth: float, memory: int) -> None:
        self.levels = levels
        self.orders = orders
        self.growth = growth
        self._past: deque[float] = deque(maxlen=memory)
        self._seen: set[tuple[int, ...]] = set()
        self._recent: deque[int] = deque(maxlen=orders)
        self._low = self._high = 0.0
        self._span_low = self._span_high = 0.0

    def start(self, values: Vector) -> None:
        """Draw the bands over ``values`` (the warm-up rows) and learn their sequences."""
        self._low = self._span_low = float(values.min())
        self._high = self._span_high = float(values.max())
        self._past.extend(values.tolist())
        self._novelty(self._bands(values))

    def novelty(self, values: Vector) -> Vector:
        """Fraction of unseen sequences ending at each value (0 to 1), learning them."""
        self._past.extend(values.tolist())
        self._span_low = min(self._span_low, float(values.min()))
        self._span_high = max(self._span_high, float(values.max()))
        return self._novelty(self._bands(values))

    def relearn(self) -> None:
        """Redraw the bands over the range seen so far if it grew by more than ``growth``."""
        span = self._high - self._low
        if self._span_high - self._span_low <= (1.0 + self.growth) * span:
            return
        self._low, self._high = self._span_low, self._span_high
        self._seen.clear()
        self._recent.clear()
        self._novelty(self._bands(np.asarray(self._past)))

    def _bands(self, values: Vector) -> Bands:
        span = self._high - self._low
        step = (span if span > 0 else max(abs(self._low), 1.0)) / self.levels
        bands = np.floor((values - self._low) / step)
        return np.clip(bands, -self.levels, 2 * self.levels).astype(np.int64)

    def _novelty(self, bands: Bands) -> Vector:
        novelty = np.empty(bands.size)
        seen, recent = self._seen, self._recent
        for row, band in enumerate(bands.tolist()):
            history = (*recent, band)
            unseen = 0
            for k in range(1, len(history) + 1):
                sequence = history[-k:]
                if sequence not in seen:
                    seen.add(sequence)
                    unseen += 1
            novelty[row] = unseen / (self.orders + 1)
            recent.append(band)
        return novelty


class ContextualDetector(StreamingDetector):
    """Contextual novelty of quantised values combined with EWMA surprise; one signal.

    ``warmup`` rows (NAB: its probationary period, 15% of the file up to 750 rows) fix the first
    range and score 0; ``levels`` bands; ``orders`` the longest context; ``relearn`` rows between
    range checks (default ``warmup // 5``); ``rest`` the rows silenced after a score of at least
    ``alarm``; ``alpha`` and ``fast_alpha`` the EWMA weights of the surprise filters.
    """

    def __init__(
        self,
        *,
        warmup: int = 750,
        levels: int = 7,
        orders: int = 2,
        growth: float = 0.1,
        relearn: int | None = None,
        memory: int = 50_000,
        novelty_weight: float = 0.7,
        alarm: float = 0.75,
        rest: int = 150,
        alpha: float = 0.01,
        fast_alpha: float = 0.2,
    ) -> None:
        self.warmup = warmup
        self.levels = levels
        self.orders = orders
        self.growth = growth
        self.relearn = relearn
        self.memory = memory
        self.novelty_weight = novelty_weight
        self.alarm = alarm
        self.rest = rest
        self.alpha = alpha
        self.fast_alpha = fast_alpha
        self.signals = 1
        self.reset()

    def reset(self) -> None:
        """Forget the range, the contexts, the filters and the silence."""
        self._memory = ContextMemory(
            levels=self.levels, orders=self.orders, growth=self.growth, memory=self.memory
        )
        self._buffer: list[float] = []
        self._rows = 0
        self._quiet = 0
        self._level = EwmaZScore(alpha=self.alpha, spread_alpha=self.alpha, warmup=0)
        self._trend = EwmaZScore(alpha=self.alpha, spread_alpha=self.alpha, warmup=0)
        self._fast: float | None = None

    def _surprise(self, timestamps: Stamps, values: Vector) -> Vector:
        column = values.reshape(-1, 1)
        start = column[0, 0] if self._fast is None else self._fast
        fast = ewma(column, self.fast_alpha, np.array([start]))
        self._fast = float(fast[-1, 0])
        level = self._level.update_many(timestamps, column)
        trend = self._trend.update_many(timestamps, fast)
        return np.maximum(level, trend)

    def _novelty(self, values: Vector) -> Vector:
        """Novelty of rows after the warm-up, with range checks at every ``relearn`` rows."""
        every = self.relearn or max(self.warmup // 5, 1)
        novelty = np.empty(values.size)
        done = 0
        while done < values.size:
            row = self._rows + done
            next_check = self.warmup + ((row - self.warmup) // every + 1) * every
            take = min(next_check - row, values.size - done)
            novelty[done : done + take] = self._memory.novelty(values[done : done + take])
            done += take
            if row + take == next_check:
                self._memory.relearn()
        return novelty

    def _score(self, timestamps: Stamps, values: Matrix) -> Vector:
        column = values[:, 0]
        scores = np.zeros(column.size)
        surprise = self._surprise(timestamps, column)
        start = 0
        if self._rows < self.warmup:
            start = min(self.warmup - self._rows, column.size)
            self._buffer.extend(column[:start].tolist())
            self._rows += start
            if self._rows < self.warmup:
                return scores
            self._memory.start(np.asarray(self._buffer))
            self._buffer = []
        novelty = self._novelty(column[start:])
        self._rows += column.size - start
        raw = self.novelty_weight * novelty + (1 - self.novelty_weight) * surprise[start:]
        scores[start:] = self._silence(raw)
        return scores

    def _silence(self, raw: Vector) -> Vector:
        out = raw.copy()
        quiet = self._quiet
        for row, value in enumerate(raw.tolist()):
            if quiet > 0:
                out[row] = 0.0
                quiet -= 1
            elif value >= self.alarm:
                quiet = self.rest
        self._quiet = quiet
        return out
