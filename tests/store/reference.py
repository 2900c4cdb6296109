"""A plainly correct in-memory TimeSeriesStore: the contract suite compares every backend to it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import prepare_batch

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


class ReferenceStore:
    """Points in a dict keyed by ``(series_id, ts in µs)``; each rule written out plainly."""

    def __init__(self) -> None:
        self.points: dict[tuple[int, int], tuple[float, int]] = {}

    def write(self, batch: pa.Table) -> None:
        for row in prepare_batch(batch).to_pylist():
            self.points[(row["series_id"], _us(row["ts"]))] = (row["value"], row["quality"])

    def rows(
        self, series: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> list[tuple[int, int, float, int]]:
        low = -math.inf if start is None else _us(start)
        high = math.inf if end is None else _us(end)
        return sorted(
            (sid, ts, value, quality)
            for (sid, ts), (value, quality) in self.points.items()
            if sid in set(series) and low <= ts < high
        )

    def read(
        self, series: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        rows = self.rows(series, start, end)
        return pa.table(
            {
                "series_id": [r[0] for r in rows],
                "ts": [EPOCH + timedelta(microseconds=r[1]) for r in rows],
                "value": [r[2] for r in rows],
                "quality": [r[3] for r in rows],
            },
            schema=POINT_SCHEMA,
        )

    def downsample(
        self,
        series: Sequence[int],
        every: timedelta,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, object]]:
        width = every // timedelta(microseconds=1)
        buckets: dict[tuple[int, int], list[tuple[int, float, int]]] = {}
        for sid, ts, value, quality in self.rows(series, start, end):
            buckets.setdefault((sid, ts - ts % width), []).append((ts, value, quality))
        result = []
        for (sid, start), members in sorted(buckets.items()):
            finite = [(ts, v) for ts, v, _ in members if math.isfinite(v)]
            values = [v for _, v in finite]
            result.append(
                {
                    "series_id": sid,
                    "bucket": EPOCH + timedelta(microseconds=start),
                    "avg": sum(values) / len(values) if values else None,
                    "min": min(values) if values else None,
                    "max": max(values) if values else None,
                    "last": max(finite)[1] if finite else None,
                    "count": len(members),
                    "worst": max(quality for _, _, quality in members),
                }
            )
        return result

    def latest(self, series: Sequence[int]) -> list[tuple[int, int, float, int]]:
        newest: dict[int, tuple[int, int, float, int]] = {}
        for row in self.rows(series):
            newest[row[0]] = row
        return [newest[sid] for sid in sorted(newest)]

    def delete_before(self, before: datetime) -> int:
        cut = _us(before)
        doomed = [key for key in self.points if key[1] < cut]
        for key in doomed:
            del self.points[key]
        return len(doomed)
