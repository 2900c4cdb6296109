"""Fixtures of the plant tests: a Mosquitto of their own and the plant's devices running.

A test module sets the plant's behaviour by defining its own ``plant_settings`` fixture (module
scope). Mosquitto missing skips the tests with the reason (fails them under
``VALUELOOP_REQUIRE_SERVICES=1``), as ``tests/services.py`` says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.connectors.brokers import Broker
from tests.e2e.plant.devices import Plant, PlantSettings


@pytest.fixture(scope="module")
def plant_settings() -> PlantSettings:
    """The plant's seed, update rate and fault; override in a module for another scenario."""
    return PlantSettings()


@pytest.fixture(scope="module")
def plant_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A Mosquitto with the shipped configuration on a free port, for the plant's MQTT devices."""
    broker = Broker(tmp_path_factory.mktemp("plant-broker")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def plant(
    tmp_path_factory: pytest.TempPathFactory, plant_broker: Broker, plant_settings: PlantSettings
) -> Iterator[Plant]:
    """The plant's four devices running (epoch: when the fixture started them); stopped after."""
    with Plant(tmp_path_factory.mktemp("plant"), plant_broker.port, plant_settings) as running:
        yield running
