"""``valueloop connect browse`` against a real OPC UA server process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml
from tests.connectors.peers import PeerProcess, need_package

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
