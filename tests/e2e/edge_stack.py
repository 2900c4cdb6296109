"""The processes of an edge deployment for the fault tests: centre, edge agent, device, broker.

Every part is the real program: ``valueloop serve`` as the centre, ``valueloop edge run`` as the
agent, a paho publisher as the device and Mosquitto (with the shipped configuration) between them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.compute as pc
from tests.e2e.edge_publisher import PUMPS, START, topic

from valueloop.site import open_site

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "plant/utilities/loop-1"


def _valueloop(
    *arguments: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[str]:
    """``valueloop`` as a process; its stderr to ``log`` (its access log is long), else a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "valueloop", *arguments],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if log is None else log.open("a"),
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def centre_site(folder: Path) -> Path:
    """The centre's site.yaml: the pumps of the loop, each with its flow in l/min."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site.yaml"
    path.write_text(
        f"""site: {{name: plant}}
asset_types:
  pump:
    signals: {{flow: l/min}}
assets:
  - {{path: "utilities/loop-1/pump-{{0..{PUMPS - 1}}}", type: pump}}
"""
    )
    return path


class Centre:
    """``valueloop serve`` of the pumps' site on a fixed port, with an ingest token."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.site = centre_site(data.parent / f"{data.name}-site")
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.token = self._issue("edge-1", "ingest")
        self.viewer = self._issue("checker", "viewer")

    def _issue(self, name: str, role: str) -> str:
        issued = subprocess.run(
            [
                *(sys.executable, "-m", "valueloop", "users", "add", name),
                *("--role", role, "--site", str(self.site), "--data-dir", str(self.data)),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return issued.stdout.strip()

    def count(self) -> int:
        """Points the running centre holds for the pumps, read through its API (0 if down)."""
        headers = {"Authorization": f"Bearer {self.viewer}"}
        total = 0
        try:
            for pump in range(PUMPS):
                series = httpx.get(
                    f"{self.url}/api/assets/pump-{pump}/series", headers=headers, timeout=5
                )
                if series.status_code != 200 or not series.json():
                    continue
                points = httpx.get(
                    f"{self.url}/api/series/{series.json()[0]['series_id']}/points",
                    headers=headers,
                    timeout=10,
                )
                total += len(points.json()["points"])
        except httpx.HTTPError:
            return 0
        return total

    def start(self) -> None:
        """Start serving and wait until it answers."""
        self.process = _valueloop(
            "serve",
            *("--data-dir", str(self.data), "--port", str(self.port)),
            log=self.data.parent / "centre.log",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the centre did not start")

    def stop(self) -> None:
        """Stop serving (SIGTERM) and wait for the process to end."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def stored(self) -> dict[str, list[tuple[int, float]]]:
        """Per pump series: (seconds after START, value) of every stored point, in time order."""
        site = open_site(self.site, self.data)
        try:
            result = {}
            for pump in range(PUMPS):
                path = f"{PREFIX}/pump-{pump}/flow"
                ids = site.registry.resolve(pc.cast([path], "string"))
                if ids[0].as_py() is None:
                    result[path] = []
                    continue
                points = site.points.read([ids[0].as_py()])
                result[path] = [
                    (int((ts - START).total_seconds()), value)
                    for ts, value in zip(
                        points.column("ts").to_pylist(),
                        points.column("value").to_pylist(),
                        strict=True,
                    )
                ]
            return result
        finally:
            site.close()


def edge_yaml(folder: Path, broker_port: int, centre: Centre) -> Path:
    """An edge.yaml reading the three pumps from the broker and forwarding to ``centre``."""
    points = "\n".join(
        f"      - {{topic: {topic(pump)}, series: pump-{pump}/flow, unit: l/min}}"
        for pump in range(PUMPS)
    )
    path = folder / "edge.yaml"
    path.write_text(
        f"""edge:
  name: loop-1-edge
forward:
  kind: http
  url: {centre.url}
  retry_min_s: 0.2
  retry_max_s: 2
connectors:
  - name: loop-1-mqtt
    kind: mqtt
    prefix: {PREFIX}
    host: 127.0.0.1
    port: {broker_port}
    client_id: loop-1-edge
    reconnect_min: 1
    reconnect_max: 2
    points:
{points}
"""
    )
    return path


class Edge:
    """``valueloop edge run`` of an edge.yaml, which can be killed and restarted."""

    def __init__(self, config: Path, data: Path, token: str) -> None:
        self.config = config
        self.data = data
        self.token = token
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the agent."""
        self.process = _valueloop(
            "edge",
            "run",
            str(self.config),
            "--data-dir",
            str(self.data),
            env={"VALUELOOP_EDGE_TOKEN": self.token},
        )

    def kill(self) -> None:
        """SIGKILL the agent: no chance to flush or say goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> str:
        """Stop the agent (SIGTERM); return what it wrote on stderr."""
        if self.process is None:
            return ""
        self.process.terminate()
        _, errors = self.process.communicate(timeout=60)
        self.process = None
        return errors


def publisher(broker_port: int, count: int, rate: float) -> subprocess.Popen[str]:
    """The device: ``count`` readings per pump at ``rate`` messages per second."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.e2e.edge_publisher",
            "--port",
            str(broker_port),
            "--count",
            str(count),
            "--rate",
            str(rate),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expected(count: int) -> dict[str, list[tuple[int, float]]]:
    """What the store must hold once the device's ``count`` readings per pump arrived."""
    return {
        f"{PREFIX}/pump-{pump}/flow": [
            (index, float(1000 * pump + index)) for index in range(count)
        ]
        for pump in range(PUMPS)
    }


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition()`` until true or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
