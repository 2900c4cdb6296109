"""The acceptance plant's set-point change, written to the machine and verified by its meter.

The site is ``plant.site.yaml`` (the plant of ``test_plant_loop.py``) with what M&V of a pump
skid needs added as data: each skid's sub-meter (``energy``, kWh since the previous reading) and
its ``throughput`` (m³/h), a value KPI on machine-2's meter (IPMVP option B, hourly intervals, a
regression baseline on throughput) priced at the plant's ``energy`` tariff. The plant's OPC UA
server of the machines (``opcua_plant.py``) runs as its own process, so the change reaches a real
device.

An injected case: the recorded history is made from the plant's own model (``plant_model.py``,
the functions its device processes serve), five weeks of 15-minute readings over a shift
pattern, because no fixture runs for weeks; from :data:`EXECUTED_AT` on, the model's power
follows the affinity law at a speed 100 rpm lower, so the saving the meter must verify is the
model's, known to the kWh. machine-2's speed set-point, read from the server (1480 rpm), is to be
lowered by those 100 rpm, as the plant's rule proposes, and two approvers approve it, as the
plant's policy asks. ``valueloop run`` then runs the plant's jobs from :data:`EXECUTED_AT` on a
simulated clock: at its first tick the act job's executor reads the set-point, writes 1380 rpm
to the OPC UA server and reads it back, so the order is executed at :data:`EXECUTED_AT`, when the
history's saving begins; the measurement job plans that order's M&V and, when the reporting
window closes, writes the verified saving, in kWh and in money, to the ledger beside the
expected value.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import yaml
from fastapi.testclient import TestClient
from tests.connectors.peers import free_port
from tests.e2e.plant.devices import PLACEHOLDERS, SITE_TEMPLATE, DeviceProcess
from tests.e2e.plant.plant_model import NOMINAL_SPEED_RPM, machines, noise, power_at_load

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site, open_site
from valueloop.value.plans import PlanBook
from valueloop.value.verified import RecordedMeasurement, latest_measurement

ROOT = Path(__file__).resolve().parents[3]
SEED = 7
MACHINE = "machine-2"
EXECUTED_AT = datetime(2027, 3, 10, 9, 20, tzinfo=UTC)
REFERENCE = timedelta(days=28)
REPORTING = timedelta(days=14)
READING = timedelta(minutes=15)
LOWER_BY_RPM = 100.0
FLOW_AT_FULL_LOAD = 180.0
"""m³/h a skid moves at load share 1."""
PRICE = 0.21
"""EUR/kWh, the plant's ``energy`` tariff."""
METER_NOISE_KWH = 0.3
THROUGHPUT_NOISE = 2.0
"""Standard deviations of the sub-meter's reading (kWh per reading) and of the flow meter (m³/h)."""

VALUE = {
    "measurement": {
        "reference": "28d",
        "reporting": "14d",
        "min_reporting": "7d",
        "confidence": 0.9,
    },
    "kpis": [
        {
            "name": "skid_energy",
            "asset": MACHINE,
            "signal": "energy",
            "interval": "hourly",
            "regressors": {"throughput": {"asset": MACHINE, "signal": "throughput"}},
            "baseline": {"kind": "regression", "params": {"regressors": ["throughput"]}},
            "tariff": "energy",
        }
    ],
}


def site_text(opcua_port: int) -> str:
    """``plant.site.yaml`` with the skids' sub-meter and throughput and the value KPI added, its
    machines on the OPC UA server at ``opcua_port``; its other devices are not started (``valueloop
    run`` replays the store: only the executor connects, to write the set-point)."""
    text = SITE_TEMPLATE.read_text()
    ports = {name: free_port() for name in PLACEHOLDERS} | {"opcua_port": opcua_port}
    for name, port in ports.items():
        text = text.replace("{" + name + "}", str(port))
    site = yaml.safe_load(text)
    site["asset_types"]["pump_skid"]["signals"].update(
        {
            "energy": {"unit": "kWh", "description": "sub-meter: energy since the last reading"},
            "throughput": {"unit": "m3/h"},
        }
    )
    site["value"] = VALUE
    return yaml.safe_dump(site, sort_keys=False)


def shift_load(stamps: np.ndarray) -> np.ndarray:
    """machine-2's load share at each time: two shifts on weekdays (06-22 Berlin), a night and
    weekend base, and a slow drift, with noise from the plant's seed."""
    local = stamps + np.timedelta64(1, "h")  # CET: the history ends before summer time
    hour = (local.astype("datetime64[h]") - local.astype("datetime64[D]")).astype(int)
    weekday = (local.astype("datetime64[D]").astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    working = (weekday < 5) & (hour >= 6) & (hour < 22)
    share = np.where(working, 0.75, np.where(weekday < 5, 0.35, 0.2))
    days = (stamps - stamps[0]).astype("timedelta64[s]").astype(float) / 86_400
    share = share + 0.05 * np.sin(2 * np.pi * days / 9.0)
    return np.clip(share + 0.08 * noise(SEED, 20, 0, len(stamps)), 0.05, 1.0)


@dataclass(frozen=True)
class History:
    """The recorded readings of machine-2 and the saving the lower speed injected."""

    stamps: np.ndarray
    throughput: np.ndarray
    energy: np.ndarray
    speed: np.ndarray
    injected_kwh: float
    expected_value: float


def history() -> History:
    """Five weeks of 15-minute readings of machine-2; see the module docstring."""
    start = EXECUTED_AT - REFERENCE - timedelta(days=1)
    count = (REFERENCE + REPORTING + timedelta(days=2)) // READING
    first = np.datetime64(start.replace(tzinfo=None), "us")
    stamps = first + np.arange(count) * np.timedelta64(READING // timedelta(microseconds=1), "us")
    share = shift_load(stamps)
    after = stamps >= np.datetime64(EXECUTED_AT.replace(tzinfo=None), "us")
    speed = np.where(after, NOMINAL_SPEED_RPM - LOWER_BY_RPM, NOMINAL_SPEED_RPM)
    machine = machines(SEED)[MACHINE]
    hours = READING / timedelta(hours=1)
    nominal = np.array([power_at_load(machine, s) for s in share]) * hours
    used = np.array([power_at_load(machine, s, v) for s, v in zip(share, speed, strict=True)])
    energy = used * hours + METER_NOISE_KWH * noise(SEED, 21, 0, len(stamps))
    # the reporting window: the hours after the one the change was executed in
    reporting_start = np.datetime64(EXECUTED_AT.replace(tzinfo=None, minute=0), "us")
    reporting_start += np.timedelta64(1, "h")
    reporting_end = reporting_start + np.timedelta64(REPORTING // timedelta(microseconds=1), "us")
    window = (stamps >= reporting_start) & (stamps < reporting_end)
    injected = float((nominal - used * hours)[window].sum())
    saving_rate = 1 - ((NOMINAL_SPEED_RPM - LOWER_BY_RPM) / NOMINAL_SPEED_RPM) ** 3
    mean_kw = power_at_load(machine, float(share[~after].mean()))
    expected = saving_rate * mean_kw * REPORTING / timedelta(hours=1) * PRICE
    return History(
        stamps=stamps,
        throughput=FLOW_AT_FULL_LOAD * share + THROUGHPUT_NOISE * noise(SEED, 22, 0, len(stamps)),
        energy=energy,
        speed=speed,
        injected_kwh=injected,
        expected_value=round(expected, 2),
    )


def _write(site: Site, signal: str, stamps: np.ndarray, values: np.ndarray) -> None:
    path = site.model.path(MACHINE, signal)
    series_id = site.registry.lookup([path]).column("series_id")[0].as_py()
    site.points.write(
        pa.table(
            {
                "series_id": pa.array(np.full(len(stamps), series_id), pa.int32()),
                "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                "value": pa.array(values, pa.float64()),
                "quality": pa.array(np.zeros(len(stamps)), pa.uint8()),
            }
        )
    )


def _propose_and_approve(site: Site, expected_value: float) -> str:
    """The 100 rpm lower speed from the value the server holds, proposed by olga an hour before
    :data:`EXECUTED_AT` and approved by ann and bob at it; the executor is left to act."""
    order = site.actions_at(EXECUTED_AT - timedelta(hours=1)).propose_setpoint(
        MACHINE,
        "speed_setpoint",
        change=-LOWER_BY_RPM,
        reason="run the skid 100 rpm slower at the same throughput",
        expected_value=expected_value,
        actor="olga",
    )
    order_id = str(order["order_id"])
    for approver in ("ann", "bob"):
        site.actions_at(EXECUTED_AT).approve(order_id, actor=approver, role="approver")
    return order_id


@pytest.fixture(scope="module")
def machines_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The plant's OPC UA server of the three machines, as its own process; its port."""
    port = free_port()
    log = tmp_path_factory.mktemp("plant-machines") / "opcua.log"
    server = DeviceProcess(
        "opcua", "opcua_plant.py", ["--port", str(port), "--seed", str(SEED)], log
    )
    server.start()
    try:
        yield port
    finally:
        server.stop()


@dataclass(frozen=True)
class Verified:
    history: History
    order_id: str
    order: dict[str, Any]
    trail: list[dict[str, Any]]
    on_the_machine: float | None
    recorded: RecordedMeasurement
    site_file: Path
    data: Path


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory, machines_server: int) -> Verified:
    folder = tmp_path_factory.mktemp("plant-mv")
    site_file, data = folder / "site.yaml", folder / "data"
    site_file.write_text(site_text(machines_server))
    recorded = history()
    site = open_site(site_file, data)
    try:
        _write(site, "throughput", recorded.stamps, recorded.throughput)
        _write(site, "energy", recorded.stamps, recorded.energy)
        _write(site, "speed", recorded.stamps, recorded.speed)
        order_id = _propose_and_approve(site, recorded.expected_value)
    finally:
        site.close()
    until = EXECUTED_AT + REPORTING + timedelta(days=1)
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "valueloop", "run"),
            *("--site", str(site_file), "--data-dir", str(data)),
            *("--from", EXECUTED_AT.isoformat(), "--until", until.isoformat(), "--step", "1d"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    site = open_site(site_file, data)
    try:
        ((plan, _),) = PlanBook(site.store).all()
        measured = latest_measurement(site.ledger, plan.plan_id)
        assert measured is not None, "the reporting window closed but nothing was measured"
        assert site.ledger.verify().ok
        order = site.work_orders.get(order_id)
        trail = site.work_orders.audit_trail(order_id).to_pylist()
        series = site.model.path(MACHINE, "speed_setpoint")
        on_the_machine = asyncio.run(site.field.read(series)).value
    finally:
        site.close()
    return Verified(recorded, order_id, order, trail, on_the_machine, measured, site_file, data)


def test_the_executor_wrote_the_change_to_the_machine_and_read_it_back(
    verified: Verified,
) -> None:
    steps = [(row["action"], row["actor"]) for row in verified.trail]
    assert steps == [
        ("propose", "olga"),
        ("approve", "ann"),
        ("approve", "bob"),
        ("approved", "bob"),
        ("executing", "executor"),
        ("write", "executor"),
        ("written", "executor"),
        ("executed", "executor"),
        ("measurement_plan", "measurement"),
    ]
    executing, write, written, executed = (json.loads(row["detail"]) for row in verified.trail[4:8])
    assert executing["before_read"] == NOMINAL_SPEED_RPM  # read from the server before writing
    target = NOMINAL_SPEED_RPM - LOWER_BY_RPM
    assert (write["attempt"], write["target"]) == (1, target)
    assert written["ok"] and written["execution_id"] == executing["execution_id"]
    assert executed["observed"] == pytest.approx(target, abs=0.5)  # the read-back
    assert verified.on_the_machine == pytest.approx(target, abs=0.5)
    assert verified.order["status"] == "executed"
    assert verified.order["updated_at"] == EXECUTED_AT  # the run's first tick: the saving's start


def test_the_change_is_planned_on_the_skids_meter_with_throughput(verified: Verified) -> None:
    plan = verified.recorded.plan
    assert (plan.order_id, plan.asset) == (verified.order_id, MACHINE)
    assert plan.executed_at == verified.order["updated_at"]
    assert plan.action == "speed_setpoint"
    assert (plan.option, plan.interval, plan.baseline) == ("B", "hourly", "regression")
    assert plan.meter == f"{MACHINE}/energy" and plan.unit == "kWh"
    assert plan.regressors == {"throughput": f"{MACHINE}/throughput"}
    assert (plan.price, plan.currency) == (PRICE, "EUR")
    assert plan.reporting_end - plan.reporting_start == REPORTING


def test_the_ledger_shows_the_verified_kwh_and_money_beside_the_expected_value(
    verified: Verified,
) -> None:
    recorded = verified.recorded
    figures = recorded.figures
    assert recorded.verified, recorded.reasons
    assert recorded.assumptions["statistics"]["passes"]
    assert figures["expected_value"] == verified.history.expected_value
    assert figures["intervals"] == figures["rows"] == REPORTING / timedelta(hours=1)
    # the model's saving, injected by the lower speed, lies within the stated 90 % interval
    injected = verified.history.injected_kwh
    assert abs(figures["saving"] - injected) <= figures["uncertainty_90"]
    assert 0 < figures["uncertainty_90"] < 0.1 * injected
    assert figures["money"] == pytest.approx(figures["saving"] * PRICE)
    units = {row["metric"]: row["unit"] for row in recorded.entries if row["kind"] == "measurement"}
    assert (units["saving"], units["money"], units["expected_value"]) == ("kWh", "EUR", "EUR")
    coefficients = recorded.assumptions["model"]["coefficients"]
    assert coefficients["throughput"] > 0  # the skid uses more energy as it moves more


def test_the_api_serves_the_plants_verified_value(verified: Verified) -> None:
    site = open_site(verified.site_file, verified.data)
    try:
        token = issue_token(site.store, "eve", "viewer")
        with TestClient(create_app(site)) as client:
            answer = client.get("/api/value/actions", headers={"Authorization": f"Bearer {token}"})
    finally:
        site.close()
    (row,) = answer.json()
    assert (row["asset"], row["verified"]) == (MACHINE, True)
    assert row["saving"] == pytest.approx(verified.recorded.figures["saving"])
    assert row["money"] == pytest.approx(verified.recorded.figures["money"])
