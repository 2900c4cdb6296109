"""Expected-value and forecaster bindings run as engine jobs, on CCPP and NAB data.

- CCPP (hourly ambient conditions and net output of a power plant, stamped an hour apart): an
  ``expected_value`` binding learns output from AT, V, AP and RH on the first 1000 hours; from
  hour 1200 the measured output is lowered by 15 MW (a degraded plant). Measured: 77 % of the
  healthy rows after training lie inside the 80 % interval, 96 % of the degraded rows fall below
  its lower bound.
- NAB ``nyc_taxi`` (half-hourly taxi passengers): a ``forecaster`` binding trained on 21 days
  forecasts the next day every 12 hours. Measured backtest MAE on the training window: model
  2378, seasonal naive 2560, persistence 7309 passengers per half hour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.analytics.bindings import Plant, run, utc

from valueloop.analytics.anomaly.data import load_nab_series
from valueloop.analytics.binding import AnalyticsJob, ResolvedBinding
from valueloop.analytics.versions import ModelVersions
from valueloop.datasets.ccpp import CCPP_INPUTS, CCPP_TARGET, load_ccpp
from valueloop.engine.job import JobState

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CCPP_ROWS, TRAIN_HOURS, DEGRADED_FROM = 1500, 1000, 1200
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    opened = Plant.open(tmp_path)
    yield opened
    opened.store.close()


def _outputs(plant: Plant, name: str, outputs: tuple[str, ...]) -> dict[str, int]:
    return dict(zip(outputs, plant.ids([f"{name}_{output}" for output in outputs]), strict=True))


def test_an_expected_value_binding_flags_a_degraded_plant_whatever_the_step(plant: Plant) -> None:
    table = load_ccpp()
    columns = (*CCPP_INPUTS, CCPP_TARGET)
    values = np.column_stack([table[c].to_numpy()[:CCPP_ROWS] for c in columns]).astype(float)
    values[DEGRADED_FROM:, -1] -= 15.0
    values[1100:1110, -1] = np.nan  # the output meter is silent for ten hours
    stamps = np.datetime64("2024-01-01T00:00") + np.arange(CCPP_ROWS).astype("timedelta64[h]")
    ids = plant.ids(columns)
    plant.write(ids, stamps, values)
    outputs = ("expected", "lower", "upper", "residual")
    end = START + CCPP_ROWS * HOUR
    found = {}
    for name, every in (("daily", DAY), ("weekly", 7 * DAY)):
        binding = ResolvedBinding(
            name=name,
            kind="expected_value",
            asset=plant.asset,
            inputs=tuple(ids[:4]),
            input_names=CCPP_INPUTS,
            target=ids[4],
            target_name=CCPP_TARGET,
            outputs=_outputs(plant, name, outputs),
            params={"n_estimators": 100},
            window=TRAIN_HOURS * HOUR,
            resample=HOUR,
            min_points=500,
            every=every,
        )
        job = AnalyticsJob(plant.store, binding, ModelVersions(plant.store))
        results = run(job, START, end, every)
        assert results[0].status is JobState.WAITING and results[-1].status is JobState.OK
        found[name] = {output: plant.series(binding.outputs[output]) for output in outputs}

    for output in outputs:
        assert np.array_equal(found["daily"][output][0], found["weekly"][output][0])
        assert np.array_equal(found["daily"][output][1], found["weekly"][output][1])
    series = found["daily"]
    assert series["expected"][0][0] == stamps[TRAIN_HOURS]
    rows = slice(TRAIN_HOURS, CCPP_ROWS)
    assert np.array_equal(series["expected"][0][: CCPP_ROWS - TRAIN_HOURS], stamps[rows])
    # the silent meter's last value is carried for max_gap (5 h), then there is no residual
    assert np.isin(stamps[1100:1105], series["residual"][0]).all()
    assert not np.isin(stamps[1105:1110], series["residual"][0]).any()
    assert np.isin(stamps[1100:1110], series["expected"][0]).all()
    measured = values[rows, -1]
    lower, upper = (series[bound][1][: CCPP_ROWS - TRAIN_HOURS] for bound in ("lower", "upper"))
    healthy = np.arange(TRAIN_HOURS, CCPP_ROWS) < DEGRADED_FROM
    known = ~np.isnan(measured)
    inside = (measured >= lower) & (measured <= upper)
    assert inside[healthy & known].mean() >= 0.7  # measured 0.77 for an 80 % interval
    assert (measured < lower)[~healthy].mean() >= 0.9  # measured 0.963

    fit = ModelVersions(plant.store).latest("daily", plant.asset).to_pylist()[0]
    assert fit["version"].startswith("expected-value-") and fit["rows"] == TRAIN_HOURS
    assert fit["train_end"] == START + TRAIN_HOURS * HOUR
    metrics = json.loads(fit["metrics"])
    assert metrics["cv_rmse"] < 0.01 and 0.8 <= metrics["coverage"] <= 1.0  # measured 0.0056


def test_a_forecaster_binding_forecasts_ahead_on_its_schedule_whatever_the_step(
    plant: Plant,
) -> None:
    taxi = load_nab_series("realKnownCause/nyc_taxi.csv")
    rows = 48 * 28
    [passengers] = plant.ids(["passengers"])
    plant.write([passengers], taxi.timestamps[:rows], taxi.values[:rows, None])
    start, end = utc(taxi.timestamps[0]), utc(taxi.timestamps[0]) + 28 * DAY
    found = {}
    for name, every in (("six_hourly", 6 * HOUR), ("one_step", 30 * DAY)):
        binding = ResolvedBinding(
            name=name,
            kind="forecaster",
            asset=plant.asset,
            target=passengers,
            target_name="passengers",
            outputs=_outputs(plant, name, ("forecast", "lower", "upper")),
            params={"lags": [1, 2, 3, 48], "season": 48, "n_estimators": 50},
            window=21 * DAY,
            resample=timedelta(minutes=30),
            min_points=500,
            horizon=DAY,
            predict_every=12 * HOUR,
            every=every,
        )
        job = AnalyticsJob(plant.store, binding, ModelVersions(plant.store))
        if name == "one_step":
            run(job, start, end, every)
        else:
            first = run(job, start, start + 21 * DAY + 6 * HOUR, every)
            assert first[-3].status is JobState.WAITING  # 20 days 18 hours of data
            assert first[-2].status is JobState.OK  # 21 days: fitted, and the first forecast
            ahead = first[-1]
            latest = plant.store.latest([binding.outputs["forecast"]])["ts"][0].as_py()
            assert ahead.watermark == start + 21 * DAY + 6 * HOUR
            assert latest == start + 22 * DAY - timedelta(minutes=30)
            run(job, ahead.watermark, end, every, ahead.watermark, ahead.state)
        found[name] = {out: plant.series(binding.outputs[out]) for out in binding.outputs}

    for output in ("forecast", "lower", "upper"):
        assert np.array_equal(found["six_hourly"][output][0], found["one_step"][output][0])
        assert np.array_equal(found["six_hourly"][output][1], found["one_step"][output][1])
    stamps, forecast = found["six_hourly"]["forecast"]
    # forecasts issued at days 21, 21.5, ..., 28 of a day each; later ones replace earlier ones
    assert len(stamps) == 48 * 8 and stamps[0] == taxi.timestamps[21 * 48]
    assert (found["six_hourly"]["lower"][1] <= forecast).all()
    assert (forecast <= found["six_hourly"]["upper"][1]).all()

    fits = ModelVersions(plant.store).history("six_hourly", plant.asset).to_pylist()
    assert len(fits) == 1 and fits[0]["train_end"] == start + 21 * DAY
    metrics = json.loads(fits[0]["metrics"])
    assert metrics["backtest_model"] < metrics["backtest_seasonal_naive"]  # 2378 < 2560
    assert metrics["backtest_model"] < metrics["backtest_persistence"]  # 2378 < 7309
