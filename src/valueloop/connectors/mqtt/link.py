"""The MQTT link under the MQTT and Sparkplug connectors: paho-mqtt's network thread to asyncio.

paho-mqtt 2 (MQTT 5) runs the socket in its own thread and reconnects by itself with exponential
backoff (``reconnect_min`` doubling up to ``reconnect_max`` seconds); on every connect the link
subscribes again, since a broker that lost its state has lost the subscriptions too. Messages cross
to the asyncio side through a thread-safe deque and are handed over in batches. QoS 1 messages are
acknowledged (PUBACK) only when the consumer asks for the next batch, i.e. after it took the
previous one: a crash before that leaves them at the broker, which delivers them again (at least
once; the store upserts on ``(series_id, ts)``, so a repeated reading is stored once).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.mqtt.spec import MqttBrokerSpec
from valueloop.connectors.secrets import resolve_secret
from valueloop.connectors.status import StatusTracker
from valueloop.errors import ConnectorError

IDLE_GAP = 0.005
"""Seconds without a new message after which a partial batch is handed over at once."""


@dataclass(frozen=True)
class Message:
    """One MQTT message as received: topic, payload bytes, QoS, packet id and arrival (epoch s)."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    received: float


@dataclass(frozen=True)
class Will:
    """The last will the broker publishes if the link drops without a clean disconnect."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttLink:
    """A paho-mqtt client with a persistent session, subscriptions and batched hand-over.

    ``will`` is asked for a fresh last will before every connect; ``on_connect`` runs in the
    network thread after each successful connect and (re)subscription, e.g. to publish a birth.
    """

    def __init__(
        self,
        spec: MqttBrokerSpec,
        subscriptions: Sequence[str],
        status: StatusTracker,
        *,
        will: Callable[[], Will] | None = None,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.subscriptions = list(subscriptions)
        self.status = status
        self._will = will
        self._on_connect = on_connect
        self._inbox: collections.deque[Message] = collections.deque()
        self._signalled = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._stopped = False
        self._refused: str | None = None
        self._client = self._build_client()

    def _build_client(self) -> paho.Client:
        spec = self.spec
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=spec.mqtt_client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if spec.username is not None:
            client.username_pw_set(spec.username, resolve_secret(spec))
        if spec.tls is not None:
            try:
                client.tls_set(
                    ca_certs=str(spec.tls.ca_file) if spec.tls.ca_file else None,
                    certfile=str(spec.tls.cert_file) if spec.tls.cert_file else None,
                    keyfile=str(spec.tls.key_file) if spec.tls.key_file else None,
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as err:
                raise ConnectorError(
                    f"connector {spec.name}: cannot load the TLS files ({err}); check tls.ca_file, "
                    "tls.cert_file and tls.key_file"
                ) from err
            client.tls_insecure_set(spec.tls.insecure)
        client.reconnect_delay_set(spec.reconnect_min, spec.reconnect_max)
        client.max_queued_messages_set(0)
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_message = self._received
        self._set_will(client)
        return client

    def _set_will(self, client: paho.Client) -> None:
        if self._will is not None:
            will = self._will()
            client.will_set(will.topic, will.payload, will.qos, will.retain)

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and start receiving."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.spec.session_expiry
        properties.ReceiveMaximum = self.spec.receive_maximum
        self._client.connect_async(
            self.spec.host,
            self.spec.port,
            keepalive=self.spec.keepalive,
            clean_start=self.spec.clean_start,
            properties=properties,
        )
        self._client.loop_start()

    def _connected(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = f"broker {self.spec.host}:{self.spec.port} refused: {reason}"
            self.status.error(self._refused)
            return
        self._refused = None
        if self.subscriptions:
            client.subscribe([(topic, int(self.spec.qos)) for topic in self.subscriptions])
        self.status.connected()
        if self._on_connect is not None:
            self._on_connect()

    def _connect_failed(self, client: paho.Client, userdata: Any) -> None:
        self.status.error(
            f"cannot reach broker {self.spec.host}:{self.spec.port}; retrying with backoff"
        )

    def _disconnected(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._stopping.is_set():
            self.status.disconnected()
            return
        lost = f"lost broker {self.spec.host}:{self.spec.port}: {reason}"
        self.status.disconnected(self._refused or lost)
        self._set_will(client)

    def _received(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.append(
            Message(message.topic, bytes(message.payload), message.qos, message.mid, time.time())
        )
        if not self._signalled and self._loop is not None and self._wake is not None:
            self._signalled = True
            self._loop.call_soon_threadsafe(self._wake.set)

    def account(self, delivery: FieldDelivery, messages: int) -> None:
        """Count a delivery made of ``messages`` messages in the status: points and rejections."""
        self.status.received(delivery.readings.num_rows, messages)
        if delivery.rejected.num_rows:
            last = delivery.rejected.column("reason")[-1].as_py()
            self.status.error(last, delivery.rejected.num_rows)

    def publish(self, topic: str, payload: bytes, qos: int = 0, *, retain: bool = False) -> None:
        """Publish from any thread (QoS 1 publishes are queued by paho while the link is down)."""
        self._client.publish(topic, payload, qos, retain)

    def _arm(self) -> None:
        assert self._wake is not None
        self._wake.clear()
        self._signalled = False

    def _drain(self, limit: int) -> list[Message]:
        taken: list[Message] = []
        while self._inbox and len(taken) < limit:
            taken.append(self._inbox.popleft())
        return taken

    async def _wait(self, timeout: float | None) -> bool:
        """Wait until a message arrives (or stop); False on timeout."""
        assert self._wake is not None
        self._arm()
        if self._inbox or self._stopping.is_set():
            return True
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def batches(self) -> AsyncIterator[list[Message]]:
        """Yield batches of messages until :meth:`stop`; acknowledge each batch when resumed."""
        if self._loop is None:
            if self._stopped:
                return
            self.start()
        loop = asyncio.get_running_loop()
        limit, linger = self.spec.batch_messages, self.spec.batch_wait
        while not self._stopping.is_set():
            if not self._inbox:
                await self._wait(None)
                continue
            batch = self._drain(limit)
            deadline = loop.time() + linger
            while len(batch) < limit and not self._stopping.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                if not self._inbox and not await self._wait(min(remaining, IDLE_GAP)):
                    break
                batch.extend(self._drain(limit - len(batch)))
            if self._stopping.is_set():
                return
            yield batch
            if not self._stopping.is_set():  # else the broker sends the batch again
                self._acknowledge(batch)

    def _acknowledge(self, batch: Sequence[Message]) -> None:
        for message in batch:
            if message.qos > 0:
                code = self._client.ack(message.mid, message.qos)
                if code != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    # The link dropped: the broker sends the message again after reconnecting.
                    self.status.error(
                        f"acknowledgement not sent ({code.name}); will be redelivered"
                    )
                    return

    async def stop(self, last_words: Will | None = None) -> None:
        """Disconnect cleanly (publishing ``last_words`` first if given) and end :meth:`batches`.

        Messages received but not yet handed over stay unacknowledged: with a persistent session
        the broker delivers them again on the next connect.
        """
        if self._stopped:
            return
        self._stopped = True
        if last_words is not None and self._client.is_connected():
            info = self._client.publish(
                last_words.topic, last_words.payload, last_words.qos, last_words.retain
            )
            await asyncio.to_thread(_wait_published, info)
        self._stopping.set()
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._inbox.clear()
        self.status.disconnected()
        if self._loop is not None and self._wake is not None:
            self._wake.set()


def _wait_published(info: paho.MQTTMessageInfo, timeout: float = 2.0) -> None:
    """Wait up to ``timeout`` s for a publish to leave; a dropped link ends the wait early."""
    try:
        info.wait_for_publish(timeout)
    except (RuntimeError, ValueError):
        return
