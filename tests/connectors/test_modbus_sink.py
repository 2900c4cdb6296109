"""The Modbus TCP set-point sink against a real pymodbus device process that logs every write."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.connectors.modbus_device import FAR_ADDRESS, SETPOINTS, Known, written
from tests.connectors.peers import PeerProcess, free_port, need_package

from valueloop.config import connector_specs
from valueloop.connectors.base import SetpointWrite, sink_for
from valueloop.connectors.modbus import ModbusSink, ModbusSource, ModbusSpec, Read, encode
from valueloop.connectors.modbus.registers import RegisterLayout
from valueloop.connectors.modbus.spec import ByteOrder, RegisterType
from valueloop.connectors.sinkcheck import check_sink
from valueloop.errors import ConnectorError

pytestmark = pytest.mark.services

PREFIX = "plant/utilities/line1"
COIL = {"series": "chiller1/run", "table": "coil", "address": 3}
VALUES = {
    "int16": [-1234, 321],
    "uint16": [54321, 0],
    "int32": [-123456789, 42],
    "uint32": [3000000000, 7],
    "float32": [1234.5, -0.25],  # exactly representable in float32
}
"""Values written to the set-points of each type: extremes, signs and a fraction."""


@pytest.fixture(scope="module")
def write_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the device logs the write requests it receives."""
    return tmp_path_factory.mktemp("modbus") / "writes.jsonl"


@pytest.fixture(scope="module")
def device(write_log: Path) -> Iterator[PeerProcess]:
    """A Modbus device process for the module, logging writes to ``write_log``."""
    need_package("pymodbus")
    with PeerProcess("modbus_device.py", None, "--write-log", str(write_log)) as peer:
        yield peer


def _setpoint(known: Known, **extra: Any) -> dict[str, Any]:
    """The mapping of the device's writable value ``known``, under its own name."""
    return {
        "series": f"chiller1/{known.name}",
        "address": known.address,
        "data_type": known.data_type,
        "byte_order": known.order,
        **extra,
    }


def _spec(port: int, setpoints: list[dict[str, Any]], **options: Any) -> ModbusSpec:
    return ModbusSpec(
        name="chiller-modbus",
        prefix=PREFIX,
        host="127.0.0.1",
        port=port,
        timeout_s=2.0,
        setpoints=setpoints,
        **{"points": [{"series": "chiller1/status", "address": 1}], **options},
    )


def _path(series: str) -> str:
    return f"{PREFIX}/{series}"


def _known(name: str) -> Known:
    (known,) = [setpoint for setpoint in SETPOINTS if setpoint.name == name]
    return known


def test_modbus_sink_passes_the_sink_contract_in_every_type_and_order(device: PeerProcess) -> None:
    scaled = _setpoint(_known("sp_int16_ABCD"), series="chiller1/supply_temp")
    setpoints = [_setpoint(known) for known in SETPOINTS]
    setpoints += [{**scaled, "unit": "degC", "scale": 0.1, "offset": -40.0}, COIL]
    values: dict[str, list[float]] = {
        _path(f"chiller1/{known.name}"): VALUES[known.data_type] for known in SETPOINTS
    }
    values[_path("chiller1/supply_temp")] = [21.5, -12.3]
    values[_path("chiller1/run")] = [1.0, 0.0, 1.0]
    sink = ModbusSink(_spec(device.port, setpoints))
    assert set(sink.targets()) == set(values)
    assert asyncio.run(check_sink(sink, values, timeout=2.0)) == []


def test_the_reader_sees_what_the_sink_wrote(device: PeerProcess) -> None:
    cdab, dcba = _known("sp_float32_CDAB"), _known("sp_int32_DCBA")
    # the float's order is the connector's (in the earlier spelling); the integer's its own
    mapped = [
        {"series": "chiller1/flow_sp", "address": cdab.address, "data_type": "float32"},
        _setpoint(dcba, series="chiller1/stages_sp"),
    ]
    spec = _spec(device.port, mapped, word_order="little", points=mapped)
    writes = [
        SetpointWrite(_path("chiller1/flow_sp"), 1234.5, "w1"),
        SetpointWrite(_path("chiller1/stages_sp"), -42, "w2"),
    ]
    assert [result.ok for result in asyncio.run(ModbusSink(spec).write(writes))] == [True, True]
    source = ModbusSource(spec)

    async def first_poll() -> dict[str, float]:
        deliveries = source.deliveries()
        delivery = await anext(deliveries)
        await source.stop()
        await deliveries.aclose()
        return {row["series"]: row["value"] for row in delivery.readings.to_pylist()}

    assert asyncio.run(first_poll()) == {
        _path("chiller1/flow_sp"): 1234.5,
        _path("chiller1/stages_sp"): -42,
    }


def test_a_value_outside_the_type_is_refused_with_its_range_and_never_sent(
    device: PeerProcess, write_log: Path
) -> None:
    int16, uint16 = _known("sp_int16_ABCD"), _known("sp_uint16_ABCD")
    sink = ModbusSink(_spec(device.port, [_setpoint(int16), _setpoint(uint16), COIL]))
    before = len(written(write_log))
    results = asyncio.run(
        sink.write(
            [
                SetpointWrite(_path(f"chiller1/{int16.name}"), 70000, "w1"),
                SetpointWrite(_path(f"chiller1/{uint16.name}"), -1, "w2"),
                SetpointWrite(_path(f"chiller1/{uint16.name}"), math.nan, "w3"),
                SetpointWrite(_path("chiller1/run"), 2, "w4"),
            ]
        )
    )
    assert [result.reference for result in results] == ["w1", "w2", "w3", "w4"]
    assert not any(result.ok for result in results)
    first, second, third, coil = (result.detail for result in results)
    assert f"chiller1/{int16.name}" in first and "int16" in first
    assert "-32768 to 32767" in first
    assert f"chiller1/{uint16.name}" in second and "uint16, 0 to 65535" in second
    assert "not a finite number" in third
    assert "chiller1/run (coil 3)" in coil and "0 or 1" in coil
    assert len(written(write_log)) == before


def test_a_write_the_device_refuses_fails_naming_the_address(device: PeerProcess) -> None:
    refused = [
        {"series": "chiller1/fixed", "address": FAR_ADDRESS},  # read-only on the device
        {"series": "chiller1/nowhere", "address": 1000, "data_type": "float32"},
        {"series": "chiller1/no_coil", "table": "coil", "address": 100},
    ]
    sink = ModbusSink(_spec(device.port, refused))
    paths = [_path(setpoint["series"]) for setpoint in refused]
    results = asyncio.run(sink.write([SetpointWrite(path, 1.0, path) for path in paths]))
    assert [result.ok for result in results] == [False, False, False]
    fixed, nowhere, no_coil = (result.detail for result in results)
    assert f"holding register {FAR_ADDRESS}" in fixed and "ILLEGAL_ADDRESS" in fixed
    assert "chiller1/nowhere (holding register 1000, float32)" in nowhere
    assert "coil 100" in no_coil and "exception response 2" in no_coil
    answers = asyncio.run(sink.read(paths))
    assert [answer.value for answer in answers] == [99, None, None]  # the fixed value reads
    assert "holding register 1000" in answers[1].detail and "ILLEGAL_ADDRESS" in answers[1].detail


def test_each_setpoint_write_is_one_write_request(device: PeerProcess, write_log: Path) -> None:
    names = ["sp_int16_BADC", "sp_uint32_CDAB", "sp_float32_DCBA"]
    sink = ModbusSink(_spec(device.port, [_setpoint(_known(name)) for name in names] + [COIL]))
    writes = [
        SetpointWrite(_path("chiller1/sp_int16_BADC"), -2, "w1"),
        SetpointWrite(_path("chiller1/sp_uint32_CDAB"), 3000000000, "w2"),
        SetpointWrite(_path("chiller1/sp_float32_DCBA"), -273.25, "w3"),
        SetpointWrite(_path("chiller1/run"), 1, "w4"),
        SetpointWrite(_path("chiller1/sp_int16_BADC"), 7, "w5"),
    ]
    before = len(written(write_log))
    results = asyncio.run(sink.write(writes))
    assert all(result.ok for result in results)
    requests = written(write_log)[before:]
    assert [(request["function"], request["address"]) for request in requests] == [
        (6, _known("sp_int16_BADC").address),
        (16, _known("sp_uint32_CDAB").address),
        (16, _known("sp_float32_DCBA").address),
        (5, 3),
        (6, _known("sp_int16_BADC").address),
    ]
    details = [json.loads(result.detail) for result in results]
    assert [request["values"] for request in requests] == [d["registers"] for d in details]
    assert [detail["setpoint"] for detail in details] == [-2, 3000000000, -273.25, 1, 7]
    assert details[0]["registers"] == [0xFEFF]  # -2 as int16 with its bytes swapped


def test_a_coil_setpoint_is_switched_and_read_back_from_any_event_loop(
    device: PeerProcess, write_log: Path
) -> None:
    sink = ModbusSink(_spec(device.port, [{**COIL, "scale": 100.0, "unit": "%"}]))
    run = _path("chiller1/run")
    for percent in (100.0, 0.0):
        (result,) = asyncio.run(sink.write([SetpointWrite(run, percent, f"switch-{percent}")]))
        assert result.ok, result.detail
        (answer,) = asyncio.run(sink.read([run]))
        assert (answer.series, answer.value, answer.detail) == (run, percent, "")
    assert [request["values"] for request in written(write_log)[-2:]] == [[1], [0]]
    asyncio.run(sink.close())


def test_an_unreachable_device_fails_every_call_with_the_cause() -> None:
    port = free_port()
    sink = ModbusSink(_spec(port, [_setpoint(_known("sp_uint16_ABCD")), COIL]))
    coil, stray = _path("chiller1/run"), _path("chiller1/unmapped")
    results = asyncio.run(sink.write([SetpointWrite(coil, 1, "w1"), SetpointWrite(stray, 1, "w2")]))
    assert [result.ok for result in results] == [False, False]
    assert "chiller1/run (coil 3)" in results[0].detail
    assert f"cannot connect to Modbus device 127.0.0.1:{port}" in results[0].detail
    assert stray in results[1].detail and "map it under setpoints" in results[1].detail
    (answer,) = asyncio.run(sink.read([coil]))
    assert answer.value is None and "cannot connect" in answer.detail


@given(
    st.sampled_from(get_args(RegisterType)),
    st.sampled_from(get_args(ByteOrder)),
    st.floats(-(2.0**32), 2.0**32, allow_nan=False),
)
def test_encode_is_the_inverse_of_the_reader_decode(
    data_type: RegisterType, order: ByteOrder, raw: float
) -> None:
    limits = None if data_type == "float32" else np.iinfo(getattr(np, data_type))
    if limits is not None and not limits.min <= round(raw) <= limits.max:
        with pytest.raises(ConnectorError, match=f"outside the range of {data_type}"):
            encode(raw, data_type, order)
        return
    registers = encode(raw, data_type, order)
    point = {"series": "a/b", "address": 0, "data_type": data_type}
    spec = _spec(1, [], byte_order=order, points=[point])
    layout = RegisterLayout(spec, [Read("holding", 0, len(registers), (0,))])
    (decoded,) = layout.decode(np.array(registers, np.uint16))
    expected = float(np.float32(raw)) if data_type == "float32" else round(raw)
    assert decoded == expected


def test_encode_lays_out_the_four_orders_of_the_field() -> None:
    # 1234.5 as float32 is 0x449A5000: ABCD, CDAB, BADC, DCBA
    assert encode(1234.5, "float32", "ABCD") == [0x449A, 0x5000]
    assert encode(1234.5, "float32", "CDAB") == [0x5000, 0x449A]
    assert encode(1234.5, "float32", "BADC") == [0x9A44, 0x0050]
    assert encode(1234.5, "float32", "DCBA") == [0x0050, 0x9A44]
    assert encode(-2.4, "int16") == [0xFFFE] and encode(2.6, "uint16", "BADC") == [0x0300]


def test_site_yaml_setpoints_are_validated_by_the_modbus_spec() -> None:
    entry = {
        "name": "chiller-modbus",
        "kind": "modbus",
        "prefix": PREFIX,
        "host": "10.0.0.7",
        "points": [{"series": "chiller1/supply_temp", "address": 3, "data_type": "int16"}],
        "setpoints": [
            {"series": "chiller1/supply_temp", "address": 3, "data_type": "int16", "scale": 0.1},
            {"series": "chiller1/run", "table": "coil", "address": 0},
        ],
    }
    (spec,) = connector_specs([entry])
    assert isinstance(spec, ModbusSpec) and spec.setpoints[1].table == "coil"
    sink = sink_for(spec)
    assert isinstance(sink, ModbusSink) and sink.name == "chiller-modbus"
    assert list(sink.targets()) == [_path("chiller1/supply_temp"), _path("chiller1/run")]
    coil_as_float = {
        "series": "chiller1/run",
        "table": "coil",
        "address": 0,
        "data_type": "float32",
    }
    with pytest.raises(ValidationError, match="a coil holds one bit"):
        connector_specs([{**entry, "setpoints": [coil_as_float]}])
    twice = [entry["setpoints"][0], {**entry["setpoints"][1], "series": "chiller1/supply_temp"}]
    with pytest.raises(ValidationError, match="mapped more than once"):
        connector_specs([{**entry, "setpoints": twice}])
    with pytest.raises(ValidationError, match="has scale 0"):
        connector_specs([{**entry, "setpoints": [{**COIL, "scale": 0}]}])
    with pytest.raises(ValidationError, match="holding"):
        connector_specs([{**entry, "setpoints": [{**COIL, "table": "input"}]}])
