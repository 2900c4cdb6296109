"""Decision rules on a site's books: alarms and forecasts propose work orders, each once.

The site is opened from a site.yaml written here; alarms go through the real alarm book and
forecast points through the real store, as the engine's jobs would write them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from valueloop.alarms.book import AlarmBook
from valueloop.alarms.definitions import LimitAlarm, Priority, Transition
from valueloop.decide.job import RuleJob
from valueloop.engine.build import site_jobs
from valueloop.site import Site, open_site

SITE = """
site: {name: works, timezone: Europe/Berlin, currency: EUR}
asset_types:
  chiller:
    signals:
      power: {unit: kW}
      vibration: {unit: mm/s}
    setpoints:
      supply_temperature: {unit: degC, min: 5, max: 12, max_step: 1, signal: power}
    analytics:
      - {name: load_fc, kind: forecaster, target: power, fit: {window: 2d}, resample: 1h,
         horizon: 12h, params: {lags: [1, 2, 24], season: 24}}
    alarms:
      - {name: vibration_high, signal: vibration, limits: {hi: 7, hihi: 11},
         priorities: {hihi: critical}, priority: medium}
    costs: {planned_maintenance: 500, failure: 20000, downtime_per_hour: 100,
            planned_downtime_hours: 2, failure_downtime_hours: 24}
assets:
  - {path: "plant/hvac/chiller-{1..2}", type: chiller}
decisions:
  rules:
    - name: inspect-critical
      when: {alarm: vibration_high, priority: critical, active_for: 5min}
      propose: {task: inspect compressor, within: 1d, failure_probability: 0.5}
    - name: shave-peak
      when: {forecast: load_fc, above: 300}
      propose: {setpoint: supply_temperature, change: 1.0, reason: shave the forecast peak}
"""

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    opened = open_site(path, tmp_path / "data")
    site_jobs(opened)  # registers the derived series, as the engine does
    yield opened
    opened.close()


def _rules(site: Site) -> RuleJob:
    (job,) = [job for job in site_jobs(site) if isinstance(job, RuleJob)]
    return job


def _alarm(site: Site, asset: str, level: str, priority: Priority) -> LimitAlarm:
    series = site.registry.lookup([site.model.path(asset, "vibration")])
    return LimitAlarm(
        name="vibration_high",
        asset=asset,
        signal="vibration",
        series_id=int(series.column("series_id")[0].as_py()),
        level=level,  # type: ignore[arg-type]
        limit=11.0 if level == "hihi" else 7.0,
        priority=priority,
    )


def _write(
    site: Site, asset: str, signal: str, stamps: list[datetime], values: list[float]
) -> None:
    series = site.registry.lookup([site.model.path(asset, signal)])
    series_id = int(series.column("series_id")[0].as_py())
    site.points.write(
        pa.table(
            {
                "series_id": pa.array([series_id] * len(stamps), pa.int32()),
                "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                "value": pa.array(values, pa.float64()),
                "quality": pa.array([0] * len(stamps), pa.uint8()),
            }
        )
    )


def test_an_alarm_rule_fires_after_its_delay_once_per_alarm(site: Site) -> None:
    book = AlarmBook(site.store)
    critical = _alarm(site, "chiller-1", "hihi", Priority.CRITICAL)
    medium = _alarm(site, "chiller-2", "hi", Priority.MEDIUM)
    raised = NOW - timedelta(minutes=7)
    book.apply(
        [
            Transition(critical, "activate", raised, 12.0, "vibration"),
            Transition(medium, "activate", raised, 8.0, "vibration"),
        ]
    )
    rules = _rules(site)
    early = rules.step(raised + timedelta(minutes=4), None, None)
    assert early.rows == 0, "active for 4 of the 5 minutes: not yet"
    fired = rules.step(NOW, early.watermark, None)
    assert fired.rows == 1
    (order,) = site.work_orders.list().to_pylist()
    assert order["asset"] == "chiller-1", "the medium-priority alarm is below the rule's priority"
    assert order["task"] == "inspect compressor"
    assert order["due_at"] == raised + timedelta(minutes=5) + timedelta(days=1)
    assert order["expected_value"] == pytest.approx(0.5 * (20000 + 100 * 24) - (500 + 100 * 2))
    assert rules.step(NOW + timedelta(minutes=1), fired.watermark, None).rows == 0
    assert rules.step(NOW, None, None).rows == 0, "from scratch: the alarm has its order already"


def test_an_alarm_cleared_before_the_delay_proposes_nothing(site: Site) -> None:
    book = AlarmBook(site.store)
    critical = _alarm(site, "chiller-1", "hihi", Priority.CRITICAL)
    raised = NOW - timedelta(minutes=10)
    book.apply(
        [
            Transition(critical, "activate", raised, 12.0, "vibration"),
            Transition(critical, "clear", raised + timedelta(minutes=2), 6.0, "vibration"),
        ]
    )
    assert _rules(site).step(NOW, None, None).rows == 0


def test_a_forecast_peak_proposes_a_setpoint_change_once(site: Site) -> None:
    _write(site, "chiller-2", "supply_temperature", [NOW - timedelta(hours=1)], [7.0])
    ahead = [NOW + timedelta(hours=hour) for hour in range(1, 13)]
    _write(site, "chiller-2", "load_fc_forecast", ahead, [250.0] * 5 + [320.0] + [260.0] * 6)
    _write(site, "chiller-1", "load_fc_forecast", ahead, [250.0] * 12)
    rules = _rules(site)
    first = rules.step(NOW, None, None)
    assert first.rows == 1
    (order,) = site.work_orders.list().to_pylist()
    assert (order["asset"], order["kind"], order["action"]) == (
        "chiller-2",
        "setpoint",
        "supply_temperature",
    )
    assert order["setpoint"] == pytest.approx(8.0), "the change is from the current set-point"
    assert order["source"] == f"rule:shave-peak:chiller-2:{ahead[5].isoformat()}"
    later = rules.step(NOW + timedelta(minutes=30), first.watermark, None)
    assert later.rows == 0, "an order of this rule is still open for the asset"
    site.work_orders.reject(order["order_id"], actor="ann", comment="not now")
    again = rules.step(NOW + timedelta(hours=1), later.watermark, None)
    assert again.rows == 0, "a rejected proposal is not made again for the same peak"
    _write(site, "chiller-2", "load_fc_forecast", [ahead[8]], [330.0])
    _write(site, "chiller-2", "load_fc_forecast", [ahead[5]], [280.0])
    moved = rules.step(NOW + timedelta(hours=2), again.watermark, None)
    assert moved.rows == 1, "the forecast peak moved: a new proposal for the new peak"


def test_an_alarm_recorded_after_the_rules_moved_on_still_fires(site: Site) -> None:
    """A backlog judged late: its alarm is raised at the reading's own time, an hour before the
    rules' last step, and recorded only now. While it is open the rule fires on it, once."""
    book = AlarmBook(site.store)
    rules = _rules(site)
    before = rules.step(NOW, None, None)
    assert before.rows == 0
    critical = _alarm(site, "chiller-1", "hihi", Priority.CRITICAL)
    raised = NOW - timedelta(hours=1)
    book.apply([Transition(critical, "activate", raised, 12.0, "vibration")])
    fired = rules.step(NOW + timedelta(seconds=5), before.watermark, None)
    assert fired.rows == 1
    (order,) = site.work_orders.list().to_pylist()
    assert order["asset"] == "chiller-1"
    assert order["due_at"] == raised + timedelta(minutes=5, days=1)
    assert rules.step(NOW + timedelta(seconds=10), fired.watermark, None).rows == 0


def test_a_late_alarm_already_closed_is_not_read_again(site: Site) -> None:
    book = AlarmBook(site.store)
    critical = _alarm(site, "chiller-1", "hihi", Priority.CRITICAL)
    raised = NOW - timedelta(days=3)
    book.apply(
        [
            Transition(critical, "activate", raised, 12.0, "vibration"),
            Transition(critical, "clear", raised + timedelta(minutes=20), 6.0, "vibration"),
        ]
    )
    (alarm,) = book.list(include_normal=True).to_pylist()
    book.acknowledge(alarm["alarm_id"], actor="maria", at=raised + timedelta(hours=1))
    assert book.raised_or_open(NOW - timedelta(hours=1), NOW).num_rows == 0
    assert book.raised_or_open(None, NOW).num_rows == 1
