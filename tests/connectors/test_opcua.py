"""The OPC UA connector against a real asyncua server process simulating a pump."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from pydantic import ValidationError
from tests.connectors.fieldsources import consume_in_background, until
from tests.connectors.opcua_pump import endpoint, node_id
from tests.connectors.peers import PeerProcess, free_port, need_package

from valueloop.config import connector_specs
from valueloop.connectors.base import FieldDelivery, SetpointWrite
from valueloop.connectors.check import check_connector
from valueloop.connectors.opcua import (
    OpcUaSink,
    OpcUaSource,
    OpcUaSpec,
    browse,
    points_from_browse,
)
from valueloop.connectors.sinkcheck import check_sink
from valueloop.model.assets import SeriesSpec
from valueloop.site import Site

pytestmark = pytest.mark.services

PREFIX = "plant/water/line1"


@pytest.fixture(scope="module")
def pump() -> Iterator[int]:
    """A pump server process for the module; yields its port."""
    need_package("asyncua")
    with PeerProcess("opcua_pump.py") as peer:
        yield peer.port


def _spec(port: int, points: list[dict[str, Any]], **options: Any) -> OpcUaSpec:
    return OpcUaSpec(
        name="pump-opcua",
        prefix=PREFIX,
        endpoint=endpoint(port),
        publishing_interval_ms=100,
        sampling_interval_ms=50,
        points=points,
        **options,
    )


async def _collect(source: OpcUaSource, seconds: float) -> list[FieldDelivery]:
    """Every delivery of ``source`` over ``seconds``, then stop it."""
    deliveries: list[FieldDelivery] = []

    async def consume() -> None:
        async for delivery in source.deliveries():
            deliveries.append(delivery)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(seconds)
    await source.stop()
    await asyncio.wait_for(task, 10)
    return deliveries


def _readings(deliveries: list[FieldDelivery]) -> pa.Table:
    return pa.concat_tables([delivery.readings for delivery in deliveries])


def _of(table: pa.Table, series: str) -> pa.Table:
    return table.filter(pc.equal(table.column("series"), f"{PREFIX}/{series}"))


async def _read(port: int, name: str) -> Any:
    """The pump variable ``name`` read by a client of its own."""
    from asyncua.client.client import Client

    async with Client(endpoint(port)) as client:
        return await client.get_node(node_id(name)).read_value()


async def _write(port: int, name: str, value: float) -> None:
    from asyncua import ua
    from asyncua.client.client import Client

    async with Client(endpoint(port)) as client:
        await client.get_node(node_id(name)).write_value(
            ua.DataValue(ua.Variant(value, ua.VariantType.Double))
        )


def test_opcua_source_passes_the_connector_contract(pump: int) -> None:
    spec = _spec(
        pump,
        [
            {"node": node_id("Pressure"), "series": "pump1/pressure", "unit": "bar"},
            {"node": node_id("Speed"), "series": "pump1/speed", "unit": "rpm"},
            {"node": node_id("Trim"), "series": "pump1/trim"},
        ],
    )
    expected = pa.table({"series": [f"{PREFIX}/pump1/trim"], "value": [7.25]})
    breaches = asyncio.run(
        check_connector(OpcUaSource(spec), expected, lambda: _write(pump, "Trim", 7.25))
    )
    assert breaches == []


def test_readings_are_scaled_timed_by_the_source_and_qualified_by_status(pump: int) -> None:
    spec = _spec(
        pump,
        [
            {"node": node_id("Pressure"), "series": "pump1/pressure", "unit": "kPa", "scale": 100},
            {"node": "/Objects/2:Pump1/2:Speed", "series": "pump1/speed", "unit": "rpm"},
            {"node": node_id("Temperature"), "series": "pump1/temperature", "unit": "degC"},
        ],
    )
    source = OpcUaSource(spec)
    began = datetime.now(UTC)
    table = _readings(asyncio.run(_collect(source, 2.0)))
    ended = datetime.now(UTC)
    pressure, speed = _of(table, "pump1/pressure"), _of(table, "pump1/speed")
    temperature = _of(table, "pump1/temperature")
    assert pressure.num_rows >= 5 and speed.num_rows >= 5 and temperature.num_rows >= 5
    # the simulator's pressure is 5 + sin(t) bar, its speed 1450 + 20 sin(t/3) rpm
    values = pressure.column("value").to_numpy()
    assert 399.9 <= values.min() <= values.max() <= 600.1
    speeds = speed.column("value").to_numpy()
    assert 1429.9 <= speeds.min() <= speeds.max() <= 1470.1
    assert set(pressure.column("quality").to_pylist()) == {0}
    assert set(temperature.column("quality").to_pylist()) == {1}  # UncertainLastUsableValue
    stamps = table.column("ts").to_pylist()
    assert began - timedelta(seconds=1) <= min(stamps) and max(stamps) <= ended
    assert source.status().points == table.num_rows and source.status().connected is False


def test_deadband_lets_only_changes_beyond_it_through(pump: int) -> None:
    spec = _spec(
        pump,
        [
            {"node": node_id("Totalizer"), "series": "pump1/volume"},
            {"node": node_id("Totalizer"), "series": "pump1/volume_db", "deadband": 1.0},
        ],
    )
    table = _readings(asyncio.run(_collect(OpcUaSource(spec), 2.5)))
    every = _of(table, "pump1/volume").column("value").to_numpy()
    banded = _of(table, "pump1/volume_db").column("value").to_numpy()
    assert len(every) > 10 and len(banded) >= 2
    steps, banded_steps = every[1:] - every[:-1], banded[1:] - banded[:-1]
    assert steps.min() < 1.0  # the small steps of 0.1 m3 are reported without a deadband
    assert banded_steps.min() > 1.0  # and held back by the server with one
    assert len(banded) < len(every) / 3


def test_unknown_nodes_are_dead_lettered_and_the_rest_still_read(pump: int) -> None:
    spec = _spec(
        pump,
        [
            {"node": node_id("Missing"), "series": "pump1/missing"},
            {"node": "/Objects/2:Pump1/2:Absent", "series": "pump1/absent"},
            {"node": node_id("Pressure"), "series": "pump1/pressure"},
            {"node": node_id("Mode"), "series": "pump1/mode"},
        ],
    )
    source = OpcUaSource(spec)
    deliveries = asyncio.run(_collect(source, 1.5))
    rejected = pa.concat_tables([delivery.rejected for delivery in deliveries])
    assert sorted(rejected.column("raw").to_pylist()) == sorted(
        ["/Objects/2:Pump1/2:Absent", node_id("Missing"), f"{node_id('Mode')}='running'"]
    )
    reasons = " ".join(rejected.column("reason").to_pylist())
    assert "BadNodeIdUnknown" in reasons and "Absent" in reasons and "not a number" in reasons
    assert set(rejected.column("source").to_pylist()) == {"pump-opcua"}
    assert _of(_readings(deliveries), "pump1/pressure").num_rows > 0
    assert source.status().errors >= 3


def test_readings_are_stored_and_bad_values_dead_lettered_by_the_ingest(
    pump: int, site: Site
) -> None:
    spec = _spec(
        pump,
        [
            {"node": node_id("Flow"), "series": "pump1/flow", "unit": "m3/h"},
            {"node": node_id("Mode"), "series": "pump1/mode"},
        ],
    )
    path = f"{PREFIX}/pump1/flow"
    (series_id,) = (
        site.registry.ensure([SeriesSpec(path, "pump1", "flow", "m3/h", "pump discharge flow")])
        .column("series_id")
        .to_pylist()
    )
    deliveries = asyncio.run(_collect(OpcUaSource(spec), 1.5))
    for delivery in deliveries:
        site.pipeline.ingest_readings(delivery, spec.name)
    delivered = _of(_readings(deliveries), "pump1/flow")
    stored = site.points.read([series_id])
    assert stored.num_rows == len(set(delivered.column("ts").to_pylist())) > 0
    letters = site.pipeline.dead_letters.list(source=spec.name).to_pylist()
    assert [letter["raw"] for letter in letters] == [f"{node_id('Mode')}='running'"]
    assert "not a number" in letters[0]["reason"] and letters[0]["received_at"] is not None


def test_site_yaml_entries_are_validated_by_the_opcua_spec() -> None:
    entry = {
        "name": "pump-opcua",
        "kind": "opcua",
        "prefix": PREFIX,
        "endpoint": "opc.tcp://10.0.0.5:4840",
        "password": "not-shown",
        "points": [{"node": "/Objects/2:Pump1/2:Pressure", "series": "pump1/pressure"}],
        "setpoints": [{"node": "ns=2;s=Pump1.Setpoint", "series": "pump1/setpoint"}],
    }
    (spec,) = connector_specs([entry])
    assert isinstance(spec, OpcUaSpec) and spec.setpoints[0].data_type == "Double"
    assert "not-shown" not in repr(spec)
    broken = {**entry, "points": [{"node": "Pump1.Pressure", "series": "pump1/pressure"}]}
    with pytest.raises(ValidationError, match="neither a NodeId"):
        connector_specs([broken])


def test_browse_lists_the_pump_variables_with_types_access_and_units(pump: int) -> None:
    table = asyncio.run(browse(endpoint(pump)))
    rows = {row["display_name"]: row for row in table.to_pylist()}
    assert rows["Pump1"]["node_class"] == "Object"
    assert (rows["Pressure"]["data_type"], rows["Pressure"]["unit"]) == ("Double", "bar")
    assert rows["Speed"]["data_type"] == "Float" and rows["RunSeconds"]["data_type"] == "UInt32"
    assert rows["Setpoint"]["writable"] and not rows["Pressure"]["writable"]
    assert rows["Pressure"]["node_id"] == node_id("Pressure")
    mapping = yaml.safe_load(points_from_browse(table))
    spec = OpcUaSpec(name="pump", prefix=PREFIX, endpoint=endpoint(pump), **mapping)
    assert {point.series for point in spec.points} >= {"pump1/pressure", "pump1/run_seconds"}
    assert {(s.series, s.data_type) for s in spec.setpoints} == {
        ("pump1/setpoint", "Double"),
        ("pump1/trim", "Double"),
        ("pump1/speed_limit", "UInt16"),
    }
    nodes = {point.series: point.node for point in spec.points}
    assert nodes["pump1/pressure"] == "/0:Objects/2:Pump1/2:Pressure"  # browse paths, not ids
    sink = OpcUaSink(spec)
    (setpoint,) = asyncio.run(sink.read([f"{PREFIX}/pump1/setpoint"]))
    assert setpoint.value == asyncio.run(_read(pump, "Setpoint"))  # the path leads to the node


def _setpoints(port: int, setpoints: list[dict[str, Any]]) -> OpcUaSink:
    """A sink of the pump's ``setpoints`` (its readings: the pressure)."""
    points = [{"node": node_id("Pressure"), "series": "pump1/pressure"}]
    return OpcUaSink(_spec(port, points, setpoints=setpoints))


def test_opcua_sink_passes_the_sink_contract(pump: int) -> None:
    sink = _setpoints(
        pump,
        [
            {"node": node_id("Setpoint"), "series": "pump1/setpoint", "unit": "bar"},
            {"node": node_id("Setpoint"), "series": "pump1/setpoint_kpa", "scale": 100},
            {"node": node_id("SpeedLimit"), "series": "pump1/speed_limit", "data_type": "UInt16"},
        ],
    )
    values = {
        f"{PREFIX}/pump1/setpoint": [42.5, -1.25],
        f"{PREFIX}/pump1/setpoint_kpa": [4250.0, 3000.0],  # 42.5 and 30 bar
        f"{PREFIX}/pump1/speed_limit": [1480.0, 65535.0, 1500.0],
    }
    assert asyncio.run(check_sink(sink, values, timeout=2.0)) == []


def test_a_setpoint_write_reports_the_previous_value_so_it_can_be_rolled_back(pump: int) -> None:
    sink = _setpoints(
        pump, [{"node": node_id("Setpoint"), "series": "pump1/setpoint", "unit": "bar"}]
    )
    series = f"{PREFIX}/pump1/setpoint"
    before = asyncio.run(_read(pump, "Setpoint"))
    target = before + 12.5
    (result,) = asyncio.run(sink.write([SetpointWrite(series, target, "exec-1")]))
    assert (result.reference, result.ok) == ("exec-1", True)
    assert asyncio.run(_read(pump, "Setpoint")) == target
    detail = json.loads(result.detail)
    assert (detail["series"], detail["node"], detail["previous"], detail["written"]) == (
        series,
        node_id("Setpoint"),
        before,
        target,
    )
    (read_back,) = asyncio.run(sink.read([series]))
    assert (read_back.series, read_back.value) == (series, target)
    (rollback,) = asyncio.run(
        sink.write([SetpointWrite(series, detail["previous_setpoint"], "exec-2")])
    )
    assert rollback.ok and json.loads(rollback.detail)["previous"] == target
    assert asyncio.run(_read(pump, "Setpoint")) == before


def test_writes_and_reads_of_unmapped_or_missing_nodes_fail_with_the_reason(pump: int) -> None:
    sink = _setpoints(pump, [{"node": node_id("Nowhere"), "series": "pump1/valve"}])
    valve, speed = f"{PREFIX}/pump1/valve", f"{PREFIX}/pump1/speed"
    results = asyncio.run(
        sink.write([SetpointWrite(valve, 1.0, "w1"), SetpointWrite(speed, 1.0, "w2")])
    )
    assert [(result.reference, result.ok) for result in results] == [("w1", False), ("w2", False)]
    assert node_id("Nowhere") in results[0].detail and "BadNodeIdUnknown" in results[0].detail
    assert valve in results[0].detail and speed in results[1].detail
    answers = asyncio.run(sink.read([valve, speed]))
    assert [answer.value for answer in answers] == [None, None]
    assert "BadNodeIdUnknown" in answers[0].detail and speed in answers[1].detail


def test_a_value_the_node_type_cannot_hold_is_refused_with_its_range(pump: int) -> None:
    sink = _setpoints(
        pump,
        [{"node": node_id("SpeedLimit"), "series": "pump1/speed_limit", "data_type": "UInt16"}],
    )
    series = f"{PREFIX}/pump1/speed_limit"
    before = asyncio.run(_read(pump, "SpeedLimit"))
    results = asyncio.run(
        sink.write([SetpointWrite(series, 70000, "w1"), SetpointWrite(series, -1, "w2")])
    )
    assert [result.ok for result in results] == [False, False]
    assert series in results[0].detail and "UInt16, 0 to 65535" in results[0].detail
    assert "outside the range of UInt16" in results[1].detail
    assert asyncio.run(_read(pump, "SpeedLimit")) == before


def test_an_unreachable_server_fails_every_call_with_the_cause() -> None:
    sink = _setpoints(
        free_port(), [{"node": node_id("Setpoint"), "series": "pump1/setpoint", "unit": "bar"}]
    )
    series = f"{PREFIX}/pump1/setpoint"
    (result,) = asyncio.run(sink.write([SetpointWrite(series, 1.0, "w1")]))
    assert not result.ok and series in result.detail and "cannot open" in result.detail
    (answer,) = asyncio.run(sink.read([series]))
    assert answer.value is None and "cannot open" in answer.detail


def test_series_are_marked_stale_once_while_the_server_is_down_then_resubscribed() -> None:
    need_package("asyncua")
    with PeerProcess("opcua_pump.py") as peer:
        spec = _spec(
            peer.port,
            [
                {"node": node_id("Pressure"), "series": "pump1/pressure"},
                {"node": node_id("Flow"), "series": "pump1/flow"},
            ],
            watchdog_interval_s=0.5,
            reconnect_initial_s=0.2,
            reconnect_max_s=1.0,
        )
        source = OpcUaSource(spec)
        series = {f"{PREFIX}/pump1/pressure", f"{PREFIX}/pump1/flow"}
        moments: dict[str, datetime] = {}

        async def scenario() -> list[FieldDelivery]:
            deliveries, task = consume_in_background(source)
            await until(lambda: source.status().points > 0, 20)
            moments["stopped"] = datetime.now(UTC)
            await asyncio.to_thread(peer.stop)
            await until(lambda: source.status().errors >= 2, 30)  # lost, and not reopened
            moments["restarted"] = datetime.now(UTC)
            await asyncio.to_thread(peer.start)
            await until(lambda: _after(deliveries, moments["restarted"]) >= 2, 40)
            await source.stop()
            await asyncio.wait_for(task, 10)
            return deliveries

        deliveries = asyncio.run(scenario())
    readings = _readings(deliveries).to_pylist()
    stale = [row for row in readings if row["value"] is None]
    assert {row["series"] for row in stale} == series and len(stale) == 2  # once per outage
    assert all(row["quality"] == 2 for row in stale)
    assert all(moments["stopped"] <= row["ts"] <= moments["restarted"] for row in stale)
    again = {r["series"] for r in readings if r["ts"] > moments["restarted"] and r["quality"] == 0}
    assert again == series  # resubscribed: both read again
    status = source.status()
    assert status.reconnects >= 1 and status.errors >= 2
    assert "cannot open an OPC UA session" in (status.last_error or "")


def _after(deliveries: list[FieldDelivery], moment: datetime) -> int:
    with contextlib.suppress(ValueError):
        table = _readings(deliveries)
        return int(pc.sum(pc.greater(table.column("ts"), moment)).as_py() or 0)
    return 0
