"""The MQTT set-point sink against a real Mosquitto and a device process: the sink contract with
confirmation by reply and by state, unit conversion, a refused command, a missing broker, one
application per write, and set-point mappings refused with their reason."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.connectors.brokers import PREFIX, Broker, Counter, Publisher, mqtt_spec
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected
from tests.connectors.mqtt_setpoint_device import SetpointDevice
from tests.connectors.peers import free_port

from valueloop.connectors.base import ReadBack, SetpointWrite, sink_for
from valueloop.connectors.mqtt import MqttSink, MqttSource, MqttSpec
from valueloop.connectors.readback import read_until
from valueloop.connectors.sinkcheck import check_sink

SPEED = f"{PREFIX}/pump-1/speed_setpoint"
COMMAND = "plant/pump-1/speed/set"
REPLY = "plant/pump-1/speed/reply"
STATE = "plant/pump-1/speed"


def sink(port: int, setpoint: dict[str, Any], **fields: Any) -> MqttSink:
    """The sink of a set-point-only connector with ``setpoint`` (its series and topic preset),
    built by the ``valueloop.sinks`` entry point."""
    mapping = {"series": "pump-1/speed_setpoint", "topic": COMMAND, **setpoint}
    built = sink_for(mqtt_spec(port, [], setpoints=[mapping], **fields))
    assert isinstance(built, MqttSink)
    return built


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[list[SetpointDevice]]:
    """Devices started by the test, ended after it."""
    started: list[SetpointDevice] = []
    yield started
    for device in started:
        device.close()


def device(
    devices: list[SetpointDevice], broker: Broker, tmp_path: Path, *args: str
) -> SetpointDevice:
    """A device on ``broker`` commanded on COMMAND, ended with the test."""
    started = SetpointDevice(
        broker.port, tmp_path / f"writes-{len(devices)}.tsv", "--command-topic", COMMAND, *args
    )
    devices.append(started)
    return started


def read(target: MqttSink, series: str = SPEED) -> ReadBack:
    """One read, in an event loop of its own (as the engine calls a sink)."""
    (answer,) = asyncio.run(target.read([series]))
    return answer


@pytest.mark.services
def test_the_contract_holds_confirmed_by_replies(
    broker: Broker, devices: list[SetpointDevice], tmp_path: Path
) -> None:
    # The device has no reply topic of its own: it answers on the commands' ResponseTopic.
    peer = device(devices, broker, tmp_path, "--min", "0", "--max", "3000")
    target = sink(broker.port, {"reply_topic": REPLY})
    assert target.targets() == [SPEED]
    values = [1200.0, 1500.0, 0.0]
    assert asyncio.run(check_sink(target, {SPEED: values}, timeout=5)) == []
    assert [value for _, value in peer.writes()] == values


@pytest.mark.services
def test_the_contract_holds_confirmed_by_state_alone(
    broker: Broker, devices: list[SetpointDevice], tmp_path: Path
) -> None:
    device(devices, broker, tmp_path, "--state-topic", STATE, "--initial", "1000", "--no-reply")
    target = sink(broker.port, {"state_topic": STATE})
    assert read(target) == ReadBack(SPEED, 1000.0)  # the retained state, before any write
    assert asyncio.run(check_sink(target, {SPEED: [1200.0, 1500.0]}, timeout=5)) == []


@pytest.mark.services
def test_scale_and_offset_convert_commands_and_reads(
    broker: Broker, devices: list[SetpointDevice], tmp_path: Path
) -> None:
    # The device counts tenths of a degree above -40 degC.
    peer = device(
        devices,
        broker,
        tmp_path,
        "--state-topic",
        STATE,
        "--reply-topic",
        REPLY,
        "--initial",
        "600",
    )
    mapping = {"state_topic": STATE, "reply_topic": REPLY, "scale": 0.1, "offset": -40.0}
    target = sink(broker.port, mapping)
    assert read(target).value == pytest.approx(20.0)
    assert asyncio.run(check_sink(target, {SPEED: [25.0, 31.5]}, timeout=5)) == []
    assert [value for _, value in peer.writes()] == pytest.approx([650.0, 715.0])


@pytest.mark.services
def test_a_refused_command_leaves_the_value_and_says_why(
    broker: Broker, devices: list[SetpointDevice], tmp_path: Path
) -> None:
    args = ["--state-topic", STATE, "--min", "0", "--max", "100", "--initial", "50"]
    peer = device(devices, broker, tmp_path, *args)
    target = sink(broker.port, {"state_topic": STATE, "reply_topic": REPLY})
    (sent,) = asyncio.run(target.write([SetpointWrite(SPEED, 150.0, "exec-1")]))
    assert sent.ok, sent.detail  # the broker took the command; the device decides
    assert json.loads(sent.detail)["previous_setpoint"] == 50.0
    peer.expect("refused exec-1")
    deadline = time.monotonic() + 5
    while "refused" not in (answer := read(target)).detail and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answer.value == 50.0
    assert "exec-1" in answer.detail and "150.0 is outside [0, 100]" in answer.detail
    assert peer.writes() == []
    (accepted,) = asyncio.run(target.write([SetpointWrite(SPEED, 80.0, "exec-2")]))
    assert accepted.ok, accepted.detail
    peer.expect("applied exec-2")
    assert asyncio.run(read_until(target, SPEED, 80.0, tolerance=0, timeout=5)) == 80.0
    assert read(target) == ReadBack(SPEED, 80.0)  # the refusal is history
    assert peer.writes() == [("exec-2", 80.0)]
    asyncio.run(target.close())


@pytest.mark.services
def test_without_a_broker_writes_fail_in_bounded_time(
    broker: Broker, devices: list[SetpointDevice], tmp_path: Path
) -> None:
    device(devices, broker, tmp_path, "--state-topic", STATE, "--no-reply")
    target = sink(broker.port, {"state_topic": STATE}, command_timeout=1.0)
    (sent,) = asyncio.run(target.write([SetpointWrite(SPEED, 5.0, "exec-1")]))
    assert sent.ok, sent.detail
    broker.stop()
    started = time.monotonic()
    (failed,) = asyncio.run(target.write([SetpointWrite(SPEED, 6.0, "exec-2")]))
    assert time.monotonic() - started < 3
    assert not failed.ok and failed.reference == "exec-2"
    assert COMMAND in failed.detail and "broker unreachable" in failed.detail
    answer = read(target)
    assert answer.value is None and "broker unreachable" in answer.detail
    asyncio.run(target.close())

    nobody = sink(free_port(), {"state_topic": STATE}, command_timeout=0.5)
    started = time.monotonic()
    (failed,) = asyncio.run(nobody.write([SetpointWrite(SPEED, 6.0, "exec-3")]))
    assert time.monotonic() - started < 2
    assert not failed.ok and "broker unreachable" in failed.detail, failed.detail
    asyncio.run(nobody.close())


@pytest.mark.services
def test_each_write_is_applied_once(
    broker: Broker, publisher: Publisher, devices: list[SetpointDevice], tmp_path: Path
) -> None:
    peer = device(devices, broker, tmp_path, "--reply-topic", REPLY)
    target = sink(broker.port, {"reply_topic": REPLY})
    writes = [SetpointWrite(SPEED, float(n), f"exec-{n}") for n in range(3)]
    results = asyncio.run(target.write(writes))
    assert [(r.reference, r.ok) for r in results] == [(w.reference, True) for w in writes]
    peer.expect("applied exec-2")
    # The broker delivering a command again (QoS 1 after a lost acknowledgement) changes nothing.
    again = {"value": 7.0, "correlation_id": "exec-1", "ts": "2026-06-01T00:00:00+00:00"}
    replies = Counter(broker.port, REPLY)
    publisher.publish([(COMMAND, json.dumps(again).encode())])
    peer.expect("duplicate exec-1")
    assert replies.arrived.wait(5)  # the device answered exec-1 again, with its old value
    replies.close()
    assert peer.writes() == [(w.reference, w.value) for w in writes]
    assert read(target) == ReadBack(SPEED, 2.0)
    asyncio.run(target.close())


@pytest.mark.services
def test_a_connector_of_set_points_alone_reads_nothing_and_stops(broker: Broker) -> None:
    spec = mqtt_spec(
        broker.port,
        [],
        setpoints=[{"series": "pump-1/speed_setpoint", "topic": COMMAND, "state_topic": STATE}],
    )
    source = MqttSource(spec)

    async def idle() -> Gathered:
        gathering = asyncio.create_task(gather_until(source, lambda _: False, timeout=0.3))
        await wait_connected(source)
        gathered = await gathering
        await source.stop()
        return gathered

    gathered = asyncio.run(idle())
    assert gathered.deliveries == []
    assert source.mappings() == []


@pytest.mark.parametrize(
    ("setpoint", "fields", "reason"),
    [
        ({}, {}, "give reply_topic or state_topic"),
        ({"topic": "plant/+/speed/set", "state_topic": STATE}, {}, "is not one topic"),
        ({"reply_topic": STATE, "state_topic": STATE}, {}, "both a reply_topic and a state_topic"),
        ({"state_topic": STATE, "qos": 0}, {}, "qos"),
        ({"state_topic": STATE}, {"setpoints": []}, "map at least one reading"),
    ],
)
def test_set_point_mappings_are_checked(
    setpoint: dict[str, Any], fields: dict[str, Any], reason: str
) -> None:
    mapping = {"series": "pump-1/speed_setpoint", "topic": COMMAND, **setpoint}
    raw = {"name": "line1-mqtt", "kind": "mqtt", "prefix": PREFIX, "setpoints": [mapping]}
    with pytest.raises(ValidationError, match=reason):
        MqttSpec.model_validate({**raw, **fields})


def test_a_set_point_mapped_twice_is_refused() -> None:
    mapping = {"series": "pump-1/speed_setpoint", "topic": COMMAND, "state_topic": STATE}
    raw = {"name": "line1-mqtt", "kind": "mqtt", "prefix": PREFIX, "setpoints": [mapping] * 2}
    with pytest.raises(ValidationError, match="pump-1/speed_setpoint is mapped more than once"):
        MqttSpec.model_validate(raw)
