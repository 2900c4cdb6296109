"""Remaining useful life (RUL, in cycles) of turbofan engines by gradient boosting, with intervals.

:class:`GradientBoostingRUL` follows the usual C-MAPSS protocol. The point prediction comes from a
LightGBM regression on the windowed sensor features of :mod:`valueloop.analytics.features`, trained
on the piecewise-linear target ``min(cap, cycles to failure)`` and clipped to ``[0, cap]``: a
healthy engine is predicted at about ``cap`` cycles, and its RUL starts falling once wear shows in
the sensors.

The interval ``[lower, upper]`` is meant to hold the actual, uncapped RUL with probability
``interval``. Two LightGBM quantile models of the uncapped cycles to failure, at levels
``(1 - interval) / 2`` and ``(1 + interval) / 2``, give raw bounds; raw quantile boosters
under-cover on unseen engines, so each bound is then shifted by a split-conformal correction
(conformalised quantile regression, each bound on its own) computed from out-of-fold predictions:
the training units are split into ``folds`` groups, each predicted by models trained on the other
groups. Corrections are computed per band of predicted RUL (``bands`` equal bands over
``[0, cap]``), as errors grow with RUL. Finally the interval is widened to contain the point
prediction and clipped at 0 cycles.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.analytics.features import informative_sensors, window_features
from valueloop.datasets.cmapss import SENSORS
from valueloop.errors import ModelError

Vector = npt.NDArray[np.float64]
_FORMAT = "valueloop.rul-gbm/1"


class _Boosters(NamedTuple):
    point: lgb.Booster
    lower: lgb.Booster
    upper: lgb.Booster


@dataclass(frozen=True)
class _Fitted:
    sensors: tuple[str, ...]
    boosters: _Boosters
    edges: tuple[float, ...]  # band edges of the point prediction, cycles
    lower_shift: tuple[float, ...]  # per band, cycles subtracted from the raw lower bound
    upper_shift: tuple[float, ...]  # per band, cycles added to the raw upper bound
    data_hash: str


def _matrix(features: pa.Table) -> Vector:
    """Model inputs: every feature column, ``cycle`` included, ``unit`` excluded."""
    return np.column_stack([features[name].to_numpy() for name in features.column_names[1:]])


def _cycles_to_failure(units: npt.NDArray[Any], cycles: npt.NDArray[Any]) -> Vector:
    """For rows sorted by unit: the unit's last cycle minus the row's cycle."""
    starts = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
    last = np.maximum.reduceat(cycles, starts)
    return np.asarray(np.repeat(last, np.diff(np.r_[starts, units.size])) - cycles, np.float64)


def _conformal_shift(scores: Vector, level: float) -> float:
    """Split-conformal quantile of ``scores`` at ``level`` with the finite-sample correction."""
    rank = min(1.0, math.ceil((scores.size + 1) * level) / scores.size)
    return float(np.quantile(scores, rank, method="higher"))


def _table_hash(table: pa.Table, columns: tuple[str, ...]) -> str:
    ordered = table.take(pc.sort_indices(table, [("unit", "ascending"), ("cycle", "ascending")]))
    digest = hashlib.sha256()
    for name in columns:
        digest.update(name.encode())
        digest.update(ordered[name].combine_chunks().to_numpy(zero_copy_only=False).tobytes())
    return digest.hexdigest()


class GradientBoostingRUL:
    """LightGBM RUL model for C-MAPSS-like engines; see the module docstring for the method.

    Hyper-parameters: ``window`` (rows of history per feature), ``cap`` (cycles, ceiling of the
    training target), ``interval`` (nominal coverage of ``[lower, upper]``), the LightGBM settings
    ``n_estimators``, ``learning_rate``, ``num_leaves``, ``min_child_samples``,
    ``feature_fraction``, ``bagging_fraction``, ``threads``, plus ``folds`` and ``bands`` of the
    interval calibration and ``seed``. Fits are deterministic for a given seed.
    """

    output_schema: ClassVar[pa.Schema] = pa.schema(
        [
            ("unit", pa.int32()),
            ("cycle", pa.int32()),
            ("rul", pa.float64()),
            ("lower", pa.float64()),
            ("upper", pa.float64()),
        ]
    )

    def __init__(
        self,
        *,
        window: int = 30,
        cap: int = 125,
        interval: float = 0.8,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        feature_fraction: float = 0.5,
        bagging_fraction: float = 0.8,
        folds: int = 4,
        bands: int = 4,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        self.window = window
        self.cap = cap
        self.interval = interval
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.folds = folds
        self.bands = bands
        self.seed = seed
        self.threads = threads
        self._fitted: _Fitted | None = None

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments of ``__init__``."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}

    @property
    def version(self) -> str:
        """``rul-gbm-`` and a short hash of the hyper-parameters and the training data."""
        fitted = self._require_fitted()
        params = json.dumps(self.get_params(), sort_keys=True)
        digest = hashlib.sha256(f"{params}|{fitted.data_hash}".encode()).hexdigest()
        return f"rul-gbm-{digest[:12]}"

    def fit(self, train: pa.Table) -> Self:
        """Learn from run-to-failure histories: every unit's last row is its failure cycle.

        ``train`` is a wide table with ``unit``, ``cycle`` and the columns ``sensor_1..21``.
        """
        self._check_params()
        sensors = informative_sensors(train, SENSORS)
        features = window_features(train, sensors, window=self.window)
        units = features["unit"].to_numpy()
        if np.unique(units).size < self.folds:
            raise ModelError(f"fit needs at least folds={self.folds} units")
        x = _matrix(features)
        life = _cycles_to_failure(units, features["cycle"].to_numpy())
        edges = tuple(self.cap * band / self.bands for band in range(1, self.bands))
        lower_shift, upper_shift = self._calibrate(x, life, units, edges)
        self._fitted = _Fitted(
            sensors=sensors,
            boosters=self._boosters(x, life),
            edges=edges,
            lower_shift=lower_shift,
            upper_shift=upper_shift,
            data_hash=_table_hash(train, ("unit", "cycle", *SENSORS)),
        )
        return self

    def predict(self, history: pa.Table) -> pa.Table:
        """RUL of each unit at its last cycle in ``history``: ``output_schema``, sorted by unit.

        ``history`` holds ``unit``, ``cycle`` and the informative sensors of the training data,
        for one or many engines; ``rul``, ``lower`` and ``upper`` are in cycles.
        """
        every = self.predict_all(history)
        units = every["unit"].to_numpy()
        return every.filter(pa.array(np.r_[units[1:] != units[:-1], True]))

    def predict_all(self, history: pa.Table) -> pa.Table:
        """Like :meth:`predict`, but one row per row of ``history`` (each cycle's prediction)."""
        fitted = self._require_fitted()
        features = window_features(history, fitted.sensors, window=self.window)
        point, lower, upper = self._raw(fitted.boosters, _matrix(features))
        band = np.digitize(point, fitted.edges)
        lower = np.clip(np.minimum(lower - np.asarray(fitted.lower_shift)[band], point), 0, None)
        upper = np.maximum(upper + np.asarray(fitted.upper_shift)[band], point)
        columns = [features["unit"], features["cycle"], *map(pa.array, (point, lower, upper))]
        return pa.Table.from_arrays(columns, schema=self.output_schema)

    def save(self, path: str | Path) -> None:
        """Write the fitted model (boosters, hyper-parameters, calibration) to one JSON file."""
        fitted = self._require_fitted()
        document = {
            "format": _FORMAT,
            "params": self.get_params(),
            "sensors": fitted.sensors,
            "edges": fitted.edges,
            "lower_shift": fitted.lower_shift,
            "upper_shift": fitted.upper_shift,
            "data_hash": fitted.data_hash,
            "boosters": {k: b.model_to_string() for k, b in fitted.boosters._asdict().items()},
        }
        Path(path).write_text(json.dumps(document), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("format") != _FORMAT:
                raise ModelError(f"{path} is not a {_FORMAT} model file")
            model = cls(**document["params"])
            boosters = {k: lgb.Booster(model_str=s) for k, s in document["boosters"].items()}
            model._fitted = _Fitted(
                sensors=tuple(document["sensors"]),
                boosters=_Boosters(**boosters),
                edges=tuple(document["edges"]),
                lower_shift=tuple(document["lower_shift"]),
                upper_shift=tuple(document["upper_shift"]),
                data_hash=document["data_hash"],
            )
        except (OSError, ValueError, KeyError, TypeError, lgb.basic.LightGBMError) as err:
            raise ModelError(f"cannot load model from {path}: {err}") from err
        return model

    def _require_fitted(self) -> _Fitted:
        if self._fitted is None:
            raise ModelError("GradientBoostingRUL is not fitted: call fit() first")
        return self._fitted

    def _check_params(self) -> None:
        checks = {
            "window >= 1": self.window >= 1,
            "cap > 0": self.cap > 0,
            "0 < interval < 1": 0 < self.interval < 1,
            "n_estimators >= 1": self.n_estimators >= 1,
            "folds >= 2": self.folds >= 2,
            "bands >= 1": self.bands >= 1,
        }
        for rule, ok in checks.items():
            if not ok:
                raise ModelError(f"invalid hyper-parameter: expected {rule}")

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
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-band conformal shifts of the lower and upper bounds, from out-of-fold predictions."""
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
            lower_shift.append(_conformal_shift(lower[rows] - life[rows], level))
            upper_shift.append(_conformal_shift(life[rows] - upper[rows], level))
        return tuple(lower_shift), tuple(upper_shift)
