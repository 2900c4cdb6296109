"""Acceptance: a plant that is not a demo runs the whole loop up to proposals, under serve and run.

Real processes throughout: an OPC UA server with three machines (a bearing fault injected on
machine-2 at a known time), a Modbus TCP meter, an MQTT JSON weather station and a Sparkplug B
compressor node, all described by one site.yaml with no demo section (``plant.site.yaml``), and
``valueloop serve`` on the real clock. Then ``valueloop run`` over the stored history reproduces
the same alarms, once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow.compute as pc
import pytest
from tests.connectors.brokers import free_port
from tests.e2e.plant.devices import Plant, PlantSettings
from tests.e2e.processes import wait_for

from valueloop.alarms.book import AlarmBook
from valueloop.site import open_site

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[3]
FAULT_AT_S = 90.0
"""The fault starts this long after the plant's epoch: after the detector's 60 s training window
(counted from the first complete row, a few seconds after serve starts) has passed."""
FAULT_FOR_S = 20.0
ALARM_DELAY = timedelta(seconds=10)
DONE = ("executed", "failed")
"""The states that end a set-point change's execution."""
HEALTHY = {
    "vibration": (1.0, 3.5),
    "bearing_temperature": (50.0, 62.0),
    "power": (30.0, 55.0),
    "speed": (1460.0, 1500.0),
}
"""Where a healthy machine's readings stay (the plant model's levels, load and noise)."""
OTHERS = {
    "plant/utilities/mains/meter-1/power": (90.0, 150.0),
    "plant/utilities/mains/meter-1/energy": (182_400.0, 182_500.0),
    "plant/utilities/mains/meter-1/voltage": (395.0, 405.0),
    "plant/utilities/outdoor/weather-1/temperature": (7.0, 17.0),
    "plant/utilities/outdoor/weather-1/humidity": (50.0, 80.0),
    "plant/utilities/air/compressor-1/discharge_pressure": (6.9, 8.1),
}
"""Where the other devices' readings stay, in the site's units."""
"""How soon after the fault's first faulty reading the anomaly alarm must be raised (data time):
its 3 s on-delay plus a few grid cells."""


@pytest.fixture(scope="module")
def plant_settings() -> PlantSettings:
    return PlantSettings(fault_at=FAULT_AT_S, fault_for=FAULT_FOR_S)


def _cli(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "valueloop", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


class Server:
    """``valueloop serve`` of the plant as a process, and an API client with a viewer token."""

    def __init__(self, site: Path, data: Path, token: str) -> None:
        self.port = free_port()
        self.log = (data.parent / "serve.log").open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "valueloop", "serve"),
                *("--site", str(site), "--data-dir", str(data), "--port", str(self.port)),
            ],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
        wait_for("the server", self._healthy, 90)

    def _healthy(self) -> bool:
        try:
            return self.client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def alarms(self, **query: str) -> list[dict[str, Any]]:
        answer = self.client.get("/api/alarms", params={"include_normal": "true", **query})
        answer.raise_for_status()
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def orders(self) -> list[dict[str, Any]]:
        answer = self.client.get("/api/workorders")
        answer.raise_for_status()
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def order(self, order_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/workorders/{order_id}")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def act(self, token: str, path: str, expect: int = 200) -> dict[str, Any]:
        """POST ``path`` as the user of ``token``; the answer's body."""
        answer = self.client.post(path, headers={"Authorization": f"Bearer {token}"}, json={})
        assert answer.status_code == expect, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.client.close()
            self.log.close()


@pytest.fixture(scope="module")
def loop(plant: Plant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The plant served through its fault and an OPC UA outage; what was seen, for the tests."""
    folder = tmp_path_factory.mktemp("plant-loop")
    site = plant.write_site(folder / "site.yaml")
    data = folder / "data"
    _cli("validate", str(site))
    created = _cli(
        "users", "add", "eve", "--role", "viewer", "--site", str(site), "--data-dir", str(data)
    )
    token = created.stdout.strip().splitlines()[-1].split()[-1]
    people = {}
    for name, role in (("olga", "operator"), ("ann", "approver"), ("bob", "approver")):
        added = _cli(
            "users", "add", name, "--role", role, "--site", str(site), "--data-dir", str(data)
        )
        people[name] = added.stdout.strip().splitlines()[-1].split()[-1]
    server = Server(site, data, token)
    seen: dict[str, Any] = {"site": site, "data": data, "started": datetime.now(UTC)}
    try:
        announced = plant.opcua.wait_for("FAULT_START", FAULT_AT_S + 60)
        seen["fault_announced"] = datetime.fromisoformat(announced.split(" ", 1)[1])
        seen["anomaly"] = wait_for(
            "the anomaly alarm",
            lambda: [a for a in server.alarms(asset="machine-2") if a["name"] == "health_anomaly"],
            60,
        )
        seen["anomaly_seen_at"] = datetime.now(UTC)
        fault_start, fault_end = plant.fault_window(FAULT_FOR_S + 60)
        seen["fault"] = (fault_start, fault_end)
        seen.update(_change_and_rollback(server, people))
        seen["orders"] = wait_for(
            "the inspection",
            lambda: [o for o in server.orders() if o["kind"] == "maintenance"],
            60,
        )
        wait_for(
            "the fault's end", lambda: datetime.now(UTC) > fault_end + timedelta(seconds=5), 90
        )
        plant.kill_opcua()
        seen["killed"] = datetime.now(UTC)
        seen["stale"] = wait_for(
            "stale-data alarms",
            lambda: [a for a in server.alarms(state="unack") if a["name"] == "comms_lost"],
            40,
        )
        plant.start_opcua()
        seen["restarted"] = datetime.now(UTC)
        seen["cleared"] = wait_for(
            "the stale-data alarms to clear",
            lambda: all(a["cleared_at"] for a in server.alarms() if a["name"] == "comms_lost"),
            60,
        )
        time.sleep(8)
        seen["stopped"] = datetime.now(UTC)
    finally:
        server.stop()
    yield seen


def _change_and_rollback(server: Server, people: dict[str, str]) -> dict[str, Any]:
    """The rule's set-point change approved by two people, executed, then rolled back."""
    (change,) = wait_for(
        "the rule's set-point change",
        lambda: [o for o in server.orders() if o["kind"] == "setpoint"],
        60,
    )
    path = f"/api/workorders/{change['order_id']}"
    server.act(people["olga"], f"{path}/approve", expect=403)
    server.act(people["ann"], f"{path}/approve")
    approved = server.act(people["bob"], f"{path}/approve")
    executed = wait_for(
        "the change to be executed",
        lambda: (order := server.order(change["order_id"]))["status"] in DONE and order,
        30,
    )
    time.sleep(3.0)  # the machine's speed follows its set-point with a 2 s time constant
    rollback = server.act(people["olga"], f"{path}/rollback", expect=201)
    back = f"/api/workorders/{rollback['order_id']}"
    server.act(people["ann"], f"{back}/approve")
    server.act(people["bob"], f"{back}/approve")
    undone = wait_for(
        "the rollback to be executed",
        lambda: (order := server.order(rollback["order_id"]))["status"] in DONE and order,
        30,
    )
    trail = server.client.get(f"{path}/audit").json()
    return {
        "change": change,
        "approved": approved,
        "executed": executed,
        "rollback": undone,
        "rolled_back": server.order(change["order_id"]),
        "trail": trail,
    }


def _book(seen: dict[str, Any]) -> list[tuple[Any, ...]]:
    site = open_site(seen["site"], seen["data"])
    try:
        rows = AlarmBook(site.store).list(include_normal=True, limit=1000).to_pylist()
    finally:
        site.close()
    return sorted(
        (row["alarm_id"], row["name"], row["asset"], row["raised_at"], row["cleared_at"])
        for row in rows
        if row["raised_at"] < seen["stopped"] - timedelta(seconds=5)
    )


def test_every_signal_is_stored_with_its_unit(loop: dict[str, Any]) -> None:
    site = open_site(loop["site"], loop["data"])
    try:
        catalogue = site.registry.catalogue().to_pylist()
        units = {row["path"]: row["unit"] for row in catalogue}
        assert units["plant/pumping/line-1/machine-2/vibration"] == "mm/s"
        assert units["plant/utilities/mains/meter-1/energy"] == "kWh"
        assert units["plant/utilities/air/compressor-1/discharge_pressure"] == "bar"
        measured = [
            row
            for row in catalogue
            if not row["signal"].startswith("health_") and "setpoint" not in row["signal"]
        ]
        assert len(measured) == 3 * 4 + 3 + 2 + 1
        for row in measured:
            latest = site.points.latest([row["series_id"]])
            assert latest.num_rows == 1, f"nothing stored for {row['path']}"
        fault_start, _ = loop["fault"]
        for machine in ("machine-1", "machine-3"):
            for signal, (low, high) in HEALTHY.items():
                series = site.registry.lookup([site.model.path(machine, signal)])
                points = site.points.read(
                    series.column("series_id").to_pylist(), None, fault_start
                ).filter(pc.equal(pc.field("quality"), 0))
                values = points.column("value").to_numpy()
                assert values.size > 30, (machine, signal)
                assert low <= values.min() and values.max() <= high, (machine, signal)
        for path, (low, high) in OTHERS.items():
            series = site.registry.lookup([path]).column("series_id").to_pylist()
            values = site.points.read(series, None, None).column("value").to_numpy()
            assert values.size >= 3 and low <= values.min() and values.max() <= high, path
    finally:
        site.close()


def test_the_faulty_machine_alarms_within_the_stated_delay(loop: dict[str, Any]) -> None:
    fault_start, _ = loop["fault"]
    raised = min(datetime.fromisoformat(a["raised_at"]) for a in loop["anomaly"])
    assert fault_start <= raised <= fault_start + ALARM_DELAY
    assert loop["anomaly_seen_at"] - fault_start < timedelta(seconds=30)


def test_no_anomaly_on_the_healthy_machines(loop: dict[str, Any]) -> None:
    assets = {row[2] for row in _book(loop) if row[1] in ("health_anomaly", "vibration_high")}
    assert assets == {"machine-2"}


def test_the_outage_raised_stale_alarms_that_cleared(loop: dict[str, Any]) -> None:
    stale = [row for row in _book(loop) if row[1] == "comms_lost"]
    assert {row[2] for row in stale} == {"machine-1", "machine-2", "machine-3"}
    for _, _, _, raised, cleared in stale:
        assert loop["killed"] - timedelta(seconds=5) <= raised <= loop["restarted"]
        assert cleared is not None and cleared >= loop["restarted"] - timedelta(seconds=5)


def test_a_rule_proposed_change_approved_by_two_reached_the_device_and_rolled_back(
    loop: dict[str, Any],
) -> None:
    change = loop["change"]
    assert (change["asset"], change["action"], change["created_by"]) == (
        "machine-2",
        "speed_setpoint",
        "rules",
    )
    assert change["previous"] == pytest.approx(1480.0) and change["setpoint"] == pytest.approx(1380)
    assert loop["approved"]["approved_by"] == ["ann", "bob"]
    assert loop["executed"]["status"] == "executed"
    steps = [(row["action"], row["actor"]) for row in loop["trail"]]
    assert steps[:4] == [
        ("propose", "rules"),
        ("approve", "ann"),
        ("approve", "bob"),
        ("approved", "bob"),
    ]
    assert [action for action, _ in steps[4:8]] == ["executing", "write", "written", "executed"]
    executing = loop["trail"][4]["detail"]
    assert executing["before"] == pytest.approx(1480.0)
    assert loop["trail"][7]["detail"]["observed"] == pytest.approx(1380.0, abs=0.5)
    rollback = loop["rollback"]
    assert rollback["status"] == "executed" and rollback["setpoint"] == pytest.approx(1480.0)
    assert rollback["rollback_of"] == change["order_id"]
    assert loop["rolled_back"]["status"] == "rolled_back"
    site = open_site(loop["site"], loop["data"])
    try:
        series = site.registry.lookup([site.model.path("machine-2", "speed")])
        speeds = (
            site.points.read(
                series.column("series_id").to_pylist(),
                datetime.fromisoformat(loop["executed"]["updated_at"]),
                datetime.fromisoformat(rollback["updated_at"]),
            )
            .column("value")
            .to_numpy()
        )
        assert speeds.size > 0 and speeds.min() < 1470, "the machine's speed did not follow"
    finally:
        site.close()


def test_a_rule_proposed_an_inspection_with_its_expected_value(loop: dict[str, Any]) -> None:
    (order,) = loop["orders"]
    assert order["asset"] == "machine-2"
    assert order["kind"] == "maintenance" and order["task"] == "inspect bearings"
    assert order["expected_value"] == pytest.approx(0.3 * (45000 + 900 * 48) - (1200 + 900 * 4))
    assert order["status"] == "proposed"


def test_run_over_the_stored_history_gives_the_same_alarms_once(loop: dict[str, Any]) -> None:
    served = _book(loop)
    _cli(
        "run",
        *("--site", str(loop["site"]), "--data-dir", str(loop["data"])),
        *("--from", (loop["started"] - timedelta(minutes=1)).isoformat()),
        *("--until", loop["stopped"].isoformat(), "--step", "5s", "--fresh"),
    )
    assert _book(loop) == served
    site = open_site(loop["site"], loop["data"])
    try:
        assert site.work_orders.list().num_rows == 3
    finally:
        site.close()
