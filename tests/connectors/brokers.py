"""Mosquitto brokers for the tests: own processes on free ports, with the shipped configuration.

A test that needs a broker starts its own (so that it can stop, restart and configure it) with
:class:`Broker`, or takes the ``broker`` fixture (``conftest.py``); the binary
missing skips the test with the reason, or fails it under ``VALUELOOP_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from tests.connectors.fieldsources import Gathered, gather_until, wait_connected
from tests.connectors.peers import free_port
from tests.services import port_open, services_required

from valueloop.config import connector_specs
from valueloop.connectors.mqtt import MqttSource, MqttSpec

PREFIX = "plant/utilities/line1"
"""The ``site/area/line`` the test connectors' series hang under."""

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "valueloop.conf"
TEST_USER = f"user {getpass.getuser()}"
"""Run as the test's user: started as root, mosquitto would switch to a user that cannot read the
test's temporary folder."""


def _binary(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(f"/usr/sbin/{name}")
    if found is None:
        message = f"{name} is not installed (apt-get install {package})"
        if services_required():
            pytest.fail(f"{message}, and VALUELOOP_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)
    return found


def mosquitto_binary() -> str:
    """The mosquitto executable; skip (or fail when services are required) if it is missing."""
    return _binary("mosquitto", "mosquitto")


def publish_lines(port: int, topic: str, lines: Sequence[str], qos: int = 1) -> float:
    """Publish each line as one message with Mosquitto's own C client, as fast as it goes
    (1000 QoS 1 messages in flight); return the seconds it took until every one was acknowledged."""
    binary = _binary("mosquitto_pub", "mosquitto-clients")
    started = time.perf_counter()
    subprocess.run(
        [
            binary,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            topic,
            "-q",
            str(qos),
            "-M",
            "1000",
            "-l",
        ],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        timeout=120,
    )
    return time.perf_counter() - started


def shipped_config(port: int, folder: Path) -> str:
    """The shipped valueloop.conf, listening on ``port`` without authentication, state in folder."""
    text = f"{TEST_USER}\n{SHIPPED_CONFIG.read_text()}"
    text = re.sub(r"(?m)^listener .*$", f"listener {port} 127.0.0.1", text)
    text = re.sub(r"(?m)^allow_anonymous .*$", "allow_anonymous true", text)
    text = re.sub(r"(?m)^password_file .*$", "", text)
    return re.sub(r"(?m)^persistence_location .*$", f"persistence_location {folder}/", text)


def default_config(port: int, folder: Path) -> str:
    """Mosquitto's defaults, with persistence, listening on ``port``."""
    return (
        f"{TEST_USER}\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {folder}/\n"
    )


class Broker:
    """A Mosquitto process on a free port, stoppable and restartable on the same port."""

    def __init__(self, folder: Path, config: Callable[[int, Path], str] = shipped_config) -> None:
        self.binary = mosquitto_binary()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config_file = folder / "mosquitto.conf"
        self.config_file.write_text(config(self.port, folder))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        """Start and wait until it accepts connections."""
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config_file)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port, 0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {self.log()}")
            time.sleep(0.02)
        return self

    def stop(self, *, kill: bool = False) -> None:
        """Stop it: SIGTERM (saving its state) or, with ``kill``, SIGKILL (a crash)."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def log(self) -> str:
        """What the broker logged."""
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def mqtt_spec(port: int, points: list[dict[str, Any]], **fields: Any) -> MqttSpec:
    """An MQTT spec as site.yaml would give it (validated through the connectors entry point)."""
    raw = {
        "name": "line1-mqtt",
        "kind": "mqtt",
        "prefix": PREFIX,
        "port": port,
        "client_id": "valueloop-test-line1",
        "points": points,
        **fields,
    }
    (validated,) = connector_specs([raw])
    assert isinstance(validated, MqttSpec)
    return validated


class Publisher:
    """A plain paho client publishing from the test, connected before use."""

    def __init__(self, port: int, client_id: str = "") -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(
        self, messages: Sequence[tuple[str, bytes]], qos: int = 1, *, retain: bool = False
    ) -> None:
        """Publish and wait until the broker acknowledged every message."""
        infos = [self.client.publish(topic, payload, qos, retain) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        """Disconnect cleanly."""
        self.client.disconnect()
        self.client.loop_stop()


class Counter:
    """A subscriber that only counts (and keeps) what arrives on a topic filter."""

    def __init__(self, port: int, topic: str, qos: int = 1) -> None:
        self.payloads: list[bytes] = []
        self.topics: list[str] = []
        self.arrived = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos)
        self.client.loop_start()

    def _message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        self.payloads.append(bytes(message.payload))
        self.topics.append(message.topic)
        self.arrived.set()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def consumer_loss(
    folder: Path,
    config: Callable[[int, Path], str],
    messages: int,
    *,
    stall: bool = True,
    delivery_s: float = 0.0,
    timeout: float = 60.0,
) -> int:
    """Messages an MQTT connector loses at QoS 1 under a burst, its consumer stalled or slow.

    With ``stall`` the consumer takes one delivery, then hangs (a store that stopped answering)
    until the burst of ``messages`` has been published and acknowledged by the broker; in any
    case it spends ``delivery_s`` seconds on each delivery of 100 messages, and reads on until
    nothing more arrives for a second. Whatever the broker could not hold for it is lost.
    """
    broker = Broker(folder, config).start()
    spec = MqttSpec.model_validate(
        {
            "name": "consumer",
            "kind": "mqtt",
            "prefix": "plant/utilities/line1",
            "port": broker.port,
            "batch_messages": 100,
            "points": [{"topic": "plant/pump-1/count", "series": "pump-1/count"}],
        }
    )
    source = MqttSource(spec)
    published = threading.Event()
    seen: set[float] = set()

    def stalled(got: Gathered) -> bool:
        for delivery in got.deliveries:
            seen.update(delivery.readings.column("value").to_pylist())
        got.deliveries.clear()
        if stall:
            published.wait(timeout)
        time.sleep(delivery_s)
        return len(seen) >= messages

    def burst() -> None:
        publish_lines(broker.port, "plant/pump-1/count", [str(n) for n in range(messages)])
        published.set()

    async def scenario() -> None:
        task = asyncio.create_task(gather_until(source, stalled, timeout=timeout))
        await wait_connected(source)
        await asyncio.to_thread(burst)
        count = -1
        while count != len(seen) and not task.done():
            count = len(seen)
            await asyncio.sleep(1.0)
        await source.stop()
        await task

    try:
        asyncio.run(scenario())
    finally:
        published.set()
        broker.stop()
    return messages - len(seen)
