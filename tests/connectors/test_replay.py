"""The C-MAPSS replay: timestamps, pacing, dead letters for unreadable rows, restoration."""

from __future__ import annotations

import asyncio
import gzip
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from valueloop.connectors.base import SetpointWrite
from valueloop.connectors.replay import CmapssReplaySource
from valueloop.datasets.cmapss import cmapss_path, load_cmapss
from valueloop.ingest.pipeline import IngestReport
from valueloop.model.assets import fleet_series
from valueloop.site import Site


def _source(site: Site, file: Path, **changes: object) -> CmapssReplaySource:
    spec = site.config.replay.model_copy(update=changes)
    assets = CmapssReplaySource.fleet_assets(site.config, file)
    catalogue = site.registry.ensure(fleet_series(site.config, assets))
    ids: dict[str, dict[str, int]] = {}
    for row in catalogue.to_pylist():
        ids.setdefault(row["asset"], {})[row["signal"]] = row["series_id"]
    return CmapssReplaySource(spec, site.config, ids, file=file)


def _first_engines(tmp_path: Path, engines: int, corrupt: dict[int, str] | None = None) -> Path:
    """A replay file of the first test engines, some lines replaced by ``corrupt``."""
    with gzip.open(cmapss_path("FD001", "test"), "rt") as handle:
        lines = handle.read().splitlines()
    kept = [line for line in lines if int(line.split()[0]) <= engines]
    for number, text in (corrupt or {}).items():
        kept[number - 1] = text
    target = tmp_path / "replay.txt"
    target.write_text("\n".join(kept) + "\n")
    return target


def test_replay_stores_every_value_at_the_right_time(site: Site, tmp_path: Path) -> None:
    source = _source(site, _first_engines(tmp_path, 3))
    report = asyncio.run(site.pipeline.run(source))
    rows = load_cmapss("FD001", "test").filter(pc.less_equal(pc.field("unit"), 3))
    assert report.points_received == rows.num_rows * 24 == site.points.info()[0].points
    assert report.dead_letters == 0
    ids = source.series_ids["engine-001"]
    stored = site.points.read([ids["sensor_11"]])
    engine_rows = rows.filter(pc.equal(pc.field("unit"), 1))
    assert stored.column("value").to_pylist() == engine_rows.column("sensor_11").to_pylist()
    end = site.config.fleet.observed_until
    assert stored.column("ts")[-1].as_py() == end
    assert stored.column("ts")[0].as_py() == end - timedelta(hours=12) * (engine_rows.num_rows - 1)


def test_text_in_a_numeric_column_is_dead_lettered_and_the_rest_stored(
    site: Site, tmp_path: Path
) -> None:
    lines = _first_engines(tmp_path, 2).read_text().splitlines()
    broken = lines[4].split()
    broken[7] = "n/a"
    file = _first_engines(tmp_path, 2, {5: " ".join(broken), 9: "1 9 0.1"})
    report = asyncio.run(site.pipeline.run(_source(site, file)))
    assert report.dead_letters == 2
    assert report.points_received == (len(lines) - 2) * 24 == site.points.info()[0].points
    letters = site.pipeline.dead_letters.list().to_pylist()
    reasons = sorted(letter["reason"] for letter in letters)
    assert reasons == [
        "replay.txt line 5: column sensor_3: not a number: n/a",
        "replay.txt line 9: expected 26 fields, found 3",
    ]
    assert {letter["source"] for letter in letters} == {"fleet-replay"}
    assert " ".join(broken) in {letter["raw"] for letter in letters}


def test_a_batch_sent_twice_is_stored_once(site: Site, tmp_path: Path) -> None:
    source = _source(site, _first_engines(tmp_path, 2))
    deliveries = asyncio.run(_collect(source))
    report = IngestReport()
    for delivery in deliveries + deliveries:
        site.pipeline.ingest(delivery, source.name, report)
    assert report.points_received == 2 * site.points.info()[0].points
    assert report.points_inserted == site.points.info()[0].points
    assert report.points_replaced == site.points.info()[0].points


async def _collect(source: CmapssReplaySource) -> list:  # type: ignore[type-arg]
    return [delivery async for delivery in source.deliveries()]


def test_speedup_paces_the_replay(site: Site, tmp_path: Path) -> None:
    # Engine 1 has 31 cycles: 3 deliveries of 15 cycles; 15 cycles of 12 h at 1.8e6 x take 0.36 s.
    file = _first_engines(tmp_path, 1)
    source = _source(site, file, speedup=1.8e6, batch_cycles=15)
    started = time.perf_counter()
    deliveries = asyncio.run(_collect(source))
    elapsed = time.perf_counter() - started
    assert len(deliveries) == 3
    assert elapsed == pytest.approx(3 * 15 * 12 * 3600 / 1.8e6, rel=0.3)


def test_an_overhaul_restores_the_engine(site: Site, tmp_path: Path) -> None:
    source = _source(site, _first_engines(tmp_path, 2))
    at = site.config.fleet.observed_until + timedelta(days=1)
    results = asyncio.run(
        source.write(
            [
                SetpointWrite("engine-002", "overhaul", 1.0, at, "WO-1"),
                SetpointWrite("engine-002", "fan_speed", 1.0, at, "WO-2"),
            ]
        )
    )
    assert [r.ok for r in results] == [True, False]
    (delivery,) = source.drain_restorations()
    assert source.drain_restorations() == []
    healthy = load_cmapss("FD001", "train").filter(pc.equal(pc.field("unit"), 2))
    cycles = site.config.replay.restored_cycles
    assert delivery.points.num_rows == cycles * 24
    ids = source.series_ids["engine-002"]
    sensor = delivery.points.filter(pc.equal(pc.field("series_id"), ids["sensor_4"]))
    assert sensor.column("value").to_pylist() == healthy.column("sensor_4").to_pylist()[:cycles]
    assert sensor.column("ts")[0].as_py() == at
