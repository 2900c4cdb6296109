"""A Sparkplug B 3.0 edge node simulator publishing real protobuf through an MQTT broker.

Run as its own process (so that killing it is an unclean disconnect, after which the broker
publishes the node's NDEATH will)::

    python -m tests.connectors.sparkplug_node --port 1883 --group line1 --node edge-1

It reads commands on stdin, one a line, and answers ``done <command>`` on stdout:

- ``birth``: NBIRTH (seq 0, bdSeq, metrics with aliases and units) and a DBIRTH of the device;
- ``data <n>``: n rounds of NDATA and DDATA by alias, each the next seq;
- ``skip``: lose one sequence number (the next message shows a gap);
- ``garbage``: an NDATA whose payload is not protobuf;
- ``ddeath``: the device's DDEATH;
- ``exit``: NDEATH and a clean disconnect.

When an NCMD ``Node Control/Rebirth`` arrives it prints ``rebirth``, publishes its births again,
then prints ``reborn``.
Values follow :func:`values` of the round number, stamped :func:`stamp_ms`.
"""

from __future__ import annotations

import argparse
import importlib.util
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


def _generated_module() -> Any:
    """The generated Sparkplug B module, loaded by path: importing the valueloop package (and all
    it imports) would slow the simulator's start for nothing."""
    root = Path(__file__).resolve().parents[2]
    path = root / "src" / "valueloop" / "connectors" / "sparkplug" / "sparkplug_b_pb2.py"
    spec = importlib.util.spec_from_file_location("sparkplug_b_pb2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pb = _generated_module()
DEVICE = "pump-1"
BASE_MS = 1_780_272_000_000
"""2026-06-01T00:00:00Z, the time of round 0."""

NODE_METRICS = {"Temperature": (1, pb.Float, "degC")}
DEVICE_METRICS = {
    "Outlet Pressure": (10, pb.Double, "bar"),
    "Speed": (11, pb.Int32, "rpm"),
    "Running": (12, pb.Boolean, ""),
    "Serial": (13, pb.String, ""),
}


def values(step: int) -> dict[str, Any]:
    """Every metric's value at round ``step`` (Speed turns negative at round 3)."""
    return {
        "Temperature": 20.0 + 0.5 * step,
        "Outlet Pressure": 4.0 + 0.01 * step,
        "Speed": 100 - 40 * step,
        "Running": step % 2 == 0,
        "Serial": f"SN-{step}",
    }


def stamp_ms(step: int) -> int:
    """The timestamp of round ``step``, ms since 1970: one round per second."""
    return BASE_MS + step * 1000


def _set_value(metric: Any, datatype: int, value: Any) -> None:
    if datatype == pb.Float:
        metric.float_value = value
    elif datatype == pb.Double:
        metric.double_value = value
    elif datatype == pb.Int32:
        metric.int_value = value & 0xFFFFFFFF  # two's complement, as the specification says
    elif datatype == pb.Int64:
        metric.long_value = value & 0xFFFFFFFFFFFFFFFF
    elif datatype == pb.Boolean:
        metric.boolean_value = value
    else:
        metric.string_value = value


class EdgeNode:
    """The simulated node: one MQTT client, bdSeq and seq counters, the round number."""

    def __init__(self, port: int, group: str, node: str) -> None:
        self.group, self.node = group, node
        self.bd_seq = 0
        self.seq = 0
        self.step = 0
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{group}-{node}")
        self.client.on_message = self._command
        death = self._payload(None, [("bdSeq", None, pb.Int64, self.bd_seq, None)])
        self.client.will_set(self.topic("NDEATH"), death, 1, False)
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.subscribe(self.topic("NCMD"), 1)
        self.client.loop_start()

    def topic(self, kind: str, device: str = "") -> str:
        """The node's (or device's) topic of message type ``kind``."""
        return f"spBv1.0/{self.group}/{kind}/{self.node}" + (f"/{device}" if device else "")

    def _payload(self, seq: int | None, metrics: list[tuple[Any, ...]]) -> bytes:
        payload = pb.Payload(timestamp=stamp_ms(self.step))
        if seq is not None:
            payload.seq = seq
        for name, alias, datatype, value, unit in metrics:
            metric = payload.metrics.add(datatype=datatype, timestamp=stamp_ms(self.step))
            if name is not None:
                metric.name = name
            if alias is not None:
                metric.alias = alias
            if unit:
                metric.properties.keys.append("engUnit")
                metric.properties.values.add(type=pb.String, string_value=unit)
            _set_value(metric, datatype, value)
        return bytes(payload.SerializeToString())

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) % 256
        return self.seq

    def _publish(self, kind: str, payload: bytes, device: str = "") -> None:
        self.client.publish(self.topic(kind, device), payload, 0).wait_for_publish(5)

    def births(self) -> None:
        """NBIRTH (seq 0) and the device's DBIRTH, with names, aliases, units and values."""
        with self.lock:
            now = values(self.step)
            self.seq = 0
            node = [(n, a, t, now[n], u) for n, (a, t, u) in NODE_METRICS.items()]
            node += [
                ("bdSeq", None, pb.Int64, self.bd_seq, None),
                ("Node Control/Rebirth", None, pb.Boolean, False, None),
            ]
            self._publish("NBIRTH", self._payload(0, node))
            device = [(n, a, t, now[n], u) for n, (a, t, u) in DEVICE_METRICS.items()]
            self._publish("DBIRTH", self._payload(self._next_seq(), device), DEVICE)

    def data(self, rounds: int) -> None:
        """``rounds`` rounds of NDATA and DDATA, metrics by alias only."""
        with self.lock:
            for _ in range(rounds):
                self.step += 1
                now = values(self.step)
                node = [(None, a, t, now[n], None) for n, (a, t, _) in NODE_METRICS.items()]
                self._publish("NDATA", self._payload(self._next_seq(), node))
                device = [(None, a, t, now[n], None) for n, (a, t, _) in DEVICE_METRICS.items()]
                self._publish("DDATA", self._payload(self._next_seq(), device), DEVICE)

    def run(self, command: str) -> None:
        """Execute one stdin command."""
        word, *rest = command.split()
        if word == "birth":
            self.births()
        elif word == "data":
            self.data(int(rest[0]))
        elif word == "skip":
            with self.lock:
                self._next_seq()
        elif word == "garbage":
            self._publish("NDATA", b"\x08\x96\x01\xff\xff this is not protobuf")
        elif word == "ddeath":
            with self.lock:
                self._publish("DDEATH", self._payload(self._next_seq(), []), DEVICE)
        elif word == "exit":
            death = self._payload(None, [("bdSeq", None, pb.Int64, self.bd_seq, None)])
            self._publish("NDEATH", death)
            self.client.disconnect()
            self.client.loop_stop()

    def _command(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        payload = pb.Payload()
        payload.ParseFromString(message.payload)
        if any(m.name == "Node Control/Rebirth" and m.boolean_value for m in payload.metrics):
            print("rebirth", flush=True)
            threading.Thread(target=self._reborn).start()

    def _reborn(self) -> None:
        self.births()
        print("reborn", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--group", default="line1")
    parser.add_argument("--node", default="edge-1")
    args = parser.parse_args()
    node = EdgeNode(args.port, args.group, args.node)
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command:
            node.run(command)
            print(f"done {command}", flush=True)
            if command == "exit":
                return


class Simulator:
    """The simulator process, driven from a test: commands in, events out."""

    def __init__(self, port: int, group: str = "line1", node: str = "edge-1") -> None:
        root = Path(__file__).resolve().parents[2]
        names = ["--group", group, "--node", node]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.connectors.sparkplug_node", "--port", str(port), *names],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready", timeout=20)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(line.strip())

    def expect(self, event: str, timeout: float = 10.0) -> None:
        """Wait until the simulator prints ``event``."""
        while event not in self.seen:
            try:
                self.seen.append(self.events.get(timeout=timeout))
            except queue.Empty as err:
                raise AssertionError(f"simulator did not print {event!r}: {self.seen}") from err

    def send(self, command: str, timeout: float = 10.0) -> None:
        """Run ``command`` in the simulator and wait until it is done."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self.expect(f"done {command}", timeout)
        self.seen.remove(f"done {command}")

    def kill(self) -> None:
        """SIGKILL: the node's link drops without a disconnect, as in a power loss."""
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        """End the process if it still runs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


if __name__ == "__main__":
    main()
