"""The shipped Mosquitto configuration keeps every QoS 1 message for a stalled consumer.

A connector's consumer takes one delivery and then hangs (a store that stopped answering) while
Mosquitto's own C client publishes a burst of 20,000 QoS 1 messages. The connector acknowledges
nothing while it hangs, so the broker must hold the backlog: with Mosquitto's defaults (1,000
queued messages per client beyond those in flight) it drops most of the burst, with the shipped
settings nothing. The stall makes the backlog certain, so both outcomes are asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.connectors.brokers import (
    SHIPPED_CONFIG,
    consumer_loss,
    default_config,
    shipped_config,
)

pytestmark = pytest.mark.services

MESSAGES = 20_000


def test_the_shipped_config_sets_the_queue_limits() -> None:
    settings = dict(
        line.split(None, 1)
        for line in SHIPPED_CONFIG.read_text().splitlines()
        if line[:1].isalpha()
    )
    assert int(settings["max_queued_messages"]) >= 3_000_000
    assert int(settings["max_inflight_messages"]) >= 2_000
    assert settings["persistence"] == "true"


def test_a_stalled_consumer_loses_nothing_at_qos1_with_the_shipped_config(tmp_path: Path) -> None:
    assert consumer_loss(tmp_path / "broker", shipped_config, MESSAGES) == 0


def test_with_mosquitto_defaults_the_same_consumer_loses_messages(tmp_path: Path) -> None:
    lost = consumer_loss(tmp_path / "broker", default_config, MESSAGES)
    # Survive at most: the delivery taken before the stall (100), the messages in flight (the
    # connector's MQTT 5 receive maximum, 2,000) and the default queue (1,000).
    assert lost >= MESSAGES - 100 - 2_000 - 1_000
