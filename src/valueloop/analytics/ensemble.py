"""Remaining useful life (RUL, in cycles) as a mix of a gradient-boosting and a sequence model.

:class:`EnsembleRUL` takes a weighted mean of the point predictions of
:class:`~valueloop.analytics.rul.GradientBoostingRUL` and
:class:`~valueloop.analytics.sequence.SequenceRUL`, whose errors are only partly correlated (window
statistics against learnt filters over the raw window). A ``calibration`` share of the training
engines is held out from both members (the sequence model holds out the same engines, being given
the same seed and share). The weight of the gradient-boosting model is ``weight`` if given, else
the one (on a grid of 0.05) that minimises the squared error on the held-out engines. The interval
is calibrated on the ensemble's own errors on every cycle of those engines, by split-conformal
bands (:class:`~valueloop.analytics.calibration.BandConformal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.analytics.calibration import BandConformal, cycles_to_failure, split_units
from valueloop.analytics.features import require_columns
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.analytics.rul_base import RulModel
from valueloop.analytics.sequence import SequenceRUL

_WEIGHTS = np.linspace(0, 1, 21)


@dataclass(frozen=True)
class _Fitted:
    gbm: GradientBoostingRUL
    sequence: SequenceRUL
    weight: float  # of the gradient-boosting model's point prediction
    conformal: BandConformal


def _rmse(point: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((point - target) ** 2)))


def _best_weight(first: np.ndarray, second: np.ndarray, target: np.ndarray) -> float:
    """The grid weight of ``first`` whose mix with ``second`` has the least squared error."""
    errors = [np.mean((w * first + (1 - w) * second - target) ** 2) for w in _WEIGHTS]
    return float(_WEIGHTS[int(np.argmin(errors))])


@dataclass(kw_only=True, eq=False)
class EnsembleRUL(RulModel):
    """Weighted mean of a gradient-boosting and a 1D-CNN RUL model, with a conformal interval.

    Hyper-parameters: ``gbm`` and ``sequence`` (keyword arguments of the members, beyond the
    shared ones), ``weight`` (of the gradient-boosting model, 0 to 1; None to learn it), and the
    shared ``cap`` (cycles), ``interval`` (nominal coverage),
    ``calibration`` (share of training engines held out), ``bands``, ``conditions``, ``settings``
    (the operating-setting columns, which are not sensors) and ``seed``.
    """

    file_format = "valueloop.rul-ensemble/1"
    version_prefix = "rul-ens"

    gbm: Mapping[str, Any] | None = None
    sequence: Mapping[str, Any] | None = None
    weight: float | None = None
    calibration: float = 0.2

    @property
    def members(self) -> tuple[GradientBoostingRUL, SequenceRUL]:
        """The fitted gradient-boosting and sequence models."""
        fitted: _Fitted = self._require_fitted()
        return fitted.gbm, fitted.sequence

    def fit(self, train: pa.Table) -> Self:
        """Fit both members without the held-out engines, then calibrate on those engines.

        ``train`` is as for :meth:`GradientBoostingRUL.fit
        <valueloop.analytics.rul.GradientBoostingRUL.fit>`.
        """
        self._check_params()
        shared: dict[str, Any] = {
            "cap": self.cap,
            "interval": self.interval,
            "conditions": self.conditions,
            "settings": self.settings,
        }
        gbm = GradientBoostingRUL(**{**shared, "seed": self.seed, **(self.gbm or {})})
        held_out = {"seed": self.seed, "calibration": self.calibration}
        sequence = SequenceRUL(**{**shared, **(self.sequence or {}), **held_out})
        require_columns(train, ("unit", "cycle"))
        held = pa.array(split_units(train["unit"].to_numpy(), self.calibration, self.seed))
        sequence.fit(train)
        gbm.fit(train.filter(pc.invert(held)))
        outputs = [member.predict_all(train.filter(held)) for member in (gbm, sequence)]
        predictions = [output["rul"].to_numpy() for output in outputs]
        life = cycles_to_failure(outputs[0]["unit"].to_numpy(), outputs[0]["cycle"].to_numpy())
        target = np.minimum(life, self.cap)
        weight = (
            _best_weight(predictions[0], predictions[1], target)
            if self.weight is None
            else self.weight
        )
        point = weight * predictions[0] + (1 - weight) * predictions[1]
        self._fitted = _Fitted(
            gbm=gbm,
            sequence=sequence,
            weight=weight,
            conformal=BandConformal.fit(
                point, life, cap=self.cap, bands=self.bands, interval=self.interval
            ),
        )
        metrics = {
            "held_out_rmse": _rmse(point, target),
            "held_out_rmse_gbm": _rmse(predictions[0], target),
            "held_out_rmse_sequence": _rmse(predictions[1], target),
            "gbm_weight": weight,
        }
        self._record_fit(sequence.metadata.data_hash, metrics)
        return self

    def predict_all(self, history: pa.Table) -> pa.Table:
        """Like :meth:`predict`, but one row per row of ``history`` (each cycle's prediction)."""
        fitted: _Fitted = self._require_fitted()
        first = fitted.gbm.predict_all(history)
        second = fitted.sequence.predict_all(history)
        weight = fitted.weight
        point = weight * first["rul"].to_numpy() + (1 - weight) * second["rul"].to_numpy()
        lower, upper = fitted.conformal.bounds(point)
        columns = [first["unit"], first["cycle"], *map(pa.array, (point, lower, upper))]
        return pa.Table.from_arrays(columns, schema=self.output_schema)

    def _rules(self) -> dict[str, bool]:
        return {**super()._rules(), "0 <= weight <= 1": 0 <= (self.weight or 0) <= 1}

    def _state(self) -> dict[str, Any]:
        """Both members' documents, the weight and the calibration."""
        fitted: _Fitted = self._require_fitted()
        return {
            "gbm": fitted.gbm.to_document(),
            "sequence": fitted.sequence.to_document(),
            "weight": fitted.weight,
            "conformal": fitted.conformal.to_dict(),
        }

    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        self._fitted = _Fitted(
            gbm=GradientBoostingRUL.from_document(state["gbm"], source=source),
            sequence=SequenceRUL.from_document(state["sequence"], source=source),
            weight=float(state["weight"]),
            conformal=BandConformal.from_dict(state["conformal"]),
        )
