"""A Sparkplug B 3.0 edge node simulator publishing real protobuf through an MQTT broker.

Run as its own process (so that killing it is an unclean disconnect, after which the broker
publishes the node's NDEATH will)::

    python -m tests.connectors.sparkplug_node --port 1883 --group line1 --node edge-1

It reads commands on stdin, one a line, and answers ``done <command>`` on stdout:

- ``birth``: NBIRTH (seq 0, bdSeq, metrics with aliases and units) and a DBIRTH of the device;
- ``data <n>``: n rounds of NDATA and DDATA by alias, each the next seq;
- ``named <n>``: the same by metric name with datatype, no alias (as nodes without aliases do);
- ``untyped <n>``: the same by metric name alone, neither alias nor datatype;
- ``skip``: lose one sequence number (the next message shows a gap);
- ``garbage``: an NDATA whose payload is not protobuf;
- ``ddeath``: the device's DDEATH;
- ``exit``: NDEATH and a clean disconnect.

When an NCMD ``Node Control/Rebirth`` arrives it prints ``rebirth``, publishes its births again,
then prints ``reborn``; with ``--deaf`` (a node that ignores the request) it prints ``rebirth``
and does nothing.
Values follow :func:`values` of the round number, stamped :func:`stamp_ms`.

With ``--setpoints`` the device also has the writable metrics of :data:`SETPOINT_METRICS` (in its
DBIRTH, not in the data rounds). A DCMD setting one of them, in its datatype, is applied: the
node publishes a DDATA with the new value (the next seq) and appends a JSON line to the write log
(``--write-log PATH``): device, metric, alias, datatype, value and ``"status": "applied"``. A DCMD
for an unknown or read-only metric, or in another datatype, changes nothing and is logged with
``"status": "refused"`` and the reason. Commands are handled one at a time, in arrival order.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
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
SETPOINT_METRICS = {
    "Setpoint": (14, pb.Double, "bar"),
    "Speed Setpoint": (15, pb.Int32, "rpm"),
}
"""Writable device metrics (with ``--setpoints``), by name: alias, datatype and unit."""
SETPOINT_START = {"Setpoint": 5.0, "Speed Setpoint": 1500}
"""Their values until a DCMD changes them."""


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


def _get_value(metric: Any, datatype: int) -> Any:
    if datatype == pb.Int32:
        raw = metric.int_value
        return raw - 2**32 if raw >= 2**31 else raw
    return metric.double_value if datatype == pb.Double else None


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

    def __init__(
        self,
        port: int,
        group: str,
        node: str,
        setpoints: bool,
        write_log: Path | None,
        deaf: bool = False,
    ) -> None:
        self.group, self.node = group, node
        self.deaf = deaf
        self.bd_seq = 0
        self.seq = 0
        self.step = 0
        self.lock = threading.Lock()
        self.writable = SETPOINT_METRICS if setpoints else {}
        self.setpoints: dict[str, Any] = {name: SETPOINT_START[name] for name in self.writable}
        self.write_log = write_log
        self.commands: queue.Queue[Callable[[], None]] = queue.Queue()
        threading.Thread(target=self._handle_commands, daemon=True).start()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{group}-{node}")
        self.client.on_message = self._command
        death = self._payload(None, [("bdSeq", None, pb.Int64, self.bd_seq, None)])
        self.client.will_set(self.topic("NDEATH"), death, 1, False)
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.subscribe(self.topic("NCMD"), 1)
        self.client.subscribe(self.topic("DCMD", DEVICE), 1)
        self.client.loop_start()

    def topic(self, kind: str, device: str = "") -> str:
        """The node's (or device's) topic of message type ``kind``."""
        return f"spBv1.0/{self.group}/{kind}/{self.node}" + (f"/{device}" if device else "")

    def _payload(self, seq: int | None, metrics: list[tuple[Any, ...]]) -> bytes:
        payload = pb.Payload(timestamp=stamp_ms(self.step))
        if seq is not None:
            payload.seq = seq
        for name, alias, datatype, value, unit, *typed in metrics:
            metric = payload.metrics.add(timestamp=stamp_ms(self.step))
            if not typed or typed[0]:
                metric.datatype = datatype
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
            device += [(n, a, t, self.setpoints[n], u) for n, (a, t, u) in self.writable.items()]
            self._publish("DBIRTH", self._payload(self._next_seq(), device), DEVICE)

    def data(self, rounds: int, by: str = "alias") -> None:
        """``rounds`` rounds of NDATA and DDATA, metrics by ``alias`` only, by ``name`` with
        datatype, or by ``name`` alone (``untyped``)."""

        def metrics(table: dict[str, tuple[int, int, str]], now: dict[str, Any]) -> list[Any]:
            if by == "alias":
                return [(None, a, t, now[n], None) for n, (a, t, _) in table.items()]
            typed = by == "name"
            return [(n, None, t, now[n], None, typed) for n, (_, t, _) in table.items()]

        with self.lock:
            for _ in range(rounds):
                self.step += 1
                now = values(self.step)
                node = metrics(NODE_METRICS, now)
                self._publish("NDATA", self._payload(self._next_seq(), node))
                device = metrics(DEVICE_METRICS, now)
                self._publish("DDATA", self._payload(self._next_seq(), device), DEVICE)

    def run(self, command: str) -> None:
        """Execute one stdin command."""
        word, *rest = command.split()
        if word == "birth":
            self.births()
        elif word == "data":
            self.data(int(rest[0]))
        elif word == "named":
            self.data(int(rest[0]), "name")
        elif word == "untyped":
            self.data(int(rest[0]), "untyped")
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
        """Queue a command for the worker: publishing from the network thread would stall it."""
        payload = pb.Payload()
        payload.ParseFromString(message.payload)
        if message.topic == self.topic("DCMD", DEVICE):
            self.commands.put(lambda: self._device_command(payload))
        elif any(m.name == "Node Control/Rebirth" and m.boolean_value for m in payload.metrics):
            print("rebirth", flush=True)
            if not self.deaf:
                self.commands.put(self._reborn)

    def _handle_commands(self) -> None:
        while True:
            self.commands.get()()

    def _reborn(self) -> None:
        self.births()
        print("reborn", flush=True)

    def _device_command(self, payload: Any) -> None:
        """Apply the writable metrics a DCMD sets; log every metric it names."""
        aliases = {alias: name for name, (alias, _, _) in DEVICE_METRICS.items()}
        aliases |= {alias: name for name, (alias, _, _) in self.writable.items()}
        for metric in payload.metrics:
            name = metric.name or aliases.get(metric.alias, f"alias {metric.alias}")
            entry: dict[str, Any] = {"device": DEVICE, "metric": name, "alias": metric.alias}
            entry["datatype"] = pb.DataType.Name(metric.datatype)
            if name not in self.writable:
                entry |= {"status": "refused", "reason": "not a writable metric"}
            elif metric.datatype != self.writable[name][1]:
                entry |= {"status": "refused", "reason": "not the datatype of its birth"}
            else:
                alias, datatype, _ = self.writable[name]
                value = _get_value(metric, datatype)
                with self.lock:
                    self.setpoints[name] = value
                    metrics = [(None, alias, datatype, value, None)]
                    self._publish("DDATA", self._payload(self._next_seq(), metrics), DEVICE)
                entry |= {"value": value, "status": "applied"}
            self._log(entry)

    def _log(self, entry: dict[str, Any]) -> None:
        if self.write_log is not None:
            with self.write_log.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--group", default="line1")
    parser.add_argument("--node", default="edge-1")
    parser.add_argument("--setpoints", action="store_true", help="add the writable metrics")
    parser.add_argument("--write-log", type=Path, help="JSON lines of the DCMD metrics handled")
    parser.add_argument("--deaf", action="store_true", help="ignore rebirth requests")
    args = parser.parse_args()
    node = EdgeNode(args.port, args.group, args.node, args.setpoints, args.write_log, args.deaf)
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

    def __init__(
        self,
        port: int,
        group: str = "line1",
        node: str = "edge-1",
        *,
        setpoints: bool = False,
        write_log: Path | None = None,
        deaf: bool = False,
    ) -> None:
        root = Path(__file__).resolve().parents[2]
        names = ["--group", group, "--node", node]
        if setpoints:
            names.append("--setpoints")
        if deaf:
            names.append("--deaf")
        if write_log is not None:
            names += ["--write-log", str(write_log)]
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
