"""The TimeSeriesStore contract every backend implements, and the batch rules they share.

- Writes are atomic and idempotent on ``(series_id, ts)``: writing the same batch twice stores it
  once, and a later value for the same series and instant replaces the earlier one (last write
  wins; within one batch, the later row wins).
- Timestamps are microseconds in UTC: a batch with another time zone is converted, a batch with
  naive timestamps is refused.
- NaN and infinite values are kept with quality bad (2), never dropped.
- A batch with a timestamp outside 1970-01-01..2200-01-01 UTC is refused whole, with an error
  naming the column and row (the ingest pipeline dead-letters such rows before they get here).
- Downsampling buckets are aligned to the UTC epoch; buckets without points are absent. ``avg``,
  ``min``, ``max`` and ``last`` take the finite values only, ``count`` counts every point and
  ``worst`` is the worst quality of a bucket's points (the highest :class:`Quality`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA, Quality, schema_problem

EARLIEST_US = 0  # 1970-01-01T00:00:00Z, in microseconds since the epoch
LATEST_US = 7_258_118_400_000_000  # 2200-01-01T00:00:00Z, excluded

Aggregate = Literal["avg", "min", "max", "last", "count", "worst"]
AGGREGATES: tuple[Aggregate, ...] = ("avg", "min", "max", "last", "count", "worst")
DEFAULT_AGGREGATES: tuple[Aggregate, ...] = ("avg", "min", "max", "last")


@dataclass(frozen=True)
class WriteReport:
    """What a write did: rows received, rows new to the store, rows that replaced a value."""

    received: int
    inserted: int
    replaced: int


@dataclass(frozen=True)
class StoreInfo:
    """What a store (or one tier of it) holds."""

    tier: str
    series: int
    points: int
    bytes: int
    start: datetime | None
    end: datetime | None


class TimeSeriesStore(Protocol):
    """Narrow time-series storage of PointBatches (see :mod:`valueloop.schema`)."""

    def write(self, batch: pa.Table) -> WriteReport:
        """Store a PointBatch atomically, idempotent on ``(series_id, ts)``."""
        ...

    def read(
        self,
        series: Sequence[int],
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
    ) -> pa.Table:
        """Points of ``series`` with ``start <= ts < end``, sorted by series and time; only the
        first ``limit`` of them if given (the store stops reading there)."""
        ...

    def downsample(
        self,
        series: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        every: timedelta,
        aggs: Sequence[Aggregate] = DEFAULT_AGGREGATES,
    ) -> pa.Table:
        """``series_id``, ``bucket`` and one column per aggregate, per series and UTC bucket."""
        ...

    def latest(self, series: Sequence[int]) -> pa.Table:
        """The newest point of each series that has one."""
        ...

    def delete_before(self, before: datetime) -> int:
        """Retention: drop every point with ``ts < before``; return how many."""
        ...

    def export_parquet(
        self, path: Path, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Write the points in ``[start, end)`` to a zstd-compressed Parquet file."""
        ...

    def info(self) -> list[StoreInfo]:
        """What each tier of the store holds."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


def _strictly_ordered(major: np.ndarray, minor: np.ndarray) -> bool:
    """Whether rows are strictly increasing by ``(major, minor)``: then no key repeats."""
    if len(major) < 2:
        return True
    step = np.diff(major)
    return bool(np.all((step > 0) | ((step == 0) & (np.diff(minor) > 0))))


def prepare_batch(batch: pa.Table, *, sort: bool = True) -> pa.Table:
    """Apply the shared write rules to a PointBatch before a backend stores it.

    Checks the schema (naming the column at fault), converts timestamps to UTC, refuses naive ones,
    marks non-finite values bad, keeps the last row of duplicate ``(series_id, ts)`` pairs and sorts
    by ``(series_id, ts)``. With ``sort=False`` a batch already ordered by time then series (the
    usual arrival order), or by series then time, keeps its order: it cannot hold a duplicate.
    """
    problem = schema_problem(batch, exact_types=False)
    if problem is not None:
        raise StoreError(problem)
    batch = batch.select(POINT_SCHEMA.names)
    try:
        batch = batch.cast(POINT_SCHEMA, safe=True)
    except pa.ArrowException as err:  # an unsupported or lossy cast
        raise StoreError(f"PointBatch does not convert to {POINT_SCHEMA}: {err}") from err
    value = batch.column("value")
    not_finite = pc.invert(pc.fill_null(pc.is_finite(value), False))
    if pc.any(not_finite).as_py():
        quality = pc.if_else(
            not_finite, pa.scalar(int(Quality.BAD), pa.uint8()), batch.column("quality")
        )
        batch = batch.set_column(3, POINT_SCHEMA.field("quality"), quality)
    ids = batch.column("series_id").to_numpy()
    stamps = batch.column("ts").cast(pa.int64()).to_numpy()
    outside = np.flatnonzero((stamps < EARLIEST_US) | (stamps >= LATEST_US))
    if len(outside):
        row = int(outside[0])
        raise StoreError(
            f"PointBatch column 'ts', row {row}: {batch.column('ts')[row].as_py().isoformat()} is "
            f"outside 1970-01-01..2200-01-01 UTC ({len(outside)} such rows); nothing was stored"
        )
    if _strictly_ordered(ids, stamps) or (not sort and _strictly_ordered(stamps, ids)):
        return batch.combine_chunks()
    return _sorted_last_write_wins(batch)


def _sorted_last_write_wins(batch: pa.Table) -> pa.Table:
    """Sort by ``(series_id, ts)`` and keep the last row of each repeated pair."""
    order = pa.array(range(batch.num_rows), pa.int64())
    indexed = batch.append_column("arrival", order)
    indexed = indexed.sort_by(
        [("series_id", "ascending"), ("ts", "ascending"), ("arrival", "descending")]
    )
    ids = indexed.column("series_id").combine_chunks()
    stamps = indexed.column("ts").combine_chunks().cast(pa.int64())
    if indexed.num_rows > 1:
        same_as_previous = pc.and_(
            pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1)),
            pc.equal(stamps.slice(1), stamps.slice(0, len(stamps) - 1)),
        )
        if pc.any(same_as_previous).as_py():
            keep = pa.concat_arrays([pa.array([True]), pc.invert(same_as_previous)])
            indexed = indexed.filter(keep)
    return indexed.drop_columns(["arrival"]).cast(POINT_SCHEMA)


def check_aggregates(aggs: Sequence[str], every: timedelta) -> None:
    """Refuse unknown aggregates and non-positive bucket widths."""
    unknown = [agg for agg in aggs if agg not in AGGREGATES]
    if unknown or not aggs:
        raise StoreError(f"unknown aggregates {unknown}; choose from {', '.join(AGGREGATES)}")
    if every <= timedelta(0):
        raise StoreError("bucket width must be positive")
