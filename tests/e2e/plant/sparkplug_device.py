"""The plant's air compressor: a Sparkplug B 3.0 edge node publishing real protobuf, as a process.

``python tests/e2e/plant/sparkplug_device.py [--host 127.0.0.1] [--port 1883] [--epoch ISO]
[--seed N]`` connects as edge node ``compressor-node`` of group ``plant`` (MQTT 3.1.1, clean
session) with its NDEATH (carrying ``bdSeq``) as will, and publishes:

- on each connect, and on an NCMD ``Node Control/Rebirth = true``: an NBIRTH (seq 0) declaring
  ``bdSeq``, ``Node Control/Rebirth`` and ``Discharge Pressure`` (Double, bar, alias 1);
- every whole second after the epoch: an NDATA with the next seq (0-255, wrapping) and
  ``Discharge Pressure`` by alias, stamped with that second.

The pressure follows the compressor's load/unload cycle (rising from 7.0 to 8.0 bar while it
loads, falling back while it unloads, :data:`CYCLE_S` s per cycle) with noise from the seed. A
lost connection takes the next ``bdSeq`` for the new session's will and birth. The process prints
``READY`` once its first NBIRTH is published.

(``tests/connectors/sparkplug_node.py`` is driven command by command on stdin with fixed 2026-06-01
timestamps and pump metrics; a plant's node runs by itself on the wall clock, hence this one.)
"""

from __future__ import annotations

import argparse
import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from google.protobuf.message import DecodeError
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from plant_model import SPARKPLUG_GROUP, SPARKPLUG_METRIC, SPARKPLUG_NODE, noise, parse_epoch

CYCLE_S = 40.0
LOADED_S = 25.0
PRESSURE_ALIAS = 1
REBIRTH = "Node Control/Rebirth"


def _generated_module() -> Any:
    """The project's generated Sparkplug B module, loaded by path (importing the valueloop package
    would slow the device's start for nothing)."""
    root = Path(__file__).resolve().parents[3]
    path = root / "src" / "valueloop" / "connectors" / "sparkplug" / "sparkplug_b_pb2.py"
    spec = importlib.util.spec_from_file_location("sparkplug_b_pb2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pb = _generated_module()


def discharge_pressure(second: int, seed: int) -> float:
    """The discharge pressure at ``second`` s since the epoch, bar."""
    phase = second % CYCLE_S
    if phase < LOADED_S:
        clean = 7.0 + phase / LOADED_S
    else:
        clean = 8.0 - (phase - LOADED_S) / (CYCLE_S - LOADED_S)
    return clean + 0.02 * float(noise(seed, 30, second, 1)[0])


def topic(kind: str) -> str:
    """The node's topic of message type ``kind``."""
    return f"spBv1.0/{SPARKPLUG_GROUP}/{kind}/{SPARKPLUG_NODE}"


class CompressorNode:
    """The edge node: one MQTT client, its bdSeq and seq; publishes only from the caller's thread.

    The MQTT callbacks only set :attr:`birth_due`; :meth:`run` publishes births and data.
    """

    def __init__(self, host: str, port: int, epoch: float, seed: int) -> None:
        self.epoch, self.seed = epoch, seed
        self.bd_seq = 0
        self.seq = 0
        self.born = False
        self.birth_due = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{SPARKPLUG_GROUP}-{SPARKPLUG_NODE}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        self.client.reconnect_delay_set(1, 5)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._command
        self._set_will()
        self.client.connect_async(host, port, keepalive=10)

    def _payload(self, timestamp_ms: int, seq: int | None) -> Any:
        payload = pb.Payload(timestamp=timestamp_ms)
        if seq is not None:
            payload.seq = seq
        return payload

    def _death(self) -> bytes:
        payload = self._payload(int(time.time() * 1000), None)
        payload.metrics.add(name="bdSeq", datatype=pb.Int64, long_value=self.bd_seq)
        return bytes(payload.SerializeToString())

    def _set_will(self) -> None:
        self.client.will_set(topic("NDEATH"), self._death(), 1, False)

    def _connected(self, client: paho.Client, *_: object) -> None:
        client.subscribe(topic("NCMD"), 1)
        self.birth_due.set()

    def _disconnected(self, client: paho.Client, *_: object) -> None:
        """The session ended: the next one is born with the next bdSeq, its will to match."""
        self.born = False
        self.bd_seq = (self.bd_seq + 1) % 256
        self._set_will()

    def _command(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        payload = pb.Payload()
        try:
            payload.ParseFromString(message.payload)
        except DecodeError:  # a malformed command is ignored, as a device would
            return
        if any(m.name == REBIRTH and m.boolean_value for m in payload.metrics):
            self.birth_due.set()

    def birth(self) -> None:
        """Publish the NBIRTH: seq 0, bdSeq, the rebirth control and the pressure with its alias."""
        self.birth_due.clear()
        now_ms = int(time.time() * 1000)
        second = max(0, int(now_ms / 1000 - self.epoch))
        payload = self._payload(now_ms, 0)
        payload.metrics.add(
            name="bdSeq", timestamp=now_ms, datatype=pb.Int64, long_value=self.bd_seq
        )
        payload.metrics.add(
            name=REBIRTH, timestamp=now_ms, datatype=pb.Boolean, boolean_value=False
        )
        metric = payload.metrics.add(
            name=SPARKPLUG_METRIC,
            alias=PRESSURE_ALIAS,
            timestamp=now_ms,
            datatype=pb.Double,
            double_value=discharge_pressure(second, self.seed),
        )
        metric.properties.keys.append("engUnit")
        metric.properties.values.add(type=pb.String, string_value="bar")
        self.seq = 0
        self.client.publish(topic("NBIRTH"), payload.SerializeToString(), 0)
        self.born = True

    def data(self, second: int) -> None:
        """Publish the NDATA of ``second``: the pressure by alias, with the next seq."""
        self.seq = (self.seq + 1) % 256
        stamp_ms = round((self.epoch + second) * 1000)
        payload = self._payload(stamp_ms, self.seq)
        payload.metrics.add(
            alias=PRESSURE_ALIAS,
            timestamp=stamp_ms,
            datatype=pb.Double,
            double_value=discharge_pressure(second, self.seed),
        )
        self.client.publish(topic("NDATA"), payload.SerializeToString(), 0)

    def run(self) -> None:
        """Publish births when due and data every second, forever."""
        self.client.loop_start()
        if not self.birth_due.wait(30):
            raise SystemExit("no MQTT broker answered within 30 s")
        self.birth()
        print("READY", flush=True)
        second = max(0, int(time.time() - self.epoch) + 1)
        while True:
            due = self.epoch + second
            if self.birth_due.wait(max(0.0, due - time.time())):
                self.birth()
                continue
            if self.born:
                self.data(second)
            second = max(second + 1, int(time.time() - self.epoch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--epoch", help="the plant's time 0, ISO 8601 (default: now)")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    CompressorNode(
        arguments.host, arguments.port, parse_epoch(arguments.epoch), arguments.seed
    ).run()


if __name__ == "__main__":
    main()
