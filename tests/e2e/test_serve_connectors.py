"""``valueloop serve`` runs the site's field connectors: MQTT readings reach the store, and the
connector's health shows in the API and in ``valueloop connect status``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from tests.connectors.brokers import Broker, Publisher, free_port
from tests.e2e.edge_stack import ROOT, wait_for

pytestmark = pytest.mark.services

PREFIX = "plant/utilities/line-1"


def _site_file(folder: Path, port: int) -> Path:
    """A site of four pumps whose MQTT connector maps ``line1/<pump>/<signal>`` topics."""
    document = {
        "site": {"name": "plant"},
        "asset_types": {"pump": {"signals": {"flow": {"unit": "l/min"}}}},
        "assets": [{"path": "utilities/line-1/pump-{0..3}", "type": "pump"}],
        "connectors": [
            {
                "name": "line-1-mqtt",
                "kind": "mqtt",
                "prefix": PREFIX,
                "port": port,
                "client_id": "valueloop-serve-test",
                "points": [{"topic": "line1/{asset}/{signal}", "series": "{asset}/{signal}"}],
            }
        ],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "valueloop", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


def test_serve_ingests_from_its_mqtt_connector(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker").start()
    site = _site_file(tmp_path, broker.port)
    data = tmp_path / "data"
    token = _run(
        "users", "add", "ann", "--role", "viewer", "--site", str(site), "--data-dir", str(data)
    )
    assert token.returncode == 0, token.stderr
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "valueloop", "serve", "--site", str(site)),
            *("--data-dir", str(data), "--port", str(port)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    publisher = None
    try:

        def connected() -> bool:
            try:
                answer = httpx.get(f"{url}/api/connectors", headers=headers, timeout=2)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and answer.json()[0]["connected"]

        wait_for(connected, 60, "the server's MQTT connector to connect")
        publisher = Publisher(broker.port)
        body = [{"ts": f"2026-06-01T00:00:{s:02d}Z", "value": float(s)} for s in range(30)]
        publisher.publish([("line1/pump-3/flow", json.dumps(body).encode())])

        def stored() -> list[float]:
            series = httpx.get(f"{url}/api/assets/pump-3/series", headers=headers, timeout=5)
            if series.status_code != 200 or not series.json():
                return []
            series_id = series.json()[0]["series_id"]
            points = httpx.get(f"{url}/api/series/{series_id}/points", headers=headers, timeout=5)
            return [point["value"] for point in points.json()["points"]]

        wait_for(lambda: len(stored()) == 30, 30, "the readings to reach the store")
        assert stored() == [float(s) for s in range(30)]
        status = subprocess.run(
            [sys.executable, "-m", "valueloop", "connect", "status", "--url", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "VALUELOOP_TOKEN": token.stdout.strip(), "COLUMNS": "200"},
        )
        assert status.returncode == 0, status.stderr
        assert "line-1-mqtt" in status.stdout and "up" in status.stdout.replace("True", "up")
        time.sleep(0.1)
    finally:
        if publisher is not None:
            publisher.close()
        server.terminate()
        server.wait(timeout=30)
        broker.stop()
