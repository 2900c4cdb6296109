"""Remaining useful life (RUL, in cycles) by gradient boosting, with prediction intervals.

:class:`GradientBoostingRUL` learns from run-to-failure histories, one row per unit and cycle. The
point prediction comes from a LightGBM regression on the windowed sensor features of
:mod:`valueloop.analytics.features`, trained on the piecewise-linear target
``min(cap, cycles to failure)`` and clipped to ``[0, cap]``: a healthy unit is predicted at about
``cap`` cycles, and its RUL starts falling once wear shows in the sensors.

The interval ``[lower, upper]`` is meant to hold the actual, uncapped RUL with probability
``interval``. Two LightGBM quantile models of the uncapped cycles to failure, at levels
``(1 - interval) / 2`` and ``(1 + interval) / 2``, give raw bounds; raw quantile boosters
under-cover on unseen units, so each bound is then shifted by a split-conformal correction
(conformalised quantile regression, each bound on its own) computed from out-of-fold predictions:
the training units are split into ``folds`` groups, each predicted by models trained on the other
groups. Corrections are computed per band of predicted RUL (``bands`` equal bands over
``[0, cap]``), as errors grow with RUL. Finally the interval is widened to contain the point
prediction and clipped at 0 cycles.

Before features are computed, the sensors are normalised per operating condition
(:mod:`valueloop.analytics.conditions`: ``conditions`` regimes told apart by the ``settings``
columns) and bad input is checked or repaired as :mod:`valueloop.analytics.inputs` describes. A
training series shorter than ``window`` simply has shorter windows; so has a short series to
predict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.calibration import conformal_shift, cycles_to_failure
from valueloop.analytics.conditions import (
    ConditionNormaliser,
    normalise_history,
    normalise_training,
)
from valueloop.analytics.features import window_features
from valueloop.analytics.rul_base import RulModel
from valueloop.errors import ModelError

Vector = npt.NDArray[np.float64]


class _Boosters(NamedTuple):
    point: lgb.Booster
    lower: lgb.Booster
    upper: lgb.Booster


@dataclass(frozen=True)
class _Fitted:
    normaliser: ConditionNormaliser
    signals: tuple[str, ...]  # every signal of the training table
    boosters: _Boosters
    edges: tuple[float, ...]  # band edges of the point prediction, cycles
    lower_shift: tuple[float, ...]  # per band, cycles subtracted from the raw lower bound
    upper_shift: tuple[float, ...]  # per band, cycles added to the raw upper bound


def _matrix(features: pa.Table) -> Vector:
    """Model inputs: every feature column, ``cycle`` included, ``unit`` excluded."""
    return np.column_stack([features[name].to_numpy() for name in features.column_names[1:]])


@dataclass(kw_only=True, eq=False)
class GradientBoostingRUL(RulModel):
    """LightGBM RUL model of run-to-failure fleets; see the module docstring for the method.

    Hyper-parameters: ``window`` (rows of history per feature), ``cap`` (cycles, ceiling of the
    training target), ``interval`` (nominal coverage of ``[lower, upper]``), the LightGBM settings
    ``n_estimators``, ``learning_rate``, ``num_leaves``, ``min_child_samples``,
    ``feature_fraction``, ``bagging_fraction``, ``threads``, plus ``folds`` and ``bands`` of the
    interval calibration, ``conditions`` (operating conditions to normalise the sensors by),
    ``settings`` (the operating-setting columns, which are not sensors) and ``seed``. Fits are
    deterministic for a given seed.
    """

    file_format = "valueloop.rul-gbm/2"
    version_prefix = "rul-gbm"
    load_errors = (ValueError, KeyError, TypeError, lgb.basic.LightGBMError)

    window: int = 30
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 100
    feature_fraction: float = 0.5
    bagging_fraction: float = 0.8
    folds: int = 4
    threads: int = 2

    def fit(self, train: pa.Table) -> Self:
        """Learn from run-to-failure histories: every unit's last row is its failure cycle.

        ``train`` is a wide table with ``unit``, ``cycle``, the ``settings`` columns and the
        sensors (every other column); a history to predict must carry the same signal columns
        (a column absent or added is refused).
        """
        self._check_params()
        prepared = normalise_training(train, conditions=self.conditions, settings=self.settings)
        features = window_features(prepared.table, prepared.normaliser.sensors, window=self.window)
        units = features["unit"].to_numpy()
        if np.unique(units).size < self.folds:
            raise ModelError(f"fit needs at least folds={self.folds} units")
        x = _matrix(features)
        life = cycles_to_failure(units, features["cycle"].to_numpy())
        edges = tuple(self.cap * band / self.bands for band in range(1, self.bands))
        lower_shift, upper_shift, oof_rmse = self._calibrate(x, life, units, edges)
        self._fitted = _Fitted(
            normaliser=prepared.normaliser,
            signals=prepared.signals,
            boosters=self._boosters(x, life),
            edges=edges,
            lower_shift=lower_shift,
            upper_shift=upper_shift,
        )
        self._record_fit(prepared.data_hash, {"out_of_fold_rmse": oof_rmse})
        return self

    def predict_all(self, history: pa.Table) -> pa.Table:
        """Like :meth:`predict`, but one row per row of ``history`` (each cycle's prediction)."""
        fitted: _Fitted = self._require_fitted()
        normalised = normalise_history(history, fitted.normaliser, fitted.signals)
        features = window_features(normalised, fitted.normaliser.sensors, window=self.window)
        point, lower, upper = self._raw(fitted.boosters, _matrix(features))
        band = np.digitize(point, fitted.edges)
        lower = np.clip(np.minimum(lower - np.asarray(fitted.lower_shift)[band], point), 0, None)
        upper = np.maximum(upper + np.asarray(fitted.upper_shift)[band], point)
        columns = [features["unit"], features["cycle"], *map(pa.array, (point, lower, upper))]
        return pa.Table.from_arrays(columns, schema=self.output_schema)

    def _state(self) -> dict[str, Any]:
        """The boosters and the calibration."""
        fitted: _Fitted = self._require_fitted()
        return {
            "normaliser": fitted.normaliser.to_dict(),
            "signals": fitted.signals,
            "edges": fitted.edges,
            "lower_shift": fitted.lower_shift,
            "upper_shift": fitted.upper_shift,
            "boosters": {k: b.model_to_string() for k, b in fitted.boosters._asdict().items()},
        }

    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        boosters = {k: lgb.Booster(model_str=s) for k, s in state["boosters"].items()}
        self._fitted = _Fitted(
            normaliser=ConditionNormaliser.from_dict(state["normaliser"]),
            signals=tuple(state["signals"]),
            boosters=_Boosters(**boosters),
            edges=tuple(state["edges"]),
            lower_shift=tuple(state["lower_shift"]),
            upper_shift=tuple(state["upper_shift"]),
        )

    def _rules(self) -> dict[str, bool]:
        return {
            **super()._rules(),
            "window >= 1": self.window >= 1,
            "n_estimators >= 1": self.n_estimators >= 1,
            "folds >= 2": self.folds >= 2,
        }

    def _booster(self, x: Vector, target: Vector, quantile: float | None) -> lgb.Booster:
        params: dict[str, Any] = {
            "objective": "regression" if quantile is None else "quantile",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.threads,
            "verbose": -1,
        }
        if quantile is not None:
            params["alpha"] = quantile
        data = lgb.Dataset(x, label=target, params={"verbose": -1})
        return lgb.train(params, data, num_boost_round=self.n_estimators)

    def _boosters(self, x: Vector, life: Vector) -> _Boosters:
        """Point model of the capped target, quantile models of the uncapped cycles to failure."""
        tail = (1 - self.interval) / 2
        return _Boosters(
            point=self._booster(x, np.minimum(life, self.cap), None),
            lower=self._booster(x, life, tail),
            upper=self._booster(x, life, 1 - tail),
        )

    def _raw(self, boosters: _Boosters, x: Vector) -> tuple[Vector, Vector, Vector]:
        """Point prediction clipped to ``[0, cap]`` and raw quantile bounds, in cycles."""
        point = np.clip(np.asarray(boosters.point.predict(x), np.float64), 0, self.cap)
        lower = np.asarray(boosters.lower.predict(x), np.float64)
        return point, lower, np.asarray(boosters.upper.predict(x), np.float64)

    def _calibrate(
        self, x: Vector, life: Vector, units: npt.NDArray[Any], edges: tuple[float, ...]
    ) -> tuple[tuple[float, ...], tuple[float, ...], float]:
        """Per-band conformal shifts of the bounds and the RMSE (cycles), from out-of-fold rows."""
        distinct = np.unique(units)
        fold_of_unit = np.random.default_rng(self.seed).permutation(distinct.size) % self.folds
        fold = fold_of_unit[np.searchsorted(distinct, units)]
        point, lower, upper = (np.empty_like(life) for _ in range(3))
        for k in range(self.folds):
            held, rest = fold == k, fold != k
            boosters = self._boosters(x[rest], life[rest])
            point[held], lower[held], upper[held] = self._raw(boosters, x[held])
        band = np.digitize(point, edges)
        level = 1 - (1 - self.interval) / 2
        lower_shift, upper_shift = [], []
        for b in range(self.bands):
            rows = band == b if np.any(band == b) else np.ones_like(band, dtype=bool)
            lower_shift.append(conformal_shift(lower[rows] - life[rows], level))
            upper_shift.append(conformal_shift(life[rows] - upper[rows], level))
        oof_rmse = float(np.sqrt(np.mean((point - np.minimum(life, self.cap)) ** 2)))
        return tuple(lower_shift), tuple(upper_shift), oof_rmse
