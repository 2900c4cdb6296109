"""What is particular to the DuckDB store: its high-water marks, reopening, the file lock.

The rules every backend follows are checked in ``test_contract.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
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


def test_reopened_store_still_replaces_old_points(tmp_path: Path) -> None:
    path = tmp_path / "reopen.duckdb"
    first = DuckDBStore(path)
    first.write(points([(1, T0, 1.5, 0), (1, T0 + timedelta(hours=1), 2.5, 0)]))
    first.close()
    second = DuckDBStore(path)
    report = second.write(points([(1, T0, 9.5, 0), (2, T0, 1.0, 0)]))
    assert (report.inserted, report.replaced) == (1, 1)
    assert second.read([1]).column("value").to_pylist() == [9.5, 2.5]
    second.close()


def test_appends_in_time_order_and_late_points_both_stay_unique(store: DuckDBStore) -> None:
    for minute in range(5):
        store.write(points([(s, T0 + timedelta(minutes=minute), float(s), 0) for s in (1, 2)]))
    late = store.write(points([(1, T0 + timedelta(seconds=30), 7.0, 0), (2, T0, 8.0, 0)]))
    assert (late.inserted, late.replaced) == (1, 1)
    assert store.read([1, 2]).num_rows == 11
    assert store.info()[0].points == 11


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


def test_negative_and_huge_series_ids_stay_idempotent(store: DuckDBStore) -> None:
    batch = points([(-5, T0, 1.0, 0), (2**31 - 1, T0, 2.0, 0)])
    store.write(batch)
    again = store.write(batch)
    assert (again.inserted, again.replaced) == (0, 2)
    assert store.read([-5, 2**31 - 1]).num_rows == 2


def test_buckets_may_be_a_day_and_a_half_wide(store: DuckDBStore) -> None:
    store.write(points([(1, T0 + timedelta(hours=12 * i), float(i), 0) for i in range(8)]))
    buckets = store.downsample([1], None, None, timedelta(hours=36), ("min", "count"))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + (T0 - epoch) // timedelta(hours=36) * timedelta(hours=36)
    assert buckets.column("bucket").to_pylist() == [
        first + timedelta(hours=36 * n) for n in range(3)
    ]
    assert sum(buckets.column("count").to_pylist()) == 8
    assert buckets.column("min").to_pylist()[0] == 0.0


def test_reads_beside_a_writer_see_whole_batches_only(store: DuckDBStore) -> None:
    import threading

    series = list(range(1, 41))
    done = threading.Event()
    seen: list[str] = []

    def write() -> None:
        try:
            for minute in range(60):
                at = T0 + timedelta(minutes=minute)
                store.write(points([(s, at, float(minute), 0) for s in series]))
                if minute % 10 == 9:  # a late batch replacing a whole earlier minute
                    again = T0 + timedelta(minutes=minute - 5)
                    store.write(points([(s, again, -float(minute), 0) for s in series]))
        finally:
            done.set()

    def read() -> None:
        reads = 0
        while not done.is_set() or reads < 3:
            table = store.read(series).to_pylist()
            per_series: dict[int, list[tuple[datetime, float]]] = {}
            for row in table:
                per_series.setdefault(row["series_id"], []).append((row["ts"], row["value"]))
            if len({tuple(rows) for rows in per_series.values()}) > 1:
                seen.append("read: series differ")
            newest = store.latest(series).column("value").to_pylist()
            if len(set(newest)) > 1:
                seen.append("latest: series differ")
            (counted,) = store.query("SELECT count(*) AS n FROM points").to_pylist()
            if counted["n"] % len(series):
                seen.append(f"query: {counted['n']} points")
            reads += 1

    threads = [threading.Thread(target=read), threading.Thread(target=read)]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen == []
    assert store.count() == 60 * len(series)
    assert set(store.latest(series).column("value").to_pylist()) == {59.0}


def test_a_read_does_not_wait_for_the_writer(store: DuckDBStore) -> None:
    import threading

    store.write(points([(1, T0, 1.5, 0)]))
    answers: list[object] = []
    reader = threading.Thread(target=lambda: answers.append(store.read([1]).num_rows))
    with store._lock:  # a long write under way
        reader.start()
        reader.join(timeout=10)
        assert answers == [1]


def test_reading_cursors_work_in_utc_and_changes_still_take_the_writer(
    store: DuckDBStore,
) -> None:
    import threading

    zones: list[object] = []
    reader = threading.Thread(
        target=lambda: zones.append(
            store.query("SELECT current_setting('TimeZone') AS tz").column("tz")[0].as_py()
        )
    )
    reader.start()
    reader.join(timeout=10)
    assert zones == ["UTC"]
    store.write(points([(1, T0, 1.5, 0)]))
    changed = store.query("UPDATE points SET value = 2.5 WHERE series_id = 1 RETURNING value")
    assert changed.column("value").to_pylist() == [2.5]
    assert store.read([1]).column("value").to_pylist() == [2.5]
    store.close()
    with pytest.raises(StoreError):
        store.read([1])
