"""What a binding does with its grid, per role: score, predict the expected value, or forecast.

A :class:`Bound` is kept in the job state between steps (pickled with its fitted detector or
model). :meth:`Bound.fit` learns from the grid of a training window; :meth:`Bound.apply` turns the
next cells into output points, ``{output: (cell starts in microseconds, values)}``, carrying any
streaming state. Rows whose inputs are missing produce no output point (see
:mod:`valueloop.analytics.binding`).

- :class:`BoundDetector`: the detector is fitted on the complete rows of the window, then scores
  each complete row with ``update_many`` (its state carried across calls);
- :class:`BoundExpectedValue`: the model is fitted on rows where inputs and target are present;
  each row with its inputs present gets ``expected``, ``lower`` and ``upper``, and ``residual``
  (target minus expected) where the target is present too;
- :class:`BoundForecaster`: the model is fitted on the window's grid of the target (and
  backtested on it: ``backtest_model``, ``backtest_persistence``, ``backtest_seasonal_naive``
  MAEs in the metrics); at every multiple of ``predict_every`` (UTC-epoch aligned) from the fit
  on, it forecasts ``horizon`` steps from the last ``history`` cells, at future timestamps.

The metrics of a fit are the model's own training metrics (its ``metadata.metrics``) and, for an
expected-value model, ``cv_rmse``, ``nmbe`` (ASHRAE Guideline 14's measures, as fractions of the
mean target) and ``coverage`` of the interval on the training rows.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.kinds import build_detector, build_model, kind_role
from valueloop.analytics.resample import Grid, Micros, micros
from valueloop.errors import ModelError

if TYPE_CHECKING:
    from valueloop.analytics.binding import ResolvedBinding

Vector = npt.NDArray[np.float64]
Outputs = dict[str, tuple[Micros, Vector]]
_STAMP = pa.timestamp("us", tz="UTC")
WAITING = "waiting for data:"
"""How a model's :class:`ModelError` starts when it has too few rows to fit."""


@dataclass(frozen=True)
class Fit:
    """What a fit learned from: rows used, the model's version, its parameters and metrics."""

    version: str
    rows: int
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


def _content_version(kind: str, params: Mapping[str, Any], grid: Grid) -> str:
    """A version for a model without one: a hash of kind, parameters and training grid."""
    digest = hashlib.sha256(json.dumps([kind, dict(params)], sort_keys=True, default=str).encode())
    digest.update(grid.cells.tobytes())
    digest.update(np.ascontiguousarray(grid.values).tobytes())
    return f"{kind}-{digest.hexdigest()[:12]}"


def _model_version(model: Any, kind: str, params: Mapping[str, Any], grid: Grid) -> str:
    version = getattr(model, "version", None)
    return str(version) if version is not None else _content_version(kind, params, grid)


def _model_metrics(model: Any) -> dict[str, float]:
    """The training metrics a model reports in its ``metadata``, if it has any."""
    metrics = getattr(getattr(model, "metadata", None), "metrics", None) or {}
    return {str(name): float(value) for name, value in metrics.items()}


def _column(table: pa.Table, name: str) -> Vector:
    values: Vector = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)
    return values


class Bound(ABC):
    """The analytics of one binding on one asset: fitted on a window, applied to new cells."""

    def __init__(self, kind: str, params: Mapping[str, Any]) -> None:
        self.kind = kind
        self.params = dict(params)

    @abstractmethod
    def fit(self, grid: Grid) -> Fit:
        """Learn from the training window's grid (columns: the binding's signals, target last)."""

    @abstractmethod
    def apply(self, grid: Grid) -> Outputs:
        """The output points of the next cells (possibly none), carrying streaming state."""


class BoundDetector(Bound):
    """A streaming detector over the binding's signals; output ``score`` (0..1)."""

    def __init__(self, kind: str, params: Mapping[str, Any], signals: Sequence[str]) -> None:
        super().__init__(kind, params)
        self.signals = tuple(signals)
        self.detector = build_detector(kind, params, self.signals)

    def fit(self, grid: Grid) -> Fit:
        """Fit a fresh detector on the complete rows of the window."""
        complete = grid.complete()
        detector = build_detector(self.kind, self.params, self.signals)
        detector.fit(grid.stamps[complete], grid.values[complete])
        self.detector = detector
        return Fit(
            _content_version(self.kind, self.params, grid),
            int(complete.sum()),
            {**self.params, "signals": list(self.signals)},
        )

    def apply(self, grid: Grid) -> Outputs:
        """Score the complete rows, in time order."""
        complete = grid.complete()
        scores = self.detector.update_many(grid.stamps[complete], grid.values[complete])
        return {"score": (grid.cells[complete], np.clip(scores, 0.0, 1.0))}


class BoundExpectedValue(Bound):
    """A model of the target from the inputs; outputs expected, lower, upper and residual."""

    def __init__(
        self, kind: str, params: Mapping[str, Any], inputs: Sequence[str], target: str
    ) -> None:
        super().__init__(kind, params)
        self.inputs = tuple(inputs)
        self.target = target
        self.model: Any = None

    def _table(self, grid: Grid, rows: npt.NDArray[np.bool_], *, target: bool) -> pa.Table:
        names = [*self.inputs, self.target] if target else list(self.inputs)
        return pa.table({name: grid.values[rows, i] for i, name in enumerate(names)})

    def fit(self, grid: Grid) -> Fit:
        """Fit a fresh model on the rows with inputs and target; in-sample metrics."""
        complete = grid.complete()
        table = self._table(grid, complete, target=True)
        model = build_model(
            self.kind, self.params, inputs=list(self.inputs), target=self.target
        ).fit(table)
        predicted = model.predict(table.select(list(self.inputs)))
        actual = grid.values[complete, -1]
        expected = _column(predicted, "expected")
        residual = actual - expected
        mean = float(np.mean(actual))
        scale = abs(mean) if mean else 1.0
        inside = (_column(predicted, "lower") <= actual) & (actual <= _column(predicted, "upper"))
        metrics = {
            **_model_metrics(model),
            "cv_rmse": float(np.sqrt(np.mean(residual**2)) / scale),
            "nmbe": float(np.sum(residual) / (residual.size * scale)),
            "coverage": float(np.mean(inside)),
        }
        self.model = model
        version = _model_version(model, self.kind, self.params, grid)
        params = {**self.params, "inputs": list(self.inputs), "target": self.target}
        return Fit(version, int(complete.sum()), params, metrics)

    def apply(self, grid: Grid) -> Outputs:
        """Predict the rows with every input present; residuals where the target is present."""
        ready = grid.complete(len(self.inputs))
        if not ready.any():
            return {}
        predicted = self.model.predict(self._table(grid, ready, target=False))
        cells = grid.cells[ready]
        expected = _column(predicted, "expected")
        residual = grid.values[ready, -1] - expected
        measured = ~np.isnan(residual)
        return {
            "expected": (cells, expected),
            "lower": (cells, _column(predicted, "lower")),
            "upper": (cells, _column(predicted, "upper")),
            "residual": (cells[measured], residual[measured]),
        }


class BoundForecaster(Bound):
    """A forecaster of the target; outputs forecast, lower and upper at future timestamps.

    ``horizon`` is in steps of the grid, ``predict_every`` and ``step`` in microseconds,
    ``history`` the cells of the target kept for forecasting (the training window).
    """

    def __init__(
        self,
        kind: str,
        params: Mapping[str, Any],
        *,
        horizon: int,
        step: int,
        predict_every: int,
        history: int,
    ) -> None:
        super().__init__(kind, params)
        self.horizon = horizon
        self.step = step
        self.predict_every = predict_every
        self.history = history
        self.model: Any = None
        self.cells = np.zeros(0, np.int64)
        self.values = np.zeros(0)
        self.next_at: int | None = None

    def _arrays(self, cells: Micros, values: Vector) -> tuple[pa.Array, pa.Array]:
        return pa.array(cells, pa.int64()).cast(_STAMP), pa.array(values, pa.float64())

    def fit(self, grid: Grid) -> Fit:
        """Fit a fresh model on the window's grid of the target; backtest errors as metrics."""
        values = grid.values[:, -1]
        model = build_model(self.kind, self.params, horizon=self.horizon)
        model.fit(*self._arrays(grid.cells, values))
        metrics = _model_metrics(model)
        try:
            backtest = model.backtest(*self._arrays(grid.cells, values), folds=3)
        except ModelError as err:
            if not str(err).startswith(WAITING):
                raise
            backtest = {}
        metrics.update({f"backtest_{name}": float(value) for name, value in backtest.items()})
        self.model = model
        self.cells, self.values = grid.cells[-self.history :], values[-self.history :]
        if self.next_at is None:
            end = int(grid.cells[-1]) + self.step
            self.next_at = -(-end // self.predict_every) * self.predict_every
        version = _model_version(model, self.kind, self.params, grid)
        params = {**self.params, "horizon": self.horizon}
        return Fit(version, int((~np.isnan(values)).sum()), params, metrics)

    def _forecast(self) -> pa.Table:
        return self.model.forecast(*self._arrays(self.cells, self.values))

    def apply(self, grid: Grid) -> Outputs:
        """Extend the history by the new cells, forecasting at each due time on the way."""
        tables: list[pa.Table] = []
        position = 0
        while True:
            assert self.next_at is not None
            while self.cells.size and self.next_at <= int(self.cells[-1]) + self.step:
                tables.append(self._forecast())
                self.next_at += self.predict_every
            if position == grid.cells.size:
                break
            upto = max(int(np.searchsorted(grid.cells, self.next_at)), position + 1)
            self.cells = np.concatenate([self.cells, grid.cells[position:upto]])[-self.history :]
            self.values = np.concatenate([self.values, grid.values[position:upto, -1]])[
                -self.history :
            ]
            position = upto
        if not tables:
            return {}
        table = pa.concat_tables(tables)
        cells = np.asarray(table["ts"].cast(_STAMP).cast(pa.int64()).to_numpy(), np.int64)
        return {name: (cells, _column(table, name)) for name in ("forecast", "lower", "upper")}


def bind(binding: ResolvedBinding) -> Bound:
    """The unfitted analytics of ``binding``, by the role of its kind."""
    role = kind_role(binding.kind)
    if role == "detector":
        return BoundDetector(binding.kind, binding.params, binding.input_names)
    if role == "expected_value":
        assert binding.target_name is not None
        return BoundExpectedValue(
            binding.kind, binding.params, binding.input_names, binding.target_name
        )
    assert binding.horizon is not None and binding.predict_every is not None
    step = micros(binding.resample)
    return BoundForecaster(
        binding.kind,
        binding.params,
        horizon=micros(binding.horizon) // step,
        step=step,
        predict_every=micros(binding.predict_every),
        history=max(micros(binding.window) // step, 1),
    )
