"""The TimeSeriesStore contract every backend implements.

Writes are idempotent on ``(series_id, ts)``: writing the same batch twice stores it once, and a
later value for the same series and instant replaces the earlier one (last write wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

import pyarrow as pa

Aggregate = Literal["avg", "min", "max", "last", "count"]
DEFAULT_AGGREGATES: tuple[Aggregate, ...] = ("avg", "min", "max", "last")


@dataclass(frozen=True)
class WriteReport:
    """What a write did: rows received, rows new to the store, rows that replaced a value."""

    received: int
    inserted: int
    replaced: int


class TimeSeriesStore(Protocol):
    """Narrow time-series storage of PointBatches (see :mod:`valueloop.schema`)."""

    def write(self, batch: pa.Table) -> WriteReport:
        """Store a PointBatch atomically, idempotent on ``(series_id, ts)``."""
        ...

    def read(
        self, series: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """Points of ``series`` with ``start <= ts < end``, sorted by series and time."""
        ...

    def downsample(
        self,
        series: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        every: timedelta,
        aggs: Sequence[Aggregate] = DEFAULT_AGGREGATES,
    ) -> pa.Table:
        """One row per series and UTC-aligned bucket holding data; empty buckets are absent."""
        ...

    def latest(self, series: Sequence[int]) -> pa.Table:
        """The newest point of each series that has one."""
        ...

    def export_parquet(
        self, path: Path, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Write the points in ``[start, end)`` to a zstd-compressed Parquet file."""
        ...
