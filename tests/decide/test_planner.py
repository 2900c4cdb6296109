"""The site planner: alarmed (or predicted) assets get crew visits, proposed once, by CP-SAT.

A site of three pumps (and, for one case, a compressor) is opened from a site.yaml in the test;
alarms are raised through the real alarm book, predictions written to the real prediction book,
and the plan is solved by the maintenance optimiser found by entry point.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pyarrow as pa
import pytest

from valueloop.act.workorders import OrderStatus
from valueloop.alarms.book import AlarmBook
from valueloop.alarms.definitions import LimitAlarm, Priority, Transition
from valueloop.analytics.records import PREDICTION_SCHEMA
from valueloop.config import PlannerSpec
from valueloop.decide.outlook import AssetOutlook, HazardAssumption, hazard_outlooks
from valueloop.decide.planner import PlannerJob, planner_outlooks
from valueloop.engine.book import JobBook
from valueloop.engine.clock import SimulatedClock
from valueloop.engine.scheduler import Engine
from valueloop.errors import ConfigError
from valueloop.site import Site, open_site

COMPRESSOR = """
  compressor:
    signals:
      vibration: {unit: mm/s}
    costs: {planned_maintenance: 5000, failure: 200000, downtime_per_hour: 2000,
            planned_downtime_hours: 8, failure_downtime_hours: 72}
"""

SITE = """
site: {{name: works, enterprise: acme, timezone: Europe/Berlin, currency: EUR}}
asset_types:
  pump:
    signals:
      vibration: {{unit: mm/s}}
    costs: {{planned_maintenance: 1200, failure: 45000, downtime_per_hour: 900,
            planned_downtime_hours: 4, failure_downtime_hours: 48}}
{types}
assets:
  - {{path: "pumping/line-1/pump-{{1..3}}", type: pump}}
{assets}
decisions:
  planners:
    - {{name: crew-a, kind: maintenance, horizon: 14d, crew_per_day: 1, time_limit_s: 5,
       params: {params}}}
"""

NOW = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
"""A Friday, 07:00 in Berlin."""

# The pump type's costs (EUR): a planned visit, a failure, each with its downtime.
PLANNED = 1200 + 900 * 4
FAILURE = 45000 + 900 * 48
LIFE_HOURS = 365 * 24


def _open(folder: Path, params: str = "{}", *, compressor: bool = False) -> Site:
    text = SITE.format(
        types=COMPRESSOR if compressor else "",
        assets='  - {path: "pumping/line-2/compressor-1", type: compressor}' if compressor else "",
        params=params,
    )
    site_file = folder / "site.yaml"
    site_file.write_text(text)
    return open_site(site_file, folder / "data")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    opened = _open(tmp_path)
    yield opened
    opened.close()


def _alarm(site: Site, asset: str, at: datetime, *, clear: datetime | None = None) -> None:
    """A high-priority vibration alarm raised on ``asset`` at ``at`` (and cleared at ``clear``)."""
    series = site.registry.lookup([site.model.path(asset, "vibration")])
    point = LimitAlarm(
        name="vibration_high",
        asset=asset,
        signal="vibration",
        series_id=int(series.column("series_id")[0].as_py()),
        level="hi",
        limit=7.1,
        priority=Priority.HIGH,
    )
    transitions = [Transition(point, "activate", at, 9.4, "vibration")]
    if clear is not None:
        transitions.append(Transition(point, "clear", clear, 3.0, "vibration"))
    AlarmBook(site.store).apply(transitions)


def _job(site: Site, spec: PlannerSpec | None = None) -> PlannerJob:
    spec = spec or site.config.decisions.planners[0]
    outlooks = planner_outlooks(
        site.model, spec, site.predictions.latest, AlarmBook(site.store).raised_between
    )
    return PlannerJob(site.model, spec, site.work_orders, outlooks)


def _orders(site: Site) -> list[dict[str, object]]:
    return sorted(site.work_orders.list().to_pylist(), key=lambda row: str(row["due_at"]))


def _split_normal_value(median: float, lower: float, upper: float, day: int) -> float:
    """The expected value of a visit on ``day`` by hand: integrate the truncated split normal.

    Idle: P(fail within 14 days) x failure cost. Visit: failure before its day's end at failure
    cost, else the planned cost, plus the life thrown away (from the day's start) at 1200 / 8760
    EUR an hour.
    """
    z = NormalDist().inv_cdf(0.9)
    below, above = (
        NormalDist(median, (median - lower) / z),
        NormalDist(median, (upper - median) / z),
    )

    def cdf(t: float) -> float:
        return below.cdf(t) if t < median else above.cdf(t)

    alive = 1 - cdf(0.0)

    def failed_by(t: float) -> float:
        return (cdf(t) - cdf(0.0)) / alive

    end = (day + 1) * 24.0
    grid = np.linspace(end, 5000.0, 400_001)
    scale = np.where(grid < median, below.stdev, above.stdev)
    density = np.exp(-0.5 * ((grid - median) / scale) ** 2) / (scale * math.sqrt(2 * math.pi))
    thrown = float(np.trapezoid((grid - day * 24.0) * density, grid)) / alive
    idle = failed_by(14 * 24.0) * FAILURE
    visit = failed_by(end) * FAILURE + (1 - failed_by(end)) * PLANNED + thrown * 1200 / LIFE_HOURS
    return idle - visit


def test_alarmed_assets_get_visits_on_different_days_with_values_from_the_costs(
    site: Site,
) -> None:
    _alarm(site, "pump-1", NOW - timedelta(hours=3))
    _alarm(site, "pump-2", NOW - timedelta(hours=1))

    result = _job(site).step(NOW, None, None)

    orders = _orders(site)
    assert result.rows == 2, result.message
    assert {order["asset"] for order in orders} == {"pump-1", "pump-2"}
    days = [(order["due_at"] - NOW) / timedelta(days=1) for order in orders]  # type: ignore[operator]
    assert days == [0.0, 1.0], "a crew of one a day visits the two pumps on two days"
    sources = [order["source"] for order in orders]
    assert len(set(sources)) == 2
    assert sources[0] == f"plan:crew-a:{orders[0]['asset']}:2026-03-06"
    assert sources[1] == f"plan:crew-a:{orders[1]['asset']}:2026-03-07"
    for order in orders:
        assert order["status"] == OrderStatus.PROPOSED.value
        assert order["kind"] == "maintenance"
        assert order["task"] == "planned maintenance"
        assert order["model_version"] == "alarm-hazard:high"
    # A high alarm: median 7 days, 3.5 to 14 days at 80 %; the values follow the pump's costs.
    for order, day in zip(orders, (0, 1), strict=True):
        by_hand = _split_normal_value(168.0, 84.0, 336.0, day)
        assert order["expected_value"] == pytest.approx(by_hand, abs=0.05)
    assert orders[0]["expected_value"] > orders[1]["expected_value"] > 0  # type: ignore[operator]


def test_a_rerun_proposes_nothing_and_open_orders_keep_their_crew_slot(site: Site) -> None:
    _alarm(site, "pump-1", NOW - timedelta(hours=3))
    _alarm(site, "pump-2", NOW - timedelta(hours=1))
    job = _job(site)
    job.step(NOW, None, None)

    again = job.step(NOW, NOW, None)
    assert again.rows == 0
    assert again.message == "nothing to plan"
    assert len(_orders(site)) == 2

    # pump-3 alarms later that morning: the open orders hold today's and tomorrow's slots.
    later = NOW + timedelta(hours=2)
    _alarm(site, "pump-3", later - timedelta(minutes=30))
    result = job.step(later, NOW, None)
    assert result.rows == 1
    third = next(order for order in _orders(site) if order["asset"] == "pump-3")
    assert third["due_at"] == later + timedelta(days=2)
    assert third["source"] == "plan:crew-a:pump-3:2026-03-08"
    assert job.step(later, later, None).rows == 0


def test_the_engine_runs_the_planner_once_per_period_and_a_second_run_adds_nothing(
    site: Site,
) -> None:
    _alarm(site, "pump-1", NOW + timedelta(hours=30))
    _alarm(site, "pump-2", NOW + timedelta(hours=31))
    until = NOW + timedelta(days=3)
    for _ in range(2):
        engine = Engine(JobBook(site.store), [_job(site)], clock=SimulatedClock(NOW))
        engine.run_until(until, step=timedelta(hours=6))
    orders = _orders(site)
    assert [order["asset"] for order in orders] == ["pump-1", "pump-2"]
    assert [str(order["source"]).rsplit(":", 1)[1] for order in orders] == [
        "2026-03-08",
        "2026-03-09",
    ], "planned at the first daily run after the alarms (Sunday 07:00 Berlin)"


def test_alarms_count_as_they_stood_at_the_data_time(site: Site) -> None:
    _alarm(site, "pump-1", NOW - timedelta(hours=3), clear=NOW - timedelta(hours=2))
    _alarm(site, "pump-2", NOW + timedelta(hours=1))

    result = _job(site).step(NOW, None, None)

    assert result.message == "nothing to plan"
    assert _orders(site) == []


def test_a_site_with_nothing_to_plan_says_so(site: Site) -> None:
    result = _job(site).step(NOW, None, None)
    assert (result.rows, result.message) == (0, "nothing to plan")


def test_a_planner_kind_that_is_not_installed_is_refused(site: Site) -> None:
    spec = PlannerSpec(name="crew-b", kind="crystal-ball")
    with pytest.raises(ConfigError, match=r"crystal-ball.*installed: .*maintenance"):
        _job(site, spec)


def test_an_optimiser_that_does_not_plan_maintenance_is_refused(site: Site) -> None:
    with pytest.raises(ConfigError, match="does not plan maintenance"):
        _job(site, PlannerSpec(name="crew-b", kind="scheduling"))


def test_invalid_params_are_refused_naming_the_field(site: Site) -> None:
    spec = PlannerSpec(name="crew-b", kind="maintenance", params={"crew_days": ["monday"]})
    with pytest.raises(ConfigError, match=r"crew-b.*crew_days"):
        _job(site, spec)


def test_the_crew_visits_only_on_its_working_days(tmp_path: Path) -> None:
    site = _open(tmp_path, "{crew_days: [mon, tue, wed, thu, fri]}")
    try:
        _alarm(site, "pump-1", NOW - timedelta(hours=3))
        _alarm(site, "pump-2", NOW - timedelta(hours=1))
        assert _job(site).step(NOW, None, None).rows == 2
        dates = [str(order["source"]).rsplit(":", 1)[1] for order in _orders(site)]
    finally:
        site.close()
    assert dates == ["2026-03-06", "2026-03-09"], "Friday, then Monday: no weekend visit"


def test_assets_of_two_types_share_the_crew_each_at_its_own_costs(tmp_path: Path) -> None:
    site = _open(tmp_path, compressor=True)
    try:
        _alarm(site, "pump-1", NOW - timedelta(hours=3))
        _alarm(site, "compressor-1", NOW - timedelta(hours=1))
        assert _job(site).step(NOW, None, None).rows == 2
        orders = _orders(site)
    finally:
        site.close()
    assert [order["asset"] for order in orders] == ["compressor-1", "pump-1"]
    assert [(o["due_at"] - NOW) / timedelta(days=1) for o in orders] == [0.0, 1.0]  # type: ignore[operator]
    pump = orders[1]
    assert pump["expected_value"] == pytest.approx(_split_normal_value(168, 84, 336, 1), abs=0.05)
    assert orders[0]["expected_value"] > pump["expected_value"]  # type: ignore[operator]


def test_a_prediction_is_planned_in_hours_and_ages(tmp_path: Path) -> None:
    site = _open(tmp_path, "{rul_unit_hours: 12}")
    try:
        as_of = NOW - timedelta(hours=12)
        site.predictions.add(
            pa.table(
                {
                    "run_id": ["RUN-1"],
                    "as_of": pa.array([as_of], pa.timestamp("us", tz="UTC")),
                    "asset": ["pump-3"],
                    "cycle": pa.array([40], pa.int32()),
                    "rul": [5.0],
                    "lower": [3.0],
                    "upper": [9.0],
                    "interval": [0.8],
                    "model_version": ["rul-v1"],
                },
                schema=PREDICTION_SCHEMA,
            )
        )
        outlooks = planner_outlooks(
            site.model,
            site.config.decisions.planners[0],
            site.predictions.latest,
            AlarmBook(site.store).raised_between,
        )(NOW)
        assert outlooks == [AssetOutlook("pump-3", 48.0, 24.0, 96.0, 0.8, "rul-v1")]
        assert _job(site).step(NOW, None, None).rows == 1
        (order,) = _orders(site)
    finally:
        site.close()
    assert (order["asset"], order["model_version"]) == ("pump-3", "rul-v1")


def test_the_hazard_takes_the_shortest_median_and_a_default_life() -> None:
    alarms = pa.table(
        {"asset": ["pump-1", "pump-1", "pump-2"], "priority": ["medium", "critical", "low"]}
    )
    hazard = HazardAssumption(
        medians={"critical": timedelta(days=1), "medium": timedelta(days=30)},
        default_life=timedelta(days=400),
    )
    outlooks = hazard_outlooks(["pump-1", "pump-2"], alarms, hazard)
    assert outlooks == [
        AssetOutlook("pump-1", 24.0, 12.0, 48.0, 0.8, "alarm-hazard:critical"),
        AssetOutlook("pump-2", 9600.0, 4800.0, 19200.0, 0.8, "default-life"),
    ]
