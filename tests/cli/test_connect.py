"""``valueloop connect browse`` against a real OPC UA server process, ``connect status`` against a
real ``valueloop serve``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from tests.connectors.peers import PeerProcess, free_port, need_package
from typer.testing import CliRunner

from valueloop.cli import connect, users
from valueloop.connectors.opcua.spec import OpcUaSpec


@pytest.fixture(scope="module")
def pump() -> Iterator[int]:
    need_package("asyncua")
    with PeerProcess("opcua_pump.py") as peer:
        yield peer.port


def test_browse_lists_the_pump_and_prints_a_mapping_that_validates(pump: int) -> None:
    endpoint = f"opc.tcp://127.0.0.1:{pump}"
    completed = subprocess.run(
        [sys.executable, "-m", "valueloop", "connect", "browse", endpoint, "--asset", "pump-1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    table_part, _, mapping = completed.stdout.partition("points:")
    assert "Setpoint" in table_part and "Double" in table_part
    snippet = yaml.safe_load("points:" + mapping)
    spec = OpcUaSpec.model_validate(
        {"name": "pump", "kind": "opcua", "prefix": "plant/water/line-1", "endpoint": endpoint}
        | snippet
    )
    signals = {point.series for point in spec.points}
    assert "pump-1/setpoint" in signals or any("setpoint" in s for s in signals)
    assert spec.setpoints, "the writable set-point is offered as a set-point mapping"
    assert all(point.node.startswith("/0:Objects/2:Pump1/") for point in spec.points)


def test_browse_of_an_unreachable_server_prints_only_its_error() -> None:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    completed = subprocess.run(
        [sys.executable, "-m", "valueloop", "connect", "browse", endpoint],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0 and completed.stdout == ""
    (line,) = completed.stderr.splitlines()  # no log line of asyncua's before it
    assert line.startswith(f"error: cannot open an OPC UA session with {endpoint}")


def test_status_needs_a_token() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "valueloop", "connect", "status", "--token-env", "NO_SUCH_VAR"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "set NO_SUCH_VAR to an API token" in completed.stderr


STATUS_SITE = """
site: {{name: plant, enterprise: acme, timezone: UTC, currency: EUR}}
asset_types:
  meter:
    signals:
      power: {{unit: kW}}
assets:
  - {{path: "utilities/line-1/meter-1", type: meter}}
connectors:
  - name: meter-modbus
    kind: modbus
    prefix: plant/utilities/line-1
    host: 127.0.0.1
    port: {port}
    reconnect_initial_s: 0.2
    reconnect_max_s: 0.5
    points:
      - {{series: meter-1/power, address: 0, data_type: float32}}
"""


@pytest.mark.services
def test_status_shows_the_last_error_of_each_connector(tmp_path: Path) -> None:
    device = free_port()  # no Modbus device listens there
    site = tmp_path / "site.yaml"
    site.write_text(STATUS_SITE.format(port=device))
    data = tmp_path / "data"
    added = CliRunner().invoke(
        users.app, ["add", "op", "--role", "viewer", "--site", str(site), "--data-dir", str(data)]
    )
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "valueloop", "serve", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _has_failed(url, token):
            assert server.poll() is None, "valueloop serve ended"
            assert time.monotonic() < deadline, "the connector reported no error in time"
            time.sleep(0.1)
        shown = CliRunner(env={"VALUELOOP_TOKEN": token, "COLUMNS": "250"}).invoke(
            connect.app, ["status", "--url", url]
        )
        assert shown.exit_code == 0, shown.output
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert "last error" in shown.stdout and "meter-modbus" in shown.stdout
    assert f"cannot connect to Modbus device 127.0.0.1:{device}" in shown.stdout


def _has_failed(url: str, token: str) -> bool:
    """Whether the server at ``url`` answers and a connector of it reports an error."""
    try:
        answer = httpx.get(
            f"{url}/api/connectors", headers={"Authorization": f"Bearer {token}"}, timeout=2
        )
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and any(c["last_error"] for c in answer.json())
