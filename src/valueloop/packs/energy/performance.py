"""The inverter's expected power, daily performance index and lost energy, on the engine's clock.

Once a local day has ended, the job reads the day's satellite weather and the inverter's energy
back from the store and writes:

- ``expected_power`` (kW) at each weather time: the pvlib model of the clean array
  (:mod:`.expected`), fitted once on the plant's clean months (``fit_window``);
- at the day's end (local midnight): ``expected_energy`` (kWh), ``performance_index`` (measured
  over expected energy), ``performance_index_7d`` (the same over the last 7 days, what the
  underperformance alarm watches), ``lost_energy`` (expected less measured, kWh; negative on a day
  the array beat the model) and ``lost_money`` (at the tariff of the inverter's value KPI).

A day with fewer than :data:`MIN_WEATHER` weather times has expected power but no day figures.
The last 7 days' energies travel in the job's state, so a restarted engine goes on where it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from valueloop.connectors.base import FieldDelivery
from valueloop.engine.job import JobResult
from valueloop.packs.energy.replay import EVERY, PlantReplay, point_readings

if TYPE_CHECKING:
    from valueloop.packs.energy.expected import ExpectedPower
    from valueloop.site import Site

MIN_WEATHER = 40
"""Weather times (of 48) a day needs for its figures."""
WEATHER_HOURS = 0.5
"""Satellite weather every 30 minutes: expected energy = expected power * 0.5 h per time."""
WEEK = 7


@dataclass(frozen=True)
class DayFigures:
    """One day's figures: measured and expected energy (kWh) and the lost money."""

    day: date
    energy: float
    expected: float
    lost_money: float


class PerformanceJob:
    """Expected power and the day's performance figures (see the module docstring)."""

    def __init__(
        self,
        site: Site,
        replay: PlantReplay,
        *,
        first_day: date,
        fit_window: tuple[str, str],
        price: float,
    ) -> None:
        self.name = "energy:performance"
        self.every = EVERY
        self.site = site
        self.replay = replay
        self.inverter = replay.inverter
        self.weather = replay.weather
        self.first_day = first_day
        self.fit_window = fit_window
        self.price = price
        self.zone = ZoneInfo(site.config.site.timezone)

    @cached_property
    def model(self) -> ExpectedPower:
        """The pvlib model of the clean array, fitted on ``fit_window`` of the plant's data."""
        from valueloop.packs.energy.expected import ExpectedPower

        clean, data = slice(*self.fit_window), self.replay.data
        return ExpectedPower().fit(data.weather.loc[clean], data.ac_power.loc[clean])

    def _ids(self, asset: str, signals: list[str]) -> list[int]:
        paths = [self.site.model.path(asset, signal) for signal in signals]
        return [int(i) for i in self.site.registry.lookup(paths).column("series_id").to_pylist()]

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        after = day + timedelta(days=1)
        return start, datetime(after.year, after.month, after.day, tzinfo=self.zone)

    def _expected(self, start: datetime, end: datetime) -> tuple[list[datetime], np.ndarray]:
        """Expected power (kW) at the day's weather times."""
        import pandas as pd

        ghi, temp_air = self._ids(self.weather, ["ghi", "temp_air"])
        rows = self.site.points.read([ghi, temp_air], start, end).to_pandas()
        if rows.empty:
            return [], np.array([])
        frame = rows.pivot_table(index="ts", columns="series_id", values="value")
        frame = frame.rename(columns={ghi: "ghi", temp_air: "temp_air"}).dropna()
        if frame.empty or not {"ghi", "temp_air"} <= set(frame.columns):
            return [], np.array([])
        frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
        expected = self.model.predict(frame[["ghi", "temp_air"]])
        return list(frame.index.to_pydatetime()), expected.to_numpy(dtype=np.float64)

    def _energy(self, start: datetime, end: datetime) -> float:
        rows = self.site.points.read(self._ids(self.inverter, ["energy"]), start, end)
        return float(np.nansum(rows.column("value").to_numpy(zero_copy_only=False)))

    def _day(self, day: date, week: list[list[float]]) -> tuple[pa.Table, DayFigures | None]:
        start, end = self._bounds(day)
        times, expected = self._expected(start, end)
        points: dict[str, tuple[list[datetime], list[float]]] = {
            "expected_power": (times, expected.tolist())
        }
        if len(times) < MIN_WEATHER:
            return point_readings(self.site, self.inverter, points), None
        energy, expected_energy = self._energy(start, end), float(expected.sum() * WEATHER_HOURS)
        week.append([energy, expected_energy])
        del week[:-WEEK]
        lost = expected_energy - energy
        figures = {
            "expected_energy": expected_energy,
            "performance_index": energy / expected_energy if expected_energy else float("nan"),
            "performance_index_7d": sum(e for e, _ in week) / sum(x for _, x in week),
            "lost_energy": lost,
            "lost_money": lost * self.price,
        }
        points.update({signal: ([end], [value]) for signal, value in figures.items()})
        return point_readings(self.site, self.inverter, points), DayFigures(
            day, energy, expected_energy, lost * self.price
        )

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Write the figures of every local day that ended by ``now`` and has not been done."""
        saved = json.loads(state) if state else {}
        day = date.fromisoformat(saved.get("next", self.first_day.isoformat()))
        week: list[list[float]] = saved.get("week", [])
        done = []
        while self._bounds(day)[1] <= now:
            readings, figures = self._day(day, week)
            self.site.pipeline.ingest_readings(FieldDelivery(readings), self.name)
            if figures is not None:
                done.append(figures)
            day += timedelta(days=1)
        blob = json.dumps({"next": day.isoformat(), "week": week}).encode()
        if not done:
            return JobResult(now, blob, message=f"waiting for {day.isoformat()} to end")
        last = done[-1]
        return JobResult(
            now,
            blob,
            rows=len(done),
            message=(
                f"{len(done)} days up to {last.day.isoformat()}: performance index "
                f"{last.energy / last.expected:.2f}, lost {last.lost_money:.2f} a day"
            ),
        )
