"""A device holding one set-point commanded by JSON over MQTT 5, run as its own process.

::

    python -m tests.connectors.mqtt_setpoint_device --port 1883 --write-log writes.tsv \\
        --command-topic plant/pump-1/speed/set --state-topic plant/pump-1/speed \\
        --min 0 --max 3000 --initial 1000

On start it publishes ``{"value": <initial>, "ts": ...}`` retained on ``--state-topic`` (if given),
then prints ``ready``. A command ``{"value": v, "correlation_id": c, ...}`` (the correlation id
may also come as the CorrelationData property) with ``--min <= v <= --max`` is applied: a line
``c<TAB>v`` is appended to ``--write-log``, the reply ``{"correlation_id": c, "value": v, "ok":
true, "detail": "applied"}`` goes to the command's ResponseTopic (or ``--reply-topic``) with c as
CorrelationData, and the new state is published retained. A value out of range is refused: the
reply says ``"ok": false`` with the reason and the value kept. ``--no-reply`` sends no replies
(the state alone confirms). A command whose correlation id was seen before (a QoS 1 redelivery)
is not applied again: its reply is sent again and ``duplicate c`` printed. Each outcome is also
printed: ``applied c v`` or ``refused c v``. The process ends when its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class Device:
    """The set-point, its limits and the MQTT client that serves it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.value: float = args.initial
        self.answers: dict[str, dict[str, Any]] = {}
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.on_message = self._command
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.connect("127.0.0.1", args.port)
        self.client.subscribe(args.command_topic, 2)
        self.client.loop_start()

    def publish_state(self) -> paho.MQTTMessageInfo | None:
        """The value held now, retained on the state topic (if any)."""
        if self.args.state_topic is None:
            return None
        state = {"value": self.value, "ts": datetime.now(UTC).isoformat()}
        return self.client.publish(self.args.state_topic, json.dumps(state), 1, retain=True)

    def _command(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        command = json.loads(message.payload)
        data = getattr(message.properties, "CorrelationData", None)
        correlation = data.decode() if data else str(command.get("correlation_id"))
        reply_to = getattr(message.properties, "ResponseTopic", None) or self.args.reply_topic
        if correlation in self.answers:
            print(f"duplicate {correlation}", flush=True)
            self._reply(reply_to, correlation, self.answers[correlation])
            return
        value = command.get("value")
        if not isinstance(value, int | float) or not self.args.min <= value <= self.args.max:
            answer = {
                "value": self.value,
                "ok": False,
                "detail": f"{value!r} is outside [{self.args.min:g}, {self.args.max:g}]",
            }
            print(f"refused {correlation} {value}", flush=True)
        else:
            self.value = float(value)
            with Path(self.args.write_log).open("a") as log:
                log.write(f"{correlation}\t{self.value!r}\n")
            answer = {"value": self.value, "ok": True, "detail": "applied"}
            print(f"applied {correlation} {self.value!r}", flush=True)
        self.answers[correlation] = answer
        self._reply(reply_to, correlation, answer)
        if answer["ok"]:
            self.publish_state()

    def _reply(self, topic: str | None, correlation: str, answer: dict[str, Any]) -> None:
        if topic is None or self.args.no_reply:
            return
        properties = Properties(PacketTypes.PUBLISH)
        properties.CorrelationData = correlation.encode()
        payload = json.dumps({"correlation_id": correlation, **answer})
        self.client.publish(topic, payload, 1, properties=properties)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--command-topic", required=True)
    parser.add_argument("--reply-topic")
    parser.add_argument("--state-topic")
    parser.add_argument("--min", type=float, default=float("-inf"))
    parser.add_argument("--max", type=float, default=float("inf"))
    parser.add_argument("--initial", type=float, default=0.0)
    parser.add_argument("--write-log", required=True)
    parser.add_argument("--no-reply", action="store_true")
    device = Device(parser.parse_args())
    if not device.subscribed.wait(10):
        raise SystemExit("no subscription acknowledgement from the broker")
    published = device.publish_state()
    if published is not None:
        published.wait_for_publish(10)
    print("ready", flush=True)
    sys.stdin.read()
    device.client.disconnect()
    device.client.loop_stop()


class SetpointDevice:
    """The device process driven from a test: started with its arguments, its printed events
    gathered, its write log read."""

    def __init__(self, port: int, write_log: Path, *args: str) -> None:
        root = Path(__file__).resolve().parents[2]
        self.write_log = write_log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.connectors.mqtt_setpoint_device",
                "--port",
                str(port),
                "--write-log",
                str(write_log),
                *args,
            ],
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

    def expect(self, prefix: str, timeout: float = 10.0) -> str:
        """The first printed event starting with ``prefix``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((event for event in self.seen if event.startswith(prefix)), None)
            if found is not None:
                return found
            try:
                self.seen.append(self.events.get(timeout=max(deadline - time.monotonic(), 0)))
            except queue.Empty as err:
                raise AssertionError(f"device did not print {prefix!r}: {self.seen}") from err

    def writes(self) -> list[tuple[str, float]]:
        """The write log: (correlation id, value) of each command applied, in order."""
        if not self.write_log.exists():
            return []
        lines = self.write_log.read_text().splitlines()
        return [(ref, float(value)) for ref, value in (line.split("\t") for line in lines)]

    def close(self) -> None:
        """End the process: close its stdin, then terminate it if need be."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(5)


if __name__ == "__main__":
    main()
