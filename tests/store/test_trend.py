"""A trend drawn at a chart's width from buckets of any width, identical on every backend."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from tests.store.backends import BACKENDS, duckdb_backend

from valueloop.schema import POINT_SCHEMA
from valueloop.store.trend import draw

START = datetime(2023, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC)
SPAN = timedelta(days=3 * 365 + 17, hours=5)
"""Drawn 100 pixels wide: buckets of 2 d 18 h 43 min 57 s, a width of no whole unit."""
CLUSTERS = (0, 300, 700, 1_100)
"""Series 1 has points for three days from each of these days of the span, none in between."""


def _readings() -> pa.Table:
    """Series 1: a sine every 15 minutes in each cluster, a few values not finite and the third
    cluster none; series 2: 50 points."""
    rows = [
        (1, START + timedelta(days=day, minutes=15 * i), value, i % 3)
        for day in CLUSTERS
        for i in range(3 * 96)
        for value in [math.nan if day == 700 or i % 97 == 0 else math.sin(i / 40)]
    ]
    rows += [(2, START + timedelta(days=20 * i, seconds=i), float(i), 0) for i in range(50)]
    return pa.table(
        {
            "series_id": [r[0] for r in rows],
            "ts": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "quality": [r[3] for r in rows],
        },
        schema=POINT_SCHEMA,
    )


@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - {"duckdb"}))
def test_a_trend_of_odd_buckets_is_drawn_alike_on_every_backend(
    backend: str, tmp_path: Path
) -> None:
    readings = _readings()
    with duckdb_backend(tmp_path) as plain:
        plain.write(readings)
        want = draw(plain, [2, 1], START, START + SPAN, 100)
    with BACKENDS[backend](tmp_path) as store:
        store.write(readings)
        compact = getattr(store, "compact", None)
        if compact is not None:  # the first half of the span in the cold tier
            compact(before=START + SPAN / 2)
        got = draw(store, [2, 1], START, START + SPAN, 100)
    assert [trace.mode for trace in want] == ["raw", "minmaxlttb"]
    assert len(want[1].gaps) == 3  # between the clusters
    assert any(value is None for _, value, _ in want[1].points)  # a bucket without finite value
    assert got == want
