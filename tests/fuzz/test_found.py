"""What fuzzing the decoders found, each now refused as the decoder documents.

site.yaml: nesting deep enough to exhaust Python's recursion in PyYAML's composer escaped as a
``RecursionError`` (after seconds in PyYAML's scanner, whose work per token grows with the depth of
flow collections); aliases nested in aliases (a "billion laughs") made a few hundred bytes millions
of values, which an error message then printed whole; a value PyYAML itself cannot make (an
integer of 5,000 digits, 2026-02-30) and a duration longer than Python's ``timedelta`` escaped as a
``ValueError`` or an ``OverflowError``. All are a ``ConfigError`` now, while anchors used as they
are meant to be still load.

MQTT JSON: a refused array item holding a lone surrogate escape (``"\\ud800"``) could not be
written as a UTF-8 dead letter and failed the whole batch; a series or signal named by a payload
with a trailing line break passed the name check (``$`` matches before a final newline).
"""

from __future__ import annotations

import time

import pytest

from valueloop.config import connector_specs, parse_site
from valueloop.config.yamlio import MAX_REPEATED_VALUES
from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.mqtt import Message, MqttSpec
from valueloop.connectors.mqtt.payload import decode_batch
from valueloop.connectors.mqtt.routes import TopicRouter
from valueloop.errors import ConfigError


def laughs(levels: int) -> str:
    """A flow sequence of ``levels`` anchors, each nine aliases of the one before: 9**levels."""
    parts = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    parts += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("site: " + "[" * 5000 + "]" * 5000, "flow collections nested deeper than 100"),
        ("site:\n" + "- " * 5000 + "x\n", "nested too deeply"),
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_a_config_error_at_once(text: str, problem: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^site\.yaml: not valid YAML: ") as raised:
        parse_site(text)
    assert problem in str(raised.value)
    assert time.perf_counter() - started < 1.0  # 5,000 nested [ took PyYAML's scanner seconds


def test_aliases_of_aliases_are_refused_before_they_expand() -> None:
    text = f"site: {{name: plant}}\ndecisions:\n  planners:\n    - {{params: {laughs(10)}}}\n"
    with pytest.raises(ConfigError) as raised:
        parse_site(text)
    assert str(raised.value) == (
        f"site.yaml: YAML aliases repeat more than {MAX_REPEATED_VALUES:,} values; "
        "write the repeated parts out"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1" + "0" * 5000, "Exceeds the limit (4300 digits) for integer string conversion"),
        ("2026-02-30", "day is out of range for month"),
    ],
)
def test_values_pyyaml_cannot_make_are_config_errors(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=r"^site\.yaml: not valid YAML: ") as raised:
        parse_site(f"site: {{name: {value}}}\n")
    assert problem in str(raised.value)


def test_a_duration_too_long_for_timedelta_is_a_config_error() -> None:
    text = "site: {name: plant}\npolicy: {approve_within: 99999999999999999999d}\n"
    with pytest.raises(ConfigError) as raised:
        parse_site(text)
    assert str(raised.value) == (
        "invalid site configuration:\n  site.yaml, line 2: policy.approve_within: Value error, "
        "'99999999999999999999d' is longer than a duration can be (999,999,999 days)"
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


def decode(payload: bytes) -> tuple[FieldDelivery, TopicRouter]:
    """One message on ``plant/pump-1/flow`` decoded; the delivery and the router."""
    points = [{"topic": "plant/{asset}/flow", "series": "{asset}/flow"}]
    (spec,) = connector_specs([{"name": "m", "kind": "mqtt", "prefix": "p/a/l", "points": points}])
    assert isinstance(spec, MqttSpec)
    router = TopicRouter(spec.points)
    message = Message("plant/pump-1/flow", payload, 1, 1, time.time())
    return decode_batch([message], router, spec), router


def test_an_item_with_a_lone_surrogate_is_one_dead_letter() -> None:
    delivery, _ = decode(b'[{"value": "\\ud800"}, {"ts": 1767225600000, "value": 2}]')
    assert delivery.readings.column("value").to_pylist() == [2.0]
    (letter,) = delivery.rejected.to_pylist()
    assert letter["raw"] == '[{"value":"\\ud800"}]'  # JSON that reads back to the same item


@pytest.mark.parametrize("named", ['"signal": "pressure\\n"', '"series": "pump-9/flow\\n"'])
def test_a_name_with_a_trailing_line_break_is_refused(named: str) -> None:
    delivery, router = decode(b'{"value": 1, ' + named.encode() + b"}")
    assert delivery.readings.num_rows == 0
    (reason,) = delivery.rejected.column("reason").to_pylist()
    assert reason.startswith("topic plant/pump-1/flow: ") and "\\n' is not a valid" in reason
    assert not [series for series in router.discovered if "\n" in series]
