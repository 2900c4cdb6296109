"""Arrivals: the newest time of each series, and each consumer's record of what came late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from valueloop.ingest.arrivals import Arrivals, Written
from valueloop.schema import POINT_SCHEMA

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def points(series_id: int, *seconds: int) -> pa.Table:
    return pa.table(
        {
            "series_id": pa.array([series_id] * len(seconds), pa.int32()),
            "ts": pa.array(
                [T0 + timedelta(seconds=s) for s in seconds], POINT_SCHEMA.field("ts").type
            ),
            "value": pa.array([1.0] * len(seconds), pa.float64()),
            "quality": pa.array([0] * len(seconds), pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_each_watcher_takes_the_earliest_write_of_each_series_and_whether_it_went_back() -> None:
    arrivals = Arrivals()
    arrivals.record(points(1, 0, 1, 2))  # before anyone watched
    writes = arrivals.watch()
    arrivals.record(points(1, 3, 4))
    arrivals.record(points(2, 100))
    assert writes.take() == {1: Written(at(3), False), 2: Written(at(100), True)}
    assert writes.take() == {}
    arrivals.record(points(2, 101))
    arrivals.record(points(2, 50, 60))  # a backlog behind what series 2 already had
    arrivals.record(points(1, 5))
    later = arrivals.watch()
    arrivals.record(points(1, 5))  # the newest sent again: not behind it
    assert writes.take() == {1: Written(at(5), False), 2: Written(at(50), True)}
    assert later.take() == {1: Written(at(5), False)}
    arrivals.record(points(1, 4))
    assert later.take() == {1: Written(at(4), True)}
    assert arrivals.reached([1, 2]) == at(5)
