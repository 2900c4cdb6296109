"""Default RUL models per C-MAPSS subset.

The six-condition subsets (FD002, FD004) get operating-condition normalisation; the others do not
need it (:func:`~valueloop.analytics.conditions.detect_conditions` finds 6 and 1 conditions in
their training data). The gradient-boosting model calibrates its interval on two folds rather
than four, to halve the cost of a fit. :func:`rul_model` builds a fresh model of one kind for a
subset, the ``model_factory`` of :func:`valueloop.analytics.evaluate.evaluate_rul_all`.
"""

from __future__ import annotations

from typing import Any, Literal

from valueloop.analytics.base import Model
from valueloop.analytics.ensemble import EnsembleRUL
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.analytics.sequence import SequenceRUL
from valueloop.datasets.cmapss import SUBSETS
from valueloop.errors import ModelError

Kind = Literal["gbm", "sequence", "ensemble"]
KINDS: tuple[Kind, ...] = ("gbm", "sequence", "ensemble")

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
    if kind == "gbm":
        return GradientBoostingRUL(conditions=conditions, **gbm)
    if kind == "sequence":
        return SequenceRUL(conditions=conditions, **sequence)
    if kind == "ensemble":
        return EnsembleRUL(conditions=conditions, gbm=gbm, sequence=sequence)
    raise ModelError(f"unknown RUL model kind {kind!r}: expected one of {', '.join(KINDS)}")
