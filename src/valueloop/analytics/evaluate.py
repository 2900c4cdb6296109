"""Scoring remaining-useful-life predictions: RMSE, the PHM08 score and interval coverage.

The metrics take predicted and true RUL in cycles. A data set's benchmark protocol (which model,
which split, which truth) lives with the data set, in :mod:`valueloop.datasets`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from valueloop.errors import DataError

Vector = npt.NDArray[np.float64]


def _vectors(*arrays: npt.ArrayLike) -> list[Vector]:
    vectors = [np.asarray(array, dtype=np.float64) for array in arrays]
    if len({vector.shape for vector in vectors}) != 1 or vectors[0].ndim != 1:
        raise DataError(
            f"expected 1-D arrays of one length, got shapes {[v.shape for v in vectors]}"
        )
    if vectors[0].size == 0:
        raise DataError("cannot score zero predictions")
    return vectors


def rmse(pred: npt.ArrayLike, true: npt.ArrayLike) -> float:
    """Root mean squared error, in cycles."""
    predicted, actual = _vectors(pred, true)
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def phm08_score(pred: npt.ArrayLike, true: npt.ArrayLike) -> float:
    """PHM08 challenge score (lower is better; unitless): late predictions cost more than early.

    With ``d = pred - true`` in cycles, the sum of ``exp(-d / 13) - 1`` where ``d < 0`` and
    ``exp(d / 10) - 1`` where ``d >= 0``.
    """
    predicted, actual = _vectors(pred, true)
    d = predicted - actual
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13), np.expm1(d / 10))))


def interval_coverage(lower: npt.ArrayLike, upper: npt.ArrayLike, true: npt.ArrayLike) -> float:
    """Fraction (0 to 1) of true values inside their closed interval ``[lower, upper]``."""
    low, high, actual = _vectors(lower, upper, true)
    return float(np.mean((low <= actual) & (actual <= high)))


Progress = Callable[[str, int, int], None]
"""``progress(name, done, total)``: called as a benchmark moves from one part to the next."""
