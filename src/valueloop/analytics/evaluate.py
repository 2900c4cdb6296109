"""Scoring remaining-useful-life predictions, and the C-MAPSS benchmark protocol.

The metrics take predicted and true RUL in cycles. :func:`evaluate_rul` fits a model on a subset's
training engines and scores its prediction at the last cycle of every test engine against the
published true RUL, as given (not capped). Much of the literature also caps the true RUL at the
training cap (125 cycles) before scoring; that RMSE is reported apart as ``rmse_capped``, since
with the uncapped truth a model trained on the capped target cannot score below the error of the
cap itself (18.3 cycles on FD002, 19.5 on FD004, where a fifth of the test engines have more
than 125 cycles left). :func:`evaluate_rul_all` runs the protocol on several subsets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.base import Model
from valueloop.datasets.cmapss import SUBSETS, load_cmapss, load_true_rul
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
    """Benchmark result: RMSE (cycles), PHM08 score, interval coverage (0 to 1), fit time (s).

    ``fit_cpu_seconds`` is the processor time of the fit summed over threads (a machine shared
    with other work slows the wall clock, not this); ``rmse_capped`` scores against the true
    RUL capped at ``cap`` cycles; ``members`` holds the RMSE (cycles, uncapped truth) of each
    member of an ensemble, by class name.
    """

    subset: str
    rmse: float
    phm_score: float
    coverage: float
    n_engines: int
    fit_seconds: float
    fit_cpu_seconds: float = float("nan")
    rmse_capped: float = float("nan")
    members: dict[str, float] = field(default_factory=dict)


def _last_cycle_predictions(model: Model, test: pa.Table, units: Vector) -> pa.Table:
    predicted = model.predict(test)
    got = predicted["unit"].to_numpy()
    if not np.array_equal(np.sort(got), units):
        raise ModelError(f"the model returned {got.size} rows, expected one per test unit")
    return predicted.take(pa.array(np.argsort(got)))


def evaluate_rul(model: Model, subset: str = "FD001", *, cap: float = 125) -> RulEvaluation:
    """Fit ``model`` in place on ``train_<subset>`` and score it on the test engines' last cycles.

    ``model.predict`` must return ``unit``, ``rul``, ``lower`` and ``upper`` columns; every test
    engine must be predicted. A model with a ``members`` attribute (an ensemble) also has each
    member scored.
    """
    train, test = load_cmapss(subset, "train"), load_cmapss(subset, "test")
    truth = load_true_rul(subset)
    started, started_cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    fit_cpu_seconds = time.process_time() - started_cpu
    units, actual = truth["unit"].to_numpy(), truth["rul"].to_numpy()
    predicted = _last_cycle_predictions(model, test, units)
    rul, lower, upper = (predicted[name].to_numpy() for name in ("rul", "lower", "upper"))
    members = {
        type(member).__name__: rmse(_last_cycle_predictions(member, test, units)["rul"], actual)
        for member in getattr(model, "members", ())
    }
    return RulEvaluation(
        subset=subset,
        rmse=rmse(rul, actual),
        phm_score=phm08_score(rul, actual),
        coverage=interval_coverage(lower, upper, actual),
        n_engines=int(actual.size),
        fit_seconds=fit_seconds,
        fit_cpu_seconds=fit_cpu_seconds,
        rmse_capped=rmse(rul, np.minimum(actual, cap)),
        members=members,
    )


Progress = Callable[[str, int, int], None]


def evaluate_rul_all(
    model_factory: Callable[[str], Model],
    subsets: Sequence[str] = SUBSETS,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """The ``"rul"`` section of the analytics results: :func:`evaluate_rul` per subset.

    ``model_factory(subset)`` returns a fresh model for that subset (for example
    :func:`valueloop.analytics.presets.rul_model`). ``progress(subset, done, total)`` is called
    before each subset (``done`` subsets finished) and once at the end, for a progress bar.
    Returns ``{subset: {"rmse", "rmse_capped", "phm_score", "coverage", "n_engines",
    "fit_seconds", "fit_cpu_seconds", "members", "model_version"}}``, RMSE in cycles, times in
    seconds.
    """
    results: dict[str, dict[str, Any]] = {}
    for done, subset in enumerate(subsets):
        if progress is not None:
            progress(subset, done, len(subsets))
        model = model_factory(subset)
        evaluation = asdict(evaluate_rul(model, subset))
        evaluation.pop("subset")
        evaluation["model_version"] = getattr(model, "version", "")
        results[subset] = evaluation
    if progress is not None:
        progress("", len(subsets), len(subsets))
    return results
