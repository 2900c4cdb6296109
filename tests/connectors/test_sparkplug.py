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
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.connectors.brokers import PREFIX, Broker, Counter
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected
from tests.connectors.sparkplug_node import Simulator, stamp_ms, values

from valueloop.config import connector_specs
from valueloop.connectors.check import check_connector
from valueloop.connectors.runner import build_sources
from valueloop.connectors.sparkplug import SparkplugHost, SparkplugSpec
from valueloop.schema import Quality
from valueloop.store.births import BirthCertificates
from valueloop.store.duckdb import DuckDBStore

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


def test_a_node_deaf_to_rebirth_has_its_named_data_read_and_only_aliases_dead_lettered(
    broker: Broker, simulators: list[Simulator]
) -> None:
    simulator = Simulator(broker.port, deaf=True)
    simulators.append(simulator)
    simulator.send("birth")  # before the host is up: its aliases are never learnt
    source = host(broker.port, TEMPLATES)
    untyped = {row for row in expected_rows(range(5, 6)) if "/Speed" not in row[0]}
    wanted = expected_rows(range(1, 4)) | untyped

    def script(gathered: Gathered) -> None:
        simulator.send("named 3")  # names and datatypes, as nodes without aliases send them
        simulator.expect("rebirth")  # asked for, never answered
        simulator.send("data 1")  # by alias: nothing tells which metric is which
        simulator.send("untyped 1")  # names alone: the Int32's sign cannot be told

    gathered = run(
        broker, source, script, lambda got: wanted <= good_rows(got) and got.rejected.num_rows >= 3
    )
    births = {(s, t, round(v, 6)) for s, t, v in expected_rows(range(1))}  # if still in flight
    assert good_rows(gathered) - births == {(s, t, round(v, 6)) for s, t, v in wanted}
    assert -20.0 in {v for s, _, v in good_rows(gathered) if s.endswith("/Speed")}  # round 3
    reasons = sorted(gathered.rejected.column("reason").to_pylist())
    assert len(reasons) == 3
    no_birth = "not decodable, no NBIRTH seen for this edge node; rebirth requested: "
    assert reasons[0].startswith("topic spBv1.0/line1/DDATA/edge-1/pump-1: DDATA: 1 metric not")
    assert reasons[0].endswith(
        no_birth + "Speed (an integer without datatype) (raw payload in base64)"
    )
    assert reasons[1].startswith("topic spBv1.0/line1/DDATA/edge-1/pump-1: DDATA: 4 metrics")
    aliases = "alias 10, alias 11, alias 12, alias 13"
    assert reasons[1].endswith(f"{no_birth}{aliases} (raw payload in base64)")
    node = "topic spBv1.0/line1/NDATA/edge-1: NDATA: 1 metric "
    assert reasons[2] == f"{node}{no_birth}alias 1 (raw payload in base64)"


def test_births_kept_in_the_site_books_decode_aliases_after_a_host_restart(
    broker: Broker, simulators: list[Simulator], tmp_path: Path
) -> None:
    simulator = Simulator(broker.port, deaf=True)  # a rebirth request would go unanswered
    simulators.append(simulator)
    spec = host(broker.port, TEMPLATES).spec

    def start() -> tuple[SparkplugHost, DuckDBStore]:
        database = DuckDBStore(tmp_path / "site.duckdb")
        (source,) = build_sources([spec], births=BirthCertificates(database))
        assert isinstance(source, SparkplugHost)
        return source, database

    first, database = start()
    before = expected_rows(range(2))

    def born(gathered: Gathered) -> None:
        simulator.send("birth")
        simulator.send("data 1")

    run(broker, first, born, lambda got: before <= good_rows(got))
    kept = BirthCertificates(database).births(spec.name)
    assert [(b.group, b.edge_node, b.device) for b in kept] == [
        ("line1", "edge-1", ""),
        ("line1", "edge-1", "pump-1"),
    ]
    database.close()

    second, database = start()  # the host restarts; the node, still up, is not born again
    after = expected_rows(range(2, 5))

    def carry_on(gathered: Gathered) -> None:
        simulator.send("data 3")  # by alias, its seq carrying on from before the restart
        simulator.send("exit")  # NDEATH: the session ends, its births are dropped

    def stale(got: Gathered) -> int:
        return sum(row["quality"] == Quality.BAD for row in got.readings.to_pylist())

    gathered = run(
        broker, second, carry_on, lambda got: after <= good_rows(got) and stale(got) >= 4
    )
    assert good_rows(gathered) == {(s, t, round(v, 6)) for s, t, v in after}
    assert gathered.rejected.num_rows == 0
    while not simulator.events.empty():
        simulator.seen.append(simulator.events.get())
    assert "rebirth" not in simulator.seen  # no rebirth was asked for: none was needed
    assert BirthCertificates(database).births(spec.name) == []
    database.close()
