"""Scoring remaining-useful-life predictions, and the C-MAPSS benchmark protocol.

The metrics take predicted and true RUL in cycles. :func:`evaluate_rul` fits a model on a subset's
training engines and scores its prediction at the last cycle of every test engine against the
published true RUL, as given (not capped).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from valueloop.analytics.base import Model
from valueloop.datasets.cmapss import load_cmapss, load_true_rul
from valueloop.errors import DataError, ModelError

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


@dataclass(frozen=True)
class RulEvaluation:
    """Benchmark result: RMSE (cycles), PHM08 score, interval coverage (0 to 1), fit time (s)."""

    subset: str
    rmse: float
    phm_score: float
    coverage: float
    n_engines: int
    fit_seconds: float


def evaluate_rul(model: Model, subset: str = "FD001") -> RulEvaluation:
    """Fit ``model`` in place on ``train_<subset>`` and score it on the test engines' last cycles.

    ``model.predict`` must return ``unit``, ``rul``, ``lower`` and ``upper`` columns; every test
    engine must be predicted.
    """
    train, test = load_cmapss(subset, "train"), load_cmapss(subset, "test")
    truth = load_true_rul(subset)
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict(test)
    units = predicted["unit"].to_numpy()
    expected = truth["unit"].to_numpy()
    if not np.array_equal(np.sort(units), expected):
        raise ModelError(f"the model returned {units.size} rows, expected one per test unit")
    order = np.argsort(units)
    rul, lower, upper = (predicted[name].to_numpy()[order] for name in ("rul", "lower", "upper"))
    actual = truth["rul"].to_numpy()
    return RulEvaluation(
        subset=subset,
        rmse=rmse(rul, actual),
        phm_score=phm08_score(rul, actual),
        coverage=interval_coverage(lower, upper, actual),
        n_engines=int(actual.size),
        fit_seconds=fit_seconds,
    )
