"""PointBatches and alarm points shared by the alarm tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from valueloop.alarms import LimitAlarm, Priority, StaleAlarm, Transition
from valueloop.schema import POINT_SCHEMA

T0 = datetime(2026, 3, 1, tzinfo=UTC)
VIBRATION = 7
TEMPERATURE = 8
PRESSURE = 9


def at(seconds: float) -> datetime:
    """``seconds`` after :data:`T0`."""
    return T0 + timedelta(seconds=seconds)


def points(
    series_id: int,
    seconds: Sequence[float],
    values: Sequence[float],
    quality: Sequence[int] | None = None,
) -> pa.Table:
    """A PointBatch of one series, ``seconds`` after :data:`T0`."""
    return pa.table(
        {
            "series_id": pa.array([series_id] * len(seconds), pa.int32()),
            "ts": pa.array([at(s) for s in seconds], pa.timestamp("us", tz="UTC")),
            "value": pa.array([float(v) for v in values], pa.float64()),
            "quality": pa.array(quality if quality is not None else [0] * len(seconds), pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def vibration_hi(
    *, on: float = 0, off: float = 0, deadband: float = 0.0, limit: float = 10.0
) -> LimitAlarm:
    """A ``hi`` alarm on the vibration of compressor-1 (mm/s), delays in seconds."""
    return LimitAlarm(
        name="vibration_high",
        asset="compressor-1",
        signal="vibration",
        series_id=VIBRATION,
        level="hi",
        limit=limit,
        priority=Priority.HIGH,
        on_delay=timedelta(seconds=on),
        off_delay=timedelta(seconds=off),
        deadband=deadband,
        description="bearing wear or imbalance",
    )


def telemetry_stale(intervals: int = 5) -> StaleAlarm:
    """A stale-data alarm on the temperature and pressure of compressor-1 (1 s readings)."""
    return StaleAlarm(
        name="telemetry",
        asset="compressor-1",
        signals=("temperature", "pressure"),
        series_ids=(TEMPERATURE, PRESSURE),
        expected_interval=timedelta(seconds=1),
        intervals=intervals,
        priority=Priority.MEDIUM,
        description="no data from the compressor's PLC",
    )


def seen(transitions: Sequence[Transition]) -> list[tuple[str, str, datetime, float | None, str]]:
    """Transitions as comparable tuples."""
    return [(t.key, t.kind, t.ts, t.value, t.signal) for t in transitions]
