"""The C-MAPSS replay: timestamps, windows, pacing, dead letters, restoration of an engine."""

from __future__ import annotations

import asyncio
import gzip
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valueloop.connectors.runner import build_sources
from valueloop.datasets.cmapss import cmapss_path, load_cmapss
from valueloop.errors import ActionError
from valueloop.ingest.pipeline import IngestReport
from valueloop.packs.aviation.fleet import fleets
from valueloop.packs.aviation.replay import CmapssReplaySource
from valueloop.site import Site


def _source(site: Site, file: Path, **changes: object) -> CmapssReplaySource:
    (fleet,) = fleets(site)
    return CmapssReplaySource(fleet.spec.model_copy(update=changes), fleet.series, file=file)


def _id(source: CmapssReplaySource, asset: str, signal: str) -> int:
    assert source.series is not None
    return source.series.ids[asset][source.series.signals.index(signal)]


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
    stored = site.points.read([_id(source, "engine-001", "sensor_11")])
    engine_rows = rows.filter(pc.equal(pc.field("unit"), 1))
    assert stored.column("value").to_pylist() == engine_rows.column("sensor_11").to_pylist()
    end = source.spec.observed_until
    assert stored.column("ts")[-1].as_py() == end
    assert stored.column("ts")[0].as_py() == end - timedelta(hours=12) * (engine_rows.num_rows - 1)


def test_windows_of_the_replay_add_up_to_its_history(site: Site, tmp_path: Path) -> None:
    source = _source(site, _first_engines(tmp_path, 3), batch_cycles=7)
    first = source.first_instant()
    assert first is not None
    end = source.spec.observed_until
    middle = first + (end - first) / 2
    early, late = source.batches(None, middle), source.batches(middle, end)
    assert source.batches(end, end + timedelta(days=9)) == []
    stamps = pa.concat_tables(early).column("ts")
    assert pc.max(stamps).as_py() <= middle
    assert pc.min(pa.concat_tables(late).column("ts")).as_py() > middle
    together = pa.concat_tables([*early, *late])
    assert together.num_rows == source.history().num_rows
    assert all(len(set(b.column("ts").to_pylist())) <= 7 for b in early + late)


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


async def _collect(source: CmapssReplaySource) -> list[Any]:
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
    at = source.spec.observed_until + timedelta(days=1)
    assert source.restore("engine-002", at).startswith("engine restored")
    with pytest.raises(ActionError, match="only engines of its fleet"):
        source.restore("engine-999", at)
    (delivery,) = source.drain_restorations()
    assert source.drain_restorations() == []
    healthy = load_cmapss("FD001", "train").filter(pc.equal(pc.field("unit"), 2))
    cycles = source.spec.restored_cycles
    assert delivery.points.num_rows == cycles * 24
    sensor = delivery.points.filter(
        pc.equal(pc.field("series_id"), _id(source, "engine-002", "sensor_4"))
    )
    assert sensor.column("value").to_pylist() == healthy.column("sensor_4").to_pylist()[:cycles]
    assert sensor.column("ts")[0].as_py() == at + timedelta(hours=12)


def test_built_from_its_spec_alone_the_replay_reads_nothing(site: Site) -> None:
    (source,) = build_sources(site.config.connectors)
    assert isinstance(source, CmapssReplaySource) and source.series is None
    assert source.mappings() == []

    async def run() -> list[Any]:
        task = asyncio.create_task(_collect(source))
        await asyncio.sleep(0.05)
        await source.stop()
        return await task

    assert asyncio.run(run()) == []
    assert source.status().name == "fleet-replay"
