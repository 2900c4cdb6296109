"""The C-MAPSS remaining-useful-life benchmark: default models per subset and the protocol.

Models. The six-condition subsets (FD002, FD004) get operating-condition normalisation over the
three ``op_setting`` columns; the others do not need it
(:func:`~valueloop.analytics.conditions.detect_conditions` finds 6 and 1 conditions in their
training data). The operating settings are never sensors. The gradient-boosting model calibrates
its interval on two folds rather than four, to halve the cost of a fit. :func:`rul_model` builds a
fresh model of one kind for a subset.

Protocol. :func:`evaluate_rul` fits a model on a subset's training engines and scores its
prediction at the last cycle of every test engine against the published true RUL, as given (not
capped). Much of the literature also caps the true RUL at the training cap (125 cycles) before
scoring; that RMSE is reported apart as ``rmse_capped``, since with the uncapped truth a model
trained on the capped target cannot score below the error of the cap itself (18.3 cycles on
FD002, 19.5 on FD004, where a fifth of the test engines have more than 125 cycles left).
:func:`evaluate_rul_all` runs the protocol on several subsets (``valueloop eval rul``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from valueloop.analytics.base import Model
from valueloop.analytics.ensemble import EnsembleRUL
from valueloop.analytics.evaluate import Progress, Vector, interval_coverage, phm08_score, rmse
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.analytics.sequence import SequenceRUL
from valueloop.datasets.cmapss import OPERATING_SETTINGS, load_cmapss, load_true_rul
from valueloop.datasets.cmapss import SUBSETS as SUBSETS
from valueloop.errors import ModelError

Kind = Literal["gbm", "sequence", "ensemble"]
KINDS: tuple[Kind, ...] = ("gbm", "sequence", "ensemble")

TITLE = "C-MAPSS remaining useful life"
"""The heading of the benchmark's table."""

CONDITIONS = {"FD001": 1, "FD002": 6, "FD003": 1, "FD004": 6}
# Windows (cycles) with the least error on training engines (gradient boosting: out-of-fold RMSE
# over windows of 30, 50, 80, 120, 160; sequence model: held-out RMSE over 30, 50, 80).
GBM_WINDOW = {"FD001": 80, "FD002": 160, "FD003": 80, "FD004": 160}
SEQUENCE_WINDOW = {"FD001": 50, "FD002": 80, "FD003": 50, "FD004": 80}
GBM_FOLDS = 2


def rul_model(subset: str, kind: Kind = "ensemble") -> Model:
    """A fresh, unfitted RUL model of ``kind`` with the defaults for ``subset``."""
    if subset not in SUBSETS:
        raise ModelError(f"unknown C-MAPSS subset {subset!r}: expected one of {', '.join(SUBSETS)}")
    conditions = CONDITIONS[subset]
    gbm: dict[str, Any] = {"window": GBM_WINDOW[subset], "folds": GBM_FOLDS}
    sequence: dict[str, Any] = {"window": SEQUENCE_WINDOW[subset]}
    settings = OPERATING_SETTINGS
    if kind == "gbm":
        return GradientBoostingRUL(conditions=conditions, settings=settings, **gbm)
    if kind == "sequence":
        return SequenceRUL(conditions=conditions, settings=settings, **sequence)
    if kind == "ensemble":
        return EnsembleRUL(conditions=conditions, settings=settings, gbm=gbm, sequence=sequence)
    raise ModelError(f"unknown RUL model kind {kind!r}: expected one of {', '.join(KINDS)}")


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


def evaluate_rul_all(
    model_factory: Callable[[str], Model],
    subsets: Sequence[str] = SUBSETS,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """The ``"rul"`` section of the analytics results: :func:`evaluate_rul` per subset.

    ``model_factory(subset)`` returns a fresh model for that subset (for example
    :func:`rul_model`). ``progress(subset, done, total)`` is called
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
