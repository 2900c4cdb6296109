"""Store benchmark: ingest and queries of every backend beside its raw engine, in the same run.

10 million narrow points (1,000 series x 10,000 points, random walks at 0.01 resolution, one point
every 10 s, arriving in time order) are written at batch sizes 1k, 10k and 100k:

- DuckDB store vs a raw ``INSERT`` of the same Arrow batches into a bare table;
- PostgreSQL store vs a raw binary ``COPY`` of the same batches into a bare table (if PostgreSQL
  runs on 127.0.0.1:5432).

Then, on the 10k-batch stores, three queries beside the raw SQL on the bare table: downsample to
1-minute buckets over all series, latest per series, one series over one day. Last, bytes per
point on disk and in the Parquet cold tier.

    python bench/store.py [--points 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from common import write_result
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import TimeSeriesStore
from valueloop.store.duckdb import DuckDBStore
from valueloop.store.tiered import TieredStore

SERIES = 1_000
STEP = timedelta(seconds=10)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH_SIZES = (1_000, 10_000, 100_000)
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
console = Console()


def random_walks(points: int, seed: int = 0) -> pa.Table:
    """``points`` narrow points of SERIES random walks, in time order (then series order)."""
    steps = points // SERIES
    rng = np.random.default_rng(seed)
    walks = np.round(np.cumsum(rng.normal(0, 0.05, (steps, SERIES)), axis=0) + 100, 2)
    base = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    stamps = base + np.arange(steps, dtype=np.int64) * int(STEP / timedelta(microseconds=1))
    return pa.table(
        {
            "series_id": pa.array(np.tile(np.arange(1, SERIES + 1, dtype=np.int32), steps)),
            "ts": pa.array(np.repeat(stamps, SERIES), pa.timestamp("us", tz="UTC")),
            "value": pa.array(walks.ravel()),
            "quality": pa.array(np.zeros(steps * SERIES, dtype=np.uint8)),
        },
        schema=POINT_SCHEMA,
    )


def batches(table: pa.Table, size: int) -> list[pa.Table]:
    return [table.slice(offset, size) for offset in range(0, table.num_rows, size)]


def timed(action: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``action`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# DuckDB ----------------------------------------------------------------------------------------

BARE_DUCKDB = (
    "CREATE TABLE points (series_id INTEGER, ts TIMESTAMPTZ, value DOUBLE, quality UTINYINT)"
)


def duckdb_raw_ingest(
    parts: list[pa.Table], folder: Path
) -> tuple[float, duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(folder / "raw.duckdb"))
    connection.execute(BARE_DUCKDB).fetchall()
    started = time.perf_counter()
    for part in parts:
        connection.register("incoming", part)
        connection.execute("INSERT INTO points SELECT * FROM incoming").fetchall()
        connection.unregister("incoming")
    connection.execute("CHECKPOINT").fetchall()
    return time.perf_counter() - started, connection


def store_ingest(store: TimeSeriesStore, parts: list[pa.Table]) -> float:
    started = time.perf_counter()
    for part in parts:
        store.write(part)
    return time.perf_counter() - started


DUCKDB_RAW_QUERIES = {
    "downsample_1min_all": (
        "SELECT series_id, "
        "time_bucket(INTERVAL 1 minute, ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket, "
        "avg(value), min(value), max(value), arg_max(value, ts) FROM points "
        "GROUP BY ALL ORDER BY series_id, bucket"
    ),
    "latest_per_series": (
        "SELECT series_id, max(ts), arg_max(value, ts), arg_max(quality, ts) FROM points "
        "GROUP BY series_id ORDER BY series_id"
    ),
    "one_series_one_day": (
        "SELECT * FROM points WHERE series_id = 500 AND ts >= TIMESTAMPTZ '2026-01-01 06:00:00+00' "
        "AND ts < TIMESTAMPTZ '2026-01-02 06:00:00+00' ORDER BY ts"
    ),
}


def store_queries(store: TimeSeriesStore) -> dict[str, Callable[[], Any]]:
    every = list(range(1, SERIES + 1))
    day = T0 + timedelta(hours=6)
    return {
        "downsample_1min_all": lambda: store.downsample(every, None, None, timedelta(minutes=1)),
        "latest_per_series": lambda: store.latest(every),
        "one_series_one_day": lambda: store.read([500], day, day + timedelta(days=1)),
    }


def bench_duckdb(table: pa.Table, repeat: int, progress: Progress) -> dict[str, Any]:
    result: dict[str, Any] = {"ingest": {}, "queries": {}}
    task = progress.add_task("DuckDB", total=len(BATCH_SIZES))
    for size in BATCH_SIZES:
        parts = batches(table, size)
        with tempfile.TemporaryDirectory() as folder:
            raw_s, raw = duckdb_raw_ingest(parts, Path(folder))
            raw.close()
        with tempfile.TemporaryDirectory() as folder:
            store = DuckDBStore(Path(folder) / "store.duckdb")
            ours_s = store_ingest(store, parts)
            store.close()
        result["ingest"][str(size)] = {
            "points_per_s": table.num_rows / ours_s,
            "raw_points_per_s": table.num_rows / raw_s,
            "ratio": raw_s / ours_s,
        }
        progress.advance(task)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        parts = batches(table, 10_000)
        _, raw = duckdb_raw_ingest(parts, path)
        store = DuckDBStore(path / "store.duckdb")
        store_ingest(store, parts)
        store.execute("CHECKPOINT")
        for name, action in store_queries(store).items():
            ours = timed(action, repeat)
            bare = timed(lambda sql=DUCKDB_RAW_QUERIES[name]: raw.sql(sql).to_arrow_table(), repeat)
            result["queries"][name] = {"seconds": ours, "raw_seconds": bare, "ratio": ours / bare}
        raw.close()
        result["bytes_per_point_disk"] = store.info()[0].bytes / table.num_rows
        export = path / "export.parquet"
        store.export_parquet(export)
        result["bytes_per_point_export_parquet"] = export.stat().st_size / table.num_rows
        tiered = TieredStore(store, path / "cold")
        started = time.perf_counter()
        moved = tiered.compact(before=T0 + timedelta(days=3650))
        result["compact_points_per_s"] = moved / (time.perf_counter() - started)
        cold = next(info for info in tiered.info() if info.tier == "cold")
        result["bytes_per_point_cold_tier"] = cold.bytes / cold.points
        tiered.close()
    return result


# PostgreSQL ------------------------------------------------------------------------------------


def postgres_running() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


def bench_postgres(table: pa.Table, repeat: int, progress: Progress) -> dict[str, Any]:
    from pg_raw import PostgresRaw
    from valueloop.store.postgres import PostgresStore, drop_schema

    result: dict[str, Any] = {"ingest": {}, "queries": {}}
    task = progress.add_task("PostgreSQL", total=len(BATCH_SIZES))
    for size in BATCH_SIZES:
        parts = batches(table, size)
        with PostgresRaw(POSTGRES_URL) as raw:
            raw_s = raw.copy_in(parts)
        schema = f"vl_bench_{size}"
        drop_schema(POSTGRES_URL, schema)
        store = PostgresStore(POSTGRES_URL, schema=schema)
        ours_s = store_ingest(store, parts)
        if size == 10_000:
            with PostgresRaw(POSTGRES_URL) as raw:
                raw.copy_in(parts)
                raw.analyze()
                for name, action in store_queries(store).items():
                    ours = timed(action, repeat)
                    bare = timed(lambda name=name: raw.query(name), repeat)
                    result["queries"][name] = {
                        "seconds": ours,
                        "raw_seconds": bare,
                        "ratio": ours / bare,
                    }
            result["bytes_per_point_disk"] = store.info()[0].bytes / table.num_rows
        store.close()
        drop_schema(POSTGRES_URL, schema)
        result["ingest"][str(size)] = {
            "points_per_s": table.num_rows / ours_s,
            "raw_points_per_s": table.num_rows / raw_s,
            "ratio": raw_s / ours_s,
        }
        progress.advance(task)
    return result


# Report ----------------------------------------------------------------------------------------


def print_tables(results: dict[str, Any]) -> None:
    ingest = Table(title=f"ingest, {results['points']:,} points (points/s)")
    for column in ("backend", "batch", "store", "raw", "ratio"):
        ingest.add_column(column, justify="right")
    queries = Table(title="queries (seconds, median)")
    for column in ("backend", "query", "store", "raw SQL", "ratio"):
        queries.add_column(column, justify="right")
    for backend, result in results["backends"].items():
        for size, row in result["ingest"].items():
            ingest.add_row(
                backend,
                size,
                f"{row['points_per_s']:,.0f}",
                f"{row['raw_points_per_s']:,.0f}",
                f"{row['ratio']:.2f}",
            )
        for name, row in result["queries"].items():
            queries.add_row(
                backend,
                name,
                f"{row['seconds']:.4f}",
                f"{row['raw_seconds']:.4f}",
                f"{row['ratio']:.2f}",
            )
    console.print(ingest)
    console.print(queries)
    sizes = Table(title="bytes per point")
    sizes.add_column("where")
    sizes.add_column("bytes", justify="right")
    for backend, result in results["backends"].items():
        for key in (
            "bytes_per_point_disk",
            "bytes_per_point_export_parquet",
            "bytes_per_point_cold_tier",
        ):
            if key in result:
                sizes.add_row(
                    f"{backend} {key.removeprefix('bytes_per_point_')}", f"{result[key]:.2f}"
                )
    console.print(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=10_000_000, help="points to write")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query; the median is kept")
    args = parser.parse_args()
    table = random_walks(args.points)
    results: dict[str, Any] = {"points": table.num_rows, "series": SERIES, "backends": {}}
    with Progress(console=console) as progress:
        results["backends"]["duckdb"] = bench_duckdb(table, args.repeat, progress)
        if postgres_running():
            results["backends"]["postgres"] = bench_postgres(table, args.repeat, progress)
        else:
            console.print("PostgreSQL is not running on 127.0.0.1:5432: its rows are left out")
    print_tables(results)
    console.print(f"written {write_result('store', results)}")


if __name__ == "__main__":
    main()
