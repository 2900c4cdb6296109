"""The DuckDB store: exact round trip, idempotent writes, downsample, latest, Parquet export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.duckdb import DuckDBStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def points(rows: list[tuple[int, datetime, float, int]]) -> pa.Table:
    ids, ts, values, quality = zip(*rows, strict=True)
    return pa.table(
        {"series_id": list(ids), "ts": list(ts), "value": list(values), "quality": list(quality)},
        schema=POINT_SCHEMA,
    )


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    return DuckDBStore(tmp_path / "points.duckdb")


def test_round_trip_keeps_microseconds_and_values(store: DuckDBStore) -> None:
    batch = points(
        [
            (1, T0 + timedelta(microseconds=1), 0.1, 0),
            (1, T0 + timedelta(seconds=1, microseconds=999_999), -1e300, 1),
            (2, T0, 42.0, 2),
        ]
    )
    report = store.write(batch)
    assert (report.received, report.inserted, report.replaced) == (3, 3, 0)
    back = store.read([1, 2])
    assert back.column("ts").to_pylist() == batch.column("ts").to_pylist()
    assert back.column("value").to_pylist() == [0.1, -1e300, 42.0]
    assert back.column("quality").to_pylist() == [0, 1, 2]


def test_same_batch_twice_is_stored_once_and_last_write_wins(store: DuckDBStore) -> None:
    batch = points([(1, T0, 1.0, 0), (1, T0 + timedelta(minutes=1), 2.0, 0)])
    store.write(batch)
    again = store.write(batch)
    assert (again.inserted, again.replaced) == (0, 2)
    assert store.count() == 2
    store.write(points([(1, T0, 9.0, 1)]))
    assert store.read([1]).column("value").to_pylist() == [9.0, 2.0]


def test_wrong_schema_is_refused(store: DuckDBStore) -> None:
    bad = pa.table({"series_id": [1], "ts": [T0], "value": [1.0]})
    with pytest.raises(StoreError, match="batch schema"):
        store.write(bad)


def test_read_range_downsample_latest(store: DuckDBStore) -> None:
    rows = [(7, T0 + timedelta(minutes=m), float(m), 0) for m in (0, 10, 50, 130)]
    rows.append((8, T0 + timedelta(minutes=5), 100.0, 0))
    store.write(points(rows))
    window = store.read([7], T0 + timedelta(minutes=10), T0 + timedelta(minutes=130))
    assert window.column("value").to_pylist() == [10.0, 50.0]
    buckets = store.downsample(
        [7], None, None, timedelta(hours=1), ("avg", "min", "max", "last", "count")
    )
    assert buckets.column("bucket").to_pylist() == [T0, T0 + timedelta(hours=2)]
    assert buckets.column("avg").to_pylist() == [20.0, 130.0]
    assert buckets.column("last").to_pylist() == [50.0, 130.0]
    assert buckets.column("count").to_pylist() == [3, 1]
    latest = store.latest([7, 8, 9])
    assert latest.column("series_id").to_pylist() == [7, 8]
    assert latest.column("value").to_pylist() == [130.0, 100.0]
    with pytest.raises(StoreError, match="unknown aggregates"):
        store.downsample([7], None, None, timedelta(hours=1), ("median",))  # type: ignore[arg-type]


def test_export_parquet_reads_back_identically(store: DuckDBStore, tmp_path: Path) -> None:
    batch = points([(3, T0 + timedelta(seconds=s), s * 0.5, 0) for s in range(100)])
    store.write(batch)
    target = tmp_path / "export.parquet"
    store.export_parquet(target, start=T0 + timedelta(seconds=10))
    table = pq.read_table(target)
    assert table.num_rows == 90
    assert table.schema.equals(POINT_SCHEMA)
    assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == "ZSTD"
    assert table.column("value").to_pylist() == [s * 0.5 for s in range(10, 100)]


def test_store_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "reopen.duckdb"
    first = DuckDBStore(path)
    first.write(points([(1, T0, 1.5, 0)]))
    first.close()
    assert DuckDBStore(path).read([1]).column("value").to_pylist() == [1.5]


def test_a_store_held_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="in use by another process"):
            DuckDBStore(path)
    finally:
        holder.kill()
        holder.wait()
