"""The plant's outdoor weather station: an MQTT device publishing JSON readings, as its own process.

``python tests/e2e/plant/mqtt_device.py [--host 127.0.0.1] [--port 1883] [--epoch ISO] [--seed N]``
publishes every second, at QoS 1, ``{"ts": "<ISO 8601 UTC>", "value": x}`` on
``plant/ambient/temperature`` (degC, about 12 with the plant's day) and ``plant/ambient/humidity``
(percent, about 65, opposite to the temperature). It reconnects by itself when the broker goes
away (paho queues what it publishes meanwhile) and prints ``READY`` once connected.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from plant_model import AMBIENT_TOPICS, day, iso, noise, parse_epoch


def ambient(second: int, seed: int) -> dict[str, float]:
    """Outdoor temperature (degC) and relative humidity (percent) at ``second`` s."""
    draws = noise(seed, 20, second, 2)
    wobble = day(second)
    return {
        "temperature": 12.0 + 4.0 * wobble + 0.1 * float(draws[0]),
        "humidity": 65.0 - 10.0 * wobble + 0.5 * float(draws[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--epoch", help="the plant's time 0, ISO 8601 (default: now)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-id", default="plant-weather-1")
    arguments = parser.parse_args()
    epoch = parse_epoch(arguments.epoch)
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=arguments.client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.reconnect_delay_set(1, 5)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect_async(arguments.host, arguments.port, keepalive=10)
    client.loop_start()
    if not connected.wait(30):
        raise SystemExit(f"no MQTT broker on {arguments.host}:{arguments.port}")
    print("READY", flush=True)
    second = max(0, int(time.time() - epoch) + 1)
    while True:
        due = epoch + second
        time.sleep(max(0.0, due - time.time()))
        for signal, value in ambient(second, arguments.seed).items():
            payload = json.dumps({"ts": iso(due), "value": round(value, 3)})
            client.publish(AMBIENT_TOPICS[signal], payload, qos=1)
        second += 1


if __name__ == "__main__":
    main()
