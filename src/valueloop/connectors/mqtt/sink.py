"""Set-points written to MQTT devices by JSON command, confirmed by their replies or their state.

A write publishes ``{"value": raw, "correlation_id": reference, "ts": "<ISO 8601 UTC>"}`` to the
set-point's command topic, with the MQTT 5 properties ResponseTopic and CorrelationData, and is
reported done (``ok``) once the broker acknowledged it. Whether the device took the value shows in
the next reads: each returns the newest value the device reported, by a reply to a command of this
sink or on the set-point's state topic, in the series' unit. Only the first reply to the latest
command counts: a reply to an older command, or one given again for a redelivered command, says
nothing of the value now. When the device refuses the latest command (a reply with ``"ok":
false``), reads keep the value it still holds, which is not the target, and name the refusal in
their detail until a later command is sent.

The sink keeps one paho-mqtt client, connected at the first call, whose network thread receives
replies and states between calls; calls may come from any event loop. A command is published only
while the link is up, and a command the broker did not acknowledge within ``command_timeout`` is
reported failed and its client dropped, so that paho does not send it again when the link returns.
The sink's session is not kept at the broker (clean start): a retained state arrives again on
every subscription, and a session left behind would queue state messages for nobody.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from valueloop.connectors.base import ReadBack, SetpointWrite, WriteResult
from valueloop.connectors.mqtt.link import MqttLink
from valueloop.connectors.mqtt.spec import MqttSetpoint, MqttSpec
from valueloop.connectors.status import StatusTracker
from valueloop.errors import ConnectorError

log = logging.getLogger(__name__)

RETAINED_WAIT = 1.0
"""Seconds after a subscription during which a read waits for a set-point's first value (the
retained state the broker sends on subscribing)."""

POLL = 0.02
"""Seconds between looks at the link while waiting for it."""

SENT_LIMIT = 10_000
"""Commands whose reference is remembered to match replies (the oldest are forgotten first)."""


class _SinkLink(MqttLink):
    """The sink's broker link: messages handled in paho's thread as they arrive and acknowledged
    at once; ready when the subscriptions of the current connection are acknowledged."""

    def __init__(
        self,
        spec: MqttSpec,
        subscriptions: Sequence[str],
        handle: Callable[[paho.MQTTMessage], None],
    ) -> None:
        super().__init__(
            spec, subscriptions, StatusTracker(spec.name, spec.kind), on_connect=self._subscribing
        )
        self._handle = handle
        self.subscribed_at: float | None = None
        """``time.monotonic()`` when the broker acknowledged the subscriptions; None until then."""
        self._client.on_subscribe = self._subscribed

    def _subscribing(self) -> None:
        self.subscribed_at = None  # until the broker acknowledges this connection's subscriptions

    def _subscribed(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [str(reason) for reason in reasons if reason.is_failure]
        if refused:
            self.status.error(f"broker refused the subscriptions: {', '.join(refused)}")
            return
        self.subscribed_at = time.monotonic()

    def ready(self) -> bool:
        """Whether the link is up and subscribed."""
        return self.subscribed_at is not None and self._client.is_connected()

    def _received(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._handle(message)
        if message.qos > 0:
            client.ack(message.mid, message.qos)

    def command(
        self, topic: str, payload: bytes, qos: int, properties: Properties
    ) -> paho.MQTTMessageInfo:
        """Publish a command now (not retained); its info tells when the broker acknowledged it."""
        return self._client.publish(topic, payload, qos, retain=False, properties=properties)


@dataclass
class _Held:
    """What the sink knows of one set-point: the raw value the device last reported, the latest
    command sent while unanswered, and the device's refusal of it."""

    raw: float | None = None
    latest: str = ""
    refusal: str = ""


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _acknowledged(info: paho.MQTTMessageInfo, deadline: float) -> str | None:
    """Wait until ``deadline`` (``time.monotonic()``) for the broker's acknowledgement of a
    publish; None once given, else why not."""
    try:
        info.wait_for_publish(max(deadline - time.monotonic(), POLL))
    except (RuntimeError, ValueError) as err:
        return str(err)
    return None if info.is_published() else "no acknowledgement"


class MqttSink:
    """A :class:`~valueloop.connectors.base.Sink` writing the set-points mapped in an MqttSpec."""

    def __init__(self, spec: MqttSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._targets = {spec.path(setpoint): setpoint for setpoint in spec.setpoints}
        self._states: dict[str, list[tuple[str, MqttSetpoint]]] = {}
        for series, setpoint in self._targets.items():
            if setpoint.state_topic is not None:
                self._states.setdefault(setpoint.state_topic, []).append((series, setpoint))
        self._replies = {s.reply_topic for s in spec.setpoints if s.reply_topic is not None}
        self._held = {series: _Held() for series in self._targets}
        self._sent: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._link: _SinkLink | None = None

    def targets(self) -> Sequence[str]:
        """The full series path of every mapped set-point."""
        return list(self._targets)

    async def read(self, series: Sequence[str]) -> Sequence[ReadBack]:
        """The value each set-point holds as its device last reported it, in the series' unit."""
        deadline = time.monotonic() + self.spec.command_timeout
        mapped = [path for path in series if path in self._targets]
        link = await self._ready_link(deadline, mapped) if mapped else None
        problem = link if isinstance(link, str) else None
        return [self._read_one(path, problem) for path in series]

    def _read_one(self, series: str, problem: str | None) -> ReadBack:
        setpoint = self._targets.get(series)
        if setpoint is None:
            return ReadBack(series, None, self._unmapped(series))
        if problem is not None:
            return ReadBack(series, None, f"{series}: {problem}")
        with self._lock:
            held = self._held[series]
            raw, refusal = held.raw, held.refusal
        if raw is not None:
            return ReadBack(series, raw * setpoint.scale + setpoint.offset, refusal)
        topics = " or ".join(t for t in (setpoint.reply_topic, setpoint.state_topic) if t)
        unseen = f"{series}: no value seen on {topics} yet"
        return ReadBack(series, None, f"{unseen}; {refusal}" if refusal else unseen)

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Publish each command in order; each is done once the broker acknowledged it."""
        return [await self._write_one(write) for write in writes]

    async def _write_one(self, write: SetpointWrite) -> WriteResult:
        setpoint = self._targets.get(write.series)
        if setpoint is None:
            return WriteResult(write.reference, False, self._unmapped(write.series))
        deadline = time.monotonic() + self.spec.command_timeout
        link = await self._ready_link(deadline, [write.series])
        if isinstance(link, str):
            return WriteResult(
                write.reference,
                False,
                f"command to {setpoint.topic} for {write.series} not sent: {link}",
            )
        raw = (write.value - setpoint.offset) / setpoint.scale
        payload = {
            "value": raw,
            "correlation_id": write.reference,
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.CorrelationData = write.reference.encode("utf-8")
        properties.MessageExpiryInterval = self.spec.command_expiry
        if setpoint.reply_topic is not None:
            properties.ResponseTopic = setpoint.reply_topic
        with self._lock:
            held = self._held[write.series]
            held.latest, held.refusal = write.reference, ""
            previous = held.raw
            self._sent[write.reference] = write.series
            while len(self._sent) > SENT_LIMIT:
                self._sent.popitem(last=False)
        info = link.command(setpoint.topic, json.dumps(payload).encode(), setpoint.qos, properties)
        failure = await asyncio.to_thread(_acknowledged, info, deadline)
        if failure is not None:
            await self._drop_link()
            return WriteResult(
                write.reference,
                False,
                f"command to {setpoint.topic} for {write.series} not acknowledged by broker "
                f"{self.spec.host}:{self.spec.port} within {self.spec.command_timeout:g} s "
                f"({failure}); it is not sent again",
            )
        detail = {
            "series": write.series,
            "topic": setpoint.topic,
            "written": raw,
            "setpoint": write.value,
            "previous": previous,
            "previous_setpoint": (
                None if previous is None else previous * setpoint.scale + setpoint.offset
            ),
        }
        return WriteResult(write.reference, True, json.dumps(detail))

    async def close(self) -> None:
        """Disconnect from the broker and stop the network thread."""
        await self._drop_link()

    def _unmapped(self, series: str) -> str:
        return f"connector {self.name} has no set-point mapped for {series}; map it under setpoints"

    async def _ready_link(self, deadline: float, series: Sequence[str]) -> _SinkLink | str:
        """The link, connected and subscribed, after a brief wait for the retained states of
        ``series``; or why there is none by ``deadline`` (``time.monotonic()``)."""
        try:
            link = self._connected_link()
        except ConnectorError as err:
            return f"broker unreachable: {err}"
        while not link.ready():
            if time.monotonic() >= deadline:
                cause = link.status.snapshot().last_error or (
                    f"no connection to {self.spec.host}:{self.spec.port} "
                    f"within {self.spec.command_timeout:g} s"
                )
                return f"broker unreachable: {cause}"
            await asyncio.sleep(POLL)
        retained = [path for path in series if self._targets[path].state_topic is not None]
        while any(self._held[path].raw is None for path in retained):
            since = link.subscribed_at
            if since is None or time.monotonic() >= min(since + RETAINED_WAIT, deadline):
                break
            await asyncio.sleep(POLL)
        return link

    def _connected_link(self) -> _SinkLink:
        with self._lock:
            if self._link is None:
                session = {
                    "client_id": f"{self.spec.mqtt_client_id}-sink",
                    "clean_start": True,
                    "session_expiry": 0,
                }
                topics = sorted(self._replies | set(self._states))
                self._link = _SinkLink(self.spec.model_copy(update=session), topics, self._arrived)
                # start() also remembers the running loop for batches(), which this link never
                # calls: messages are taken in the network thread by _arrived.
                self._link.start()
            return self._link

    async def _drop_link(self) -> None:
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            await link.stop()

    def _arrived(self, message: paho.MQTTMessage) -> None:
        """Take a reply or a state message (in paho's network thread)."""
        try:
            document = json.loads(message.payload)
        except (ValueError, RecursionError) as err:
            log.warning("%s: topic %s: bad JSON: %s", self.name, message.topic, err)
            return
        if message.topic in self._replies:
            self._reply(message, document)
        for series, setpoint in self._states.get(message.topic, ()):
            found = document.get(setpoint.value_key) if isinstance(document, dict) else document
            raw = _number(found)
            if raw is None:
                log.warning(
                    "%s: topic %s: no number under %r: %r",
                    self.name,
                    message.topic,
                    setpoint.value_key,
                    document,
                )
                continue
            with self._lock:
                self._held[series].raw = raw

    def _reply(self, message: paho.MQTTMessage, document: Any) -> None:
        if not isinstance(document, dict):
            log.warning("%s: topic %s: a reply is a JSON object", self.name, message.topic)
            return
        data = getattr(message.properties, "CorrelationData", None)
        reference = data.decode("utf-8", "replace") if data else str(document.get("correlation_id"))
        with self._lock:
            series = self._sent.get(reference)
            if series is None:  # an answer to a command this sink did not send
                return
            setpoint, held = self._targets[series], self._held[series]
            if reference != held.latest:  # an older command, or an answer given again
                return
            held.latest = ""
            if document.get("ok", True) is not True:
                held.refusal = (
                    f"the device refused command {reference} on {setpoint.topic}: "
                    f"{document.get('detail') or 'no reason given'}"
                )
                return
            raw = _number(document.get(setpoint.value_key))
            if raw is not None:
                held.raw = raw
