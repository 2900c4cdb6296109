"""The aviation pack's site.yaml in the site model: it loads, and a mistake names field and line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from valueloop.config import parse_site
from valueloop.config.units import conversion
from valueloop.errors import ConfigError
from valueloop.packs.aviation import PACK
from valueloop.packs.aviation.replay import CmapssReplaySpec
from valueloop.packs.base import available_packs, get_pack


def _pack_text() -> str:
    return PACK.site_file.read_text()


def test_the_pack_site_loads_with_its_fleet_units_and_costs() -> None:
    site = get_pack("aviation").site()
    assert (site.site.name, site.site.currency) == ("aviation-demo", "USD")
    turbofan = site.asset_types["turbofan"]
    assert len(turbofan.signals) == 24
    assert turbofan.signals["sensor_2"].unit == "degR"
    assert conversion("lb/s", "pps") == (1.0, 0.0)
    assert turbofan.costs.failure > turbofan.costs.planned_maintenance > 0
    assert turbofan.costs.downtime_per_hour * 24 == pytest.approx(25_000)
    assert [path for spec in site.assets for path in spec.expand()][-1] == (
        "fleet/FD001/engine-100"
    )
    (replay,) = site.connectors
    assert isinstance(replay, CmapssReplaySpec)
    assert replay.cycle_interval == timedelta(hours=12)
    assert replay.observed_until == datetime(2026, 6, 1, tzinfo=UTC)
    (planner,) = site.decisions.planners
    assert (planner.kind, planner.horizon, planner.crew_per_day) == (
        "maintenance",
        timedelta(75),
        2,
    )
    assert site.policy.approve_within == timedelta(days=7)
    assert site.packs == ["aviation"] and "aviation" in available_packs()


def test_bad_value_names_field_and_line() -> None:
    text = _pack_text().replace("crew_per_day: 2", "crew_per_day: -1")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "crew_per_day: -1" in row)
    with pytest.raises(ConfigError) as caught:
        parse_site(text)
    assert f"line {line}: decisions.planners.0.crew_per_day" in str(caught.value)


def test_bad_duration_and_unknown_field_are_reported_together() -> None:
    text = _pack_text().replace("cycle_interval: 12h", "cycle_interval: twelve hours")
    text = text.replace("    subset: FD001", "    subset: FD001\n    subsett: FD002")
    with pytest.raises(ConfigError) as caught:
        parse_site(text)
    message = str(caught.value)
    assert "connectors.0.cycle_interval" in message and "not a duration" in message
    assert "connectors.0.subsett: Extra inputs are not permitted" in message


def test_a_unit_pint_cannot_read_and_a_foreign_prefix_are_named() -> None:
    text = _pack_text().replace("sensor_20: {unit: lb/s", "sensor_20: {unit: lbm/s")
    text = text.replace("prefix: aviation-demo/", "prefix: elsewhere/")
    with pytest.raises(ConfigError) as caught:
        parse_site(text)
    message = str(caught.value)
    assert "asset_types.turbofan.signals.sensor_20.unit: unknown unit 'lbm/s'" in message
    assert "connectors.0.prefix" in message and "must start with the site name" in message
