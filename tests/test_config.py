"""Reading configuration files: invalid YAML, a missing file and durations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from valueloop.config import load_site, parse_duration, parse_site
from valueloop.errors import ConfigError


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
