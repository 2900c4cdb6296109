"""The embedded default store: one DuckDB file holding points and every stage's tables.

Points live in a plain ``points`` table without an index: DuckDB's primary-key index costs about
four times the insert and fifteen times the disk. Idempotence comes from the write path instead.
The store keeps, per series, the newest timestamp it holds (its high-water mark); a batch whose
every point is newer than its series' mark (the usual case: data arriving in time order) is
appended with one ``INSERT``. Any other batch runs in one transaction that deletes the points it
replaces (last write wins) and inserts the batch. Either way a batch is stored whole or not at all
and a batch sent twice is stored once. DuckDB allows one writing process, so the mark is exact.

The same file holds the tables later stages write (predictions, plans, work orders, audit, ledger,
dead letters) through :meth:`DuckDBStore.execute`, :meth:`DuckDBStore.query` and
:meth:`DuckDBStore.append`, with parameterised SQL only. Writes go one at a time through one
connection under a lock; reads run at the same time on cursors of their own (DuckDB's per-thread
connections to the same database), each seeing only committed transactions, so a reader never sees
half a batch and two cores answer two reads at once.

A database file the store creates is private (mode 0600), and its write-ahead log, which DuckDB
removes at each checkpoint and creates anew, is kept at the database file's mode.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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

_POINTS_DDL = """
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE,
    quality UTINYINT NOT NULL
)
"""

_FINITE = "FILTER (WHERE isfinite(value))"
AGGREGATE_SQL: dict[str, str] = {  # DuckDB SQL of each aggregate, finite values only
    "avg": f"avg(value) {_FINITE}",
    "min": f"min(value) {_FINITE}",
    "max": f"max(value) {_FINITE}",
    "last": f"arg_max(value, ts) {_FINITE}",
    "count": "count(*)",
    "worst": "max(quality)",
}
_IN_SERIES = "list_contains(?::INTEGER[], series_id)"
"""The condition keeping the series of a list parameter: a filter in the scan, twice as fast for an
asset's six series as a semi-join on ``unnest``, and still faster for thousands."""
_NEVER = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRIVATE = 0o600
"""The mode of a database file the store creates."""
_SESSION = ("SET TimeZone = 'UTC'",)
"""What each connection to the database (the writing one and every reading cursor) sets first."""


@lru_cache(maxsize=1024)
def _reads_only(sql: str) -> bool:
    """Whether ``sql`` is one ``SELECT`` (no ``UPDATE ... RETURNING`` or other change)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return False  # the writing connection reports the error
    return len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT


class HighWaterMarks:
    """The newest timestamp (µs) stored for each series, in an array indexed by series id.

    Ids outside ``[0, MAX_TRACKED_ID)`` are not tracked: their batches always take the replacing
    path, which is correct for any batch, only slower.
    """

    MAX_TRACKED_ID = 1 << 26

    def __init__(self, series: np.ndarray, newest: np.ndarray) -> None:
        self._marks = np.full(1, _NEVER, np.int64)
        tracked = (series >= 0) & (series < self.MAX_TRACKED_ID)
        if tracked.any():
            self._fit(series[tracked])
            self._marks[series[tracked]] = newest[tracked]

    def _fit(self, ids: np.ndarray) -> bool:
        """Grow the array for ``ids``; False if some id cannot be tracked."""
        if int(ids.min()) < 0 or int(ids.max()) >= self.MAX_TRACKED_ID:
            return False
        top = int(ids.max())
        if top >= len(self._marks):
            grown = np.full(max(top + 1, 2 * len(self._marks)), _NEVER, np.int64)
            grown[: len(self._marks)] = self._marks
            self._marks = grown
        return True

    def all_newer(self, ids: np.ndarray, stamps: np.ndarray) -> bool:
        """Whether every point is newer than everything stored for its series."""
        return self._fit(ids) and bool(np.all(stamps > self._marks[ids]))

    def raise_to(self, ids: np.ndarray, stamps: np.ndarray) -> None:
        """Record that these points are stored."""
        if self._fit(ids):
            np.maximum.at(self._marks, ids, stamps)

    def oldest_newest(self, ids: np.ndarray) -> int | None:
        """The oldest of the newest timestamps (µs) of those of ``ids`` that have a point: the
        newest point of each is at or after it. None when some id is not tracked or none has one.

        It leaves the marks as they are, so that readers may ask while a writer raises them.
        """
        if len(ids) == 0 or int(ids.min()) < 0 or int(ids.max()) >= self.MAX_TRACKED_ID:
            return None
        known = self._marks
        marks = known[ids[ids < len(known)]]
        stored = marks[marks != _NEVER]
        return int(stored.min()) if len(stored) else None


def buckets_sql(points: str, aggs: Sequence[Aggregate], where: str = "") -> str:
    """DuckDB SQL aggregating ``points`` (a table or subquery) per series and epoch-aligned
    bucket, ``aggs`` by :data:`AGGREGATE_SQL`, ordered by series and bucket.

    Its parameters: the bucket width in µs twice, those of ``points``, the series ids, and those
    of ``where`` (conditions, each starting with ``AND``). Buckets are numbered by integer division
    of epoch microseconds: a third of the time of ``time_bucket()`` on TIMESTAMPTZ, and any
    width, a day and a half or 7 ms included.
    """
    columns = ", ".join(f"{AGGREGATE_SQL[agg]} AS {agg}" for agg in aggs)
    return (
        f"SELECT series_id, make_timestamptz(slot * ?) AS bucket, {', '.join(aggs)} "
        f"FROM (SELECT series_id, epoch_us(ts) // ? AS slot, {columns} FROM {points} "
        f"WHERE {_IN_SERIES}{where} "
        "GROUP BY series_id, slot) ORDER BY series_id, bucket"
    )


def _range_clause(start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if start is not None:
        clauses.append("ts >= ?")
        params.append(start)
    if end is not None:
        clauses.append("ts < ?")
        params.append(end)
    return "".join(f" AND {clause}" for clause in clauses), params


class DuckDBStore:
    """TimeSeriesStore on a DuckDB file (or ``":memory:"``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        in_file = self.path != ":memory:"
        created = in_file and not Path(self.path).exists()
        try:
            self._connection = duckdb.connect(self.path)
            if created:
                os.chmod(self.path, PRIVATE)
            self._mode = stat.S_IMODE(os.stat(self.path).st_mode) if in_file else None
            for setting in _SESSION:
                self._connection.execute(setting).fetchall()
            self._connection.execute(_POINTS_DDL).fetchall()
        except duckdb.IOException as err:
            raise StoreError(
                f"cannot open DuckDB store {self.path}: it is in use by another process (a running "
                f"'valueloop serve' or demo?); use its API or stop it first ({err})"
            ) from err
        except (duckdb.Error, OSError) as err:
            raise StoreError(f"cannot open DuckDB store {self.path}: {err}") from err
        self._lock = threading.RLock()
        self._idle: list[duckdb.DuckDBPyConnection] = []
        """Reading cursors not in use; as many are made as reads run at once."""
        self._idle_lock = threading.Lock()
        self._closed = False
        self._keep_log_mode()
        rows = self._connection.execute(
            "SELECT series_id, epoch_us(max(ts)) FROM points GROUP BY series_id"
        ).fetchall()
        self._high_water = HighWaterMarks(
            np.array([row[0] for row in rows], np.int64),
            np.array([row[1] for row in rows], np.int64),
        )

    def close(self) -> None:
        """Close the file; the store cannot be used afterwards."""
        with self._lock, self._idle_lock:
            self._closed = True
            for cursor in self._idle:
                cursor.close()
            self._idle.clear()
            self._connection.close()

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one read, run beside other reads and the writer, seeing only
        committed data."""
        with self._idle_lock:
            cursor = self._idle.pop() if self._idle else None
            if cursor is None:
                try:
                    cursor = self._connection.cursor()
                    for setting in _SESSION:
                        cursor.execute(setting).fetchall()
                except duckdb.Error as err:
                    raise StoreError(f"DuckDB store {self.path}: {err}") from err
        try:
            yield cursor
        except duckdb.Error as err:
            raise StoreError(f"DuckDB store {self.path}: {err}") from err
        finally:
            with self._idle_lock:
                if self._closed:
                    cursor.close()
                else:
                    self._idle.append(cursor)

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writing connection, one caller at a time."""
        with self._lock:
            try:
                yield self._connection
            except duckdb.Error as err:
                raise StoreError(f"DuckDB store {self.path}: {err}") from err
            finally:
                self._keep_log_mode()

    def _keep_log_mode(self) -> None:
        """Give the write-ahead log, if DuckDB has (re)created it, the database file's mode."""
        if self._mode is None:
            return
        wal = self.path + ".wal"
        # the log comes and goes with checkpoints; one owned by another user keeps its mode
        with suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(os.stat(wal).st_mode) != self._mode:
                os.chmod(wal, self._mode)

    def write(self, batch: pa.Table) -> WriteReport:
        """Store a PointBatch in one transaction; last write wins on ``(series_id, ts)``."""
        batch = prepare_batch(batch, sort=False)
        if batch.num_rows == 0:
            return WriteReport(received=0, inserted=0, replaced=0)
        ids = batch.column("series_id").to_numpy()
        stamps = batch.column("ts").cast(pa.int64()).to_numpy()
        with self._cursor() as con:
            con.register("incoming", batch)
            try:
                if self._high_water.all_newer(ids, stamps):
                    con.execute("INSERT INTO points SELECT * FROM incoming").fetchall()
                    replaced = 0
                else:
                    replaced = self._replace(con, batch)
            finally:
                con.unregister("incoming")
            self._high_water.raise_to(ids, stamps)
        return WriteReport(
            received=batch.num_rows, inserted=batch.num_rows - replaced, replaced=replaced
        )

    @staticmethod
    def _replace(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> int:
        """Delete the points ``incoming`` replaces and insert it, in one transaction."""
        earliest, latest = pc.min_max(batch.column("ts")).values()
        con.execute("BEGIN TRANSACTION").fetchall()
        try:
            deleted = con.execute(
                "DELETE FROM points USING incoming WHERE points.ts BETWEEN ? AND ? "
                "AND points.series_id = incoming.series_id AND points.ts = incoming.ts",
                [earliest.as_py(), latest.as_py()],
            ).fetchall()
            con.execute("INSERT INTO points SELECT * FROM incoming").fetchall()
            con.execute("COMMIT").fetchall()
        except duckdb.Error:
            con.execute("ROLLBACK").fetchall()
            raise
        return int(deleted[0][0]) if deleted else 0

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
        where, params = _range_clause(start, end)
        with self._reading() as con:
            table = con.sql(
                "SELECT series_id, ts, value, quality FROM points "
                f"WHERE {_IN_SERIES}{where} ORDER BY series_id, ts "
                "LIMIT ?",
                params=[list(series), *params, limit],
            ).to_arrow_table()
        return table.cast(POINT_SCHEMA)

    def downsample(
        self,
        series: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        every: timedelta,
        aggs: Sequence[Aggregate] = DEFAULT_AGGREGATES,
    ) -> pa.Table:
        """Aggregate per series and UTC-aligned bucket of width ``every``; no empty buckets."""
        check_aggregates(aggs, every)
        where, params = _range_clause(start, end)
        step = every // timedelta(microseconds=1)
        with self._reading() as con:
            return con.sql(
                buckets_sql("points", aggs, where),
                params=[step, step, list(series), *params],
            ).to_arrow_table()

    def latest(self, series: Sequence[int]) -> pa.Table:
        """The newest point of each of ``series`` that has one.

        Only points at or after the oldest of the series' high-water marks are read: with data
        arriving in time order, the last stretch of the table rather than all of it.
        """
        floor = self._high_water.oldest_newest(np.asarray(series, np.int64))
        since = "" if floor is None else " AND ts >= ?"
        params: list[Any] = [list(series)]
        if floor is not None:
            params.append(_EPOCH + timedelta(microseconds=floor))
        with self._reading() as con:
            table = con.sql(
                "SELECT series_id, max(ts) AS ts, arg_max(value, ts) AS value, "
                "arg_max(quality, ts) AS quality FROM points "
                f"WHERE {_IN_SERIES}{since} GROUP BY series_id "
                "ORDER BY series_id",
                params=params,
            ).to_arrow_table()
        return table.cast(POINT_SCHEMA)

    def count(self) -> int:
        """Number of stored points."""
        with self._reading() as con:
            rows = con.execute("SELECT count(*) FROM points").fetchall()
        return int(rows[0][0])

    def delete_before(self, before: datetime) -> int:
        """Retention: drop every point with ``ts < before``; return how many."""
        with self._cursor() as con:
            rows = con.execute("DELETE FROM points WHERE ts < ?", [before]).fetchall()
        return int(rows[0][0]) if rows else 0

    def info(self) -> list[StoreInfo]:
        """Series, points, bytes on disk and time range of the store."""
        with self._reading() as con:
            series, points, start, end = con.execute(
                "SELECT count(DISTINCT series_id), count(*), min(ts), max(ts) FROM points"
            ).fetchall()[0]
        files = [Path(self.path), Path(self.path + ".wal")] if self.path != ":memory:" else []
        size = sum(file.stat().st_size for file in files if file.exists())
        return [
            StoreInfo(
                tier="duckdb",
                series=int(series),
                points=int(points),
                bytes=size,
                start=start,
                end=end,
            )
        ]

    def export_parquet(
        self, path: Path, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Write points in ``[start, end)`` to a zstd Parquet file sorted by series and time."""
        where, params = _range_clause(start, end)
        with self._reading() as con:
            relation = con.sql(
                f"SELECT series_id, ts, value, quality FROM points WHERE true{where} "
                "ORDER BY series_id, ts",
                params=params,
            ).to_arrow_table()
        pq.write_table(relation.cast(POINT_SCHEMA), path, compression="zstd")

    # The tables of later stages -------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one parameterised statement; return the rows it changed (0 for DDL)."""
        with self._cursor() as con:
            result = con.execute(sql, list(params)).fetchall()
        return int(result[0][0]) if result else 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """Run one parameterised query and return its rows as an Arrow table; a ``SELECT``
        runs beside other reads, anything else one at a time with the writes."""
        with self._reading() if _reads_only(sql) else self._cursor() as con:
            return con.sql(sql, params=list(params)).to_arrow_table()

    def append(self, table_name: str, rows: pa.Table, *, unless: Sequence[str] = ()) -> int:
        """Append Arrow rows to an existing table whose columns match by name; return how many.

        With ``unless`` (key columns), a row whose key the table holds already is left out, so
        that appending the same rows again adds nothing.
        """
        names = [table_name, *rows.column_names, *unless]
        if not all(name.isidentifier() for name in names):
            raise StoreError(f"not valid table or column names: {', '.join(names)}")
        if rows.num_rows == 0:
            return 0
        with self._cursor() as con:
            con.register("appended_rows", rows)
            try:
                columns = ", ".join(rows.column_names)
                where = ""
                if unless:
                    match = " AND ".join(f"t.{key} = r.{key}" for key in unless)
                    where = f" WHERE NOT EXISTS (SELECT 1 FROM {table_name} t WHERE {match})"
                result = con.execute(
                    f"INSERT INTO {table_name} ({columns}) SELECT {columns} "
                    f"FROM appended_rows r{where}"
                ).fetchall()
            finally:
                con.unregister("appended_rows")
        return int(result[0][0]) if result else 0
