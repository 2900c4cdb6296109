"""Exactly once: ``valueloop serve`` killed at each step of a set-point execution writes once.

A real pymodbus device process logs every write request it receives. A set-point change is
proposed and approved by two people through the API of a real server started with
``VALUELOOP_CRASH_AT`` naming a step of the execution, where the server SIGKILLs itself; a second
server, started without it, reconciles the execution by reading the device back before any new
write. Whatever the step, the device receives exactly one write and the order ends executed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.connectors.modbus_device import SETPOINTS, written
from tests.connectors.peers import PeerProcess, free_port, need_package
from tests.e2e.processes import wait_for

from valueloop.act.faults import CRASH_POINTS, VARIABLE
from valueloop.api.auth import issue_token
from valueloop.connectors.modbus.registers import encode
from valueloop.site import open_site

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
TARGET = 42.5
(FLOAT32,) = [s for s in SETPOINTS if s.name == "sp_float32_ABCD"]

SITE = """
site: {{name: works}}
asset_types:
  pump:
    signals: {{speed: {{unit: rpm}}}}
    setpoints:
      flow_setpoint: {{unit: percent, min: 0, max: 100, max_step: 50, tolerance: 0.01,
                      verify_within: 3s}}
assets:
  - {{path: pumping/line-1/pump-1, type: pump}}
connectors:
  - name: pump-modbus
    kind: modbus
    prefix: works/pumping/line-1
    host: 127.0.0.1
    port: {port}
    poll_interval_s: 1
    points:
      - {{series: pump-1/speed, table: holding, address: 1, data_type: uint16, unit: rpm}}
    setpoints:
      - {{series: pump-1/flow_setpoint, address: {address}, data_type: float32, unit: percent}}
policy: {{approval: two_person, approvals: 2}}
"""


class Server:
    """``valueloop serve`` as a process on a free port."""

    def __init__(self, data: Path, log: Path, crash_at: str | None = None) -> None:
        self.port = free_port()
        environment = {**os.environ, "NO_COLOR": "1"}
        environment.pop(VARIABLE, None)
        if crash_at is not None:
            environment[VARIABLE] = crash_at
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "valueloop", "serve"),
                *("--data-dir", str(data), "--port", str(self.port)),
            ],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10.0)
        wait_for("the server", self._healthy, 60)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited with {self.process.returncode}")
        try:
            return self.client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, token: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.client.post(
            path, json=body or {}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code in (200, 201), answer.text
        found: dict[str, Any] = answer.json()
        return found

    def order(self, token: str, order_id: str) -> dict[str, Any]:
        answer = self.client.get(
            f"/api/workorders/{order_id}", headers={"Authorization": f"Bearer {token}"}
        )
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.client.close()
        self.log.close()


@pytest.fixture
def device(tmp_path: Path) -> Iterator[tuple[PeerProcess, Path]]:
    need_package("pymodbus")
    log = tmp_path / "writes.jsonl"
    with PeerProcess("modbus_device.py", None, "--write-log", str(log)) as peer:
        yield peer, log


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_each_step_of_an_execution_writes_once(
    point: str, device: tuple[PeerProcess, Path], tmp_path: Path
) -> None:
    peer, writes = device
    site_file = tmp_path / "site.yaml"
    site_file.write_text(SITE.format(port=peer.port, address=FLOAT32.address))
    data = tmp_path / "data"
    site = open_site(site_file, data)
    try:
        tokens = {
            name: issue_token(site.store, name, role)
            for name, role in (("olga", "operator"), ("ann", "approver"), ("bob", "approver"))
        }
    finally:
        site.close()
    crashing = Server(data, tmp_path / "serve.log", crash_at=point)
    try:
        order = crashing.post(
            tokens["olga"],
            "/api/workorders",
            {"kind": "setpoint", "asset": "pump-1", "setpoint": "flow_setpoint", "target": TARGET},
        )
        order_id = order["order_id"]
        crashing.post(tokens["ann"], f"/api/workorders/{order_id}/approve")
        crashing.post(tokens["bob"], f"/api/workorders/{order_id}/approve")
        wait_for("the server to kill itself", lambda: crashing.process.poll() is not None, 30)
        assert crashing.process.returncode == -signal.SIGKILL
    finally:
        crashing.stop()
    restarted = Server(data, tmp_path / "serve.log")
    try:
        done = wait_for(
            "the execution to be reconciled",
            lambda: (
                (found := restarted.order(tokens["olga"], order_id))["status"]
                in ("executed", "failed")
                and found
            ),
            30,
        )
    finally:
        restarted.stop()
    assert done["status"] == "executed"
    received = [w for w in written(writes) if w["address"] == FLOAT32.address]
    assert received == [
        {
            "function": 16,
            "address": FLOAT32.address,
            "values": encode(TARGET, "float32", "ABCD"),
        }
    ], f"crash at {point}: the device received {received}"
