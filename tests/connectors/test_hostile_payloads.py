"""Hostile MQTT payloads cost memory in proportion to their size and end as one dead letter each.

The decoder on its own: an 8,000-pair array read within a bounded peak, arrays of more items than
``max_items``, JSON nested 100,000 deep, absurd timestamps, refused items keeping only themselves.
Through a real Mosquitto: a 5 MB array over the default ``max_payload_bytes`` dead-lettered while
the messages beside it are read, an oversized QoS 1 message acknowledged so that a restarted
connector on the same session does not receive it again, and Sparkplug payloads over the limits.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import tracemalloc
from typing import Any

import pyarrow as pa
import pytest
from tests.connectors.brokers import PREFIX, Broker, Publisher, mqtt_spec
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected

from valueloop.config import connector_specs
from valueloop.connectors.mqtt import Message, MqttSource, MqttSpec
from valueloop.connectors.mqtt.limits import EXCERPT_BYTES
from valueloop.connectors.mqtt.payload import decode_batch
from valueloop.connectors.mqtt.routes import TopicRouter
from valueloop.connectors.sparkplug import SparkplugHost, SparkplugSpec
from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb

TOPIC = "plant/pump-1/flow"
POINTS = [{"topic": "plant/{asset}/flow", "series": "{asset}/flow"}]
START_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z."""


def offline_spec(**fields: Any) -> MqttSpec:
    """An MQTT spec mapping ``plant/<asset>/flow``, for the decoder alone."""
    return mqtt_spec(1883, POINTS, **fields)


def decode(payloads: list[bytes], spec: MqttSpec | None = None) -> tuple[pa.Table, pa.Table]:
    """The readings and dead letters of one batch of messages on :data:`TOPIC`."""
    spec = spec or offline_spec()
    messages = [Message(TOPIC, payload, 1, n, time.time()) for n, payload in enumerate(payloads)]
    delivery = decode_batch(messages, TopicRouter(spec.points), spec)
    return delivery.readings, delivery.rejected


def letters(rejected: pa.Table) -> list[tuple[str, str]]:
    """``(raw, reason)`` of each dead letter."""
    return list(zip(rejected["raw"].to_pylist(), rejected["reason"].to_pylist(), strict=True))


def pairs(count: int) -> bytes:
    """A compact JSON array of ``count`` ``[ts, value]`` pairs, a second apart."""
    items = [[START_MS + n * 1000, 20 + n % 100 / 10] for n in range(count)]
    return json.dumps(items, separators=(",", ":")).encode()


def objects(count: int) -> bytes:
    """A JSON array of ``count`` plain ``{"ts", "value"}`` objects (the form read as columns)."""
    item = f'{{"ts":{START_MS},"value":1.5}}'.encode()
    return b"[" + b",".join([item] * count) + b"]"


def test_8000_pairs_are_read_within_a_peak_of_20_times_the_payload() -> None:
    decode([b"[[1767225600000,1.5]]"])  # first calls into Arrow allocate once per process
    payload = pairs(8000)
    assert 160 * 1024 < len(payload) < 170 * 1024
    tracemalloc.start()
    try:
        readings, rejected = decode([payload])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert readings.num_rows == 8000
    assert rejected.num_rows == 0
    assert peak < 20 * len(payload), f"peak {peak:,} B for a payload of {len(payload):,} B"


@pytest.mark.parametrize("payload", [pairs(11), objects(11)], ids=["pairs", "objects"])
def test_more_items_than_max_items_is_one_dead_letter(payload: bytes) -> None:
    readings, rejected = decode([payload, pairs(10)], offline_spec(max_items=10))
    assert readings.num_rows == 10  # the message within the limit is read whole
    (letter,) = rejected.to_pylist()
    assert letter["reason"] == f"topic {TOPIC}: 11 items exceed max_items 10"
    assert letter["raw"] == payload.decode()


def test_an_oversized_payload_is_refused_before_decoding_keeping_its_first_kib() -> None:
    payload = b"[" * 5000 + b"]" * 5000
    readings, rejected = decode([payload, b"1.5"], offline_spec(max_payload_bytes=9999))
    assert readings.column("value").to_pylist() == [1.5]
    (letter,) = rejected.to_pylist()
    assert letter["reason"] == (
        f"topic {TOPIC}: payload of 10,000 bytes exceeds max_payload_bytes 9,999; "
        f"raw keeps its first {EXCERPT_BYTES:,} bytes"
    )
    assert letter["raw"] == "[" * EXCERPT_BYTES


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"value":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" + b"[" * 990 + b"]" * 990 + b"]",  # decodable, too deep to write back as text
    ],
    ids=["arrays", "objects", "item"],
)
def test_deep_nesting_is_one_dead_letter(payload: bytes) -> None:
    readings, rejected = decode([payload, b"2.5"])
    assert readings.column("value").to_pylist() == [2.5]
    (letter,) = rejected.to_pylist()
    assert letter["reason"].startswith(f"topic {TOPIC}: ")
    assert "recursion" in letter["reason"] or "item 0: wrong type: an array" in letter["reason"]
    assert len(letter["raw"]) <= EXCERPT_BYTES


def test_absurd_timestamps_are_dead_letters_naming_the_item() -> None:
    items, columns = (
        decode([payload])
        for payload in (
            b"[[NaN, 1], [1e16, 2], [-1e15, 3], [1767225600000, 4]]",
            b'[{"ts": 1e16, "value": 5}, {"ts": 1767225600000, "value": 6}]',  # read as columns
        )
    )

    def outside(item: int, seconds: str) -> str:
        return (
            f"topic {TOPIC}: item {item}: timestamp {seconds} s since 1970 is outside 1970-2200 "
            "(check ts_format)"
        )

    assert items[0].column("value").to_pylist() == [4.0]
    assert letters(items[1]) == [
        ("[[NaN,1]]", outside(0, "nan")),
        ("[[1e+16,2]]", outside(1, "10000000000000")),
        ("[[-1000000000000000.0,3]]", outside(2, "-1000000000000")),
    ]
    assert columns[0].column("value").to_pylist() == [6.0]
    assert letters(columns[1]) == [('[{"ts":1e+16,"value":5.0}]', outside(0, "10000000000000"))]


def test_refused_items_keep_themselves_alone_at_most_a_kib() -> None:
    items: list[Any] = [{"value": "x"}] * 2000 + [{"value": "y" * 5000}, [START_MS, 7]]
    readings, rejected = decode([json.dumps(items).encode()])
    assert readings.column("value").to_pylist() == [7.0]
    raws = rejected.column("raw").to_pylist()
    assert len(raws) == 2001
    assert set(raws[:2000]) == {'[{"value":"x"}]'}
    assert raws[2000] == ('[{"value":"' + "y" * 5000)[:EXCERPT_BYTES]
    reasons = rejected.column("reason").to_pylist()
    problem = "wrong type: value is a string, expected a number"
    assert reasons[1999] == f"topic {TOPIC}: item 1999: {problem}"


def test_a_refused_item_is_read_again_once_the_mapping_is_fixed() -> None:
    in_seconds = [{**POINTS[0], "ts_format": "epoch_s"}]
    _, rejected = decode([pairs(3)], mqtt_spec(1883, in_seconds))
    assert rejected.num_rows == 3  # milliseconds read as seconds: beyond 2200
    letter = rejected.to_pylist()[2]
    fixed = MqttSource(offline_spec())
    replayed = fixed.reparse(letter["raw"], letter["reason"])
    assert replayed.rejected.num_rows == 0
    assert replayed.readings.column("value").to_pylist() == [20.2]


@pytest.mark.services
def test_a_5_mb_array_is_one_dead_letter_and_its_neighbours_are_read(
    broker: Broker, publisher: Publisher
) -> None:
    source = MqttSource(mqtt_spec(broker.port, POINTS))  # the default limits: 4 MiB
    big = objects(160_000)
    assert len(big) > 5_000_000

    async def scenario() -> Gathered:
        task = asyncio.create_task(
            gather_until(
                source,
                lambda got: got.readings.num_rows >= 4 and got.rejected.num_rows >= 1,
                timeout=15,
            )
        )
        await wait_connected(source)
        await asyncio.to_thread(
            publisher.publish,
            [("plant/pump-1/flow", b"1.5"), ("plant/pump-2/flow", big), (TOPIC, pairs(3))],
        )
        gathered = await task
        await source.stop()
        return gathered

    gathered = asyncio.run(scenario())
    assert sorted(gathered.readings.column("value").to_pylist()) == [1.5, 20.0, 20.1, 20.2]
    (letter,) = gathered.rejected.to_pylist()
    assert letter["reason"] == (
        f"topic plant/pump-2/flow: payload of {len(big):,} bytes exceeds max_payload_bytes "
        f"4,194,304; raw keeps its first {EXCERPT_BYTES:,} bytes"
    )
    assert letter["raw"] == big[:EXCERPT_BYTES].decode()


@pytest.mark.services
def test_an_oversized_qos1_message_is_acknowledged_and_not_delivered_again(
    broker: Broker, publisher: Publisher
) -> None:
    spec = mqtt_spec(broker.port, POINTS, batch_messages=1, max_payload_bytes=100_000)
    big = pairs(10_000)

    def arrived(value: float) -> Any:
        return lambda got: value in got.readings.column("value").to_pylist()

    async def session(messages: list[tuple[str, bytes]], marker: float) -> Gathered:
        source = MqttSource(spec)
        task = asyncio.create_task(gather_until(source, arrived(marker), timeout=10))
        await wait_connected(source)
        await asyncio.to_thread(publisher.publish, messages)
        gathered = await task
        await source.stop()
        return gathered

    # One message a delivery: taking the marker's delivery acknowledged the oversized one.
    first = asyncio.run(session([(TOPIC, big), ("plant/pump-2/flow", b"1.5")], 1.5))
    assert first.rejected.column("reason").to_pylist() == [
        f"topic {TOPIC}: payload of {len(big):,} bytes exceeds max_payload_bytes 100,000; "
        f"raw keeps its first {EXCERPT_BYTES:,} bytes"
    ]
    again = asyncio.run(session([("plant/pump-3/flow", b"2.5")], 2.5))
    assert again.rejected.num_rows == 0
    assert 2.5 in again.readings.column("value").to_pylist()


def sparkplug_payload(seq: int, metrics: list[pb.Payload.Metric]) -> bytes:
    """A Sparkplug B payload of ``metrics`` with sequence number ``seq``."""
    payload = pb.Payload(timestamp=START_MS, seq=seq)
    payload.metrics.extend(metrics)
    return bytes(payload.SerializeToString())


def flow(alias: int, name: str = "") -> pb.Payload.Metric:
    """A Double metric of value 3.5 (named in a birth, by alias in data)."""
    return pb.Payload.Metric(name=name, alias=alias, datatype=10, double_value=3.5)


@pytest.mark.services
def test_sparkplug_payloads_over_the_limits_are_dead_letters(
    broker: Broker, publisher: Publisher
) -> None:
    raw = {
        "name": "line1-sparkplug",
        "kind": "sparkplug",
        "prefix": PREFIX,
        "port": broker.port,
        "groups": ["line1"],
        "max_payload_bytes": 10_000,
        "max_items": 5,
        "points": [{"metric": "line1/{node}//{metric}", "series": "{node}/{metric}"}],
    }
    (spec,) = connector_specs([raw])
    assert isinstance(spec, SparkplugSpec)
    source = SparkplugHost(spec)
    bd_seq = pb.Payload.Metric(name="bdSeq", datatype=8, long_value=0)
    node = "spBv1.0/line1/{}/edge-1"
    oversized = b"\x08" * 20_000
    messages = [
        (node.format("NBIRTH"), sparkplug_payload(0, [bd_seq, flow(1, "Flow")])),
        (node.format("NDATA"), sparkplug_payload(1, [flow(1), flow(7), flow(8), flow(9)])),
        (node.format("NDATA"), oversized),
        (node.format("NDATA"), sparkplug_payload(2, [flow(1)] * 6)),
    ]

    async def scenario() -> Gathered:
        task = asyncio.create_task(
            gather_until(source, lambda got: got.rejected.num_rows >= 3, timeout=10)
        )
        await wait_connected(source)
        await asyncio.to_thread(publisher.publish, messages)
        gathered = await task
        await source.stop()
        return gathered

    gathered = asyncio.run(scenario())
    assert gathered.readings.column("value").to_pylist() == [3.5, 3.5]
    letters = {
        letter["reason"]: base64.b64decode(letter["raw"])
        for letter in gathered.rejected.to_pylist()
    }
    topic = f"topic {node.format('NDATA')}: "
    assert letters == {
        f"{topic}3 metrics not declared by a birth: alias 7, alias 8, alias 9 "
        "(raw payload in base64)": messages[1][1],
        f"{topic}payload of 20,000 bytes exceeds max_payload_bytes 10,000; raw keeps its "
        f"first {EXCERPT_BYTES:,} bytes (raw payload in base64)": oversized[:EXCERPT_BYTES],
        f"{topic}6 metrics exceed max_items 5 (raw payload in base64)": messages[3][1],
    }
