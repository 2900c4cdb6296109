"""The streaming detector contract: one pass, each row scored on arrival, no look-ahead.

A detector takes rows of ``k`` signal values (a ``k``-wide float array, one row per timestamp)
and returns one anomaly score per row in ``[0, 1]``. The score of row ``t`` depends only on rows
``<= t``: the detector keeps its state between calls, so scoring a series in one call or in any
split of calls gives the same scores (:func:`check_detector` verifies it).

Hyper-parameters are the keyword arguments of ``__init__`` and nothing else happens there
(:meth:`StreamingDetector.get_params` and :func:`~valueloop.analytics.base.clone`, shared with the
models through :class:`~valueloop.analytics.base.Estimator`). Detectors that learn a normal
profile first (PCA, isolation forest) are fitted on a training prefix with
:meth:`StreamingDetector.fit`; the others learn online and ``fit`` only warms their state.

Bad input, documented fallbacks:

- a row with a missing value (NaN) is not learned from (the state is held) and scores 0.0; its
  row is flagged in :attr:`StreamingDetector.missing` of the last call;
- a constant signal has zero spread: scales are floored at ``1e-9`` of the level (and an absolute
  ``1e-12``), so no division by zero and no NaN;
- a row with another number of signals than the detector was built or fitted for raises
  :class:`~valueloop.errors.ModelError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from valueloop.analytics.anomaly.data import Stamps, Vector
from valueloop.analytics.base import Estimator, clone
from valueloop.errors import ModelError

Matrix = npt.NDArray[np.float64]
TINY = 1e-12


def as_matrix(values: npt.ArrayLike, signals: int | None, what: str) -> Matrix:
    """``values`` as a 2-D float array (rows x signals), checking the number of signals."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(-1, 1) if signals in (None, 1) else matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise ModelError(f"{what}: expected rows x signals values, got shape {matrix.shape}")
    if signals is not None and matrix.shape[1] != signals:
        raise ModelError(
            f"{what}: got {matrix.shape[1]} signals, the detector was built for {signals}; "
            "build a new detector for this set of signals"
        )
    return matrix


def floor_scale(scale: npt.NDArray[np.float64], level: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """A spread with a floor, so that a constant signal never divides by zero."""
    floor: npt.NDArray[np.float64] = np.maximum(1e-9 * np.abs(np.asarray(level)), TINY)
    return np.maximum(scale, floor)


class StreamingDetector(Estimator, ABC):
    """Base of every detector: state carried between calls, missing rows held and flagged.

    Subclasses implement :meth:`_score` (rows without NaN, in time order) and :meth:`reset`.
    """

    signals: int | None = None
    missing: npt.NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)

    def fit(self, timestamps: Stamps, values: npt.ArrayLike) -> Self:
        """Learn the normal profile from a training prefix (default: warm the online state)."""
        self.reset()
        self.update_many(timestamps, values)
        return self

    def update(self, timestamp: np.datetime64, values: npt.ArrayLike) -> float:
        """Score one row arriving at ``timestamp`` (one value per signal); returns ``[0, 1]``."""
        row = np.atleast_1d(np.asarray(values, dtype=np.float64)).reshape(1, -1)
        return float(self.update_many(np.array([timestamp]).astype("datetime64[us]"), row)[0])

    def update_many(self, timestamps: Stamps, values: npt.ArrayLike) -> Vector:
        """Score rows in time order, each as if it had arrived alone; returns ``[0, 1]`` scores."""
        matrix = as_matrix(values, self.signals, type(self).__name__)
        stamps = np.asarray(timestamps).astype("datetime64[us]")
        if stamps.shape[0] != matrix.shape[0]:
            raise ModelError(f"{stamps.shape[0]} timestamps for {matrix.shape[0]} rows of values")
        self.missing = np.asarray(np.isnan(matrix).any(axis=1), dtype=np.bool_)
        scores = np.zeros(matrix.shape[0], dtype=np.float64)
        if (~self.missing).any():
            scores[~self.missing] = self._score(stamps[~self.missing], matrix[~self.missing])
        return scores

    @abstractmethod
    def _score(self, timestamps: Stamps, values: Matrix) -> Vector:
        """Scores of complete rows, updating the state."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything learned; the next row is scored as the first."""


def check_detector(
    detector: StreamingDetector, timestamps: Stamps, values: npt.ArrayLike, split: int
) -> None:
    """Raise :class:`AssertionError` if ``detector`` breaks the streaming contract.

    On clones of ``detector``: scores lie in ``[0, 1]`` with no NaN; scoring all rows at once
    equals scoring them in two calls split at row ``split`` and equals scoring the first rows
    one by one (so appending rows never changes earlier scores); ``reset`` restarts identically;
    a clone keeps the hyper-parameters.
    """
    matrix = np.asarray(values, dtype=np.float64)
    whole = clone(detector).update_many(timestamps, matrix)
    if np.isnan(whole).any() or whole.min() < 0.0 or whole.max() > 1.0:
        raise AssertionError("scores outside [0, 1] or NaN")
    parts = clone(detector)
    first = parts.update_many(timestamps[:split], matrix[:split])
    second = parts.update_many(timestamps[split:], matrix[split:])
    if not np.allclose(np.concatenate([first, second]), whole, atol=1e-9):
        raise AssertionError("scores depend on how the rows were split into calls")
    single = clone(detector)
    head = min(split, 200)
    singles = [single.update(timestamps[i], matrix[i]) for i in range(head)]
    if not np.allclose(singles, whole[:head], atol=1e-9):
        raise AssertionError("scoring rows one at a time differs from scoring them together")
    parts.reset()
    if not np.allclose(parts.update_many(timestamps, matrix), whole, atol=1e-9):
        raise AssertionError("reset did not restore the initial state")
    if describe(clone(detector)) != describe(detector):
        raise AssertionError("clone changed the hyper-parameters")


def describe(detector: StreamingDetector) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """A detector's class and hyper-parameters, nested detectors described in turn."""

    def value(item: Any) -> Any:
        if isinstance(item, StreamingDetector):
            return describe(item)
        if isinstance(item, tuple | list):
            return tuple(value(part) for part in item)
        return item

    params = detector.get_params()
    return type(detector).__name__, tuple((k, value(params[k])) for k in sorted(params))
