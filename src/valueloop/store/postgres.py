"""The PostgreSQL store (PostgreSQL 14 or later): points partitioned by UTC day, written by COPY.

Design:

- ``<schema>.points(series_id int4, ts timestamptz, value float8, quality int2)`` is partitioned by
  range of ``ts``, one partition ``points_YYYYMMDD`` per UTC day. The primary key
  ``(series_id, ts)`` serves every lookup. There is no default partition: timestamps must lie in
  [1970-01-01, 2200-01-01) UTC, and a batch holding another one is refused, naming the row.
- Partitions are created on demand before a write, in their own short transaction (created apart,
  then attached, so readers and writers never wait for it); the store remembers those it knows.
  Retention drops whole days as partitions and deletes inside the day it cuts.
- The write rule: a write applies :func:`valueloop.store.base.prepare_batch`, then runs one
  transaction, so a batch is stored whole or not at all. Its rows are encoded with numpy into
  PostgreSQL's binary COPY format (:mod:`valueloop.store.pgwire`) and copied into ``points`` (new
  points). If the primary key meets a point already stored, that COPY is rolled back to a
  savepoint and the rows go, one day at a time, through a per-connection temporary staging table
  into ``INSERT ... ON CONFLICT (series_id, ts) DO UPDATE`` on the day's partition, which counts
  new rows by ``xmax = 0`` and leaves rows equal to the stored ones alone. So writing a batch twice
  stores it once, and the last write wins. Rows are sorted by series and time, so a re-sent batch
  meets a stored point early and the abandoned COPY costs little.
- A :class:`psycopg_pool.ConnectionPool` holds the connections (opened with the store, closed by
  :meth:`PostgresStore.close`). Every statement takes its values as parameters; the schema is
  checked as a plain identifier and quoted.
- Reads pack each column into one ``bytea`` of big-endian values (``string_agg`` of the ``*send``
  functions) that numpy decodes without a Python object per value. Point reads and exports go in
  chunks of ``_CHUNK_ROWS`` points within one repeatable-read snapshot.
- Downsampling buckets come from ``date_bin`` from the UTC epoch. Sums run in time order in
  PostgreSQL over values below 2**510, where no float sum can overflow; the few buckets holding
  larger values are summed on the client, in the same order, so an overflow gives infinity as in
  Python instead of an error.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import (
    DEFAULT_AGGREGATES,
    Aggregate,
    StoreInfo,
    WriteReport,
    check_aggregates,
    prepare_batch,
)
from valueloop.store.pgwire import (
    Columns,
    Kind,
    packed,
    points_table,
    unpacked,
)

_Connection = psycopg.Connection[TupleRow]
_Cursor = psycopg.Cursor[TupleRow]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DAY_US = 86_400_000_000
_CHUNK_ROWS = 1_000_000
_CONNECT_TIMEOUT_S = 10
_HUGE = 2.0**510  # below this, no sum of up to 2**513 values overflows a float8
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PARTITION_NAME = re.compile(r"points_(\d{8})")
_STAGING = sql.Identifier("pg_temp", "valueloop_staging")
_FINITE = sql.SQL("value > '-Infinity'::float8 AND value < 'Infinity'::float8")

_POINT_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("series_id", "int4"),
    ("ts", "timestamptz"),
    ("value", "float8"),
    ("value_null", "bool"),
    ("quality", "int2"),
)
_POINT_SELECT = sql.SQL(
    "SELECT series_id, ts, coalesce(value, 0) AS value, value IS NULL AS value_null, quality"
)


_BUCKET_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("series_id", "int4"),
    ("bucket", "timestamptz"),
    ("points", "int8"),
    ("finites", "int8"),
    ("total", "float8"),
    ("huge", "int8"),
    ("low", "float8"),
    ("high", "float8"),
    ("last", "float8"),
    ("worst", "int2"),
)
_HEAVY_COLUMNS: tuple[tuple[str, Kind], ...] = (("number", "int8"), ("value", "float8"))


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise StoreError(f"{name} {moment} is a naive datetime; give it a time zone (UTC)")
    return moment


def _at(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _partition_name(day: int) -> str:
    return f"points_{date(1970, 1, 1) + timedelta(days=day):%Y%m%d}"


def _sequential_sums(
    groups: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Sum ``values`` left to right within each run of equal ``groups``, as Python's ``sum``."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], len(groups)] - 1
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array(
            [np.cumsum(values[a : b + 1])[-1] for a, b in zip(starts, ends, strict=True)]
        )


def _message(err: psycopg.Error) -> str:
    """A psycopg error on one line."""
    return " ".join(str(err).split())


def _location(url: str) -> str:
    """``user@host:port/dbname`` of a connection URL, without its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        raise StoreError(f"invalid PostgreSQL URL: {err}") from err
    user = f"{parts['user']}@" if parts.get("user") else ""
    host, port = parts.get("host", "localhost"), parts.get("port", 5432)
    return f"{user}{host}:{port}/{parts.get('dbname', '')}"


def _schema_identifier(schema: str) -> sql.Identifier:
    if not _SCHEMA_NAME.fullmatch(schema) or schema.startswith("pg_"):
        raise StoreError(
            f"invalid schema name {schema!r}: use 1 to 63 lowercase letters, digits and "
            "underscores, starting with a letter or underscore and not with 'pg_'"
        )
    return sql.Identifier(schema)


def _connect(url: str) -> _Connection:
    """One autocommit connection, with a clear error when the server cannot be reached."""
    where = _location(url)
    timeout = conninfo_to_dict(url).get("connect_timeout", _CONNECT_TIMEOUT_S)
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=timeout)
    except psycopg.Error as err:
        raise StoreError(
            f"cannot connect to PostgreSQL at {where}: {_message(err)}; check the URL, that the "
            "server runs and that it accepts this user and database"
        ) from err


def drop_schema(url: str, schema: str) -> None:
    """Drop ``schema`` and everything in it (for tests and teardown)."""
    identifier = _schema_identifier(schema)
    try:
        with _connect(url) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(identifier))
    except psycopg.Error as err:
        raise StoreError(f"cannot drop PostgreSQL schema {schema}: {_message(err)}") from err


class PostgresStore:
    """TimeSeriesStore on PostgreSQL: the ``points`` table of ``schema`` at ``url``."""

    def __init__(self, url: str, *, schema: str = "valueloop", pool_size: int = 4) -> None:
        if pool_size < 1:
            raise StoreError(f"pool_size must be at least 1, got {pool_size}")
        self.schema = schema
        self._schema = _schema_identifier(schema)
        self._points = sql.Identifier(schema, "points")
        self._where = f"{_location(url)} schema {schema}"
        self._lock_key = f"valueloop.{schema}"
        self._partitions_lock = threading.Lock()
        with _connect(url) as connection, self._errors("create the schema"):
            with connection.transaction():
                self._lock_schema(connection.cursor())
                exists = connection.execute(
                    "SELECT FROM pg_namespace WHERE nspname = %s", [schema]
                ).fetchone()
                if exists is None:  # CREATE SCHEMA needs a privilege even when the schema exists
                    connection.execute(sql.SQL("CREATE SCHEMA {}").format(self._schema))
                connection.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} (series_id int4 NOT NULL, "
                        "ts timestamptz NOT NULL, value float8, "
                        "quality int2 NOT NULL CHECK (quality BETWEEN 0 AND 255), "
                        "PRIMARY KEY (series_id, ts)) PARTITION BY RANGE (ts)"
                    ).format(self._points)
                )
            self._partitions = self._stored_partitions(connection.cursor())
        self._pool: ConnectionPool[_Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            # No server-side prepared statements: a generic plan does not see the array lengths
            # and time ranges it is given, and may scan everything where an index probe is right.
            kwargs={
                "autocommit": True,
                "prepare_threshold": None,
                "application_name": f"valueloop:{schema}",
            },
            configure=self._configure,
            check=ConnectionPool.check_connection,
            name=f"valueloop-{schema}",
        )
        try:
            self._pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except psycopg.Error as err:
            self._pool.close()
            raise StoreError(
                f"PostgreSQL store {self._where}: cannot open the connection pool: {_message(err)}"
            ) from err

    @staticmethod
    def _configure(connection: _Connection) -> None:
        """Give a new pooled connection its staging table, emptied at every commit.

        JIT compilation is off: it costs these short queries more than it saves.
        """
        connection.execute("SET jit = off")
        connection.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} (series_id int4, ts timestamptz, "
                "value float8, quality int2) ON COMMIT DELETE ROWS"
            ).format(_STAGING)
        )

    def close(self) -> None:
        """Close the connection pool; the store cannot be used afterwards."""
        self._pool.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._pool.closed

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn psycopg errors into a StoreError saying what failed."""
        try:
            yield
        except psycopg.Error as err:
            hint = (
                "; check that the server runs and accepts connections"
                if isinstance(err, psycopg.OperationalError)
                else ""
            )
            raise StoreError(
                f"PostgreSQL store {self._where}: cannot {action}: {_message(err)}{hint}"
            ) from err

    @contextmanager
    def _connection(self, action: str) -> Iterator[_Connection]:
        """A pooled connection; a failure in the block is reported as failing to ``action``."""
        if self._pool.closed:
            raise StoreError(f"PostgreSQL store {self._where} is closed; open a new one")
        with self._errors(action), self._pool.connection() as connection:
            yield connection

    @contextmanager
    def _snapshot(self, action: str) -> Iterator[_Cursor]:
        """A binary cursor in a read-only transaction that sees one snapshot throughout."""
        with (
            self._connection(action) as connection,
            connection.transaction(),
            connection.cursor(binary=True) as cursor,
        ):
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cursor

    def _lock_schema(self, cursor: _Cursor) -> None:
        """Serialise schema and partition changes of this store until the transaction ends."""
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self._lock_key])

    # Partitions --------------------------------------------------------------------------------

    def _stored_partitions(self, cursor: _Cursor) -> set[int]:
        """The days (since the epoch) that have a partition in the database."""
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [self._points.as_string()],
        )
        days = set()
        for (name,) in cursor.fetchall():
            match = _PARTITION_NAME.fullmatch(name)
            if match:
                day = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
                days.add((day - EPOCH).days)
        return days

    def _ensure_partitions(self, connection: _Connection, days: Sequence[int]) -> None:
        """Create the partitions of ``days`` this store does not know, in their own transaction.

        Each is created apart and then attached: ``ATTACH PARTITION`` locks ``points`` against other
        schema changes only, where ``CREATE TABLE ... PARTITION OF`` would stop every reader and
        writer until it commits.
        """
        with self._partitions_lock:
            missing = [day for day in days if day not in self._partitions]
        if not missing:
            return
        with connection.transaction(), connection.cursor() as cursor:
            self._lock_schema(cursor)
            stored = self._stored_partitions(cursor)
            for day in missing:
                if day in stored:
                    continue
                partition = sql.Identifier(self.schema, _partition_name(day))
                cursor.execute(
                    sql.SQL(
                        "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                    ).format(partition, self._points)
                )
                cursor.execute(
                    sql.SQL(
                        "ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        self._points,
                        partition,
                        sql.Literal(_at(day * _DAY_US)),
                        sql.Literal(_at((day + 1) * _DAY_US)),
                    )
                )
        with self._partitions_lock:
            self._partitions.update(missing)

    # Writes ------------------------------------------------------------------------------------

    def write(self, batch: pa.Table) -> WriteReport:
        """Store a PointBatch in one transaction; last write wins on ``(series_id, ts)``."""
        prepared = prepare_batch(batch)
        if prepared.num_rows == 0:
            return WriteReport(received=0, inserted=0, replaced=0)
        columns = Columns.of(prepared)
        days = columns.ts // _DAY_US
        with self._connection("write points") as connection:
            try:
                inserted = self._write(connection, columns, days)
            except (errors.CheckViolation, errors.UndefinedTable):
                # Another process may have dropped a partition this store knew (retention).
                stored = self._stored_partitions(connection.cursor())
                if stored.issuperset(np.unique(days).tolist()):
                    raise
                with self._partitions_lock:
                    self._partitions = stored
                inserted = self._write(connection, columns, days)
        return WriteReport(
            received=prepared.num_rows, inserted=inserted, replaced=prepared.num_rows - inserted
        )

    def _write(self, connection: _Connection, columns: Columns, days: npt.NDArray[np.int64]) -> int:
        """Store the rows; return how many were new."""
        self._ensure_partitions(connection, np.unique(days).tolist())
        with connection.transaction(), connection.cursor() as cursor:
            try:
                with connection.transaction():  # a savepoint: new points go straight in
                    self._copy(cursor, self._points, columns)
                return len(columns.ts)
            except errors.UniqueViolation:
                pass  # some points are stored already: upsert the batch day by day
            order = np.argsort(days, kind="stable")
            cuts = np.flatnonzero(np.diff(days[order])) + 1
            inserted = 0
            for number, rows in enumerate(np.split(order, cuts)):
                if number:
                    cursor.execute(sql.SQL("TRUNCATE {}").format(_STAGING))
                self._copy(cursor, _STAGING, columns.take(rows))
                inserted += self._upsert(cursor, int(days[rows[0]]))
            return inserted

    @staticmethod
    def _copy(cursor: _Cursor, table: sql.Identifier, columns: Columns) -> None:
        statement = sql.SQL(
            "COPY {} (series_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
        ).format(table)
        with cursor.copy(statement) as copy:
            copy.write(columns.copy_payload())

    def _upsert(self, cursor: _Cursor, day: int) -> int:
        """Upsert the staged rows into the partition of ``day``; return how many were new."""
        cursor.execute(
            sql.SQL(
                "WITH upserted AS (INSERT INTO {} AS p (series_id, ts, value, quality) "
                "SELECT series_id, ts, value, quality FROM {} "
                "ON CONFLICT (series_id, ts) DO UPDATE "
                "SET value = EXCLUDED.value, quality = EXCLUDED.quality "
                "WHERE p.quality <> EXCLUDED.quality "
                "OR float8send(p.value) IS DISTINCT FROM float8send(EXCLUDED.value) "
                "RETURNING p.xmax = 0 AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted) FROM upserted"
            ).format(sql.Identifier(self.schema, _partition_name(day)), _STAGING)
        )
        row = cursor.fetchone()
        return int(row[0]) if row else 0

    def delete_before(self, before: datetime) -> int:
        """Retention: drop every point with ``ts < before`` (whole days as partitions)."""
        cut = _aware(before, "before")
        with (
            self._connection("delete old points") as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            self._lock_schema(cursor)
            whole = sorted(
                day for day in self._stored_partitions(cursor) if _at((day + 1) * _DAY_US) <= cut
            )
            deleted = 0
            for day in whole:
                partition = sql.Identifier(self.schema, _partition_name(day))
                cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(partition))
                row = cursor.fetchone()
                deleted += int(row[0]) if row else 0
                cursor.execute(sql.SQL("DROP TABLE {}").format(partition))
            cursor.execute(sql.SQL("DELETE FROM {} WHERE ts < %s").format(self._points), [cut])
            deleted += cursor.rowcount
        with self._partitions_lock:
            self._partitions.difference_update(whole)
        return deleted

    # Reads -------------------------------------------------------------------------------------

    @staticmethod
    def _range(
        start: datetime | None, end: datetime | None, params: dict[str, Any]
    ) -> sql.Composable:
        """``AND`` conditions for ``start <= ts < end``, their values added to ``params``."""
        conditions = []
        if start is not None:
            params["start"] = _aware(start, "start")
            conditions.append(sql.SQL(" AND ts >= %(start)s"))
        if end is not None:
            params["end"] = _aware(end, "end")
            conditions.append(sql.SQL(" AND ts < %(end)s"))
        return sql.Composed(conditions)

    def _point_chunks(
        self,
        action: str,
        series: Sequence[int] | None,
        start: datetime | None,
        end: datetime | None,
        limit: int | None = None,
    ) -> Iterator[pa.Table]:
        """Points in ``[start, end)`` (of ``series``, or all) sorted by series and time, the first
        ``limit`` of them if given, in chunks of at most ``_CHUNK_ROWS`` rows from one snapshot.

        Each chunk resumes after the last point of the previous one: the rest of that series, then
        the later series. Two index-friendly branches: a row comparison ``(series_id, ts) > (a, t)``
        combined with ``series_id = ANY(...)`` makes PostgreSQL 15 walk the index once per element.
        """
        wanted = None if series is None else sorted({int(sid) for sid in series})
        params: dict[str, Any] = {}
        within = self._range(start, end, params)
        later = (
            sql.SQL("series_id > %(after_series)s::int8")
            if wanted is None
            else sql.SQL("series_id = ANY(%(later)s::int4[])")
        )
        branch = sql.SQL("SELECT series_id, ts, value, quality FROM {} WHERE ").format(self._points)
        query = packed(
            _POINT_COLUMNS,
            sql.SQL(
                "{select} FROM (({branch}series_id = %(after_series)s::int8 "
                "AND ts > %(after_ts)s{within} ORDER BY ts LIMIT %(limit)s) UNION ALL "
                "({branch}{later}{within} ORDER BY series_id, ts LIMIT %(limit)s)) AS chunk "
                "ORDER BY series_id, ts LIMIT %(limit)s"
            ).format(select=_POINT_SELECT, branch=branch, later=later, within=within),
        )
        after_series, after_ts = -(2**31) - 1, EPOCH  # before any series
        remaining = limit
        with self._snapshot(action) as cursor:
            while remaining is None or remaining > 0:
                rows = _CHUNK_ROWS if remaining is None else min(_CHUNK_ROWS, remaining)
                params |= {"after_series": after_series, "after_ts": after_ts, "limit": rows}
                if wanted is not None:
                    params["later"] = [sid for sid in wanted if sid > after_series]
                cursor.execute(query, params)
                table = points_table(unpacked(cursor.fetchone(), _POINT_COLUMNS))
                if table.num_rows:
                    yield table
                if table.num_rows < rows:
                    return
                if remaining is not None:
                    remaining -= table.num_rows
                after_series = table.column("series_id")[-1].as_py()
                after_ts = table.column("ts")[-1].as_py()

    def read(
        self,
        series: Sequence[int],
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        limit: int | None = None,
    ) -> pa.Table:
        """Points of ``series`` with ``start <= ts < end``, sorted by series and time; the first
        ``limit`` of them if given."""
        chunks = list(self._point_chunks("read points", series, start, end, limit))
        return pa.concat_tables(chunks) if chunks else POINT_SCHEMA.empty_table()

    def latest(self, series: Sequence[int]) -> pa.Table:
        """The newest point of each of ``series`` that has one."""
        query = packed(
            _POINT_COLUMNS,
            sql.SQL(
                "{} FROM (SELECT DISTINCT unnest(%s::int4[]) AS series_id) AS s "
                "CROSS JOIN LATERAL (SELECT ts, value, quality FROM {} AS p "
                "WHERE p.series_id = s.series_id ORDER BY ts DESC LIMIT 1) AS newest "
                "ORDER BY series_id"
            ).format(_POINT_SELECT, self._points),
        )
        with (
            self._connection("read the latest points") as connection,
            connection.cursor(binary=True) as cursor,
        ):
            cursor.execute(query, [[int(sid) for sid in series]])
            return points_table(unpacked(cursor.fetchone(), _POINT_COLUMNS))

    def downsample(
        self,
        series: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        every: timedelta,
        aggs: Sequence[Aggregate] = DEFAULT_AGGREGATES,
    ) -> pa.Table:
        """Aggregate per series and UTC-aligned bucket of width ``every``; no empty buckets.

        ``avg``, ``min``, ``max`` and ``last`` (the value of the latest point) take the finite
        values only and are null without one; ``count`` counts every point, ``worst`` is the
        highest quality code among them. Each series is
        aggregated on its own, its points ordered by bucket and time so that sums add in time
        order; ``last`` gathers a bucket's finite values into an array, so a bucket of tens of
        millions of points costs that much memory on the server.
        """
        check_aggregates(aggs, every)
        params: dict[str, Any] = {
            "every": every,
            "epoch": EPOCH,
            "series": sorted({int(sid) for sid in series}),
            "huge": _HUGE,
        }
        within = self._range(start, end, params)
        query = packed(
            _BUCKET_COLUMNS,
            sql.SQL(
                "SELECT s.series_id, b.* FROM unnest(%(series)s::int4[]) AS s(series_id) "
                "CROSS JOIN LATERAL (SELECT bucket, count(*) AS points, "
                "count(*) FILTER (WHERE finite) AS finites, "
                "coalesce(sum(value) FILTER (WHERE abs(value) < %(huge)s), 0) AS total, "
                "count(*) FILTER (WHERE finite AND abs(value) >= %(huge)s) AS huge, "
                "coalesce(min(value) FILTER (WHERE finite), 0) AS low, "
                "coalesce(max(value) FILTER (WHERE finite), 0) AS high, coalesce((array_agg(value) "
                "FILTER (WHERE finite))[count(*) FILTER (WHERE finite)], 0) AS last, "
                "max(quality) AS worst FROM (SELECT date_bin(%(every)s, ts, %(epoch)s) AS bucket, "
                "ts, value, quality, {finite} "
                "AS finite FROM {points} WHERE series_id = s.series_id{within} "
                "ORDER BY bucket, ts) AS binned GROUP BY bucket) AS b "
                "ORDER BY s.series_id, b.bucket"
            ).format(finite=_FINITE, points=self._points, within=within),
        )
        with self._snapshot("downsample points") as cursor:
            cursor.execute(query, params)
            found = unpacked(cursor.fetchone(), _BUCKET_COLUMNS)
            totals = found["total"]
            heavy = np.flatnonzero(found["huge"])
            if len(heavy):
                totals = totals.copy()
                totals[heavy] = self._heavy_sums(cursor, found, heavy, every, within, params)
        empty = found["finites"] == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            averages = totals / found["finites"]
        arrays: dict[str, pa.Array] = {
            "avg": pa.array(averages, pa.float64(), mask=empty),
            "min": pa.array(found["low"], pa.float64(), mask=empty),
            "max": pa.array(found["high"], pa.float64(), mask=empty),
            "last": pa.array(found["last"], pa.float64(), mask=empty),
            "count": pa.array(found["points"], pa.int64()),
            "worst": pa.array(found["worst"], POINT_SCHEMA.field("quality").type),
        }
        return pa.table(
            [
                pa.array(found["series_id"], pa.int32()),
                pa.array(found["bucket"], POINT_SCHEMA.field("ts").type),
                *(arrays[agg] for agg in aggs),
            ],
            names=["series_id", "bucket", *aggs],
        )

    def _heavy_sums(
        self,
        cursor: _Cursor,
        found: dict[str, npt.NDArray[Any]],
        heavy: npt.NDArray[np.intp],
        every: timedelta,
        within: sql.Composable,
        params: dict[str, Any],
    ) -> npt.NDArray[np.float64]:
        """Time-ordered sums of the finite values of the buckets ``heavy`` (rows of ``found``),
        which hold values too large to sum in PostgreSQL without an overflow error."""
        stamp = POINT_SCHEMA.field("ts").type
        starts = found["bucket"][heavy]
        cursor.execute(
            packed(
                _HEAVY_COLUMNS,
                sql.SQL(
                    "SELECT b.number, p.value FROM unnest(%(heavy_series)s::int4[], "
                    "%(heavy_starts)s::timestamptz[], %(heavy_ends)s::timestamptz[]) "
                    "WITH ORDINALITY AS b(series_id, low, high, number) "
                    "CROSS JOIN LATERAL (SELECT ts, value FROM {} WHERE series_id = b.series_id "
                    "AND ts >= b.low AND ts < b.high{} AND {}) AS p ORDER BY b.number, p.ts"
                ).format(self._points, within, _FINITE),
            ),
            params
            | {
                "heavy_series": found["series_id"][heavy].tolist(),
                "heavy_starts": pa.array(starts, stamp).to_pylist(),
                "heavy_ends": pa.array(
                    starts + every // timedelta(microseconds=1), stamp
                ).to_pylist(),
            },
        )
        values = unpacked(cursor.fetchone(), _HEAVY_COLUMNS)
        return _sequential_sums(values["number"], values["value"])

    def export_parquet(
        self, path: Path, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Write points in ``[start, end)`` to a zstd Parquet file sorted by series and time.

        The file appears complete or not at all: it is written beside ``path``, then renamed.
        """
        path = Path(path)
        partial = path.with_name(f".{path.name}.partial")
        try:
            with pq.ParquetWriter(partial, POINT_SCHEMA, compression="zstd") as writer:
                for chunk in self._point_chunks("export points", None, start, end):
                    writer.write_table(chunk)
            partial.replace(path)
        except OSError as err:
            raise StoreError(f"cannot write Parquet export {path}: {err}") from err
        finally:
            partial.unlink(missing_ok=True)

    def info(self) -> list[StoreInfo]:
        """Series, points, bytes on disk (partitions with their indexes) and time span."""
        with self._connection("read store statistics") as connection:
            row = connection.execute(
                sql.SQL(
                    "SELECT count(DISTINCT series_id), count(*), min(ts), max(ts), "
                    "(SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                    "FROM pg_partition_tree(to_regclass(%s)) WHERE isleaf) FROM {}"
                ).format(self._points),
                [self._points.as_string()],
            ).fetchone()
        if row is None:
            raise StoreError(f"PostgreSQL store {self._where}: statistics returned no row")
        series, points, start, end, size = row
        return [
            StoreInfo(
                tier="postgres",
                series=int(series),
                points=int(points),
                bytes=int(size),
                start=None if start is None else start.astimezone(UTC),
                end=None if end is None else end.astimezone(UTC),
            )
        ]
