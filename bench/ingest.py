"""Ingest benchmark: C-MAPSS replay -> validation -> DuckDB store, beside raw DuckDB inserts.

For each replay file, the whole ingest path (parse, timestamp, validate, idempotent write) is timed
and set beside two ceilings measured in the same run on the same Arrow table: a raw ``INSERT``
into a bare table, and a raw ``INSERT ... ON CONFLICT`` into a table with the store's primary key.

    python bench/ingest.py [--repeat 3]

Each repetition measures the three in turn; the table shows the median over repetitions of each
rate and of each per-repetition ratio (a ratio is never a best run over another run's ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.connectors.base import Delivery
from valueloop.datasets import data_dir
from valueloop.model.assets import SeriesSpec
from valueloop.packs.aviation import PACK
from valueloop.packs.aviation.fleet import fleets
from valueloop.packs.aviation.replay import CmapssReplaySource, FleetSeries
from valueloop.site import Site, open_site

FILES = ("test_FD001", "train_FD001", "train_FD004")


def _source(site: Site, file: Path) -> CmapssReplaySource:
    """The pack's replay of ``file``, each of its units an engine with the fleet's signals."""
    (fleet,) = fleets(site)
    spec = fleet.spec.model_copy(update={"batch_cycles": 50})
    units = CmapssReplaySource(spec, file=file).units()
    signals = fleet.series.signals
    assets = {unit: f"engine-{unit:03d}" for unit in units}
    specs = [
        SeriesSpec(f"{spec.prefix}/{asset}/{signal}", asset, signal, "", "benchmark")
        for asset in assets.values()
        for signal in signals
    ]
    ids = site.registry.ensure(specs).column("series_id").to_pylist()
    width = len(signals)
    series = FleetSeries(
        signals=signals,
        assets=assets,
        ids={a: tuple(ids[k * width : (k + 1) * width]) for k, a in enumerate(assets.values())},
    )
    return CmapssReplaySource(spec, series, file=file)


async def _deliveries(source: CmapssReplaySource) -> list[Delivery]:
    return [delivery async for delivery in source.deliveries()]


def _raw(points: list[pa.Table], ddl: str, insert: str) -> float:
    connection = duckdb.connect(str(Path(tempfile.mkdtemp()) / "raw.duckdb"))
    connection.execute(ddl).fetchall()
    started = time.perf_counter()
    for batch in points:
        connection.register("incoming", batch)
        connection.execute(insert).fetchall()
        connection.unregister("incoming")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def measure(name: str) -> dict[str, Any]:
    """Time the full ingest of one replay file and the raw ceilings on the same batches."""
    file = data_dir() / "cmapss" / f"{name}.txt.gz"
    with tempfile.TemporaryDirectory() as folder:
        site = open_site(PACK.site_file, folder)
        source = _source(site, file)
        started = time.perf_counter()
        report = asyncio.run(site.pipeline.run(source))
        ingest_s = time.perf_counter() - started
        batches = [d.points for d in asyncio.run(_deliveries(source))]
        site.close()
    points = sum(batch.num_rows for batch in batches)
    bare = _raw(
        batches,
        "CREATE TABLE points (series_id INTEGER, ts TIMESTAMPTZ, value DOUBLE, quality UTINYINT)",
        "INSERT INTO points SELECT * FROM incoming",
    )
    keyed = _raw(
        batches,
        "CREATE TABLE points (series_id INTEGER, ts TIMESTAMPTZ, value DOUBLE, quality UTINYINT, "
        "PRIMARY KEY (series_id, ts))",
        "INSERT INTO points SELECT * FROM incoming ON CONFLICT DO UPDATE "
        "SET value = excluded.value, quality = excluded.quality",
    )
    return {
        "file": name,
        "points": points,
        "deliveries": report.deliveries,
        "valueloop_points_per_s": points / ingest_s,
        "raw_insert_points_per_s": points / bare,
        "raw_upsert_points_per_s": points / keyed,
        "ratio_to_raw_insert": bare / ingest_s,
        "ratio_to_raw_upsert": keyed / ingest_s,
    }


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row of ``runs`` of a file: the median of every rate and ratio, and the runs."""
    first = runs[0]
    row: dict[str, Any] = {key: first[key] for key in ("file", "points", "deliveries")}
    for key, value in first.items():
        if isinstance(value, float):
            row[key] = median(run[key] for run in runs)
    row["runs"] = runs
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per file; medians are shown")
    args = parser.parse_args()
    rows = []
    for name in FILES:
        runs = [measure(name) for _ in range(args.repeat)]
        rows.append(medians(runs))
    table = Table(title="ingest: replay -> validate -> DuckDB store (points/s)")
    for column in ("file", "points", "valueloop", "raw INSERT", "ratio", "raw upsert", "ratio"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["file"],
            f"{row['points']:,}",
            f"{row['valueloop_points_per_s']:,.0f}",
            f"{row['raw_insert_points_per_s']:,.0f}",
            f"{row['ratio_to_raw_insert']:.2f}",
            f"{row['raw_upsert_points_per_s']:,.0f}",
            f"{row['ratio_to_raw_upsert']:.2f}",
        )
    Console().print(table)
    path = write_result("ingest", {"repeat": args.repeat, "rows": rows})
    Console().print(f"written {path}")


if __name__ == "__main__":
    main()
