"""`valueloop run` over a site's stored history: analytics, alarms and rules, once each.

The site is a user's plant written in the site model, with no demo section: three pump skids, a
detector bound to their type, limit and stale-data alarms and a rule. Ten minutes of 1 Hz readings
are stored (an injected case: machine-2's vibration quadruples for 90 s from minute 7, machine-3
falls silent for 40 s at minute 4), then the engine runs over them on a simulated clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from valueloop.alarms.book import AlarmBook
from valueloop.cli.app import app
from valueloop.site import open_site

SITE = """
site: {name: plant, enterprise: acme, timezone: Europe/Berlin, currency: EUR}
asset_types:
  pump_skid:
    signals:
      vibration: {unit: mm/s, expected_interval: 1s}
      bearing_temperature: {unit: degC, expected_interval: 1s}
      power: {unit: kW, expected_interval: 1s}
    analytics:
      - {name: health, kind: pca_t2q, signals: [vibration, bearing_temperature, power],
         fit: {window: 3min}, resample: 1s, threshold: 0.99}
    alarms:
      - {name: health_anomaly, analytics: health, priority: high, on_delay: 3s, off_delay: 10s}
      - {name: vibration_high, signal: vibration, limits: {hi: 7.1}, deadband: 0.5,
         priority: medium, on_delay: 2s}
      - {name: comms_lost, stale: {signals: [vibration, power], intervals: 5}, priority: medium}
    costs: {planned_maintenance: 1200, failure: 45000, downtime_per_hour: 900,
            planned_downtime_hours: 4, failure_downtime_hours: 48}
assets:
  - {path: "pumping/line-1/machine-{1..3}", type: pump_skid}
decisions:
  rules:
    - name: inspect-after-anomaly
      when: {alarm: health_anomaly, unacknowledged_for: 20s}
      propose: {task: inspect bearings, within: 2d, failure_probability: 0.3}
"""

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MINUTES = 10
FAULT = (START + timedelta(minutes=7), START + timedelta(minutes=7, seconds=90))
SILENCE = (START + timedelta(minutes=4), START + timedelta(minutes=4, seconds=40))


def _store_history(site_file: Path, data_dir: Path) -> None:
    site = open_site(site_file, data_dir)
    rng = np.random.default_rng(7)
    seconds = np.arange(MINUTES * 60)
    stamps = np.array([START + timedelta(seconds=int(s)) for s in seconds])
    load = 1.0 + 0.1 * np.sin(seconds / 60.0)
    batches = []
    for number in (1, 2, 3):
        asset = f"machine-{number}"
        vibration = 2.0 * load + rng.normal(0, 0.05, seconds.size)
        temperature = 55 + 2 * load + rng.normal(0, 0.1, seconds.size)
        power = 40 * load + rng.normal(0, 0.3, seconds.size)
        keep = np.ones(seconds.size, dtype=bool)
        if asset == "machine-2":
            faulty = (stamps >= FAULT[0]) & (stamps < FAULT[1])
            vibration = np.where(faulty, vibration * 4, vibration)
        if asset == "machine-3":
            keep = ~((stamps >= SILENCE[0]) & (stamps < SILENCE[1]))
        for signal, values in (
            ("vibration", vibration),
            ("bearing_temperature", temperature),
            ("power", power),
        ):
            series = site.registry.lookup([site.model.path(asset, signal)])
            series_id = int(series.column("series_id")[0].as_py())
            batches.append(
                pa.table(
                    {
                        "series_id": pa.array([series_id] * int(keep.sum()), pa.int32()),
                        "ts": pa.array(stamps[keep], pa.timestamp("us", tz="UTC")),
                        "value": pa.array(values[keep], pa.float64()),
                        "quality": pa.array([0] * int(keep.sum()), pa.uint8()),
                    }
                )
            )
    site.points.write(
        pa.concat_tables(batches).sort_by([("series_id", "ascending"), ("ts", "ascending")])
    )
    site.close()


def _run(site_file: Path, data_dir: Path, *extra: str) -> dict[str, object]:
    until = START + timedelta(minutes=MINUTES)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--site",
            str(site_file),
            "--data-dir",
            str(data_dir),
            "--from",
            START.isoformat(),
            "--until",
            until.isoformat(),
            "--step",
            "10s",
            "--summary",
            str(data_dir / "run.json"),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads((data_dir / "run.json").read_text())
    return report


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("plant")
    site_file = folder / "site.yaml"
    site_file.write_text(SITE)
    data_dir = folder / "data"
    _store_history(site_file, data_dir)
    _run(site_file, data_dir)
    return site_file, data_dir


def _alarms(site_file: Path, data_dir: Path) -> list[dict[str, object]]:
    site = open_site(site_file, data_dir)
    try:
        rows = AlarmBook(site.store).list(include_normal=True, limit=1000).to_pylist()
    finally:
        site.close()
    return sorted(rows, key=lambda row: str(row["alarm_id"]))


def test_the_faulty_machine_alarms_and_the_healthy_ones_do_not(plant: tuple[Path, Path]) -> None:
    alarms = _alarms(*plant)
    anomaly = [a for a in alarms if a["name"] == "health_anomaly"]
    assert {a["asset"] for a in anomaly} == {"machine-2"}
    first = min(a["raised_at"] for a in anomaly)
    assert FAULT[0] <= first <= FAULT[0] + timedelta(seconds=10)
    vibration = [a for a in alarms if a["name"] == "vibration_high"]
    assert {a["asset"] for a in vibration} == {"machine-2"}
    assert len(vibration) == 1, "one alarm for the episode, no chattering duplicates"


def test_a_silent_machine_raises_a_stale_alarm_that_clears(plant: tuple[Path, Path]) -> None:
    stale = [a for a in _alarms(*plant) if a["name"] == "comms_lost"]
    assert [a["asset"] for a in stale] == ["machine-3"]
    (alarm,) = stale
    last_reading = SILENCE[0] - timedelta(seconds=1)
    assert alarm["raised_at"] == last_reading + timedelta(seconds=5)
    assert alarm["cleared_at"] == SILENCE[1]
    assert alarm["state"] == "rtn_unack"


def test_the_rule_proposes_one_inspection_with_its_value(plant: tuple[Path, Path]) -> None:
    site = open_site(*plant)
    try:
        orders = site.work_orders.list().to_pylist()
    finally:
        site.close()
    assert len(orders) == 1
    (order,) = orders
    assert order["asset"] == "machine-2"
    assert order["kind"] == "maintenance" and order["task"] == "inspect bearings"
    planned = 1200 + 900 * 4
    failure = 45000 + 900 * 48
    assert order["expected_value"] == pytest.approx(0.3 * failure - planned)
    assert order["source"].startswith("rule:inspect-after-anomaly:AL-")


def test_running_the_period_again_gives_the_same_rows_once(plant: tuple[Path, Path]) -> None:
    before = _alarms(*plant)
    again = _run(*plant)
    assert again["rows"] == 0, "the jobs' watermarks are past the period: no new work"
    fresh = _run(*plant, "--fresh")
    assert fresh["rows"] > 0, "with --fresh every job runs the period again"
    assert _alarms(*plant) == before
    site = open_site(*plant)
    try:
        assert site.work_orders.list().num_rows == 1
    finally:
        site.close()
