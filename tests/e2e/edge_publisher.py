"""A field device publishing numbered readings over MQTT at QoS 1, riding out broker outages.

Reading ``i`` of pump ``p`` has the time ``START + i`` seconds and the value ``1000 * p + i``; the
publisher paces itself at ``rate`` messages a second, keeps unacknowledged messages queued while
the broker is away (a persistent session), and exits once the broker acknowledged every one.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

START = datetime(2026, 3, 1, tzinfo=UTC)
PUMPS = 3


def topic(pump: int) -> str:
    """The topic pump ``pump`` publishes its flow on."""
    return f"plant/pump-{pump}/flow"


def value(pump: int, index: int) -> float:
    """The value of reading ``index`` of ``pump``."""
    return float(1000 * pump + index)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True, help="readings per pump")
    parser.add_argument("--rate", type=float, required=True, help="messages per second")
    arguments = parser.parse_args()
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id="edge-test-device",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.reconnect_delay_set(1, 2)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    acknowledged: set[int] = set()
    client.on_connect = lambda *_: connected.set()
    client.on_publish = lambda _client, _data, mid, *_: acknowledged.add(mid)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect_async("127.0.0.1", arguments.port, clean_start=False, properties=properties)
    client.loop_start()
    connected.wait(30)
    started = time.monotonic()
    mids = set()
    for index in range(arguments.count):
        for pump in range(PUMPS):
            ts_ms = int(START.timestamp() * 1000) + index * 1000
            payload = json.dumps({"ts": ts_ms, "value": value(pump, index)})
            mids.add(client.publish(topic(pump), payload, qos=1).mid)
        pause = started + (index + 1) * PUMPS / arguments.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    while not mids <= acknowledged:
        time.sleep(0.1)
    print("published", len(mids), flush=True)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
