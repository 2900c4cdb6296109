"""What fuzzing the site.yaml reader found, refused as configuration errors.

Nesting deep enough to exhaust Python's recursion in PyYAML's composer escaped as a
``RecursionError``; aliases nested in aliases (a "billion laughs") made a few hundred bytes millions
of values, which an error message then printed whole. Both are a ``ConfigError`` now, while
anchors used as they are meant to be still load.
"""

from __future__ import annotations

import pytest

from valueloop.config import parse_site
from valueloop.config.yamlio import MAX_REPEATED_VALUES
from valueloop.errors import ConfigError


def laughs(levels: int) -> str:
    """A flow sequence of ``levels`` anchors, each nine aliases of the one before: 9**levels."""
    parts = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    parts += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def test_deep_nesting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^site\.yaml: not valid YAML: nested too deeply$"):
        parse_site("site: " + "[" * 5000 + "]" * 5000)


def test_aliases_of_aliases_are_refused_before_they_expand() -> None:
    text = f"site: {{name: plant}}\ndecisions:\n  planners:\n    - {{params: {laughs(10)}}}\n"
    with pytest.raises(ConfigError) as raised:
        parse_site(text)
    assert str(raised.value) == (
        f"site.yaml: YAML aliases repeat more than {MAX_REPEATED_VALUES:,} values; "
        "write the repeated parts out"
    )


def test_anchors_for_shared_settings_still_load() -> None:
    text = """
site: {name: plant}
asset_types:
  pump:
    signals:
      flow: &measured {unit: m3/h, expected_interval: 1s}
      head: *measured
  fan:
    signals: {flow: *measured}
assets:
  - {path: water/line-1/pump-1, type: pump}
  - {path: air/line-1/fan-1, type: fan}
"""
    config = parse_site(text)
    assert config.asset_types["fan"].signals["flow"].unit == "m3/h"
