"""The TimeSeriesStore contract, run on every backend and compared with a plainly correct reference.

The tiered backend moves everything before ``BOUNDARY`` to its Parquet cold tier after each write
(``settle``), so every rule is also checked across the hot/cold boundary.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import hypothesis.strategies as st
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from tests.store.backends import BACKENDS
from tests.store.reference import EPOCH, ReferenceStore

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import TimeSeriesStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BOUNDARY = T0 + timedelta(minutes=30)


def points(rows: list[tuple[int, datetime, float, int]]) -> pa.Table:
    ids, ts, values, quality = zip(*rows, strict=True)
    return pa.table(
        {"series_id": list(ids), "ts": list(ts), "value": list(values), "quality": list(quality)},
        schema=POINT_SCHEMA,
    )


def settle(store: TimeSeriesStore) -> None:
    """Move the old points of a tiered store to its cold tier; other stores have one tier."""
    compact = getattr(store, "compact", None)
    if compact is not None:
        compact(before=BOUNDARY)


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    with BACKENDS[request.param](tmp_path) as opened:
        yield opened


def write(store: TimeSeriesStore, rows: list[tuple[int, datetime, float, int]]) -> None:
    store.write(points(rows))
    settle(store)


def test_round_trip_keeps_microseconds_and_values(store: TimeSeriesStore) -> None:
    rows = [
        (1, T0 + timedelta(microseconds=1), 0.1, 0),
        (1, T0 + timedelta(hours=1, microseconds=999_999), -1e300, 1),
        (2, T0, 42.0, 2),
        (2, datetime(1970, 1, 1, tzinfo=UTC), 5e-324, 0),
        (2, datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), 1.7976931348623157e308, 0),
    ]
    report = store.write(points(rows))
    settle(store)
    assert (report.received, report.inserted, report.replaced) == (5, 5, 0)
    back = store.read([1, 2])
    assert back.schema.equals(POINT_SCHEMA)
    assert back.to_pylist() == points(sorted(rows)).to_pylist()


def test_other_time_zones_are_converted_and_naive_times_refused(store: TimeSeriesStore) -> None:
    paris = datetime(2026, 3, 1, 1, 0, tzinfo=ZoneInfo("Europe/Paris"))
    batch = pa.table(
        {
            "series_id": pa.array([1], pa.int32()),
            "ts": pa.array([paris], pa.timestamp("us", tz="Europe/Paris")),
            "value": [1.0],
            "quality": pa.array([0], pa.uint8()),
        }
    )
    store.write(batch)
    assert store.read([1]).column("ts").to_pylist() == [T0]
    naive = batch.set_column(1, "ts", pa.array([datetime(2026, 3, 1)], pa.timestamp("us")))
    with pytest.raises(StoreError, match="naive timestamps"):
        store.write(naive)
    with pytest.raises(StoreError, match="lacks column 'quality'"):
        store.write(batch.drop_columns(["quality"]))


def test_same_batch_twice_is_stored_once_and_last_write_wins(store: TimeSeriesStore) -> None:
    batch = points([(1, T0, 1.0, 0), (1, T0 + timedelta(hours=1), 2.0, 0)])
    store.write(batch)
    settle(store)
    again = store.write(batch)
    settle(store)
    assert (again.inserted, again.replaced) == (0, 2)
    assert store.read([1]).num_rows == 2
    write(store, [(1, T0, 9.0, 1), (1, T0, 10.0, 0)])  # within a batch, the later row wins
    assert store.read([1]).column("value").to_pylist() == [10.0, 2.0]


def test_out_of_order_arrival_reads_back_in_order(store: TimeSeriesStore) -> None:
    write(store, [(3, T0 + timedelta(hours=2), 2.0, 0), (3, T0 + timedelta(hours=1), 1.0, 0)])
    write(store, [(3, T0, 0.0, 0), (3, T0 + timedelta(hours=3), 3.0, 0)])
    assert store.read([3]).column("value").to_pylist() == [0.0, 1.0, 2.0, 3.0]


def test_nan_and_inf_are_kept_with_quality_bad(store: TimeSeriesStore) -> None:
    write(store, [(4, T0, math.nan, 0), (4, T0 + timedelta(hours=1), math.inf, 0)])
    back = store.read([4])
    assert back.column("quality").to_pylist() == [2, 2]
    values = back.column("value").to_pylist()
    assert math.isnan(values[0]) and values[1] == math.inf


def test_range_reads_are_half_open(store: TimeSeriesStore) -> None:
    write(store, [(7, T0 + timedelta(minutes=m), float(m), 0) for m in (0, 10, 50, 130)])
    window = store.read([7], T0 + timedelta(minutes=10), T0 + timedelta(minutes=130))
    assert window.column("value").to_pylist() == [10.0, 50.0]
    assert store.read([8]).num_rows == 0


def test_downsample_aligned_buckets_without_empty_ones(store: TimeSeriesStore) -> None:
    rows = [(7, T0 + timedelta(minutes=m), float(m), 0) for m in (0, 10, 50, 130)]
    rows += [(7, T0 + timedelta(minutes=20), math.nan, 0), (8, T0 + timedelta(minutes=5), 1.0, 0)]
    rows += [(7, T0 + timedelta(minutes=140), 9.0, 1)]
    write(store, rows)
    buckets = store.downsample(
        [7], None, None, timedelta(hours=1), ("avg", "min", "max", "last", "count", "worst")
    )
    assert buckets.column("bucket").to_pylist() == [T0, T0 + timedelta(hours=2)]
    assert buckets.column("avg").to_pylist() == [20.0, 69.5]
    assert buckets.column("min").to_pylist() == [0.0, 9.0]
    assert buckets.column("max").to_pylist() == [50.0, 130.0]
    assert buckets.column("last").to_pylist() == [50.0, 9.0]
    assert buckets.column("count").to_pylist() == [4, 2]
    assert buckets.column("worst").to_pylist() == [2, 1]  # the NaN is stored bad
    window = store.downsample(
        [7, 8],
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=60),
        timedelta(minutes=7),
        ("count",),
    )
    assert [(r["series_id"], r["bucket"], r["count"]) for r in window.to_pylist()] == [
        (7, datetime(2026, 3, 1, 0, 6, tzinfo=UTC), 1),  # 7-minute buckets from the epoch
        (7, datetime(2026, 3, 1, 0, 20, tzinfo=UTC), 1),
        (7, datetime(2026, 3, 1, 0, 48, tzinfo=UTC), 1),
        (8, datetime(2026, 2, 28, 23, 59, tzinfo=UTC), 1),
    ]
    with pytest.raises(StoreError, match="unknown aggregates"):
        store.downsample([7], None, None, timedelta(hours=1), ("median",))  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="positive"):
        store.downsample([7], None, None, timedelta(0))


def _odd_widths_rows() -> list[tuple[int, datetime, float, int]]:
    """Points for buckets of 1.5 days, 90 s and 7 ms on both sides of ``BOUNDARY``: every 7 h 13
    min for eight days, every 37 s for 40 minutes and every 3 ms for 0.3 s, some not finite."""
    step = {
        1: timedelta(hours=7, minutes=13),
        2: timedelta(seconds=37),
        3: timedelta(milliseconds=3),
    }
    reach = {1: 13, 2: 32, 3: 50}
    rows = []
    for sid, every in step.items():
        for k in range(-reach[sid], reach[sid] + 1):
            value = math.nan if k % 11 == 0 else math.inf if k % 17 == 0 else k * 0.25 - sid
            rows.append((sid, BOUNDARY + k * every, value, abs(k) % 3))
    return rows


@pytest.mark.parametrize(
    "every",
    [timedelta(days=1.5), timedelta(seconds=90), timedelta(milliseconds=7)],
    ids=["1.5d", "90s", "7ms"],
)
def test_downsample_of_any_width_matches_the_reference_across_tiers(
    store: TimeSeriesStore, every: timedelta
) -> None:
    rows = _odd_widths_rows()
    write(store, rows)
    reference = ReferenceStore()
    reference.write(points(rows))
    aggs = ("avg", "min", "max", "last", "count", "worst")
    odd = timedelta(microseconds=1_234)  # windows not on bucket boundaries, spanning the tiers
    windows = [
        (None, None),
        (BOUNDARY - timedelta(days=2) - odd, BOUNDARY + timedelta(days=1) + odd),
        (BOUNDARY - timedelta(minutes=7) + odd, BOUNDARY + timedelta(minutes=5) - odd),
        (BOUNDARY - timedelta(milliseconds=40) + odd, BOUNDARY + timedelta(milliseconds=60)),
    ]
    for start, end in windows:
        got = store.downsample([1, 2, 3], start, end, every, aggs).to_pylist()
        want = reference.downsample([1, 2, 3], every, start, end)
        assert [(b["series_id"], b["bucket"], b["count"], b["worst"]) for b in got] == [
            (b["series_id"], b["bucket"], b["count"], b["worst"]) for b in want
        ], (start, end)
        for agg in ("avg", "min", "max", "last"):
            assert _same_values([b[agg] for b in got], [b[agg] for b in want]), (agg, start, end)


def test_latest_per_series(store: TimeSeriesStore) -> None:
    write(store, [(7, T0, 1.0, 0), (7, T0 + timedelta(hours=2), 2.0, 1), (8, T0, 3.0, 0)])
    latest = store.latest([7, 8, 9])
    assert latest.schema.equals(POINT_SCHEMA)
    assert (
        latest.to_pylist()
        == points([(7, T0 + timedelta(hours=2), 2.0, 1), (8, T0, 3.0, 0)]).to_pylist()
    )


def test_retention_drops_points_before_the_cut(store: TimeSeriesStore) -> None:
    write(store, [(5, T0 + timedelta(minutes=m), float(m), 0) for m in range(0, 120, 10)])
    assert store.delete_before(T0 + timedelta(minutes=45)) == 5
    assert store.read([5]).column("value").to_pylist() == [float(m) for m in range(50, 120, 10)]
    assert store.delete_before(T0) == 0


def test_export_parquet_reads_back_identically_in_duckdb_and_pandas(
    store: TimeSeriesStore, tmp_path: Path
) -> None:
    rows = [(3, T0 + timedelta(seconds=15 * s), s * 0.5, s % 3) for s in range(400)]
    write(store, rows)
    target = tmp_path / "export.parquet"
    store.export_parquet(target, start=T0 + timedelta(minutes=10))
    expected = points(rows[40:])
    table = pq.read_table(target)
    assert table.schema.equals(POINT_SCHEMA)
    assert table.equals(expected)
    assert pq.ParquetFile(target).metadata.row_group(0).column(2).compression == "ZSTD"
    from_duckdb = duckdb.sql(
        f"SELECT * FROM read_parquet('{target}') ORDER BY series_id, ts"
    ).to_arrow_table()
    assert from_duckdb.cast(POINT_SCHEMA).equals(expected)
    frame = pd.read_parquet(target)
    assert frame["value"].tolist() == expected.column("value").to_pylist()
    assert [ts.to_pydatetime() for ts in frame["ts"]] == expected.column("ts").to_pylist()


def test_info_counts_points_and_series(store: TimeSeriesStore) -> None:
    write(store, [(1, T0, 1.0, 0), (1, T0 + timedelta(hours=1), 1.0, 0), (2, T0, 2.0, 0)])
    tiers = store.info()
    assert sum(tier.points for tier in tiers) == 3
    assert min(t.start for t in tiers if t.start is not None) == T0
    assert max(t.end for t in tiers if t.end is not None) == T0 + timedelta(hours=1)


# Property: any sequence of batches leaves every backend equal to the reference. -------------

SERIES = st.integers(min_value=1, max_value=4)
STEPS = st.integers(min_value=0, max_value=40)  # 5-minute steps around BOUNDARY: collisions
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e6, max_value=1e6),
)
ROW = st.tuples(SERIES, STEPS, VALUES, st.integers(min_value=0, max_value=2))
BATCHES = st.lists(st.lists(ROW, min_size=1, max_size=30), min_size=1, max_size=5)


def _batch(rows: list[tuple[int, int, float, int]]) -> pa.Table:
    return points(
        [(sid, T0 + timedelta(minutes=5 * step), value, q) for sid, step, value, q in rows]
    )


def _same_values(left: list[object], right: list[object]) -> bool:
    return all(
        (a is None and b is None)
        or (
            isinstance(a, float)
            and isinstance(b, float)
            and (a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9))
        )
        or a == b
        for a, b in zip(left, right, strict=True)
    )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=BATCHES, every_minutes=st.sampled_from([7, 15, 60]), cut_step=STEPS)
def test_every_backend_matches_the_reference(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    batches: list[list[tuple[int, int, float, int]]],
    every_minutes: int,
    cut_step: int,
) -> None:
    reference = ReferenceStore()
    with BACKENDS[backend](tmp_path_factory.mktemp(backend)) as store:
        for rows in batches:
            store.write(_batch(rows))
            settle(store)
            reference.write(_batch(rows))
        series = [1, 2, 3, 4]
        got, want = store.read(series), reference.read(series)
        assert got.column("series_id").to_pylist() == want.column("series_id").to_pylist()
        assert got.column("ts").to_pylist() == want.column("ts").to_pylist()
        assert _same_values(got.column("value").to_pylist(), want.column("value").to_pylist())
        assert got.column("quality").to_pylist() == want.column("quality").to_pylist()
        buckets = store.downsample(
            series,
            None,
            None,
            timedelta(minutes=every_minutes),
            ("avg", "min", "max", "last", "count", "worst"),
        ).to_pylist()
        expected = reference.downsample(series, timedelta(minutes=every_minutes))
        assert [(b["series_id"], b["bucket"], b["count"], b["worst"]) for b in buckets] == [
            (b["series_id"], b["bucket"], b["count"], b["worst"]) for b in expected
        ]
        for agg in ("avg", "min", "max", "last"):
            assert _same_values([b[agg] for b in buckets], [b[agg] for b in expected]), agg
        latest = [(r["series_id"], r["ts"]) for r in store.latest(series).to_pylist()]
        assert latest == [
            (sid, EPOCH + timedelta(microseconds=ts)) for sid, ts, _, _ in reference.latest(series)
        ]
        cut = T0 + timedelta(minutes=5 * cut_step)
        assert store.delete_before(cut) == reference.delete_before(cut)
        assert (
            store.read(series).column("ts").to_pylist()
            == reference.read(series).column("ts").to_pylist()
        )


def test_timestamps_outside_1970_2200_refuse_the_batch(store: TimeSeriesStore) -> None:
    rows = [(1, T0, 1.0, 0), (1, datetime(2200, 1, 1, tzinfo=UTC), 2.0, 0)]
    with pytest.raises(StoreError, match=r"column 'ts', row 1: 2200-01-01"):
        store.write(points(rows))
    with pytest.raises(StoreError, match=r"column 'ts', row 0: 1969-12-31"):
        store.write(points([(1, datetime(1969, 12, 31, 23, 59, tzinfo=UTC), 1.0, 0)]))
    assert store.read([1]).num_rows == 0
