"""The sites the console's browser tests drive, their readings synthetic and written straight to
the store as ingest would leave them: a works of two pumps, and the acceptance plant of
``tests/e2e/plant`` with none of its device processes started."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from tests.connectors.peers import free_port
from tests.e2e.plant.test_mv_plant import site_text

from valueloop.act.workorders import OrderStatus
from valueloop.alarms import AlarmBook, LimitAlarm
from valueloop.alarms.job import AlarmJob
from valueloop.engine.build import alarm_points, derived_series, measurement_job
from valueloop.site import Site, open_site

PUMPS = """
site: {name: works, timezone: America/New_York, currency: EUR}
asset_types:
  pump:
    signals:
      speed: {unit: rpm}
      bearing_temperature: {unit: degC, expected_interval: 5m}
    setpoints:
      speed_setpoint: {unit: rpm, min: 1000, max: 1800, max_step: 100}
    alarms:
      - {name: bearing_hot, signal: bearing_temperature, limits: {hi: 80}, priority: high}
assets:
  - {path: "pumping/line-1/pump-{1..2}", type: pump}
policy:
  approval: manual
  approvals: 1
"""
PUMP_STEP = timedelta(minutes=5)

PLANT_LEVELS = {
    "vibration": (2.5, 0.6),
    "bearing_temperature": (55.0, 4.0),
    "power": (30.0, 8.0),
    "speed": (1480.0, 5.0),
    "speed_setpoint": (1480.0, 0.0),
    "energy": (0.5, 0.1),
    "throughput": (140.0, 25.0),
    "voltage": (400.0, 3.0),
    "temperature": (12.0, 4.0),
    "humidity": (60.0, 10.0),
    "discharge_pressure": (7.0, 0.4),
    "health_score": (0.4, 0.2),
}
"""Each plant signal's level and the amplitude of its swing over the readings."""
PLANT_HOURS = 24
EPISODES = {
    ("machine-2", "vibration"): (9, 0, 8.6),
    ("machine-3", "vibration"): (240, 225, 7.9),
    ("machine-1", "health_score"): (30, 0, 1.3),
}
"""Stretches of the plant's readings past an alarm limit (vibration 7.1 mm/s, health score 0.99):
from and to how many minutes before the last reading, at what value."""


Reading = tuple[datetime, float, int]
"""A reading: its time, value and quality (0 good, 1 uncertain, 2 bad)."""


def write_readings(site: Site, asset: str, signal: str, rows: list[Reading]) -> int:
    """Store ``rows`` (time, value, quality) of ``asset``'s ``signal``; return its series id."""
    series_id: int = site.registry.lookup([site.model.path(asset, signal)])["series_id"][0].as_py()
    site.points.write(
        pa.table(
            {
                "series_id": pa.array([series_id] * len(rows), pa.int32()),
                "ts": pa.array([r[0] for r in rows], pa.timestamp("us", tz="UTC")),
                "value": pa.array([r[1] for r in rows], pa.float64()),
                "quality": pa.array([r[2] for r in rows], pa.uint8()),
            }
        )
    )
    return series_id


def judge_limit_alarms(site: Site, now: datetime) -> None:
    """Run the site's limit alarms over what is stored, as the engine's alarm job would."""
    limits = [point for point in alarm_points(site) if isinstance(point, LimitAlarm)]
    AlarmJob(site.points, AlarmBook(site.store), limits, []).step(now, None, None)


def pumps(folder: Path) -> Site:
    """The works with a day of readings every 5 minutes: a two-hour gap and one bad reading."""
    path = folder / "site.yaml"
    path.write_text(PUMPS)
    site = open_site(path, folder / "data")
    now = datetime.now(UTC).replace(microsecond=0)
    times = [now - PUMP_STEP * i for i in range(288, 0, -1)]
    kept = [t for t in times if not now - timedelta(hours=10) < t < now - timedelta(hours=8)]
    for asset in ("pump-1", "pump-2"):
        write_readings(site, asset, "speed", [(t, 1450.0 + (t.minute % 7), 0) for t in kept])
        write_readings(
            site,
            asset,
            "bearing_temperature",
            [(t, 60.0 + (t.hour % 5), 2 if i == 100 else 0) for i, t in enumerate(kept)],
        )
        write_readings(site, asset, "speed_setpoint", [(now - timedelta(minutes=30), 1450.0, 0)])
    return site


def plant(folder: Path) -> Site:
    """The acceptance plant (with the sub-meters and value KPI of its M&V test) holding a day of
    minute readings of every signal, and its alarms judged on them: machine-2 vibrating past its
    limit for the last ten minutes (unacknowledged), machine-3 for a quarter of an hour four hours
    ago (back to normal, unacknowledged), machine-1's health anomalous for the last half hour
    (acknowledged by ``olga``); a speed change proposed on machine-1, and one on machine-2
    approved by two approvers and executed, so that its saving is planned for measurement."""
    path = folder / "site.yaml"
    path.write_text(site_text(free_port()))
    site = open_site(path, folder / "data")
    site.registry.ensure(derived_series(site))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = PLANT_HOURS * 60
    times = [now - timedelta(minutes=minutes - i) for i in range(minutes + 1)]
    rng = np.random.default_rng(7)
    for row in site.registry.catalogue().to_pylist():
        level, swing = PLANT_LEVELS[row["signal"]]
        noise = rng.normal(0.0, 0.15, len(times))
        phase = row["series_id"]  # each signal its own stretch of the wave
        wave = [level + swing * (math.sin(i / 45 + phase) + noise[i]) for i in range(len(times))]
        if (row["asset"], row["signal"]) in EPISODES:
            first, last, value = EPISODES[row["asset"], row["signal"]]
            wave[minutes - first : minutes - last + 1] = [value] * (first - last + 1)
        readings = [(t, v, 0) for t, v in zip(times, wave, strict=True)]
        write_readings(site, row["asset"], row["signal"], readings)
    judge_limit_alarms(site, now)
    book = AlarmBook(site.store)
    (anomaly,) = book.list(asset="machine-1").to_pylist()
    book.acknowledge(anomaly["alarm_id"], actor="olga", at=now, comment="bearing inspection booked")
    desk = site.actions
    desk.propose_setpoint(
        "machine-1", "speed_setpoint", target=1500.0, reason="more flow", actor="olga"
    )
    executed = desk.propose_setpoint(
        "machine-2",
        "speed_setpoint",
        change=-100.0,
        reason="take load off the bearing",
        expected_value=350.0,
        actor="olga",
    )["order_id"]
    for approver in ("ann", "ben"):
        desk.approve(executed, actor=approver, role="approver")
    for step in (OrderStatus.EXECUTING, OrderStatus.EXECUTED):
        site.work_orders.transition(executed, step, actor="executor:opcua")
    measurement_job(site).step(now, None, None)
    return site
