"""The plant's measured data fed on the engine's clock, with an injected soiling loss.

The replay stores the inverter's AC power (kW) and the energy of each 15-minute reading (kWh),
and the satellite irradiance and air temperature, as they land by the clock's time: the first step
loads the plant's history from ``history_start``, each later one the readings since the last.

Soiling is *injected*, never measured: from ``soiled_from`` the measured power and energy are
scaled by ``1 - injected_loss`` until the first completed maintenance task on the inverter (the
pack's crew only cleans), and the ``injected_loss`` series says how much was removed at each
reading, so that every figure resting on it can be labelled. The cleaning time is read from the
work orders at each step, so a restarted engine replays the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from valueloop.act.workorders import OrderStatus
from valueloop.connectors.base import FieldDelivery
from valueloop.engine.job import JobResult
from valueloop.errors import ConfigError
from valueloop.schema import READING_SCHEMA, Quality

if TYPE_CHECKING:
    import pandas as pd

    from valueloop.packs.energy.plant import PlantData
    from valueloop.site import Site

INVERTER_TYPE = "pv_inverter"
WEATHER_TYPE = "satellite_weather"
EVERY = timedelta(minutes=15)
"""How often the pack's jobs step: the inverter's reading interval."""
READING_HOURS = 0.25
"""The inverter's readings are 15-minute means: energy (kWh) = power (kW) * 0.25 h."""


@dataclass(frozen=True)
class InjectedSoiling:
    """The injected soiling of a replay: ``loss`` (a fraction of output) from ``start`` on."""

    loss: float
    start: datetime


def only_asset(site: Site, type_name: str) -> str:
    """The name of the site's one asset of ``type_name``."""
    names = [a.name for a in site.model.assets.values() if a.type_name == type_name]
    if len(names) != 1:
        raise ConfigError(
            f"the energy pack needs one asset of type {type_name}; the site has {len(names)}"
        )
    return names[0]


def cleaned_at(site: Site, inverter: str) -> datetime | None:
    """When the first maintenance task on ``inverter`` was completed, if one was."""
    done = [
        order["updated_at"]
        for order in site.work_orders.in_states([OrderStatus.COMPLETED])
        if order["asset"] == inverter and order["kind"] == "maintenance"
    ]
    return min(done, default=None)


def _micros(index: pd.DatetimeIndex) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    return np.asarray(index.tz_convert("UTC").as_unit("us").asi8, dtype=np.int64)


class PlantReplay:
    """The plant's readings as series paths of ``site``, and the injected soiling on them.

    The inverter and the weather are the site's one asset of :data:`INVERTER_TYPE` and of
    :data:`WEATHER_TYPE`.
    """

    def __init__(self, site: Site, soiling: InjectedSoiling) -> None:
        self.site = site
        self.soiling = soiling
        self.inverter = only_asset(site, INVERTER_TYPE)
        self.weather = only_asset(site, WEATHER_TYPE)

    @cached_property
    def data(self) -> PlantData:
        """The plant's measured data, read on first use (building the jobs stays cheap)."""
        from valueloop.packs.energy.plant import load_plant

        return load_plant()

    @cached_property
    def _power(self) -> tuple[np.ndarray[tuple[int], np.dtype[np.int64]], np.ndarray]:
        power = self.data.ac_power.dropna()
        return _micros(power.index), power.to_numpy(dtype=np.float64)

    @cached_property
    def _weather(self) -> tuple[np.ndarray[tuple[int], np.dtype[np.int64]], pd.DataFrame]:
        return _micros(self.data.weather.index), self.data.weather

    def _path(self, asset: str, signal: str) -> str:
        return self.site.model.path(asset, signal)

    def readings(self, after: datetime, until: datetime, clean_from: datetime | None) -> pa.Table:
        """The readings with ``after < ts <= until``, soiled before ``clean_from``."""
        low, high = _micro(after), _micro(until)
        ts, power = self._power
        keep = (ts > low) & (ts <= high)
        ts, power = ts[keep], power[keep]
        soiled = ts >= _micro(self.soiling.start)
        if clean_from is not None:
            soiled &= ts < _micro(clean_from)
        loss = np.where(soiled, self.soiling.loss, 0.0)
        power = power * (1.0 - loss)
        columns = [
            (self.inverter, "ac_power", ts, power),
            (self.inverter, "energy", ts, power * READING_HOURS),
            (self.inverter, "injected_loss", ts, loss),
        ]
        stamps, weather = self._weather
        keep = (stamps > low) & (stamps <= high)
        for signal in ("ghi", "temp_air"):
            values = weather[signal].to_numpy(dtype=np.float64)[keep]
            columns.append((self.weather, signal, stamps[keep], values))
        return _readings([(self._path(a, s), t, v) for a, s, t, v in columns])


def _micro(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _readings(columns: list[tuple[str, np.ndarray, np.ndarray]]) -> pa.Table:
    """One READING_SCHEMA table of ``(series path, micros, values)`` columns (NaN left out)."""
    paths, stamps, values = [], [], []
    for path, ts, value in columns:
        finite = np.isfinite(value)
        paths.append(np.full(int(finite.sum()), path, dtype=object))
        stamps.append(ts[finite])
        values.append(value[finite])
    count = sum(len(v) for v in values)
    return pa.table(
        {
            "series": pa.array(np.concatenate(paths) if paths else [], pa.string()),
            "ts": pa.array(np.concatenate(stamps), pa.timestamp("us", tz="UTC")),
            "value": pa.array(np.concatenate(values), pa.float64()),
            "quality": pa.array(np.full(count, int(Quality.GOOD), np.uint8), pa.uint8()),
        },
        schema=READING_SCHEMA,
    )


def point_readings(
    site: Site, asset: str, points: dict[str, tuple[list[datetime], list[float]]]
) -> pa.Table:
    """Readings of ``asset``'s signals given as ``signal -> (times, values)``."""
    return _readings(
        [
            (
                site.model.path(asset, signal),
                np.array([_micro(t) for t in times], dtype=np.int64),
                np.asarray(values, dtype=np.float64),
            )
            for signal, (times, values) in points.items()
        ]
    )


class ReplayJob:
    """Store the plant's readings that have landed by the clock's time (see the module)."""

    def __init__(self, site: Site, replay: PlantReplay, history_start: datetime) -> None:
        self.name = "energy:replay"
        self.every = EVERY
        self.site = site
        self.replay = replay
        self.history_start = history_start

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Ingest the readings with ``watermark < ts <= now`` (from the history's start first)."""
        after = watermark if watermark is not None else self.history_start
        if now <= after:
            return JobResult(watermark, message="nothing landed yet")
        clean_from = cleaned_at(self.site, self.replay.inverter)
        readings = self.replay.readings(after, now, clean_from)
        report = self.site.pipeline.ingest_readings(FieldDelivery(readings), self.name)
        stored = report.points_inserted + report.points_replaced
        soiled = "cleaned" if clean_from is not None else "soiled (injected)"
        return JobResult(now, rows=stored, message=f"{stored:,} readings, array {soiled}")
