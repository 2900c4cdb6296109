"""The store is chosen by URL, in site.yaml or VALUELOOP_STORE_URL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from tests.services import POSTGRES_URL, need_service

from valueloop.errors import ConfigError
from valueloop.packs.aviation import PACK
from valueloop.packs.aviation.fleet import fleets
from valueloop.packs.aviation.history import fleet_history
from valueloop.packs.aviation.replay import CmapssReplaySource
from valueloop.site import open_site
from valueloop.store import duckdb_file, open_store, postgres_target
from valueloop.store.duckdb import DuckDBStore


def test_url_forms(tmp_path: Path) -> None:
    assert duckdb_file("duckdb:///site.duckdb", tmp_path) == tmp_path / "site.duckdb"
    assert duckdb_file("duckdb:////abs/x.duckdb", tmp_path) == Path("/abs/x.duckdb")
    assert postgres_target("postgresql://u@h:5432/db?schema=plant_a") == (
        "postgresql://u@h:5432/db",
        "plant_a",
    )
    assert postgres_target("postgresql://u@h/db") == ("postgresql://u@h/db", "valueloop")
    with pytest.raises(ConfigError, match="not understood"):
        open_store("mysql://h/db", tmp_path)
    store = open_store("duckdb:///nested/points.duckdb", tmp_path)
    assert isinstance(store, DuckDBStore) and (tmp_path / "nested" / "points.duckdb").exists()
    store.close()


@pytest.mark.services
def test_a_site_keeps_its_points_in_postgresql_when_the_url_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    from valueloop.store.postgres import PostgresStore, drop_schema

    schema = f"vl_site_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("VALUELOOP_STORE_URL", f"{POSTGRES_URL}?schema={schema}")
    site = open_site(PACK.site_file, tmp_path)
    try:
        assert isinstance(site.points.hot, PostgresStore) and site.points.hot.schema == schema
        (fleet,) = fleets(site)
        file = tmp_path / "two_engines.txt"
        from valueloop.datasets.cmapss import cmapss_path, read_text

        lines = [
            line
            for line in read_text(cmapss_path("FD001", "test")).splitlines()
            if int(line.split()[0]) <= 2
        ]
        file.write_text("\n".join(lines) + "\n")
        report = asyncio.run(
            site.pipeline.run(CmapssReplaySource(fleet.spec, fleet.series, file=file))
        )
        assert report.points_received == len(lines) * 24
        assert site.points.hot.info()[0].points == len(lines) * 24
        assert site.store.count() == 0  # the embedded database holds no points
        history = fleet_history(site.points, fleet.series, ["engine-001", "engine-002"])
        assert history.num_rows == len(lines)
    finally:
        site.close()
        drop_schema(POSTGRES_URL, schema)
