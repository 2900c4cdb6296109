"""The MQTT JSON connector: subscribes to mapped topics and delivers their payloads as readings."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.mqtt.link import Message, MqttLink
from valueloop.connectors.mqtt.payload import decode_batch
from valueloop.connectors.mqtt.routes import TopicRouter
from valueloop.connectors.mqtt.spec import MqttSpec
from valueloop.connectors.spec import PointMap
from valueloop.connectors.status import ConnectorStatus, StatusTracker
from valueloop.connectors.templates import templated_mappings
from valueloop.errors import ConnectorError

_TOPIC_IN_REASON = re.compile(r"\btopic (\S+?):")
"""The topic a dead letter's reason names (``topic <t>: ...`` or ``unknown topic <t>: ...``)."""


class MqttSource:
    """Read JSON readings from an MQTT broker (paho-mqtt 2, MQTT 5) as a field source.

    Subscribes to every mapping's topic filter at the spec's QoS, on a persistent session, and
    yields one :class:`~valueloop.connectors.base.FieldDelivery` per batch of messages (up to
    ``batch_messages`` or ``batch_wait`` seconds). QoS 1 messages are acknowledged only once the
    consumer has taken their delivery, so none is lost when the connector or its host stops;
    redelivered ones are stored once (the store upserts on series and time).
    """

    spec_model: ClassVar[type[MqttSpec]] = MqttSpec

    def __init__(self, spec: MqttSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._status = StatusTracker(spec.name, spec.kind)
        self._router = TopicRouter(spec.points)
        filters = dict.fromkeys(point.template.mqtt_filter() for point in spec.points)
        self._link = MqttLink(spec, list(filters), self._status)

    async def deliveries(self) -> AsyncIterator[FieldDelivery]:
        """Yield readings and rejected payloads until :meth:`stop`, reconnecting as needed."""
        async for batch in self._link.batches():
            delivery = decode_batch(batch, self._router, self.spec)
            self._link.account(delivery, len(batch))
            yield delivery

    def reparse(self, raw: str, reason: str) -> FieldDelivery:
        """Read a dead-lettered payload again with the current mappings (``valueloop deadletter
        replay`` after a mapping fix); its topic is the one its reason names. A payload without
        a ``ts`` is stamped with the time of the replay."""
        match = _TOPIC_IN_REASON.search(reason)
        if match is None:
            raise ConnectorError(f"the dead letter's reason names no topic: {reason!r}")
        message = Message(match.group(1), raw.encode("utf-8"), 0, 0, time.time())
        return decode_batch([message], self._router, self.spec)

    def mappings(self) -> Sequence[tuple[str, PointMap]]:
        """Series of the concrete mappings, and those templated mappings named so far."""
        return templated_mappings(self.spec.prefix, self.spec.points, self._router.discovered)

    def status(self) -> ConnectorStatus:
        """Connected or not, last message, rate and errors."""
        return self._status.snapshot()

    async def stop(self) -> None:
        """Disconnect; unacknowledged messages stay with the broker session."""
        await self._link.stop()
