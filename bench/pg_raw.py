"""The raw PostgreSQL ceiling for the store benchmark: binary COPY and plain SQL on a bare table."""

from __future__ import annotations

import time
from types import TracebackType

import psycopg
import pyarrow as pa

from valueloop.store.pgwire import binary_copy_payload

RAW_TABLE = "public.vl_bench_raw"
RAW_QUERIES = {
    "downsample_1min_all": (
        "SELECT series_id, date_bin(interval '1 minute', ts, timestamptz '1970-01-01 00:00:00+00') "
        "AS bucket, avg(value), min(value), max(value), "
        "(array_agg(value ORDER BY ts DESC))[1] FROM vl_bench_raw GROUP BY 1, 2 ORDER BY 1, 2"
    ),
    "latest_per_series": (
        "SELECT DISTINCT ON (series_id) series_id, ts, value, quality FROM vl_bench_raw "
        "ORDER BY series_id, ts DESC"
    ),
    "one_series_one_day": (
        "SELECT * FROM vl_bench_raw WHERE series_id = 500 AND ts >= '2026-01-01 06:00:00+00' "
        "AND ts < '2026-01-02 06:00:00+00' ORDER BY ts"
    ),
}


class PostgresRaw:
    """A bare, unindexed points table, written by binary COPY and read by plain SQL."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url, autocommit=True)

    def __enter__(self) -> PostgresRaw:
        self.connection.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        self.connection.execute(
            f"CREATE TABLE {RAW_TABLE} (series_id int4, ts timestamptz, value float8, quality int2)"
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.connection.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        self.connection.close()

    def copy_in(self, parts: list[pa.Table]) -> float:
        """COPY every batch in its own transaction; return the seconds it took."""
        started = time.perf_counter()
        for part in parts:
            payload = binary_copy_payload(part)
            with (
                self.connection.transaction(),
                self.connection.cursor() as cursor,
                cursor.copy(f"COPY {RAW_TABLE} FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.write(payload)
        return time.perf_counter() - started

    def analyze(self) -> None:
        """Refresh the planner's statistics."""
        self.connection.execute(f"ANALYZE {RAW_TABLE}")

    def query(self, name: str) -> int:
        """Run one of the raw queries; return the rows it gave."""
        return len(self.connection.execute(RAW_QUERIES[name]).fetchall())
