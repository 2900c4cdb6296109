"""The Modbus TCP connector against a real pymodbus device process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.connectors.fieldsources import consume_in_background, until
from tests.connectors.modbus_device import COUNTER_ADDRESS, FAR_ADDRESS, KNOWN
from tests.connectors.peers import PeerProcess, need_package

from valueloop.config import connector_specs
from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.check import check_connector
from valueloop.connectors.modbus import ModbusPoint, ModbusSource, ModbusSpec, plan_reads
from valueloop.connectors.modbus.spec import REGISTER_WIDTH

pytestmark = pytest.mark.services

PREFIX = "plant/utilities/line1"


@pytest.fixture(scope="module")
def device() -> Iterator[PeerProcess]:
    """A Modbus device process for the module."""
    need_package("pymodbus")
    with PeerProcess("modbus_device.py") as peer:
        yield peer


def _known_points(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    points = [
        {
            "series": f"meter1/{known.name}",
            "table": known.table,
            "address": known.address,
            "data_type": known.data_type,
            "byte_order": known.order,
        }
        for known in KNOWN
    ]
    return points + list(extra)


def _spec(port: int, points: list[dict[str, Any]], **options: Any) -> ModbusSpec:
    return ModbusSpec(
        name="meter-modbus",
        prefix=PREFIX,
        host="127.0.0.1",
        port=port,
        poll_interval_s=0.1,
        points=points,
        **options,
    )


async def _polls(source: ModbusSource, count: int) -> list[FieldDelivery]:
    """The first ``count`` deliveries of ``source``, then stop it."""
    deliveries: list[FieldDelivery] = []
    async for delivery in source.deliveries():
        deliveries.append(delivery)
        if len(deliveries) == count:
            break
    await source.stop()
    return deliveries


def _values(delivery: FieldDelivery) -> dict[str, tuple[float | None, int]]:
    rows = delivery.readings.to_pylist()
    return {row["series"].rsplit("/", 1)[1]: (row["value"], row["quality"]) for row in rows}


def test_modbus_source_passes_the_connector_contract(device: PeerProcess) -> None:
    source = ModbusSource(_spec(device.port, _known_points()))
    expected = pa.table(
        {
            "series": [f"{PREFIX}/meter1/{known.name}" for known in KNOWN],
            # float32 registers hold the nearest float32 to the value given to the device
            "value": [
                float(np.float32(k.value)) if k.data_type == "float32" else k.value for k in KNOWN
            ],
        }
    )

    async def produce() -> None:
        """The device holds its values already."""

    assert asyncio.run(check_connector(source, expected, produce)) == []


def test_every_type_and_byte_order_decodes_to_the_device_values(
    device: PeerProcess,
) -> None:
    points = _known_points({"series": "meter1/scaled", "address": 1, "scale": 0.01, "offset": -5})
    values = _values(asyncio.run(_polls(ModbusSource(_spec(device.port, points)), 1))[0])
    for known in KNOWN:
        got, quality = values[known.name]
        assert quality == 0
        assert got == pytest.approx(float(np.float32(known.value)), rel=1e-7), known.name
    assert values["scaled"][0] == pytest.approx(54321 * 0.01 - 5)


def test_adjacent_registers_are_read_together(device: PeerProcess) -> None:
    counter = {"series": "meter1/requests", "table": "input", "address": COUNTER_ADDRESS}
    source = ModbusSource(_spec(device.port, _known_points(counter)))
    # holding 0-10 (7 points) and 60; input 0-4 (3 points) and 20: four reads for 12 points
    assert [(read.table, read.address, read.count) for read in source.plan] == [
        ("holding", 0, 11),
        ("holding", FAR_ADDRESS, 1),
        ("input", 0, 5),
        ("input", COUNTER_ADDRESS, 1),
    ]
    deliveries = asyncio.run(_polls(source, 3))
    assert source.reads == 12 and source.status().messages == 12
    assert sum(delivery.readings.num_rows for delivery in deliveries) == 36
    requests = [_values(delivery)["requests"][0] for delivery in deliveries]
    assert requests[0] is not None and requests == sorted(set(requests))  # the value changes


def test_far_registers_are_read_apart_when_the_gap_is_small(device: PeerProcess) -> None:
    source = ModbusSource(_spec(device.port, _known_points(), max_gap=0, max_registers=4))
    counts = [read.count for read in source.plan]
    assert max(counts) <= 4 and len(source.plan) == 6
    values = _values(asyncio.run(_polls(source, 1))[0])
    assert values["hr_int32"][0] == -123456789


def test_a_refused_read_gives_bad_readings_and_is_split_so_neighbours_recover(
    device: PeerProcess,
) -> None:
    unmapped = {"series": "meter1/unmapped", "address": 12}
    nowhere = {"series": "meter1/nowhere", "address": 1000}
    source = ModbusSource(_spec(device.port, _known_points(unmapped, nowhere)))
    first, _, third = asyncio.run(_polls(source, 3))
    before, after = _values(first), _values(third)
    assert before["hr_int16"] == (None, 2) and before["unmapped"] == (None, 2)
    assert before["ir_uint16"] == (7, 0)
    assert after["hr_int16"] == (-1234, 0) and after["unmapped"] == (None, 2)
    assert after["nowhere"] == (None, 2)
    status = source.status()
    assert status.errors >= 4 and "exception response" in (status.last_error or "")


def test_series_are_marked_stale_once_while_the_device_is_down_then_read_again() -> None:
    need_package("pymodbus")
    with PeerProcess("modbus_device.py") as peer:
        spec = _spec(peer.port, _known_points(), reconnect_initial_s=0.2, reconnect_max_s=0.5)
        source = ModbusSource(spec)
        series = {f"{PREFIX}/meter1/{known.name}" for known in KNOWN}
        moments: dict[str, float] = {}

        def good_since(deliveries: list[FieldDelivery], moment: str) -> set[str]:
            return {
                row["series"]
                for delivery in deliveries
                for row in delivery.readings.to_pylist()
                if moment in moments
                and row["quality"] == 0
                and row["ts"].timestamp() > moments[moment]
            }

        async def scenario() -> list[FieldDelivery]:
            deliveries, task = consume_in_background(source)
            await until(lambda: source.status().points > 0, 20)
            await asyncio.to_thread(peer.stop)
            moments["stopped"] = time.time()
            await until(lambda: source.status().errors >= 3, 20)  # down for several attempts
            await asyncio.to_thread(peer.start)
            moments["restarted"] = time.time()
            await until(lambda: good_since(deliveries, "restarted") == series, 20)
            await source.stop()
            await asyncio.wait_for(task, 10)
            return deliveries

        deliveries = asyncio.run(scenario())
    bad = [
        row
        for delivery in deliveries
        for row in delivery.readings.to_pylist()
        if row["quality"] == 2
    ]
    assert {row["series"] for row in bad} == series and len(bad) == len(series)  # once per outage
    assert all(row["value"] is None for row in bad)
    assert all(moments["stopped"] <= row["ts"].timestamp() <= moments["restarted"] for row in bad)
    status = source.status()
    assert status.reconnects >= 1 and status.errors >= 3
    assert f"cannot connect to Modbus device 127.0.0.1:{peer.port}" in (status.last_error or "")


def test_site_yaml_entries_are_validated_by_the_modbus_spec() -> None:
    entry = {
        "name": "meter-modbus",
        "kind": "modbus",
        "prefix": PREFIX,
        "host": "10.0.0.7",
        "word_order": "little",
        "points": [{"series": "meter1/power", "address": 3, "data_type": "float32"}],
    }
    (spec,) = connector_specs([entry])
    assert isinstance(spec, ModbusSpec) and spec.points[0].table == "holding"
    wrong = {**entry, "points": [{"series": "meter1/power", "address": 3, "data_type": "int8"}]}
    with pytest.raises(ValidationError, match="int16"):
        connector_specs([wrong])
    both = {**entry, "byte_order": "CDAB"}
    with pytest.raises(ValidationError, match="byte_order CDAB says the word order already"):
        connector_specs([both])


def test_byte_orders_are_named_abcd_to_dcba_and_the_earlier_spelling_still_reads() -> None:
    def order(device: dict[str, Any], point: dict[str, Any]) -> str:
        value = {"series": "meter1/power", "address": 0, "data_type": "float32", **point}
        spec = _spec(1, [value], **device)
        return spec.order_of(spec.points[0])

    assert order({}, {}) == "ABCD"  # the default: Modbus's own
    for named in ("ABCD", "CDAB", "BADC", "DCBA"):
        assert order({"byte_order": named}, {}) == named
        assert order({"byte_order": "DCBA"}, {"byte_order": named}) == named
    earlier = {("big", "big"): "ABCD", ("big", "little"): "CDAB"}
    earlier |= {("little", "big"): "BADC", ("little", "little"): "DCBA"}
    for (in_register, words), named in earlier.items():
        assert order({"byte_order": in_register, "word_order": words}, {}) == named
        assert order({}, {"byte_order": in_register, "word_order": words}) == named
    # what a point leaves out of the earlier spelling is the connector's
    assert order({"word_order": "little"}, {"byte_order": "little"}) == "DCBA"
    assert order({"byte_order": "CDAB"}, {"byte_order": "little"}) == "DCBA"
    assert order({"byte_order": "BADC"}, {"word_order": "little"}) == "DCBA"


_points = st.lists(
    st.builds(
        ModbusPoint,
        series=st.just("a/b"),
        table=st.sampled_from(["holding", "input"]),
        address=st.integers(0, 400),
        data_type=st.sampled_from(list(REGISTER_WIDTH)),
    ),
    min_size=1,
    max_size=40,
)


@given(_points, st.integers(2, 125), st.integers(0, 20))
def test_planned_reads_cover_every_point_within_the_protocol_limit(
    points: list[ModbusPoint], max_registers: int, max_gap: int
) -> None:
    reads = plan_reads(points, max_registers=max_registers, max_gap=max_gap)
    served = sorted(index for read in reads for index in read.points)
    assert served == list(range(len(points)))
    for read in reads:
        assert read.count <= max_registers
        for index in read.points:
            point = points[index]
            assert point.table == read.table
            assert read.address <= point.address
            assert point.address + REGISTER_WIDTH[point.data_type] <= read.address + read.count
