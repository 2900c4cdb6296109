"""The expected value of one signal given others, with an interval: a generic regression model.

An :class:`ExpectedValueModel` learns what a signal (the ``target``, such as a turbine's power)
should read given other signals of the same moment (the ``inputs``, such as wind speed and air
density), from history assumed mostly healthy. The gap between what is measured and what is
expected, the residual, is what a condition monitor watches: a turbine producing below the lower
bound of its power curve, a plant below what the weather allows. The model is a LightGBM
regression for the expected value and two quantile regressions for the ``interval`` (see
:mod:`valueloop.analytics.gbm`); everything is in the target's unit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.features import require_columns
from valueloop.analytics.gbm import BoostingSettings, IntervalBoosters, check_interval
from valueloop.analytics.saved import SavedModel
from valueloop.errors import ModelError

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

EXPECTED_SCHEMA = pa.schema(
    [("expected", pa.float64()), ("lower", pa.float64()), ("upper", pa.float64())]
)


def float_column(data: pa.Table, name: str) -> Vector:
    """Column ``name`` of ``data`` as float64, nulls as NaN; :class:`ModelError` naming it."""
    require_columns(data, (name,))
    try:
        column = data[name].cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise ModelError(f"column {name!r} is not numeric: {err}") from err
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


class ExpectedValueModel(SavedModel):
    """Expected value and interval of ``target`` from ``inputs``; see the module docstring.

    Hyper-parameters: ``inputs`` (column names), ``target`` (column name), ``interval`` (the
    central probability between ``lower`` and ``upper``, 0.8 by default), the LightGBM settings
    ``n_estimators``, ``learning_rate`` and ``num_leaves``, ``min_rows`` (complete rows needed to
    fit) and ``seed``.

    Metadata metrics: ``rows`` (complete rows fitted), ``train_rmse`` (target unit) and
    ``interval_margin`` (target unit: how much the calibration widened each side of the quantile
    boosters' interval; negative if it narrowed it).
    """

    output_schema: ClassVar[pa.Schema] = EXPECTED_SCHEMA
    file_format: ClassVar[str] = "valueloop.expected-value/1"
    version_prefix: ClassVar[str] = "expected-value"

    def __init__(
        self,
        *,
        inputs: Sequence[str],
        target: str,
        interval: float = 0.8,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_rows: int = 50,
        seed: int = 0,
    ) -> None:
        self.inputs = tuple(inputs)
        self.target = target
        self.interval = interval
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_rows = min_rows
        self.seed = seed
        self._boosters: IntervalBoosters | None = None

    def fit(self, data: pa.Table) -> Self:
        """Learn from the rows of ``data`` where ``inputs`` and ``target`` are all finite.

        Rows are taken in time order: the last fifth calibrates the interval (see
        :mod:`valueloop.analytics.gbm`). Raises :class:`ModelError` starting with ``"waiting for
        data:"`` when fewer than ``min_rows`` such rows exist (an asset that has not run long
        enough yet), or naming a column that is missing or not numeric.
        """
        self._check_params()
        x, y = self._matrix(data), float_column(data, self.target)
        usable = np.isfinite(x).all(axis=1) & np.isfinite(y)
        count = int(usable.sum())
        if count < self.min_rows:
            raise ModelError(
                f"waiting for data: {count} complete rows of {self.target!r} and its inputs, "
                f"{self.min_rows} needed"
            )
        x, y = x[usable], y[usable]
        settings = BoostingSettings(
            self.n_estimators, self.learning_rate, self.num_leaves, self.seed
        )
        boosters = IntervalBoosters.fit(x, y, interval=self.interval, settings=settings)
        expected = boosters.predict_value(x)
        metrics = {
            "rows": float(count),
            "train_rmse": float(np.sqrt(np.mean((y - expected) ** 2))),
            "interval_margin": boosters.margin,
        }
        digest = hashlib.sha256(json.dumps([*self.inputs, self.target]).encode())
        digest.update(x.tobytes() + y.tobytes())
        self._record_fit(digest.hexdigest(), metrics)
        self._boosters = boosters
        return self

    def predict(self, data: pa.Table) -> pa.Table:
        """``expected``, ``lower`` and ``upper`` (target unit) for each row of ``data``, in order.

        A row with a missing or non-finite input gets NaN in all three columns.
        """
        boosters = self._require_fitted()
        x = self._matrix(data)
        complete = np.isfinite(x).all(axis=1)
        columns = [np.full(data.num_rows, np.nan) for _ in EXPECTED_SCHEMA.names]
        for column, predicted in zip(columns, boosters.predict(x[complete]), strict=True):
            column[complete] = predicted
        return pa.table(
            [pa.array(column, pa.float64()) for column in columns], schema=EXPECTED_SCHEMA
        )

    def residuals(self, data: pa.Table) -> pa.Array:
        """Measured ``target`` minus ``expected`` for each row of ``data`` (NaN where unknown)."""
        measured = float_column(data, self.target)
        expected = self.predict(data)["expected"].to_numpy()
        return pa.array(measured - expected, pa.float64())

    def _state(self) -> dict[str, Any]:
        return {"boosters": self._require_fitted().to_state()}

    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        self._boosters = IntervalBoosters.from_state(state.get("boosters", {}), source)

    def _require_fitted(self) -> IntervalBoosters:
        if self._boosters is None:
            raise self._not_fitted()
        return self._boosters

    def _check_params(self) -> None:
        if not self.inputs or len(set(self.inputs)) != len(self.inputs):
            raise ModelError(f"invalid hyper-parameter: inputs must be distinct, got {self.inputs}")
        if self.target in self.inputs:
            raise ModelError(f"invalid hyper-parameter: target {self.target!r} is also an input")
        if self.min_rows < 1:
            raise ModelError(f"invalid hyper-parameter: min_rows must be >= 1, got {self.min_rows}")
        check_interval(self.interval)

    def _matrix(self, data: pa.Table) -> Matrix:
        return np.column_stack([float_column(data, name) for name in self.inputs])
