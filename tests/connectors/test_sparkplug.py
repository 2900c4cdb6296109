"""The Sparkplug B host against an edge node simulator publishing real protobuf through Mosquitto:
births and data by alias, sequence gaps and rebirth, deaths, bad payloads and the host STATE."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from tests.connectors.brokers import PREFIX, Broker, Counter
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected
from tests.connectors.sparkplug_node import Simulator, stamp_ms, values

from valueloop.config import connector_specs
from valueloop.connectors.check import check_connector
from valueloop.connectors.sparkplug import SparkplugHost, SparkplugSpec
from valueloop.schema import Quality

pytestmark = pytest.mark.services

TEMPLATES = [
    {"metric": "line1/{node}//{metric}", "series": "{node}/{metric}"},
    {"metric": "line1/+/{device}/{metric}", "series": "{device}/{metric}"},
]


@pytest.fixture
def simulators(broker: Broker) -> Iterator[list[Simulator]]:
    """Simulators a test starts; all ended when it ends."""
    started: list[Simulator] = []
    yield started
    for simulator in started:
        simulator.close()


def host(port: int, points: list[dict[str, Any]], **fields: Any) -> SparkplugHost:
    """A host application configured as site.yaml would give it."""
    raw = {
        "name": "line1-sparkplug",
        "kind": "sparkplug",
        "prefix": PREFIX,
        "port": port,
        "host_id": "valueloop-test",
        "groups": ["line1"],
        "rebirth_interval": 0.5,
        "points": points,
        **fields,
    }
    (spec,) = connector_specs([raw])
    assert isinstance(spec, SparkplugSpec)
    return SparkplugHost(spec)


def at(step: int) -> datetime:
    """The instant of the simulator's round ``step``."""
    return datetime.fromtimestamp(stamp_ms(step) / 1000, UTC)


def expected_rows(steps: range) -> set[tuple[str, datetime, float]]:
    """Every numeric, non-control metric of the simulator for ``steps``, as the spec says to read
    it: Int32 two's complement back to signed, booleans 1/0, floats as published."""
    rows = set()
    for step in steps:
        now = values(step)
        rows |= {
            (f"{PREFIX}/edge-1/Temperature", at(step), now["Temperature"]),
            (f"{PREFIX}/pump-1/Outlet_Pressure", at(step), now["Outlet Pressure"]),
            (f"{PREFIX}/pump-1/Speed", at(step), float(now["Speed"])),
            (f"{PREFIX}/pump-1/Running", at(step), 1.0 if now["Running"] else 0.0),
        }
    return rows


def good_rows(gathered: Gathered) -> set[tuple[str, datetime, float]]:
    """The GOOD readings gathered, as (series, ts, value), float32 metrics rounded back."""
    rows = set()
    for row in gathered.readings.to_pylist():
        if row["quality"] == Quality.GOOD:
            rows.add((row["series"], row["ts"], round(row["value"], 6)))
    return rows


def run(
    broker: Broker, source: SparkplugHost, script: Any, done: Any, timeout: float = 20.0
) -> Gathered:
    """Run ``script(gathered)`` (in a thread) while ``source`` is read until ``done``."""

    async def scenario() -> Gathered:
        gathered = Gathered()
        task = asyncio.create_task(gather_until(source, done, timeout=timeout, gathered=gathered))
        await wait_connected(source)
        await asyncio.to_thread(script, gathered)
        await task
        await source.stop()
        return gathered

    return asyncio.run(scenario())


def test_the_connector_contract_holds(broker: Broker, simulators: list[Simulator]) -> None:
    source = host(
        broker.port,
        [
            {
                "metric": "line1/edge-1/pump-1/Outlet Pressure",
                "series": "pump-1/outlet_pressure",
                "unit": "kPa",
                "scale": 100.0,
            },
            {"metric": "line1/edge-1//Temperature", "series": "edge-1/temperature"},
        ],
    )
    steps = range(4)
    expected = pa.table(
        {
            "series": [f"{PREFIX}/pump-1/outlet_pressure"] * 4
            + [f"{PREFIX}/edge-1/temperature"] * 4,
            "value": [values(s)["Outlet Pressure"] * 100 for s in steps]
            + [values(s)["Temperature"] for s in steps],
        }
    )

    def publish() -> None:
        simulator = Simulator(broker.port)
        simulators.append(simulator)
        simulator.send("birth")
        simulator.send("data 3")

    async def produce() -> None:
        await asyncio.to_thread(publish)

    assert asyncio.run(check_connector(source, expected, produce, timeout=20)) == []


def test_births_and_data_by_alias_through_templates(
    broker: Broker, simulators: list[Simulator]
) -> None:
    source = host(broker.port, TEMPLATES)
    wanted = expected_rows(range(5))

    def script(gathered: Gathered) -> None:
        simulator = Simulator(broker.port)
        simulators.append(simulator)
        simulator.send("birth")
        simulator.send("data 4")

    gathered = run(broker, source, script, lambda got: wanted <= good_rows(got))
    assert good_rows(gathered) == {(s, t, round(v, 6)) for s, t, v in wanted}
    assert gathered.rejected.num_rows == 0
    units = {path: point.unit for path, point in source.mappings()}
    assert units[f"{PREFIX}/pump-1/Outlet_Pressure"] == "bar"
    assert units[f"{PREFIX}/edge-1/Temperature"] == "degC"
    assert f"{PREFIX}/pump-1/Serial" not in units  # a String metric is no series


def test_a_sequence_gap_asks_for_a_rebirth_and_ignores_data_until_it(
    broker: Broker, simulators: list[Simulator]
) -> None:
    source = host(broker.port, TEMPLATES)
    after = expected_rows(range(5, 7))

    def script(gathered: Gathered) -> None:
        simulator = Simulator(broker.port)
        simulators.append(simulator)
        simulator.send("birth")
        simulator.send("data 2")
        simulator.send("skip")
        simulator.send("data 2")
        simulator.expect("reborn")
        simulator.send("data 2")

    gathered = run(broker, source, script, lambda got: after <= good_rows(got))
    rows = good_rows(gathered)
    assert expected_rows(range(3)) | after <= rows
    assert not {row for row in expected_rows(range(3, 4)) if row in rows}
    reasons = gathered.rejected.column("reason").to_pylist()
    gap = [r for r in reasons if "sequence gap:" in r]
    assert len(gap) == 1 and "expected seq 6, got 7; rebirth requested" in gap[0]
    assert all("NDATA" in r or "DDATA" in r for r in reasons)


def test_deaths_mark_the_series_stale(broker: Broker, simulators: list[Simulator]) -> None:
    source = host(broker.port, TEMPLATES)
    stamps: dict[str, float] = {}

    def script(gathered: Gathered) -> None:
        simulator = Simulator(broker.port)
        simulators.append(simulator)
        simulator.send("birth")
        simulator.send("data 1")
        stamps["ddeath"] = time.time()
        simulator.send("ddeath")
        stamps["kill"] = time.time()
        simulator.kill()  # no DISCONNECT: the broker publishes the NDEATH will

    def bad(gathered: Gathered) -> list[dict[str, Any]]:
        return [r for r in gathered.readings.to_pylist() if r["quality"] == Quality.BAD]

    gathered = run(broker, source, script, lambda got: len(bad(got)) >= 7)
    stale = bad(gathered)
    device = {f"{PREFIX}/pump-1/{name}" for name in ("Outlet_Pressure", "Speed", "Running")}
    everything = device | {f"{PREFIX}/edge-1/Temperature"}
    assert all(row["value"] is None for row in stale)
    first, second = stale[:3], stale[3:]
    assert {row["series"] for row in first} == device
    assert {row["series"] for row in second} == everything
    assert all(row["ts"].timestamp() >= stamps["ddeath"] - 0.01 for row in first)
    assert all(row["ts"].timestamp() >= stamps["kill"] - 0.01 for row in second)
    assert all(row["ts"].timestamp() - stamps["kill"] < 5 for row in second)


def test_a_late_host_asks_for_births_and_dead_letters_bad_protobuf(
    broker: Broker, simulators: list[Simulator]
) -> None:
    simulator = Simulator(broker.port)
    simulators.append(simulator)
    simulator.send("birth")  # nobody listens yet
    source = host(broker.port, TEMPLATES)
    wanted = expected_rows(range(2, 3))

    def script(gathered: Gathered) -> None:
        simulator.send("data 1")
        simulator.expect("reborn")
        simulator.send("garbage")
        simulator.send("data 1")

    gathered = run(broker, source, script, lambda got: wanted <= good_rows(got))
    letters = gathered.rejected.to_pylist()
    reasons = [letter["reason"] for letter in letters]
    assert any("no NBIRTH seen for this edge node; rebirth requested" in r for r in reasons)
    (garbage,) = [letter for letter in letters if "undecodable" in letter["reason"]]
    assert base64.b64decode(garbage["raw"]).endswith(b"this is not protobuf")
    assert garbage["reason"].startswith("topic spBv1.0/line1/NDATA/edge-1: undecodable")


def test_the_primary_host_publishes_its_state(broker: Broker) -> None:
    watcher = Counter(broker.port, "spBv1.0/STATE/+")
    source = host(broker.port, TEMPLATES)
    started = time.time()

    def script(gathered: Gathered) -> None:
        deadline = time.monotonic() + 5
        while not watcher.payloads and time.monotonic() < deadline:
            time.sleep(0.02)

    run(broker, source, script, lambda got: False, timeout=0.5)
    deadline = time.monotonic() + 5
    while len(watcher.payloads) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.close()
    states = [json.loads(payload) for payload in watcher.payloads]
    assert watcher.topics[:2] == ["spBv1.0/STATE/valueloop-test"] * 2
    assert [state["online"] for state in states[:2]] == [True, False]
    assert states[0]["timestamp"] == states[1]["timestamp"]
    assert math.isclose(states[0]["timestamp"] / 1000, started, abs_tol=5)
