"""Forecasts of any regularly sampled series, beside the two baselines a practitioner runs first.

A :class:`Forecaster` predicts the next ``horizon`` steps of a series (a load, a flow, a
temperature) resampled by the caller to a fixed step. It is one global LightGBM regression with the
direct strategy: each training row is an origin (the last known step) and a number of steps ahead
``h`` in ``1..horizon``; its features are ``h``, the hour of the day and day of the week of the
target step (UTC), the origin's value (lag 1), the values at the other ``lags`` and the
seasonal-naive value of the target (the value a whole number of ``season`` steps before it, the
latest known at the origin). The model learns the change from the origin's value, and the lags and
seasonal value enter as differences from it, so a level the history never reached is still
forecast sensibly (trees cannot extrapolate a level, but a change they can). Two quantile
regressions give the ``interval`` (see :mod:`valueloop.analytics.gbm`).

The baselines are persistence (every step ahead equals the origin's value) and seasonal-naive
(each step ahead equals the value one season before it); :meth:`Forecaster.backtest` measures the
model and both on rolling-origin holdouts, so a status page shows whether the model earns its keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.calendar import day_of_week, hour_of_day
from valueloop.analytics.gbm import BoostingSettings, IntervalBoosters, check_interval
from valueloop.analytics.regular import TIMESTAMP, Index, RegularSeries, median_step
from valueloop.analytics.saved import SavedModel
from valueloop.errors import ModelError

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]
_NUM_LEAVES = 31
_CANDIDATES = 500_000  # (origin, step ahead) pairs considered for training, a seeded sample
_MAX_PAIRS = 30_000  # training rows kept, a seeded sample of the usable candidates
_EVALUATED = 20_000  # (origin, step ahead) pairs a backtest fold scores, a seeded sample
_STEP_TOLERANCE = 0.01  # relative difference of a forecast history's step from the fitted one

FORECAST_SCHEMA = pa.schema(
    [
        ("ts", TIMESTAMP),
        ("forecast", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("persistence", pa.float64()),
        ("seasonal_naive", pa.float64()),
    ]
)


def _pairs(length: int, horizon: int, limit: int, rng: np.random.Generator) -> tuple[Index, Index]:
    """(origin, steps ahead) pairs whose target lies inside the series, ``limit`` at most.

    All pairs when there are few enough, else a sample drawn with ``rng``; in origin order.
    """
    total = length * horizon
    if total <= limit:
        flat = np.arange(total, dtype=np.int64)
    else:
        flat = np.sort(rng.choice(total, limit, replace=False)).astype(np.int64)
    origins, ahead = np.divmod(flat, horizon)
    ahead += 1
    inside = origins + ahead < length
    return origins[inside], ahead[inside]


class Forecaster(SavedModel):
    """Direct multi-step LightGBM forecaster with an interval; see the module docstring.

    Hyper-parameters, in steps of the series: ``horizon`` (steps forecast), ``lags`` (1 is the last
    known value) and ``season`` (24 for a daily rhythm of hourly data); then ``interval`` (central
    probability between ``lower`` and ``upper``), the LightGBM settings ``n_estimators`` and
    ``learning_rate``, ``min_rows`` (usable origins needed to fit) and ``seed``.

    Metadata metrics: ``rows`` (usable origins), ``pairs`` (training rows fitted), ``step_s`` (the
    series' step, seconds), ``train_mae`` (series unit) and ``interval_margin`` (series unit, the
    calibration's widening of each side of the interval).
    """

    output_schema: ClassVar[pa.Schema] = FORECAST_SCHEMA
    file_format: ClassVar[str] = "valueloop.forecast/1"
    version_prefix: ClassVar[str] = "forecast"

    def __init__(
        self,
        *,
        horizon: int,
        lags: Sequence[int] = (1, 2, 3, 24),
        season: int = 24,
        interval: float = 0.8,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        min_rows: int = 100,
        seed: int = 0,
    ) -> None:
        self.horizon = horizon
        self.lags = tuple(lags)
        self.season = season
        self.interval = interval
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.min_rows = min_rows
        self.seed = seed
        self._boosters: IntervalBoosters | None = None
        self._step: int | None = None

    def fit(self, ts: pa.Array, values: pa.Array) -> Self:
        """Learn from a series: ``ts`` (timestamp[us, UTC], increasing) and ``values`` (float64).

        Gaps (NaN or null values, or missing steps) are allowed: a training row whose target or
        features fall on a gap is skipped. Raises :class:`ModelError` starting with ``"waiting for
        data:"`` when fewer than ``min_rows`` origins have all their features.
        """
        return self._fit_series(RegularSeries.of(ts, values))

    def forecast(self, ts: pa.Array, values: pa.Array) -> pa.Table:
        """The next ``horizon`` steps after the last of ``ts``: ``output_schema``, one row a step.

        ``ts`` and ``values`` are the recent history, at least ``max(lags)`` and ``season`` steps
        of it, at the step the model was fitted on (within 1 %). ``forecast``, ``lower`` and
        ``upper`` are NaN for a step whose features fall on a gap; ``persistence`` and
        ``seasonal_naive`` are the baselines. All values are in the series' unit.
        """
        boosters, step = self._require_fitted()
        inferred = median_step(ts) if len(ts) > 1 else step
        if abs(inferred - step) > step * _STEP_TOLERANCE:
            raise ModelError(
                f"the series' step is {inferred / 1e6:g} s but the model was fitted on "
                f"{step / 1e6:g} s steps: resample it"
            )
        series = RegularSeries.of(ts, values, step=step)
        origins = np.full(self.horizon, len(series) - 1, dtype=np.int64)
        ahead = np.arange(1, self.horizon + 1, dtype=np.int64)
        x = self._design(series, origins, ahead)
        complete = np.isfinite(x).all(axis=1)
        outputs = [np.full(self.horizon, np.nan) for _ in range(3)]
        last = series.at(origins)
        for output, predicted in zip(outputs, boosters.predict(x[complete]), strict=True):
            output[complete] = last[complete] + predicted
        stamps = pa.array(series.micros(origins + ahead), pa.int64()).cast(TIMESTAMP)
        baselines = [last, series.at(self._seasonal_index(origins, ahead))]
        columns = [pa.array(column, pa.float64()) for column in (*outputs, *baselines)]
        return pa.table([stamps, *columns], schema=FORECAST_SCHEMA)

    def backtest(self, ts: pa.Array, values: pa.Array, *, folds: int = 3) -> dict[str, float]:
        """Mean absolute errors of the model and the baselines on rolling-origin holdouts.

        The series is cut into ``folds + 1`` equal blocks; for each of the last ``folds`` blocks a
        fresh model with these hyper-parameters is fitted on everything before it, then the steps
        of the block are forecast 1 to ``horizon`` steps ahead from the origins in the block (all
        of them, or a seeded sample of 20 000 (origin, steps ahead) pairs per fold). Returns
        ``model``, ``persistence`` and ``seasonal_naive`` (MAE, series unit) over the forecasts all
        three could make, ``coverage`` (fraction of those inside the model's interval) and
        ``forecasts`` (their number). The model itself is left untouched.
        """
        if folds < 1:
            raise ModelError(f"backtest needs folds >= 1, got {folds}")
        series = RegularSeries.of(ts, values)
        block = len(series) // (folds + 1)
        if block <= self.horizon:
            raise ModelError(
                f"waiting for data: a backtest of {folds} folds needs more than "
                f"{(folds + 1) * (self.horizon + 1)} steps, the series has {len(series)}"
            )
        errors: list[Matrix] = []
        for fold in range(folds):
            cut = len(series) - (folds - fold) * block
            errors.append(self._holdout_errors(series.head(cut + block), cut))
        joined = np.concatenate(errors)
        if len(joined) == 0:
            raise ModelError("waiting for data: no holdout step has its value and all features")
        return {
            "model": float(joined[:, 0].mean()),
            "persistence": float(joined[:, 1].mean()),
            "seasonal_naive": float(joined[:, 2].mean()),
            "coverage": float(joined[:, 3].mean()),
            "forecasts": float(len(joined)),
        }

    def _state(self) -> dict[str, Any]:
        boosters, step = self._require_fitted()
        return {"boosters": boosters.to_state(), "step_us": step}

    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        self._step = int(state["step_us"])
        self._boosters = IntervalBoosters.from_state(state.get("boosters", {}), source)

    def _fit_series(self, series: RegularSeries) -> Self:
        self._check_params()
        rng = np.random.default_rng(self.seed)
        origins, ahead = _pairs(len(series), self.horizon, _CANDIDATES, rng)
        x = self._design(series, origins, ahead)
        y = series.at(origins + ahead)
        usable = np.flatnonzero(np.isfinite(x).all(axis=1) & np.isfinite(y))
        rows = len(np.unique(origins[usable]))
        if rows < self.min_rows:
            raise ModelError(
                f"waiting for data: {rows} steps have a known value, all {len(self.lags)} lags "
                f"and the value a season ({self.season} steps) earlier; {self.min_rows} needed"
            )
        if len(usable) > _MAX_PAIRS:
            usable = np.sort(rng.choice(usable, _MAX_PAIRS, replace=False))
        x, change = x[usable], y[usable] - series.at(origins[usable])
        settings = BoostingSettings(self.n_estimators, self.learning_rate, _NUM_LEAVES, self.seed)
        boosters = IntervalBoosters.fit(x, change, interval=self.interval, settings=settings)
        metrics = {
            "rows": float(rows),
            "pairs": float(len(change)),
            "step_s": series.step / 1e6,
            "train_mae": float(np.mean(np.abs(change - boosters.predict_value(x)))),
            "interval_margin": boosters.margin,
        }
        digest = hashlib.sha256(f"{series.start}|{series.step}|".encode() + series.values.tobytes())
        self._record_fit(digest.hexdigest(), metrics)
        self._boosters, self._step = boosters, series.step
        return self

    def _holdout_errors(self, series: RegularSeries, cut: int) -> Matrix:
        """Per forecast of steps ``cut..`` from origins ``cut - 1..``: the absolute errors of the
        model, persistence and seasonal-naive, and whether the target fell inside the interval."""
        model = type(self)(**self.get_params())._fit_series(series.head(cut))
        boosters, _ = model._require_fitted()
        span = len(series) - cut
        rng = np.random.default_rng(self.seed)
        origins, ahead = _pairs(span + 1, self.horizon, _EVALUATED, rng)
        origins += cut - 1
        x = self._design(series, origins, ahead)
        target, persistence = series.at(origins + ahead), series.at(origins)
        seasonal = series.at(self._seasonal_index(origins, ahead))
        known = np.column_stack([x, target, persistence, seasonal])
        complete = np.isfinite(known).all(axis=1)
        x, target, persistence, seasonal = (
            array[complete] for array in (x, target, persistence, seasonal)
        )
        change, lower, upper = boosters.predict(x)
        lower, upper = persistence + lower, persistence + upper
        return np.column_stack(
            [
                np.abs(persistence + change - target),
                np.abs(persistence - target),
                np.abs(seasonal - target),
                (lower <= target) & (target <= upper),
            ]
        )

    def _design(self, series: RegularSeries, origins: Index, ahead: Index) -> Matrix:
        """Feature rows of the (origin, steps ahead) pairs; see the module docstring.

        Columns: steps ahead, hour of day and day of week of the target, the origin's value, and
        relative to it the other lags and the seasonal-naive value.
        """
        stamps = series.micros(origins + ahead)
        last = series.at(origins)
        lags = [series.at(origins - (lag - 1)) - last for lag in self.lags if lag != 1]
        seasonal = series.at(self._seasonal_index(origins, ahead)) - last
        calendar = [ahead.astype(np.float64), hour_of_day(stamps), day_of_week(stamps)]
        return np.column_stack([*calendar, last, *lags, seasonal])

    def _seasonal_index(self, origins: Index, ahead: Index) -> Index:
        """The step a whole number of seasons before each target, at or before its origin."""
        seasons = (ahead - 1) // self.season + 1
        return origins + ahead - seasons * self.season

    def _require_fitted(self) -> tuple[IntervalBoosters, int]:
        if self._boosters is None or self._step is None:
            raise self._not_fitted()
        return self._boosters, self._step

    def _check_params(self) -> None:
        if self.horizon < 1 or self.season < 1 or self.min_rows < 1:
            raise ModelError(
                "invalid hyper-parameter: horizon, season and min_rows must be >= 1, got "
                f"{self.horizon}, {self.season}, {self.min_rows}"
            )
        if not self.lags or min(self.lags) < 1 or len(set(self.lags)) != len(self.lags):
            raise ModelError(
                f"invalid hyper-parameter: lags must be distinct and >= 1, got {self.lags}"
            )
        check_interval(self.interval)
