"""site.yaml validation: the aviation pack loads; a bad file names the field and the line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from valueloop.config import load_site, parse_duration, parse_site
from valueloop.errors import ConfigError
from valueloop.packs.aviation import PACK
from valueloop.packs.base import available_packs, get_pack


def _pack_text() -> str:
    return PACK.site_file.read_text()


def test_aviation_pack_loads_with_its_units_and_prices() -> None:
    site = get_pack("aviation").site()
    assert site.fleet.subset == "FD001"
    assert len(site.signals) == 24
    assert {s.name: s.unit for s in site.signals}["sensor_2"] == "degR"
    assert site.replay.cycle_interval == timedelta(hours=12)
    assert site.cycles_per_day == 2.0
    assert site.prices.unplanned_failure > site.prices.planned_overhaul > 0
    assert "aviation" in available_packs()


def test_bad_value_names_field_and_line() -> None:
    text = _pack_text().replace("crew_per_day: 2", "crew_per_day: -1")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "crew_per_day: -1" in row)
    with pytest.raises(ConfigError) as caught:
        parse_site(text)
    assert f"line {line}: maintenance.crew_per_day" in str(caught.value)


def test_bad_duration_and_unknown_field_are_reported_together() -> None:
    text = _pack_text().replace("cycle_interval: 12h", "cycle_interval: twelve hours")
    text = text.replace("  horizon_days: 75", "  horizon_days: 75\n  horizon_dayz: 3")
    with pytest.raises(ConfigError) as caught:
        parse_site(text)
    message = str(caught.value)
    assert "connectors.0.cycle_interval" in message and "not a duration" in message
    assert "maintenance.horizon_dayz: Extra inputs are not permitted" in message


def test_duplicate_signal_and_missing_section() -> None:
    text = _pack_text().replace("name: sensor_21,", "name: sensor_20,")
    with pytest.raises(ConfigError, match="repeated: sensor_20"):
        parse_site(text)
    text = _pack_text().replace("prices:", "prizes:")
    with pytest.raises(ConfigError, match="prices: Field required"):
        parse_site(text)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_site("site: [unclosed")
    with pytest.raises(ConfigError, match=r"cannot read .*absent\.yaml, the site configuration"):
        load_site(tmp_path / "absent.yaml")


def test_parse_duration() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("30min") == timedelta(minutes=30)
    assert parse_duration("1.5d") == timedelta(hours=36)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
