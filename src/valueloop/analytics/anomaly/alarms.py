"""Alarm persistence: an alarm switches on (or off) only after ``rows`` rows agree in a row.

Per-row alarms of a threshold flicker around it; operators, and SKAB's changepoint score, want one
event per episode. :class:`Persistence` is a causal debounce: the alarm state becomes ``v`` at the
``rows``-th consecutive row whose raw alarm is ``v``, and keeps its state otherwise. It is
vectorised (run lengths and a forward fill) and carries the last ``rows - 1`` raw flags and its
state between calls, so any split of the rows into calls gives the same states.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from valueloop.errors import ModelError

Flags = npt.NDArray[np.bool_]


class Persistence:
    """Debounce of raw 0/1 alarms over ``rows`` consecutive rows (1: no debounce)."""

    def __init__(self, *, rows: int = 1) -> None:
        if rows < 1:
            raise ModelError(f"alarm persistence must be at least 1 row, got {rows}")
        self.rows = rows
        self.reset()

    def reset(self) -> None:
        """Start with the alarm off and no history."""
        self._state = False
        self._tail: Flags = np.zeros(0, dtype=np.bool_)

    def update(self, raw: npt.ArrayLike) -> Flags:
        """Alarm states of the new rows, given their raw alarms."""
        flags = np.asarray(raw, dtype=np.bool_)
        if flags.size == 0:
            return flags
        joined = np.concatenate([self._tail, flags])
        index = np.arange(joined.size)
        run_start = np.maximum.accumulate(
            np.where(np.diff(joined.astype(np.int8), prepend=~joined[0]) != 0, index, 0)
        )
        switch = index - run_start + 1 >= self.rows
        latest = np.maximum.accumulate(np.where(switch, index, -1))
        states = np.where(latest >= 0, joined[np.maximum(latest, 0)], self._state)
        result: Flags = states[self._tail.size :]
        self._state = bool(result[-1])
        self._tail = joined[joined.size - (self.rows - 1) :] if self.rows > 1 else joined[:0]
        return result
