"""``store info``, ``compact``, ``export`` and ``check`` on a small site in a temporary folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from valueloop.cli import store
from valueloop.packs.aviation import PACK
from valueloop.schema import POINT_SCHEMA
from valueloop.site import open_site
from valueloop.store.export import EXPORT_SCHEMA

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough for whole table rows
T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 96  # four days, one point per series and hour


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    site = open_site(PACK.site_file, folder)
    try:
        site.points.write(
            pa.table(
                {
                    "series_id": [s for s in (1, 2) for _ in range(HOURS)],
                    "ts": [T0 + timedelta(hours=h) for _ in (1, 2) for h in range(HOURS)],
                    "value": [round(s + h * 0.1, 1) for s in (1, 2) for h in range(HOURS)],
                    "quality": [0] * 2 * HOURS,
                },
                schema=POINT_SCHEMA,
            )
        )
    finally:
        site.close()
    return folder


def _run(data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(
        store.app, [*args, "--data-dir", str(data_dir), "--site", str(PACK.site_file)]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.output
    return result.stdout


def test_info_compact_info_shows_both_tiers(data_dir: Path) -> None:
    before = _run(data_dir, "info")
    assert "hot" in before and str(2 * HOURS) in before and "nothing compacted yet" in before
    moved = _run(data_dir, "compact", "--older-than", "1d")
    newest = T0 + timedelta(hours=HOURS - 1)
    boundary = newest - timedelta(days=1)
    assert f"moved {2 * 71} points before {boundary:%Y-%m-%d %H:%M:%S} UTC" in moved
    assert sorted(path.name for path in (data_dir / "cold").glob("day=*")) == [
        "day=2026-03-01",
        "day=2026-03-02",
        "day=2026-03-03",
    ]
    after = _run(data_dir, "info")
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in after.splitlines()]
    rows = {row[0]: row for row in cells if row}
    assert rows["hot"][1:3] == ["2", str(2 * 25)] and rows["cold"][1:3] == ["2", str(2 * 71)]
    assert float(rows["cold"][4].replace(",", "")) < float(rows["hot"][4].replace(",", ""))
    assert f"cold tier holds the points before {boundary:%Y-%m-%d %H:%M:%S} UTC" in after
    assert "nothing to compact" not in _run(data_dir, "compact", "--older-than", "1d")


def test_compact_refuses_a_bad_duration(data_dir: Path) -> None:
    result = runner.invoke(store.app, ["compact", "--older-than", "soon"])
    assert result.exit_code == 2 and "not a duration" in result.output


def test_export_writes_both_tiers_in_the_window(data_dir: Path, tmp_path: Path) -> None:
    _run(data_dir, "compact", "--older-than", "2d")
    target = tmp_path / "window.parquet"
    start, end = "2026-03-02T12:00", "2026-03-03T12:00+00:00"
    assert f"exported 48 points to {target}" in _run(
        data_dir, "export", str(target), "--start", start, "--end", end
    )
    table = pq.read_table(target)
    assert table.schema.equals(EXPORT_SCHEMA)
    assert table.column("series_id").to_pylist() == [1] * 24 + [2] * 24
    catalogue = {row["series_id"]: row for row in site_catalogue(data_dir).to_pylist()}
    for series_id in (1, 2):
        rows = table.filter(pc.equal(table.column("series_id"), series_id))
        assert set(rows.column("path").to_pylist()) == {catalogue[series_id]["path"]}
        assert set(rows.column("unit").to_pylist()) == {catalogue[series_id]["unit"]}
    assert min(table.column("ts").to_pylist()) == T0 + timedelta(hours=36)
    assert table.column("value").to_pylist()[:2] == [4.6, 4.7]


def test_check_passes_then_reports_a_hot_point_below_the_watermark(data_dir: Path) -> None:
    _run(data_dir, "compact", "--older-than", "1d")
    report = _run(data_dir, "check")
    assert report.count("ok") == 8 and "FAILED" not in report
    site = open_site(PACK.site_file, data_dir)
    try:  # written to the hot tier directly, around the tiered store, below its watermark
        site.points.hot.write(
            pa.table(
                {"series_id": [3], "ts": [T0], "value": [float("nan")], "quality": [0]},
                schema=POINT_SCHEMA,
            )
        )
    finally:
        site.close()
    failed = _run(data_dir, "check", code=1)
    assert "FAILED  hot tier at or above the watermark (1 point)" in failed
    assert "ok      non-finite values have quality 2 (bad)" in failed


def site_catalogue(data_dir: Path) -> pa.Table:
    """The series the site of ``data_dir`` registered: id, path and unit."""
    site = open_site(PACK.site_file, data_dir)
    try:
        return site.registry.catalogue()
    finally:
        site.close()
