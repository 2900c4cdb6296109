"""The MQTT JSON connector against a real Mosquitto: the connector contract, payload shapes, topic
templates, dead letters, the way into the store, and mappings refused with their reason."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from pydantic import ValidationError
from tests.connectors.brokers import PREFIX, Broker, Publisher
from tests.connectors.brokers import mqtt_spec as spec
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected

from valueloop.connectors.check import check_connector
from valueloop.connectors.mqtt import MqttSource
from valueloop.model.assets import SeriesSpec
from valueloop.site import Site

pytestmark = pytest.mark.services


def epoch_ms(text: str) -> int:
    """Milliseconds since 1970 of an ISO 8601 instant."""
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize("qos", [0, 1])
def test_the_connector_contract_holds(broker: Broker, publisher: Publisher, qos: int) -> None:
    source = MqttSource(
        spec(
            broker.port,
            [
                {"topic": "plant/pump-1/pressure", "series": "pump-1/pressure", "unit": "bar"},
                {
                    "topic": "plant/pump-1/temperature",
                    "series": "pump-1/temperature",
                    "unit": "degC",
                    "scale": 0.1,
                    "offset": -40.0,
                },
            ],
            qos=qos,
        )
    )
    raw_tenths = [650, 700, 720]
    expected = pa.table(
        {
            "series": [f"{PREFIX}/pump-1/pressure"] * 2 + [f"{PREFIX}/pump-1/temperature"] * 3,
            "value": [4.25, 4.5] + [tenths / 10 - 40 for tenths in raw_tenths],
        }
    )

    async def produce() -> None:
        messages = [(b"4.25", "pressure"), (b'{"value": 4.5}', "pressure")] + [
            (json.dumps({"ts": f"2026-06-01T00:00:0{n}Z", "value": t}).encode(), "temperature")
            for n, t in enumerate(raw_tenths)
        ]
        await asyncio.to_thread(
            publisher.publish, [(f"plant/pump-1/{signal}", body) for body, signal in messages], qos
        )

    assert asyncio.run(check_connector(source, expected, produce, timeout=15)) == []


def _sorted_rows(table: pa.Table) -> list[tuple[str, datetime, float]]:
    rows = table.to_pylist()
    return sorted((row["series"], row["ts"], row["value"]) for row in rows)


def test_every_payload_shape_through_a_topic_template(broker: Broker, publisher: Publisher) -> None:
    source = MqttSource(
        spec(
            broker.port,
            [
                {"topic": "sites/+/{asset}/{signal}", "series": "{asset}/{signal}"},
                {
                    "topic": "batches/{asset}",
                    "series": "{asset}/flow",
                    "ts_format": "epoch_s",
                    "scale": 2.0,
                },
            ],
        )
    )
    t0 = "2026-06-01T10:00:00+00:00"
    published = [
        ("sites/north/pump-1/pressure", b"3.5"),
        ("sites/north/pump-1/inlet temp", json.dumps({"ts": t0, "value": 21.5}).encode()),
        ("sites/south/pump.2/speed", json.dumps({"ts": epoch_ms(t0), "value": 1480}).encode()),
        (
            "sites/south/pump.2/speed",
            json.dumps(
                [{"ts": epoch_ms(t0) + 1000, "value": 1490}, [epoch_ms(t0) + 2000, 1500]]
            ).encode(),
        ),
        (
            "batches/pump-3",
            json.dumps(
                [
                    {"ts": epoch_ms(t0) / 1000, "value": 1.0},
                    {"ts": "2026-06-01T12:00:00+02:00", "value": 2.0, "signal": "level"},
                    {"ts": "2026-06-01T10:00:01", "value": 3.0, "series": "tank-1/level"},
                ]
            ).encode(),
        ),
    ]
    at = datetime.fromisoformat(t0)
    second = datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC)
    expected_timed = [
        (f"{PREFIX}/pump-1/inlet_temp", at, 21.5),
        (f"{PREFIX}/pump.2/speed", at, 1480.0),
        (f"{PREFIX}/pump.2/speed", second, 1490.0),
        (f"{PREFIX}/pump.2/speed", datetime(2026, 6, 1, 10, 0, 2, tzinfo=UTC), 1500.0),
        (f"{PREFIX}/pump-3/flow", at, 2.0),
        (f"{PREFIX}/pump-3/level", at, 4.0),
        (f"{PREFIX}/tank-1/level", second, 6.0),
    ]

    async def scenario() -> tuple[Gathered, datetime, datetime]:
        task = asyncio.create_task(
            gather_until(source, lambda got: got.readings.num_rows >= 8, timeout=15)
        )
        await wait_connected(source)
        before = datetime.now(UTC)
        await asyncio.to_thread(publisher.publish, published)
        gathered = await task
        after = datetime.now(UTC)
        await source.stop()
        return gathered, before, after

    gathered, before, after = asyncio.run(scenario())
    assert gathered.rejected.num_rows == 0, gathered.rejected.to_pylist()
    rows = _sorted_rows(gathered.readings)
    bare = [row for row in rows if row[0].endswith("pump-1/pressure")]
    assert len(bare) == 1 and bare[0][2] == 3.5 and before <= bare[0][1] <= after
    assert [row for row in rows if row not in bare] == sorted(expected_timed)
    mapped = {path for path, _ in source.mappings()}
    assert {row[0] for row in rows} - {f"{PREFIX}/tank-1/level"} <= mapped


def test_malformed_payloads_become_dead_letters_with_reasons(
    broker: Broker, publisher: Publisher
) -> None:
    points = [{"topic": "plant/{asset}/temperature", "series": "{asset}/temperature"}]
    legacy = [{"topic": "legacy/{asset}", "series": "{asset}/temperature"}]

    async def scenario() -> Gathered:
        # An earlier configuration left a subscription in the persistent session.
        old = MqttSource(spec(broker.port, legacy))
        task = asyncio.create_task(gather_until(old, lambda got: False, timeout=0.5))
        await wait_connected(old)
        await task
        await old.stop()
        source = MqttSource(spec(broker.port, points))
        task = asyncio.create_task(
            gather_until(source, lambda got: got.rejected.num_rows >= 9, timeout=15)
        )
        await wait_connected(source)
        await asyncio.to_thread(
            publisher.publish,
            [
                ("plant/pump-1/temperature", b"{not json"),
                ("plant/pump-1/temperature", b'"21.5"'),
                ("plant/pump-1/temperature", b'{"value": true}'),
                ("plant/pump-1/temperature", b'{"ts": 99999999999999999, "value": 1}'),
                ("plant/pump-1/temperature", b'{"ts": "yesterday", "value": 1}'),
                ("plant/pump-1/temperature", b'[{"value": 2}, {"value": "x"}, 3]'),
                ("plant/pump-2/temperature", b'[{"ts": 1e20, "value": 5}, {"value": 6}]'),
                ("plant//temperature", b"1"),
                ("legacy/pump-1", b"20.0"),
                ("plant/pump-1/temperature", b"22.5"),
            ],
        )
        gathered = await task
        await source.stop()
        return gathered

    gathered = asyncio.run(scenario())
    letters = gathered.rejected.to_pylist()
    reasons = [letter["reason"] for letter in letters]
    topic = "topic plant/pump-1/temperature: "
    expected_starts = [
        topic + "bad JSON",
        topic + "wrong type: a string",
        topic + "wrong type: value is a boolean",
        topic + "timestamp",
        topic + "ts 'yesterday' is not ISO 8601",
        topic + "item 1: wrong type: value is a string",
        topic + "item 2: wrong type: int, expected an object",
        "topic plant/pump-2/temperature: item 0: timestamp",
        "topic plant//temperature: mapping",
        "unknown topic legacy/pump-1",
    ]
    for start in expected_starts:
        assert any(reason.startswith(start) for reason in reasons), (start, reasons)
    assert "outside 1970-2200" in next(r for r in reasons if r.startswith(topic + "timestamp"))
    assert {letter["raw"] for letter in letters} >= {"{not json", '"21.5"', "20.0"}
    assert {letter["source"] for letter in letters} == {"line1-mqtt"}
    assert sorted(gathered.readings.column("value").to_pylist()) == [2.0, 6.0, 22.5]


def test_readings_reach_the_store_and_bad_ones_the_dead_letters(
    broker: Broker, publisher: Publisher, site: Site
) -> None:
    source = MqttSource(
        spec(broker.port, [{"topic": "plant/{asset}/{signal}", "series": "{asset}/{signal}"}])
    )
    path = f"{PREFIX}/pump-1/pressure"
    site.registry.ensure([SeriesSpec(path, "pump-1", "pressure", "bar", "outlet pressure")])
    values = [(f"2026-06-01T00:00:{second:02d}Z", 3.0 + second / 10) for second in range(20)]

    async def scenario() -> Gathered:
        task = asyncio.create_task(
            gather_until(source, lambda got: got.readings.num_rows >= 21, timeout=15)
        )
        await wait_connected(source)
        body = json.dumps([{"ts": ts, "value": value} for ts, value in values]).encode()
        await asyncio.to_thread(
            publisher.publish,
            [
                ("plant/pump-1/pressure", body),
                ("plant/pump-9/pressure", b"1.0"),
                ("plant/x/y", b"{"),
            ],
        )
        gathered = await task
        await source.stop()
        return gathered

    gathered = asyncio.run(scenario())
    for delivery in gathered.deliveries:
        site.pipeline.ingest_readings(delivery, source.name)
    (series_id,) = site.registry.resolve(pa.array([path])).to_pylist()
    stored = site.points.read([series_id])
    assert stored.column("value").to_pylist() == [value for _, value in values]
    assert stored.column("ts")[0].as_py() == datetime(2026, 6, 1, tzinfo=UTC)
    reasons = sorted(letter["reason"] for letter in site.pipeline.dead_letters.list().to_pylist())
    assert len(reasons) == 2
    assert reasons[0].startswith("topic plant/x/y: bad JSON")
    assert reasons[1] == "unknown series path"


@pytest.mark.parametrize(
    ("point", "problem"),
    [
        ({"topic": "plant/{asset}/temp", "series": "{asset}/{signal}"}, "does not capture"),
        ({"topic": "plant/#/temp", "series": "a/b"}, "'#' may only be the last level"),
        ({"topic": "plant/pre{asset}", "series": "{asset}/x"}, "fills a whole level"),
        ({"topic": "plant/x", "series": "not a series"}, "String should match pattern"),
    ],
)
def test_bad_mappings_are_refused_with_the_reason(point: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        spec(1883, [point])
