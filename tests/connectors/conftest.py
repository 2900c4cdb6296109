"""Fixtures of the connector tests: a Mosquitto of their own and a client publishing to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.connectors.brokers import Broker, Publisher


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto with the shipped configuration on a free port."""
    running = Broker(tmp_path / "broker").start()
    yield running
    running.stop()


@pytest.fixture
def publisher(broker: Broker) -> Iterator[Publisher]:
    """A client publishing to ``broker``."""
    client = Publisher(broker.port)
    yield client
    client.close()
