"""Store-and-forward under faults: every reading a device produced is stored exactly once.

A device publishes numbered readings through Mosquitto; the edge agent reads them and forwards to
the centre over HTTP through its outbox. Mid-stream, one part fails: the broker stops for 30 s,
the centre is down for a minute, or the agent is killed with SIGKILL and restarted. After recovery
the centre's store must hold every reading, once, with its value (counts and a checksum).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.connectors.brokers import Broker, free_port
from tests.e2e.edge_publisher import PUMPS
from tests.e2e.edge_stack import Centre, Edge, edge_yaml, expected, publisher, wait_for

pytestmark = pytest.mark.services

COUNT = 400
"""Readings per pump; the device sends them over about 20 s."""
RATE = 60.0


class Deployment:
    """Broker, centre and edge agent in one folder."""

    def __init__(self, folder: Path) -> None:
        self.broker = Broker(folder / "broker").start()
        self.centre = Centre(folder / "centre", free_port())
        self.centre.start()
        config = edge_yaml(folder, self.broker.port, self.centre)
        self.edge = Edge(config, folder / "edge", self.centre.token)
        self.edge.start()
        self.device = None

    def status(self) -> dict[str, object]:
        path = self.edge.data / "status.json"
        try:
            loaded: dict[str, object] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}
        return loaded

    def connected(self) -> bool:
        connectors = self.status().get("connectors") or []
        return bool(connectors) and all(c["connected"] for c in connectors)  # type: ignore[union-attr]

    def delivered(self) -> bool:
        """The centre holds as many points as the device produced (checked exactly after)."""
        return self.centre.count() >= COUNT * PUMPS

    def close(self) -> None:
        self.edge.stop()
        self.centre.stop()
        self.broker.stop()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    stack = Deployment(tmp_path)
    wait_for(stack.connected, 60, "the edge agent to connect to the broker")
    yield stack
    stack.close()


def _finish(stack: Deployment) -> None:
    assert stack.device is not None
    _out, errors = stack.device.communicate(timeout=180)
    assert stack.device.returncode == 0, errors
    wait_for(stack.delivered, 180, "every reading to reach the centre")
    stack.edge.stop()
    stack.centre.stop()
    stored = stack.centre.stored()
    assert stored == expected(COUNT)
    total = sum(len(points) for points in stored.values())
    checksum = sum(value for points in stored.values() for _, value in points)
    assert total == COUNT * PUMPS
    assert checksum == sum(value for points in expected(COUNT).values() for _, value in points)


def test_broker_stopped_for_30_seconds(deployment: Deployment) -> None:
    deployment.device = publisher(deployment.broker.port, COUNT, RATE)
    time.sleep(6)
    deployment.broker.stop()
    time.sleep(30)
    deployment.broker.start()
    _finish(deployment)


def test_centre_down_for_a_minute(deployment: Deployment) -> None:
    deployment.device = publisher(deployment.broker.port, COUNT, RATE)
    time.sleep(6)
    deployment.centre.stop()
    time.sleep(60)
    assert deployment.status()["outbox"]["batches"] > 0  # type: ignore[index]
    deployment.centre.start()
    _finish(deployment)


def test_edge_agent_killed_and_restarted(deployment: Deployment) -> None:
    deployment.device = publisher(deployment.broker.port, COUNT, RATE)
    time.sleep(6)
    deployment.edge.kill()
    time.sleep(5)
    deployment.edge.start()
    _finish(deployment)
