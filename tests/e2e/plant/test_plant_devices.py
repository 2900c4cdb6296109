"""The plant's devices serve what they claim, read by valueloop's own connectors as configured in
``plant.site.yaml``: every mapped series arrives with values in range, the bearing fault shows on
machine-2 only and within the window the server announced, and the OPC UA server, killed and
started again on the same port, is read again."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from tests.connectors.fieldsources import Gathered
from tests.e2e.plant.devices import Plant, PlantSettings
from tests.e2e.plant.plant_model import MACHINES, SIGNAL_UNITS

from valueloop.config import load_site
from valueloop.connectors.base import FieldSource, connector_class

pytestmark = pytest.mark.services

SETTINGS = PlantSettings(
    seed=7, rate_hz=2.0, fault_machine="machine-2", fault_at=15.0, fault_for=6.0
)
HEALTHY = {
    "vibration": (1.0, 3.5),
    "bearing_temperature": (50.0, 62.0),
    "power": (30.0, 55.0),
    "speed": (1460.0, 1500.0),
}
"""Where a healthy machine's values stay, by signal."""

OTHERS = {
    "plant/utilities/mains/meter-1/power": (90.0, 150.0),
    "plant/utilities/mains/meter-1/energy": (182_400.0, 182_500.0),
    "plant/utilities/mains/meter-1/voltage": (395.0, 405.0),
    "plant/utilities/outdoor/weather-1/temperature": (7.0, 17.0),
    "plant/utilities/outdoor/weather-1/humidity": (50.0, 80.0),
    "plant/utilities/air/compressor-1/discharge_pressure": (6.9, 8.1),
}
LINE = "plant/pumping/line-1"
FAR = datetime(2200, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def plant_settings() -> PlantSettings:
    """A short fault soon after the start (late enough for the connectors to read healthy values
    first on a busy machine), so that the module runs in well under a minute."""
    return SETTINGS


@dataclass
class Observed:
    """What the connectors read over the scenario, and when the test did what."""

    sources: dict[str, FieldSource]
    gathered: dict[str, Gathered]
    epoch: datetime
    fault: tuple[datetime, datetime]
    restarted: datetime

    def good(self, series: str) -> pa.Table:
        """The good readings of ``series`` (a full path), whichever connector read it, by time."""
        readings = pa.concat_tables(gathered.readings for gathered in self.gathered.values())
        mine = pc.and_(pc.equal(readings["series"], series), pc.equal(readings["quality"], 0))
        return readings.filter(mine).sort_by("ts")


def _sources(plant: Plant) -> dict[str, FieldSource]:
    """Each connector of the plant's site file, built from its spec as ``valueloop serve`` does."""
    sources: dict[str, FieldSource] = {}
    for raw in yaml.safe_load(plant.site_text())["connectors"]:
        kind: Any = connector_class(raw["kind"])
        sources[raw["name"]] = kind(kind.spec_model.model_validate(raw))
    return sources


def _paths(sources: dict[str, FieldSource]) -> list[str]:
    return [path for source in sources.values() for path, _ in source.mappings()]


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        await asyncio.sleep(0.2)


async def _scenario(plant: Plant) -> Observed:
    """Read every device through the fault; kill the OPC UA server, start it again, read on."""
    sources = _sources(plant)
    gathered = {name: Gathered() for name in sources}

    async def consume(name: str) -> None:
        async for delivery in sources[name].deliveries():
            gathered[name].deliveries.append(delivery)

    tasks = [asyncio.create_task(consume(name)) for name in sources]
    observed = Observed(sources, gathered, plant.epoch, (plant.epoch, plant.epoch), plant.epoch)
    try:
        observed.fault = await asyncio.to_thread(plant.fault_window, 40.0)
        paths = _paths(sources)
        healed = f"{LINE}/{SETTINGS.fault_machine}/vibration"

        def read_enough() -> bool:
            after = _within(observed.good(healed), observed.fault[1], FAR)
            return after.num_rows >= 2 and all(observed.good(p).num_rows >= 3 for p in paths)

        await _until(read_enough, 15.0, "every mapped series, and the end of the fault, not read")
        plant.kill_opcua()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(plant.start_opcua)
        observed.restarted = datetime.now(UTC)
        opcua = [f"{LINE}/{machine}/{signal}" for machine in MACHINES for signal in SIGNAL_UNITS]

        def read_again() -> bool:
            return all(
                pc.any(pc.greater(observed.good(path)["ts"], observed.restarted)).as_py()
                for path in opcua
            )

        await _until(read_again, 20.0, "the restarted OPC UA server was not read again")
    finally:
        for source in sources.values():
            await source.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
    return observed


@pytest.fixture(scope="module")
def observed(plant: Plant) -> Observed:
    """The scenario, run once for the module's tests."""
    return asyncio.run(_scenario(plant))


def _range(table: pa.Table) -> tuple[float, float]:
    assert table.num_rows, "no readings"
    return pc.min(table["value"]).as_py(), pc.max(table["value"]).as_py()


def _within(table: pa.Table, start: datetime, end: datetime) -> pa.Table:
    return table.filter(pc.and_(pc.greater_equal(table["ts"], start), pc.less(table["ts"], end)))


def test_every_mapped_series_delivers_values_in_range(observed: Observed) -> None:
    paths = _paths(observed.sources)
    assert len(paths) == 12 + 3 + 2 + 1
    start = observed.fault[0]
    for machine in MACHINES:
        for signal, (low, high) in HEALTHY.items():
            readings = observed.good(f"{LINE}/{machine}/{signal}")
            if machine == "machine-2" and signal in ("vibration", "bearing_temperature"):
                readings = _within(readings, observed.epoch, start)
            lowest, highest = _range(readings)
            assert low <= lowest and highest <= high, (machine, signal, lowest, highest)
    for path, (low, high) in OTHERS.items():
        readings = observed.good(path)
        assert readings.num_rows >= 3, path
        lowest, highest = _range(readings)
        assert low <= lowest and highest <= high, (path, lowest, highest)
    energy = observed.good("plant/utilities/mains/meter-1/energy")["value"].to_pylist()
    assert energy == sorted(energy)
    for name, source in observed.sources.items():
        assert source.status().points > 0, name


def test_nothing_is_dead_lettered_but_compressor_data_before_its_rebirth(
    observed: Observed,
) -> None:
    for name, gathered in observed.gathered.items():
        reasons = set(gathered.rejected["reason"].to_pylist())
        if name == "air-sparkplug":
            # the node was born before the host subscribed: its data waits for the rebirth asked
            assert all("no NBIRTH seen for this edge node" in reason for reason in reasons)
        else:
            assert reasons == set(), name


def test_bearing_fault_shows_on_machine_2_only_within_the_announced_window(
    observed: Observed, plant: Plant
) -> None:
    start, end = observed.fault
    step = 1 / SETTINGS.rate_hz
    assert abs((start - plant.at(SETTINGS.fault_at)).total_seconds()) < step
    assert abs((end - start).total_seconds() - SETTINGS.fault_for) < step
    vibration = observed.good(f"{LINE}/machine-2/vibration")
    during = _within(vibration, start, end)
    assert during.num_rows >= SETTINGS.fault_for * SETTINGS.rate_hz - 2
    assert _range(during)[0] > 6.0
    before = _within(vibration, observed.epoch, start)
    after = _within(vibration, end, FAR)
    assert before.num_rows and after.num_rows
    assert _range(before)[1] < 3.5 and _range(after)[1] < 3.5
    temperature = observed.good(f"{LINE}/machine-2/bearing_temperature")
    healthy_peak = _range(_within(temperature, observed.epoch, start))[1]
    assert _range(_within(temperature, start, end))[1] > healthy_peak + 3.0
    for machine in ("machine-1", "machine-3"):
        assert _range(observed.good(f"{LINE}/{machine}/vibration"))[1] < 3.5, machine


def test_the_opcua_server_killed_and_started_again_on_its_port_is_read_again(
    observed: Observed,
) -> None:
    status = observed.sources["pumping-opcua"].status()
    assert status.reconnects >= 1
    for machine in MACHINES:
        ts = observed.good(f"{LINE}/{machine}/power")["ts"]
        assert pc.any(pc.greater(ts, observed.restarted)).as_py(), machine


def test_the_site_file_describes_the_plant_in_the_site_model(tmp_path: Path) -> None:
    site = load_site(Plant(tmp_path, mqtt_port=1883).write_site(tmp_path / "site.yaml"))
    assert [asset.path.split("/")[-1] for asset in site.assets] == [
        *MACHINES,
        "meter-1",
        "weather-1",
        "compressor-1",
    ]
    assert [spec.kind for spec in site.connectors] == ["opcua", "modbus", "mqtt", "sparkplug"]
