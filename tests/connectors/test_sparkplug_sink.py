"""The Sparkplug B set-point sink against the edge node simulator through a private Mosquitto: the
shared sink check, the commands it publishes (datatype and alias of the birth), the rebirth it asks
of a node born before it, refusals, scale and offset, deaths, and the simulator's write log."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.connectors.brokers import PREFIX, Broker, Counter
from tests.connectors.peers import free_port
from tests.connectors.sparkplug_node import SETPOINT_START, Simulator, values

from valueloop.config import connector_specs
from valueloop.connectors.base import SetpointWrite, WriteResult, sink_for
from valueloop.connectors.sinkcheck import check_sink, read_until
from valueloop.connectors.sparkplug import SparkplugSink
from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.connectors.sparkplug.codec import decode_payload

pytestmark = pytest.mark.services

SETPOINT = "line1/edge-1/pump-1/Setpoint"
SPEED = "line1/edge-1/pump-1/Speed Setpoint"


@pytest.fixture
def simulators(broker: Broker) -> Iterator[list[Simulator]]:
    """Simulators a test starts; all ended when it ends."""
    started: list[Simulator] = []
    yield started
    for simulator in started:
        simulator.close()


@pytest.fixture
def sinks() -> Iterator[list[SparkplugSink]]:
    """Sinks a test builds; all closed when it ends."""
    built: list[SparkplugSink] = []
    yield built
    for sink in built:
        asyncio.run(sink.close())


@pytest.fixture
def write_log(tmp_path: Path) -> Path:
    """Where the simulator logs the DCMD metrics it handles."""
    return tmp_path / "writes.jsonl"


def start_node(port: int, write_log: Path, simulators: list[Simulator]) -> Simulator:
    """A simulator with writable set-points, born before any sink connects."""
    simulator = Simulator(port, setpoints=True, write_log=write_log)
    simulators.append(simulator)
    simulator.send("birth")
    return simulator


def make_sink(
    port: int, setpoints: list[dict[str, Any]], sinks: list[SparkplugSink], **fields: Any
) -> SparkplugSink:
    """The sink of a connector configured as site.yaml would give it, found by entry point."""
    raw = {
        "name": "line1-sparkplug",
        "kind": "sparkplug",
        "prefix": PREFIX,
        "port": port,
        "groups": ["line1"],
        "rebirth_interval": 0.5,
        "points": [{"metric": "line1/+/{device}/{metric}", "series": "{device}/{metric}"}],
        "setpoints": setpoints,
        **fields,
    }
    (spec,) = connector_specs([raw])
    sink = sink_for(spec)
    assert isinstance(sink, SparkplugSink)
    sinks.append(sink)
    return sink


def write(sink: SparkplugSink, series: str, value: float) -> WriteResult:
    """One write, in an event loop of its own (as the engine runs one per step)."""
    (result,) = asyncio.run(sink.write([SetpointWrite(f"{PREFIX}/{series}", value, "order-1")]))
    return result


def read(sink: SparkplugSink, series: str, value: float | None = None) -> tuple[Any, str]:
    """The value read (waiting up to 5 s for ``value`` if given) and the reason if none."""
    path = f"{PREFIX}/{series}"
    if value is not None:
        asyncio.run(read_until(sink, path, value, tolerance=1e-9, timeout=5))
    (answer,) = asyncio.run(sink.read([path]))
    return answer.value, answer.detail


def logged(write_log: Path, lines: int) -> list[dict[str, Any]]:
    """The simulator's write log once it has ``lines`` lines (or after 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if write_log.exists() and len(write_log.read_text().splitlines()) >= lines:
            break
        time.sleep(0.02)
    text = write_log.read_text() if write_log.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


def test_the_sink_contract_holds_for_a_double_and_an_int32_metric(
    broker: Broker, simulators: list[Simulator], sinks: list[SparkplugSink], write_log: Path
) -> None:
    start_node(broker.port, write_log, simulators)
    sink = make_sink(
        broker.port,
        [
            {"metric": SETPOINT, "series": "pump-1/setpoint", "unit": "bar"},
            {"metric": SPEED, "series": "pump-1/speed_setpoint", "unit": "rpm"},
        ],
        sinks,
    )
    checked = {
        f"{PREFIX}/pump-1/setpoint": [42.5, 37.25],
        f"{PREFIX}/pump-1/speed_setpoint": [1200.0, -300.0],
    }
    assert asyncio.run(check_sink(sink, checked, timeout=5)) == []
    assert [(line["metric"], line["value"], line["status"]) for line in logged(write_log, 4)] == [
        ("Setpoint", 42.5, "applied"),
        ("Setpoint", 37.25, "applied"),
        ("Speed Setpoint", 1200, "applied"),
        ("Speed Setpoint", -300, "applied"),
    ]
    assert not [t for t in threading.enumerate() if t.name == "sparkplug-sink-line1-sparkplug"]


def test_commands_carry_the_name_alias_and_datatype_of_the_birth(
    broker: Broker, simulators: list[Simulator], sinks: list[SparkplugSink], write_log: Path
) -> None:
    start_node(broker.port, write_log, simulators)
    watcher = Counter(broker.port, "spBv1.0/line1/+/edge-1/#")
    sink = make_sink(
        broker.port,
        [
            {"metric": SPEED, "series": "pump-1/speed_setpoint"},
            {"metric": "line1/edge-1//Temperature", "series": "edge-1/temperature_setpoint"},
        ],
        sinks,
    )
    started_ms = time.time() * 1000
    result = write(sink, "pump-1/speed_setpoint", -300)
    node_result = write(sink, "edge-1/temperature_setpoint", 21.5)
    assert result.ok and node_result.ok, (result, node_result)
    detail = json.loads(result.detail)
    assert detail["data_type"] == "Int32"
    assert (detail["written"], detail["previous"]) == (-300, SETPOINT_START["Speed Setpoint"])
    assert detail["topic"] == "spBv1.0/line1/DCMD/edge-1/pump-1"
    watcher.close()
    commands = {
        topic: decode_payload(payload)
        for topic, payload in zip(watcher.topics, watcher.payloads, strict=True)
        if "CMD" in topic and decode_payload(payload).metrics[0].name != "Node Control/Rebirth"
    }
    device = commands["spBv1.0/line1/DCMD/edge-1/pump-1"]
    (metric,) = device.metrics
    assert (metric.name, metric.alias, metric.datatype) == ("Speed Setpoint", 15, pb.Int32)
    assert metric.int_value == 2**32 - 300  # two's complement
    assert started_ms - 1000 <= device.timestamp <= time.time() * 1000
    (node_metric,) = commands["spBv1.0/line1/NCMD/edge-1"].metrics
    assert (node_metric.name, node_metric.alias) == ("Temperature", 1)
    assert (node_metric.datatype, node_metric.float_value) == (pb.Float, 21.5)
    assert logged(write_log, 1)[0]["datatype"] == "Int32"


def test_a_node_born_before_the_sink_connected_is_asked_to_rebirth(
    broker: Broker, simulators: list[Simulator], sinks: list[SparkplugSink], write_log: Path
) -> None:
    simulator = start_node(broker.port, write_log, simulators)
    requests = Counter(broker.port, "spBv1.0/line1/NCMD/edge-1")
    sink = make_sink(broker.port, [{"metric": SETPOINT, "series": "pump-1/setpoint"}], sinks)
    assert read(sink, "pump-1/setpoint") == (SETPOINT_START["Setpoint"], "")
    simulator.expect("reborn")
    assert write(sink, "pump-1/setpoint", 6.5).ok
    assert read(sink, "pump-1/setpoint", 6.5) == (6.5, "")
    assert [line["value"] for line in logged(write_log, 1)] == [6.5]
    requests.close()
    assert len(requests.payloads) == 1  # once the births are seen, no more requests


def test_reads_say_why_a_metric_has_no_value_until_its_births_and_after_the_death(
    broker: Broker, simulators: list[Simulator], sinks: list[SparkplugSink], write_log: Path
) -> None:
    requests = Counter(broker.port, "spBv1.0/line1/NCMD/edge-1")
    sink = make_sink(
        broker.port, [{"metric": SETPOINT, "series": "pump-1/setpoint"}], sinks, command_timeout=1
    )
    value, reason = read(sink, "pump-1/setpoint")
    assert value is None
    assert reason.startswith(f"{SETPOINT}: no birth seen from line1/edge-1/pump-1; none came")
    result = write(sink, "pump-1/setpoint", 7.0)
    assert not result.ok and result.detail.startswith(f"{SETPOINT} not written: no birth seen")
    assert len(requests.payloads) == 2  # one per call: they came more than rebirth_interval apart
    requests.close()
    simulator = start_node(broker.port, write_log, simulators)
    start = SETPOINT_START["Setpoint"]
    assert read(sink, "pump-1/setpoint", start) == (start, "")
    simulator.kill()  # the broker publishes the NDEATH will
    deadline = time.monotonic() + 5
    while (answer := read(sink, "pump-1/setpoint"))[0] is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answer[0] is None
    assert "edge node line1/edge-1 is offline (NDEATH)" in answer[1]


def test_writes_the_birth_does_not_allow_are_refused_naming_the_metric(
    broker: Broker, simulators: list[Simulator], sinks: list[SparkplugSink], write_log: Path
) -> None:
    start_node(broker.port, write_log, simulators)
    flow = "line1/edge-1/pump-1/Flow Setpoint"
    sink = make_sink(
        broker.port,
        [
            {"metric": flow, "series": "pump-1/flow_setpoint"},
            {"metric": SETPOINT, "series": "pump-1/setpoint", "data_type": "Float"},
            {"metric": SPEED, "series": "pump-1/speed_setpoint"},
            {"metric": "line1/edge-1/pump-1/Speed", "series": "pump-1/speed"},
        ],
        sinks,
    )
    unknown = write(sink, "pump-1/flow_setpoint", 3.0)
    assert not unknown.ok
    assert unknown.detail == "metric 'Flow Setpoint' is not in the birth of line1/edge-1/pump-1"
    assert read(sink, "pump-1/flow_setpoint") == (None, unknown.detail)
    mismatch = write(sink, "pump-1/setpoint", 3.0)
    assert not mismatch.ok
    assert mismatch.detail == (
        f"{SETPOINT} not written: the mapping says Float, the birth declares Double"
    )
    too_big = write(sink, "pump-1/speed_setpoint", 3e9)
    assert not too_big.ok
    assert f"{SPEED} not written (3000000000.0)" in too_big.detail
    assert "outside the range of Int32" in too_big.detail
    read_only = write(sink, "pump-1/speed", 50)  # published; the node refuses it
    assert read_only.ok, read_only
    (line,) = logged(write_log, 1)
    assert (line["metric"], line["status"]) == ("Speed", "refused")
    assert read(sink, "pump-1/speed") == (values(0)["Speed"], "")


def test_scale_and_offset_convert_between_the_unit_and_the_raw_value(
    broker: Broker, simulators: list[Simulator], sinks: list[SparkplugSink], write_log: Path
) -> None:
    start_node(broker.port, write_log, simulators)
    sink = make_sink(
        broker.port,
        [
            {"metric": SETPOINT, "series": "pump-1/setpoint", "unit": "kPa", "scale": 100.0},
            {"metric": SPEED, "series": "pump-1/speed_setpoint", "scale": 0.5, "offset": 10.0},
        ],
        sinks,
    )
    assert read(sink, "pump-1/setpoint") == (SETPOINT_START["Setpoint"] * 100, "")
    pressure = write(sink, "pump-1/setpoint", 450.0)
    speed = write(sink, "pump-1/speed_setpoint", 610.0)
    assert pressure.ok and speed.ok
    detail = json.loads(speed.detail)
    assert (detail["written"], detail["setpoint"]) == (1200, 610)
    assert detail["previous_setpoint"] == SETPOINT_START["Speed Setpoint"] * 0.5 + 10
    assert [line["value"] for line in logged(write_log, 2)] == [4.5, 1200]
    assert read(sink, "pump-1/setpoint", 450.0) == (450.0, "")
    assert read(sink, "pump-1/speed_setpoint", 610.0) == (610.0, "")


def test_a_broker_that_cannot_be_reached_fails_the_write_with_the_reason(
    sinks: list[SparkplugSink],
) -> None:
    port = free_port()
    sink = make_sink(
        port, [{"metric": SETPOINT, "series": "pump-1/setpoint"}], sinks, command_timeout=1
    )
    result = write(sink, "pump-1/setpoint", 5.0)
    assert not result.ok
    assert result.detail.startswith(
        f"{SETPOINT} not written: broker 127.0.0.1:{port} not reachable within 1.0 s"
    )
    value, reason = read(sink, "pump-1/setpoint")
    assert value is None and f"broker 127.0.0.1:{port} not reachable" in reason
