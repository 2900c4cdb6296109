"""The embedded default store: one DuckDB file holding points and every stage's tables.

Points live in ``points`` with a primary key on ``(series_id, ts)``; a write is one transaction
(``INSERT ... ON CONFLICT DO UPDATE``), so a batch is stored whole or not at all and a batch sent
twice is stored once. The same file holds the tables later stages write (predictions, plans, work
orders, audit, ledger, dead letters) through the small :class:`Database` interface, with
parameterised SQL only. One connection is shared under a lock: DuckDB allows one writing process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import DEFAULT_AGGREGATES, Aggregate, WriteReport

_POINTS_DDL = """
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE,
    quality UTINYINT NOT NULL,
    PRIMARY KEY (series_id, ts)
)
"""

_AGGREGATE_SQL: dict[str, str] = {
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "last": "arg_max(value, ts)",
    "count": "count(*)",
}


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
        try:
            self._connection = duckdb.connect(self.path)
            self._connection.execute("SET TimeZone = 'UTC'").fetchall()
            self._connection.execute(_POINTS_DDL).fetchall()
        except duckdb.IOException as err:
            raise StoreError(
                f"cannot open DuckDB store {self.path}: it is in use by another process (a running "
                f"'valueloop serve' or demo?); use its API or stop it first ({err})"
            ) from err
        except duckdb.Error as err:
            raise StoreError(f"cannot open DuckDB store {self.path}: {err}") from err
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the file; the store cannot be used afterwards."""
        with self._lock:
            self._connection.close()

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            try:
                yield self._connection
            except duckdb.Error as err:
                raise StoreError(f"DuckDB store {self.path}: {err}") from err

    def write(self, batch: pa.Table) -> WriteReport:
        """Store a PointBatch in one transaction; last write wins on ``(series_id, ts)``."""
        if not batch.schema.equals(POINT_SCHEMA):
            raise StoreError(f"batch schema must be {POINT_SCHEMA}, got {batch.schema}")
        if batch.num_rows == 0:
            return WriteReport(received=0, inserted=0, replaced=0)
        with self._cursor() as con:
            con.register("incoming", batch)
            try:
                con.execute("BEGIN TRANSACTION").fetchall()
                rows = con.execute(
                    "SELECT count(*) FROM incoming i JOIN points p "
                    "ON p.series_id = i.series_id AND p.ts = i.ts"
                ).fetchall()
                replaced = int(rows[0][0])
                con.execute(
                    "INSERT INTO points SELECT series_id, ts, value, quality FROM incoming "
                    "ON CONFLICT (series_id, ts) DO UPDATE "
                    "SET value = excluded.value, quality = excluded.quality"
                ).fetchall()
                con.execute("COMMIT").fetchall()
            except duckdb.Error:
                con.execute("ROLLBACK").fetchall()
                raise
            finally:
                con.unregister("incoming")
        return WriteReport(
            received=batch.num_rows, inserted=batch.num_rows - replaced, replaced=replaced
        )

    def read(
        self, series: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """Points of ``series`` with ``start <= ts < end``, sorted by series and time."""
        where, params = _range_clause(start, end)
        with self._cursor() as con:
            table = con.sql(
                "SELECT series_id, ts, value, quality FROM points "
                f"WHERE series_id IN (SELECT unnest(?::INTEGER[])){where} ORDER BY series_id, ts",
                params=[list(series), *params],
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
        unknown = [agg for agg in aggs if agg not in _AGGREGATE_SQL]
        if unknown or not aggs:
            raise StoreError(f"unknown aggregates {unknown}; choose from {sorted(_AGGREGATE_SQL)}")
        if every <= timedelta(0):
            raise StoreError("bucket width must be positive")
        where, params = _range_clause(start, end)
        columns = ", ".join(f"{_AGGREGATE_SQL[agg]} AS {agg}" for agg in aggs)
        with self._cursor() as con:
            return con.sql(
                "SELECT series_id, "
                "time_bucket(?::INTERVAL, ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') "
                f"AS bucket, {columns} FROM points "
                f"WHERE series_id IN (SELECT unnest(?::INTEGER[])){where} "
                "GROUP BY ALL ORDER BY series_id, bucket",
                params=[every, list(series), *params],
            ).to_arrow_table()

    def latest(self, series: Sequence[int]) -> pa.Table:
        """The newest point of each of ``series`` that has one."""
        with self._cursor() as con:
            table = con.sql(
                "SELECT series_id, max(ts) AS ts, arg_max(value, ts) AS value, "
                "arg_max(quality, ts) AS quality FROM points "
                "WHERE series_id IN (SELECT unnest(?::INTEGER[])) GROUP BY series_id "
                "ORDER BY series_id",
                params=[list(series)],
            ).to_arrow_table()
        return table.cast(POINT_SCHEMA)

    def count(self) -> int:
        """Number of stored points."""
        with self._cursor() as con:
            rows = con.execute("SELECT count(*) FROM points").fetchall()
        return int(rows[0][0])

    def export_parquet(
        self, path: Path, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Write points in ``[start, end)`` to a zstd Parquet file sorted by series and time."""
        where, params = _range_clause(start, end)
        with self._cursor() as con:
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
        """Run one parameterised query and return its rows as an Arrow table."""
        with self._cursor() as con:
            return con.sql(sql, params=list(params)).to_arrow_table()

    def append(self, table_name: str, rows: pa.Table) -> None:
        """Append Arrow rows to an existing table whose columns match by name."""
        if not table_name.isidentifier():
            raise StoreError(f"{table_name!r} is not a valid table name")
        if rows.num_rows == 0:
            return
        with self._cursor() as con:
            con.register("appended_rows", rows)
            try:
                columns = ", ".join(rows.column_names)
                con.execute(
                    f"INSERT INTO {table_name} ({columns}) SELECT {columns} FROM appended_rows"
                ).fetchall()
            finally:
                con.unregister("appended_rows")
