"""A hot store for recent points and a Parquet cold tier for history, read as one store.

A watermark ``W`` splits the two: every point with ``ts < W`` lives in the cold tier
(:class:`valueloop.store.parquet.ParquetTier`), every other point in the hot store (any
TimeSeriesStore, DuckDB by default). ``W`` is kept in ``<cold folder>/_watermark.json`` and only
rises. Reads take the cold tier below ``W`` and the hot store at or above it, so a point is never
counted twice, even when an interrupted compaction left a copy on both sides.

:meth:`TieredStore.compact` moves the hot points older than a boundary one UTC day at a time:
copy the day to the cold tier, raise ``W`` past it, then delete it from the hot store. Interrupted
after the copy, the cold copy lies at or above ``W`` (or there is no ``W`` yet) and is ignored;
interrupted after raising ``W``, the hot copy lies below ``W`` and is ignored. Before its first
change (write, compaction or retention) a store settles such leftovers, so a re-run converges
without duplicates.

A write sends its rows below ``W`` to the cold tier (merged into their days, last write wins) and
the rest to the hot store. Each side is atomic; a batch spanning ``W`` is two writes, and since
writes are idempotent, re-sending a batch after a failure converges too. Every writer of the hot
store must go through the tiered store: a point written straight to the hot store below ``W`` is
ignored by reads until a compaction, or a store opened afterwards, moves it to the cold tier.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from valueloop.schema import POINT_SCHEMA, empty_points
from valueloop.store.base import (
    DEFAULT_AGGREGATES,
    Aggregate,
    StoreInfo,
    TimeSeriesStore,
    WriteReport,
    check_aggregates,
    prepare_batch,
)
from valueloop.store.duckdb import buckets_sql
from valueloop.store.parquet import ParquetTier, replace_durably

WATERMARK_FILE = "_watermark.json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST, LATEST = EPOCH, datetime(2200, 1, 1, tzinfo=UTC)  # where check() expects every ts

_MICROSECOND = timedelta(microseconds=1)
_AGGREGATE_TYPES = {"count": pa.int64(), "worst": POINT_SCHEMA.field("quality").type}
_DUPLICATES = (
    "SELECT coalesce(sum(copies - 1), 0) FROM (SELECT count(*) AS copies FROM {}_points "
    "GROUP BY series_id, ts HAVING count(*) > 1)"
)


@dataclass(frozen=True)
class Check:
    """One invariant of a tiered store and how many points break it (0: it holds)."""

    name: str
    violations: int


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


def _stamp(moment: datetime) -> pa.Scalar:
    return pa.scalar(moment, POINT_SCHEMA.field("ts").type)


def _bucket_ceiling(moment: datetime, every: timedelta) -> datetime:
    """The first epoch-aligned bucket boundary at or after ``moment``."""
    width = every // _MICROSECOND
    return EPOCH + _MICROSECOND * (-(-_micros(moment) // width) * width)


def _bucket_schema(aggs: Sequence[Aggregate]) -> pa.Schema:
    return pa.schema(
        [
            pa.field("series_id", pa.int32()),
            pa.field("bucket", pa.timestamp("us", tz="UTC")),
            *(pa.field(agg, _AGGREGATE_TYPES.get(agg, pa.float64())) for agg in aggs),
        ]
    )


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    return second if first is None else first if second is None else max(first, second)


def _earlier(first: datetime | None, second: datetime | None) -> datetime | None:
    return second if first is None else first if second is None else min(first, second)


def _sorted(tables: Sequence[pa.Table], keys: tuple[str, str], schema: pa.Schema) -> pa.Table:
    merged = pa.concat_tables([schema.empty_table(), *(table.cast(schema) for table in tables)])
    return merged.sort_by([(key, "ascending") for key in keys])


class TieredStore:
    """TimeSeriesStore over a ``hot`` store and a Parquet cold tier in ``cold_dir``.

    Not safe for two processes at once; the hot DuckDB store's file lock already prevents that.
    """

    def __init__(self, hot: TimeSeriesStore, cold_dir: Path) -> None:
        self.hot = hot
        self.cold = ParquetTier(cold_dir)
        self._lock = threading.RLock()
        self._watermark_file = self.cold.folder / WATERMARK_FILE
        self._watermark = self._load_watermark()
        self._settled = False  # leftovers of an interrupted compaction may lie around

    @property
    def watermark(self) -> datetime | None:
        """The cold tier holds the points before this instant; None before any compaction."""
        return self._watermark

    def _load_watermark(self) -> datetime | None:
        if not self._watermark_file.exists():
            return None
        micros = json.loads(self._watermark_file.read_text(encoding="utf-8"))["watermark_us"]
        return EPOCH + _MICROSECOND * int(micros)

    def _raise_watermark(self, moment: datetime) -> None:
        if self._watermark is not None and moment <= self._watermark:
            return
        temporary = self._watermark_file.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"watermark": moment.isoformat(), "watermark_us": _micros(moment)}),
            encoding="utf-8",
        )
        replace_durably(temporary, self._watermark_file)
        self._watermark = moment

    def close(self) -> None:
        """Close the hot store and the cold tier's connection."""
        self.cold.close()
        self.hot.close()

    # Writes ------------------------------------------------------------------------------------

    def write(self, batch: pa.Table) -> WriteReport:
        """Store a PointBatch: rows before the watermark in the cold tier, the others hot."""
        batch = prepare_batch(batch)
        with self._lock:
            self._settle()
            if self._watermark is None:
                return self.hot.write(batch)
            below = pc.less(batch.column("ts"), _stamp(self._watermark))
            cold, hot = batch.filter(below), batch.filter(pc.invert(below))
            reports = [
                tier.write(rows)
                for tier, rows in ((self.cold, cold), (self.hot, hot))
                if rows.num_rows
            ]
        return WriteReport(
            received=batch.num_rows,
            inserted=sum(report.inserted for report in reports),
            replaced=sum(report.replaced for report in reports),
        )

    def compact(self, before: datetime, progress: Callable[[datetime], None] | None = None) -> int:
        """Move the hot points with ``ts < before`` to the cold tier, one UTC day at a time, and
        raise the watermark to ``before``; return how many points moved.

        ``progress`` is called with the watermark after each day. Reads and writes may run
        between days.
        """
        moved = 0
        while True:
            with self._lock:
                moved += self._settle()
                starts = [tier.start for tier in self.hot.info() if tier.start is not None]
                first = min(starts, default=None)
                if first is None or first >= before:
                    self._raise_watermark(before)
                    return moved
                day = datetime.combine(first.astimezone(UTC).date(), time(), tzinfo=UTC)
                until = min(day + timedelta(days=1), before)
                moved += self._move(first, until)
            if progress is not None:
                progress(until)

    def _move(self, start: datetime | None, end: datetime) -> int:
        """Copy the hot points in ``[start, end)`` to the cold tier (they win over what it holds
        there), raise the watermark to ``end`` and delete them from the hot store."""
        self._settled = False
        points = self._hot_points(start, end)
        self.cold.write(points)
        self._raise_watermark(end)
        self.hot.delete_before(end)
        self._settled = True
        return int(points.num_rows)

    def _hot_points(self, start: datetime | None, end: datetime | None) -> pa.Table:
        """Every hot point in ``[start, end)``, through the hot store's Parquet export."""
        with self.cold.staging() as scratch:
            self.hot.export_parquet(scratch / "points.parquet", start, end)
            return pq.read_table(scratch / "points.parquet")

    def _settle(self) -> int:
        """Finish an interrupted compaction before changing anything: drop the cold copies at or
        above the watermark (the hot store holds them) and move the hot points below it to the
        cold tier (after a crash between raising the watermark and the hot delete, they equal
        the cold copies). Before the first watermark, reads and compactions ignore what the cold
        tier holds, and the next compaction overwrites it. Return how many hot points moved."""
        moved = 0
        if not self._settled and self._watermark is not None:
            self.cold.delete_from(self._watermark)
            moved = self._move(None, self._watermark)
        self._settled = True
        return moved

    def delete_before(self, before: datetime) -> int:
        """Retention: drop every point with ``ts < before`` from both tiers; return how many."""
        with self._lock:
            self._settle()
            cold = self.cold.delete_before(before)
            hot = self.hot.delete_before(before)
        return hot if self._watermark is None else cold + hot  # no watermark: nothing was cold

    # Reads -------------------------------------------------------------------------------------

    def read(
        self,
        series: Sequence[int],
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
    ) -> pa.Table:
        """Points of ``series`` with ``start <= ts < end``, sorted by series and time; the first
        ``limit`` of them if given (each tier reads at most ``limit``: across several series the
        first points of the whole may come from either)."""
        with self._lock:
            watermark = self._watermark
            if watermark is None:
                return self.hot.read(series, start, end, limit=limit)
            parts = []
            if start is None or start < watermark:
                early = _earlier(end, watermark)
                parts.append(self.cold.read(series, start, early, limit=limit))
            if end is None or end > watermark:
                parts.append(self.hot.read(series, _later(start, watermark), end, limit=limit))
        merged = _sorted(parts, ("series_id", "ts"), POINT_SCHEMA)
        return merged if limit is None else merged.slice(0, limit)

    def downsample(
        self,
        series: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        every: timedelta,
        aggs: Sequence[Aggregate] = DEFAULT_AGGREGATES,
    ) -> pa.Table:
        """Aggregate per series and UTC-aligned bucket of width ``every``; no empty buckets.

        Buckets from the first boundary at or after the watermark come from the hot store; the
        earlier ones are aggregated in DuckDB over the cold tier plus the hot points before that
        boundary. avg, min, max and last use finite values only; count counts every point.
        """
        check_aggregates(aggs, every)
        schema = _bucket_schema(aggs)
        with self._lock:
            watermark = self._watermark
            if watermark is None:
                return self.hot.downsample(series, start, end, every, aggs).cast(schema)
            split = _bucket_ceiling(watermark, every)
            parts = []
            if start is None or start < split:
                early = split if end is None else min(end, split)
                parts.append(self._downsample_early(series, start, early, watermark, every, aggs))
            if end is None or end > split:
                parts.append(self.hot.downsample(series, _later(start, split), end, every, aggs))
        return _sorted(parts, ("series_id", "bucket"), schema)

    def _downsample_early(
        self,
        series: Sequence[int],
        start: datetime | None,
        end: datetime,
        watermark: datetime,
        every: timedelta,
        aggs: Sequence[Aggregate],
    ) -> pa.Table:
        """Buckets of the points in ``[start, end)``, ``end`` being at most the first bucket
        boundary at or after ``watermark``: the cold tier plus the hot points before ``end``."""
        recent = self.hot.read(series, watermark, end) if end > watermark else empty_points()
        where, params = " AND ts < ?", [end]
        if start is not None:
            where, params = f"{where} AND ts >= ?", [*params, start]
        step = every // _MICROSECOND
        return self.cold.query(
            buckets_sql(
                "(SELECT * FROM cold_points WHERE ts < ? UNION ALL SELECT * FROM recent_points)",
                aggs,
                where,
            ),
            [step, step, watermark, list(series), *params],
            start=start,
            end=watermark,
            tables={"recent_points": recent},
        )

    def latest(self, series: Sequence[int]) -> pa.Table:
        """The newest point of each of ``series`` that has one."""
        with self._lock:
            watermark = self._watermark
            if watermark is None:
                return self.hot.latest(series)
            hot = self.hot.latest(series)
            hot = hot.filter(pc.greater_equal(hot.column("ts"), _stamp(watermark)))
            found = set(hot.column("series_id").to_pylist())
            cold = self.cold.latest([s for s in series if s not in found], before=watermark)
        return _sorted([hot, cold], ("series_id", "ts"), POINT_SCHEMA)

    def export_parquet(
        self, path: Path, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Write the points of both tiers in ``[start, end)`` to a zstd Parquet file."""
        with self._lock:
            watermark = self._watermark
            if watermark is None:
                self.hot.export_parquet(path, start, end)
                return
            parts = []
            if start is None or start < watermark:
                parts.append(self.cold.read(None, start, _earlier(end, watermark)))
            if end is None or end > watermark:
                parts.append(self._hot_points(_later(start, watermark), end))
        pq.write_table(_sorted(parts, ("series_id", "ts"), POINT_SCHEMA), path, compression="zstd")

    def info(self) -> list[StoreInfo]:
        """What each tier holds: ``hot`` then ``cold``."""
        with self._lock:
            return [*(replace(tier, tier="hot") for tier in self.hot.info()), self.cold.info()]

    def check(self) -> list[Check]:
        """Count the points breaking each invariant of the store; reads both tiers whole."""
        with self._lock:
            hot = self._hot_points(None, None)
            watermark = self._watermark
        both = "(SELECT * FROM cold_points UNION ALL SELECT * FROM hot_points)"
        above: tuple[str, list[Any]] = (
            ("true", []) if watermark is None else ("ts >= ?", [watermark])
        )
        below: tuple[str, list[Any]] = (
            ("false", []) if watermark is None else ("ts < ?", [watermark])
        )
        checks: list[tuple[str, str, list[Any]]] = [
            ("no duplicate (series_id, ts) in the cold tier", _DUPLICATES.format("cold"), []),
            ("no duplicate (series_id, ts) in the hot tier", _DUPLICATES.format("hot"), []),
            (
                "no (series_id, ts) in both tiers",
                "SELECT count(*) FROM cold_points JOIN hot_points USING (series_id, ts)",
                [],
            ),
            (
                f"every ts in [{EARLIEST:%Y-%m-%d}, {LATEST:%Y-%m-%d})",
                f"SELECT count(*) FROM {both} WHERE ts < ? OR ts >= ?",
                [EARLIEST, LATEST],
            ),
            (
                "cold tier below the watermark",
                f"SELECT count(*) FROM cold_points WHERE {above[0]}",
                above[1],
            ),
            (
                "hot tier at or above the watermark",
                f"SELECT count(*) FROM hot_points WHERE {below[0]}",
                below[1],
            ),
            ("quality in 0..2", f"SELECT count(*) FROM {both} WHERE quality > 2", []),
            (
                "non-finite values have quality 2 (bad)",
                f"SELECT count(*) FROM {both} "
                "WHERE NOT coalesce(isfinite(value), false) AND quality <> 2",
                [],
            ),
        ]
        return [
            Check(name, int(self.cold.query(sql, params, tables={"hot_points": hot})[0][0].as_py()))
            for name, sql, params in checks
        ]
