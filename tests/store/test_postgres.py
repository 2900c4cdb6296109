"""What the PostgreSQL store adds to the contract: day partitions, the range rule, atomic COPY and
upsert, chunked reads, overflow-safe sums, connection errors and the pool's life cycle."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import sql
from tests.services import POSTGRES_URL, need_service
from tests.store.reference import ReferenceStore

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store import postgres
from valueloop.store.base import StoreInfo
from valueloop.store.postgres import PostgresStore, drop_schema

pytestmark = pytest.mark.services

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BIGGEST = 1.7976931348623157e308

Row = tuple[int, datetime, float | None, int]


def points(rows: Sequence[Row]) -> pa.Table:
    ids, ts, values, quality = zip(*rows, strict=True)
    return pa.table(
        {"series_id": list(ids), "ts": list(ts), "value": list(values), "quality": list(quality)},
        schema=POINT_SCHEMA,
    )


@pytest.fixture
def schema() -> Iterator[str]:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"vl_test_{uuid.uuid4().hex[:12]}"
    yield name
    drop_schema(POSTGRES_URL, name)


@pytest.fixture
def store(schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(POSTGRES_URL, schema=schema)
    yield opened
    opened.close()


def query(
    statement: sql.Composed | str, params: list[object] | None = None
) -> list[tuple[Any, ...]]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def partitions(schema: str) -> list[str]:
    return [
        name
        for (name,) in query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [f"{schema}.points"],
        )
    ]


def refuse_value(schema: str, value: float) -> None:
    """Make PostgreSQL fail any insert or update of ``value``, after the rows before it."""
    query(
        sql.SQL(
            "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.value = {} THEN RAISE EXCEPTION 'value refused by test'; END IF; "
            "RETURN NEW; END $$; CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {} "
            "FOR EACH ROW EXECUTE FUNCTION {}()"
        ).format(
            sql.Identifier(schema, "refuse"),
            sql.Literal(value),
            sql.Identifier(schema, "points"),
            sql.Identifier(schema, "refuse"),
        )
    )


def test_one_partition_per_utc_day_created_on_demand(store: PostgresStore, schema: str) -> None:
    assert partitions(schema) == []
    store.write(points([(1, T0 + timedelta(hours=h), float(h), 0) for h in range(0, 60, 6)]))
    assert partitions(schema) == ["points_20260301", "points_20260302", "points_20260303"]
    counts = query(
        sql.SQL("SELECT tableoid::regclass::text, count(*) FROM {} GROUP BY 1 ORDER BY 1").format(
            sql.Identifier(schema, "points")
        )
    )
    assert [count for _, count in counts] == [4, 4, 2]
    reopened = PostgresStore(POSTGRES_URL, schema=schema)  # finds the partitions already there
    try:
        assert reopened.write(points([(2, T0, 1.0, 0)])).inserted == 1
    finally:
        reopened.close()


def test_retention_drops_whole_days_and_deletes_inside_the_cut_day(
    store: PostgresStore, schema: str
) -> None:
    store.write(points([(1, T0 + timedelta(hours=h), float(h), 0) for h in range(0, 72, 6)]))
    assert store.delete_before(T0 + DAY + timedelta(hours=12)) == 6
    assert partitions(schema) == ["points_20260302", "points_20260303"]
    assert store.read([1]).column("value").to_pylist() == [float(h) for h in range(36, 72, 6)]
    # a day dropped here can be written again: its partition is created anew
    assert store.write(points([(1, T0, 9.0, 0)])).inserted == 1
    assert "points_20260301" in partitions(schema)


def test_a_partition_dropped_by_another_process_is_created_again(
    store: PostgresStore, schema: str
) -> None:
    store.write(points([(1, T0, 1.0, 0)]))
    query(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, "points_20260301")))
    report = store.write(points([(1, T0 + timedelta(hours=1), 2.0, 0)]))
    assert report.inserted == 1
    assert store.read([1]).column("value").to_pylist() == [2.0]


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "1969-12-31T23:59:59"),
        (datetime(2200, 1, 1, tzinfo=UTC), "2200-01-01T00:00:00"),
    ],
)
def test_timestamps_outside_1970_to_2200_are_refused_naming_the_row(
    store: PostgresStore, schema: str, moment: datetime, shown: str
) -> None:
    batch = points([(1, T0, 1.0, 0), (2, T0, 1.0, 0), (1, moment, 1.0, 0)])
    with pytest.raises(StoreError, match=rf"column 'ts', row 2: {shown}.* 1970-01-01..2200"):
        store.write(batch)
    assert store.info()[0].points == 0
    assert partitions(schema) == []


def test_a_batch_failing_during_copy_leaves_nothing(store: PostgresStore, schema: str) -> None:
    refuse_value(schema, 666.0)
    rows: list[Row] = [
        (sid, T0 + timedelta(minutes=m), 1.0, 0) for sid in (1, 2) for m in range(900)
    ]
    rows[-1] = (2, rows[-1][1], 666.0, 0)  # the very last row copied
    with pytest.raises(StoreError, match="value refused by test"):
        store.write(points(rows))
    assert store.info()[0].points == 0


def test_a_batch_failing_after_copy_in_the_upsert_leaves_nothing(
    store: PostgresStore, schema: str
) -> None:
    before = [(1, T0 + timedelta(hours=h), 1.0, 0) for h in range(48)]
    store.write(points(before))
    refuse_value(schema, 666.0)
    # replaces day one, adds to day two, and fails on the last row of day two
    update: list[Row] = [(1, T0 + timedelta(hours=h), 2.0, 1) for h in range(48)]
    update += [(1, T0 + DAY + timedelta(minutes=m), 2.0, 1) for m in range(1, 60)]
    update.append((1, T0 + 2 * DAY - timedelta(microseconds=1), 666.0, 0))
    with pytest.raises(StoreError, match="value refused by test"):
        store.write(points(update))
    assert store.read([1]).to_pylist() == points(before).to_pylist()


def test_write_reports_new_replaced_and_unchanged_rows(store: PostgresStore) -> None:
    first = store.write(points([(1, T0, 1.0, 0), (1, T0 + DAY, 2.0, 0), (2, T0, 3.0, 0)]))
    assert (first.received, first.inserted, first.replaced) == (3, 3, 0)
    # one unchanged, one changed value, one changed quality, one new, across two days
    rows: list[Row] = [
        (1, T0, 1.0, 0),
        (1, T0 + DAY, 2.5, 0),
        (2, T0, 3.0, 1),
        (2, T0 + DAY, 4.0, 0),
    ]
    second = store.write(points(rows))
    assert (second.received, second.inserted, second.replaced) == (4, 1, 3)
    assert store.read([1, 2]).to_pylist() == points(sorted(rows)).to_pylist()


def test_signed_zero_and_null_values_are_stored_as_written(store: PostgresStore) -> None:
    store.write(points([(1, T0, 0.0, 0), (1, T0 + timedelta(hours=1), 1.0, 0)]))
    store.write(points([(1, T0, -0.0, 0), (1, T0 + timedelta(hours=1), None, 0)]))
    back = store.read([1])
    assert math.copysign(1.0, back.column("value")[0].as_py()) == -1.0
    assert back.column("value").to_pylist()[1] is None
    assert back.column("quality").to_pylist() == [0, 2]  # a missing value is bad
    store.write(points([(2, T0, None, 0)]))  # through the COPY path too
    assert store.latest([2]).column("value").to_pylist() == [None]


def test_reads_and_exports_in_chunks_match_single_reads(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rows: list[Row] = [
        (sid, T0 + timedelta(hours=h), sid * 100.0 + h, 0) for sid in (1, 2, 3) for h in range(7)
    ]
    store.write(points(rows))
    whole = store.read([3, 1, 2, 1])
    window = store.read([1, 3], T0 + timedelta(hours=2), T0 + timedelta(hours=6))
    store.export_parquet(tmp_path / "whole.parquet", start=T0 + timedelta(hours=1))
    monkeypatch.setattr(postgres, "_CHUNK_ROWS", 4)
    assert store.read([3, 1, 2, 1]).equals(whole)
    assert whole.num_rows == 21
    assert store.read([1, 3], T0 + timedelta(hours=2), T0 + timedelta(hours=6)).equals(window)
    expected = [102.0, 103.0, 104.0, 105.0, 302.0, 303.0, 304.0, 305.0]
    assert window.column("value").to_pylist() == expected
    store.export_parquet(tmp_path / "chunked.parquet", start=T0 + timedelta(hours=1))
    chunked = pq.read_table(tmp_path / "chunked.parquet")
    assert chunked.equals(pq.read_table(tmp_path / "whole.parquet"))
    assert chunked.num_rows == 18
    assert pq.ParquetFile(tmp_path / "chunked.parquet").metadata.num_row_groups == 5
    assert not list(tmp_path.glob(".*partial"))


def test_sums_of_huge_values_overflow_like_python_instead_of_failing(
    store: PostgresStore,
) -> None:
    values = {
        1: [BIGGEST, 1.0, -BIGGEST],  # Python: (max + 1) - max = 0
        2: [BIGGEST, BIGGEST, -BIGGEST],  # the running sum overflows to inf and stays there
        3: [1e300, 2.5, 1e200, 5e-324],
        4: [1e6, 0.1, -1e6, math.nan, math.inf],
    }
    rows: list[Row] = [
        (sid, T0 + timedelta(minutes=5 * i), value, 0)
        for sid, series in values.items()
        for i, value in enumerate(series)
    ]
    store.write(points(rows))
    reference = ReferenceStore()
    reference.write(points(rows))
    buckets = store.downsample(list(values), None, None, timedelta(hours=1), ("avg", "count"))
    expected = reference.downsample(list(values), timedelta(hours=1))
    assert buckets.column("avg").to_pylist() == [bucket["avg"] for bucket in expected]
    assert buckets.column("avg").to_pylist()[:2] == [0.0, math.inf]
    # a window starting inside the bucket sums only the points in it
    window = store.downsample([1], T0 + timedelta(minutes=5), None, timedelta(hours=1), ("avg",))
    assert window.column("avg").to_pylist() == [(1.0 - BIGGEST) / 2]


def test_downsample_buckets_of_days_and_odd_widths_from_the_epoch(store: PostgresStore) -> None:
    rows: list[Row] = [(1, T0 + timedelta(hours=h), float(h), 0) for h in range(0, 96, 5)]
    store.write(points(rows))
    reference = ReferenceStore()
    reference.write(points(rows))
    for every in (DAY, timedelta(days=3), timedelta(minutes=7, microseconds=3)):
        got = store.downsample([1, 1], None, None, every, ("count", "last", "min"))
        assert got.column_names == ["series_id", "bucket", "count", "last", "min"]
        assert got.schema.field("bucket").type == pa.timestamp("us", tz="UTC")
        want = reference.downsample([1], every)
        assert [(b["bucket"], b["count"], b["last"]) for b in got.to_pylist()] == [
            (b["bucket"], b["count"], b["last"]) for b in want
        ]


def test_naive_bounds_are_refused(store: PostgresStore) -> None:
    with pytest.raises(StoreError, match="naive"):
        store.read([1], start=datetime(2026, 3, 1))
    with pytest.raises(StoreError, match="naive"):
        store.delete_before(datetime(2026, 3, 1))


def test_info_reports_the_postgres_tier(store: PostgresStore) -> None:
    assert store.info()[0] == StoreInfo("postgres", 0, 0, 0, None, None)
    store.write(points([(1, T0, 1.0, 0), (2, T0 + DAY, 2.0, 0), (2, T0 + 2 * DAY, 3.0, 0)]))
    (info,) = store.info()
    assert (info.tier, info.series, info.points) == ("postgres", 2, 3)
    assert (info.start, info.end) == (T0, T0 + 2 * DAY)
    assert info.bytes > 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://postgres@127.0.0.1:1/postgres", "cannot connect to PostgreSQL at "),
        (
            "postgresql://postgres@127.0.0.1:5432/vl_no_such_database",
            'database "vl_no_such_database" does not exist',
        ),
        ("postgresql://postgres@127.0.0.1/postgres?nonsense=1", "invalid PostgreSQL URL.*nonsense"),
    ],
)
def test_a_wrong_url_gives_a_clear_error(url: str, message: str) -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    with pytest.raises(StoreError, match=message):
        PostgresStore(url, schema="vl_test_unreachable")


@pytest.mark.parametrize("name", ["", "Points", "a-b", "pg_points", "x" * 64, 'a"; drop'])
def test_schema_names_must_be_plain_identifiers(name: str) -> None:
    with pytest.raises(StoreError, match="invalid schema name"):
        PostgresStore(POSTGRES_URL, schema=name)


def test_close_closes_the_pool_and_its_connections(schema: str) -> None:
    def connections() -> int:
        return int(
            query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [f"valueloop:{schema}"],
            )[0][0]
        )

    store = PostgresStore(POSTGRES_URL, schema=schema, pool_size=2)
    store.write(points([(1, T0, 1.0, 0)]))
    assert connections() >= 1
    store.close()
    assert store.closed
    deadline = time.monotonic() + 5.0  # a server backend leaves pg_stat_activity as it exits
    while connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connections() == 0
    with pytest.raises(StoreError, match="is closed"):
        store.read([1])
    store.close()  # closing twice is harmless


def test_drop_schema_removes_everything(schema: str) -> None:
    PostgresStore(POSTGRES_URL, schema=schema).close()
    assert query("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [schema]) == [(1,)]
    drop_schema(POSTGRES_URL, schema)
    assert query("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [schema]) == [(0,)]
    drop_schema(POSTGRES_URL, schema)  # already gone: nothing to do


def test_a_new_day_does_not_wait_for_open_readers(store: PostgresStore, schema: str) -> None:
    store.write(points([(1, T0, 1.0, 0)]))
    with psycopg.connect(POSTGRES_URL) as reader:  # a transaction holding a read lock on points
        reader.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "points")))
        done = threading.Event()

        def write_next_day() -> None:
            store.write(points([(1, T0 + DAY, 2.0, 0)]))
            done.set()

        writer = threading.Thread(target=write_next_day)
        writer.start()
        finished = done.wait(timeout=10)
        reader.rollback()
        writer.join()
    assert finished, "creating the partition waited for the reader"
    assert partitions(schema) == ["points_20260301", "points_20260302"]


def test_concurrent_overlapping_writes_store_each_point_once(store: PostgresStore) -> None:
    batches = [
        points(
            [
                (sid, T0 + timedelta(minutes=m), float(m + k), 0)
                for sid in (1, 2)
                for m in range(k, k + 50)
            ]
        )
        for k in (0, 25, 50)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(store.write, batches * 4))
    assert sum(report.inserted for report in reports) == 2 * 100
    assert store.read([1, 2]).num_rows == 2 * 100
