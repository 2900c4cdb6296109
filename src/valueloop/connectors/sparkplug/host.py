"""The Sparkplug B 3.0 host application: edge node sessions to readings, deaths to stale series.

The host subscribes to ``spBv1.0/<group>/#`` of its groups and to its own STATE topic. As a
primary host it publishes ``{"online": true, "timestamp": ...}`` on ``spBv1.0/STATE/<host_id>``
(retained, QoS 1) after each connect, with the matching ``online: false`` as its MQTT will, so
that edge nodes know whether their data reaches a host.

- NBIRTH / DBIRTH: the metrics' names, aliases, datatypes and units are recorded and their values
  read.
- NDATA / DDATA: metrics by alias (or name) are read; each message must carry the next ``seq``.
  On a gap, or data from a node whose birth the host has not seen, the host publishes an NCMD
  ``Node Control/Rebirth = true`` and, until the NBIRTH, trusts no alias of that node: metrics
  that carry their name are still read (their datatype from the metric, an earlier birth, or the
  value itself), those by alias alone are dead-lettered (one letter per message), as are integers
  whose sign no datatype tells.
- NDEATH (its ``bdSeq`` matching the NBIRTH's; the broker publishes it as the node's will when the
  node drops without a clean disconnect) and DDEATH: every series of the node (or device) gets a
  reading of quality BAD, no value, at the time the death arrived, marking it stale.
- Undecodable protobuf and messages of unknown type become dead letters (payload in base64), as
  do payloads over ``max_payload_bytes`` (before parsing) or of more metrics than ``max_items``
  (keeping only the payload's first KiB), and data naming metrics no birth declared (one dead
  letter per message).

Given a :class:`~valueloop.connectors.sparkplug.births.BirthBook` (see
:meth:`SparkplugHost.keep_births`; ``valueloop serve`` gives the site's ``births`` table), the
host keeps every birth it accepts there, drops a node's births at its NDEATH, and restores them
when it starts: data by alias from nodes born before a restart of the host is decoded without a
rebirth, the first ``seq`` of each restored node taken as it comes.

Metrics no mapping matches, control metrics (``bdSeq``, ``Node Control/...``) and non-numeric
datatypes are not read.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import ClassVar

from valueloop.connectors.base import FieldDelivery
from valueloop.connectors.mqtt.limits import oversized, too_many
from valueloop.connectors.mqtt.link import Message, MqttLink, Will
from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.connectors.sparkplug.births import BirthBook
from valueloop.connectors.sparkplug.codec import (
    NAMESPACE,
    NUMERIC_TYPES,
    SparkplugTopic,
    birth_sequence,
    command_topic,
    decode_payload,
    is_control,
    metric_value,
    parse_topic,
    rebirth_command,
    signed_wrap,
    state_payload,
    state_topic,
)
from valueloop.connectors.sparkplug.nodes import EdgeNodeSession, MetricInfo
from valueloop.connectors.sparkplug.readings import DeliveryBuilder, MetricReader, MetricRouter
from valueloop.connectors.sparkplug.spec import SparkplugSpec
from valueloop.connectors.spec import PointMap
from valueloop.connectors.status import ConnectorStatus, StatusTracker
from valueloop.connectors.templates import templated_mappings
from valueloop.schema import Quality

_GOOD, _BAD = int(Quality.GOOD), int(Quality.BAD)

Handler = Callable[[EdgeNodeSession, SparkplugTopic, pb.Payload, Message, DeliveryBuilder], None]


def _listed(names: Sequence[str]) -> str:
    """The first ten of ``names``, and how many more there are."""
    shown = 10
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _undeclared(names: Sequence[str]) -> str:
    """The reason of a message naming metrics no birth declared."""
    if len(names) == 1:
        return f"metric {names[0]} not declared by a birth"
    return f"{len(names):,} metrics not declared by a birth: {_listed(names)}"


def _metric_label(metric: pb.Payload.Metric) -> str:
    """How a dead letter names a metric read without a trusted birth."""
    if not metric.name:
        return f"alias {metric.alias}"
    return f"{metric.name} (an integer without datatype)"


def _undecodable(message_type: str, names: Sequence[str], problem: str) -> str:
    """The reason of a message whose metrics by alias cannot be read until a birth."""
    counted = "1 metric" if len(names) == 1 else f"{len(names):,} metrics"
    return (
        f"{message_type}: {counted} not decodable, {problem}; rebirth requested: {_listed(names)}"
    )


class SparkplugHost:
    """A Sparkplug B 3.0 host application as a field source (see the module docstring)."""

    spec_model: ClassVar[type[SparkplugSpec]] = SparkplugSpec

    def __init__(self, spec: SparkplugSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._status = StatusTracker(spec.name, spec.kind)
        self._router = MetricRouter(spec.points)
        self._nodes: dict[tuple[str, str], EdgeNodeSession] = {}
        self._readers: dict[tuple[str, str], dict[str, dict[str | int, MetricReader | None]]] = {}
        """Per edge node and device, how to read each metric (by name or alias) seen since the
        birth; None for a metric that is not read."""
        self._births: BirthBook | None = None
        self._state_topic = state_topic(spec.host_id)
        self._state_ts = 0
        self._handlers: dict[str, Handler] = {
            "NBIRTH": self._node_birth,
            "DBIRTH": self._device_birth,
            "NDATA": self._data,
            "DDATA": self._data,
            "NDEATH": self._node_death,
            "DDEATH": self._device_death,
        }
        subscriptions = [f"{NAMESPACE}/{group}/#" for group in spec.groups]
        self._link = MqttLink(
            spec,
            [*subscriptions, self._state_topic],
            self._status,
            will=self._state_will if spec.primary else None,
            on_connect=self._publish_birth if spec.primary else None,
        )

    def keep_births(self, book: BirthBook) -> None:
        """Restore the sessions of the births ``book`` kept; keep later births there.

        Call before :meth:`deliveries`. A kept birth that no longer parses is skipped (its node
        is asked for a rebirth when it next sends data).
        """
        self._births = book
        for kept in book.births(self.name):
            try:
                payload = decode_payload(kept.payload)
            except ValueError:
                continue
            key = (kept.group, kept.edge_node)
            if not kept.device:
                node = self._nodes[key] = EdgeNodeSession(kept.group, kept.edge_node)
                node.restore(payload)
            elif key in self._nodes:
                self._nodes[key].declare(kept.device, payload)

    def _keep_birth(self, node: EdgeNodeSession, device: str, message: Message) -> None:
        if self._births is not None:
            self._births.keep(self.name, node.group, node.edge_node, device, message.payload)

    def _state_will(self) -> Will:
        self._state_ts = int(time.time() * 1000)
        return Will(self._state_topic, state_payload(False, self._state_ts), 1, True)

    def _publish_birth(self) -> None:
        self._link.publish(self._state_topic, state_payload(True, self._state_ts), 1, retain=True)

    async def deliveries(self) -> AsyncIterator[FieldDelivery]:
        """Yield the readings of each batch of Sparkplug messages until :meth:`stop`."""
        async for batch in self._link.batches():
            builder = DeliveryBuilder(self.name, self.spec.prefix)
            for message in batch:
                self._handle(message, builder)
            delivery = builder.build()
            self._link.account(delivery, len(batch))
            yield delivery

    def _handle(self, message: Message, builder: DeliveryBuilder) -> None:
        too_large = oversized(message.payload, self.spec.max_payload_bytes)
        if too_large is not None:
            builder.reject(message, too_large, whole=False)
            return
        if message.topic == self._state_topic:
            self._on_state(message)
            return
        topic = parse_topic(message.topic)
        if topic is None:
            builder.reject(message, "not a Sparkplug B edge topic")
            return
        handler = self._handlers.get(topic.message_type)
        if handler is None:  # NCMD, DCMD: commands to edge nodes, not data
            return
        try:
            payload = decode_payload(message.payload)
        except ValueError as err:
            builder.reject(message, str(err))
            return
        count = len(payload.metrics)
        if count > self.spec.max_items:
            reason = too_many(count, "metrics", self.spec.max_items, len(message.payload))
            builder.reject(message, reason, whole=False)
            return
        key = (topic.group, topic.edge_node)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = EdgeNodeSession(topic.group, topic.edge_node)
        try:
            handler(node, topic, payload, message, builder)
        except (ValueError, TypeError, OverflowError) as err:
            builder.reject(message, f"{topic.message_type} not readable: {err}")

    def _on_state(self, message: Message) -> None:
        """Our own STATE says offline (a stale will) while we are up: publish the birth again."""
        try:
            state = json.loads(message.payload)
        except (ValueError, RecursionError):
            return
        if self.spec.primary and isinstance(state, dict) and state.get("online") is False:
            self._publish_birth()

    def _node_birth(
        self,
        node: EdgeNodeSession,
        topic: SparkplugTopic,
        payload: pb.Payload,
        message: Message,
        builder: DeliveryBuilder,
    ) -> None:
        node.node_birth(payload)
        self._keep_birth(node, "", message)
        self._forget_readers(node, None)
        self._read(node, topic, payload, message, builder)

    def _device_birth(
        self,
        node: EdgeNodeSession,
        topic: SparkplugTopic,
        payload: pb.Payload,
        message: Message,
        builder: DeliveryBuilder,
    ) -> None:
        problem = self._session_problem(node, payload)
        if problem is None:
            node.declare(topic.device, payload)
            self._keep_birth(node, topic.device, message)
            self._forget_readers(node, topic.device)
        self._read(node, topic, payload, message, builder, problem)

    def _data(
        self,
        node: EdgeNodeSession,
        topic: SparkplugTopic,
        payload: pb.Payload,
        message: Message,
        builder: DeliveryBuilder,
    ) -> None:
        self._read(node, topic, payload, message, builder, self._session_problem(node, payload))

    def _node_death(
        self,
        node: EdgeNodeSession,
        topic: SparkplugTopic,
        payload: pb.Payload,
        message: Message,
        builder: DeliveryBuilder,
    ) -> None:
        if not node.born or birth_sequence(payload) != node.bd_seq:
            return  # the will of an earlier session: that session was already replaced
        self._stale(node, None, message, builder)
        node.born = False
        if self._births is not None:
            self._births.forget(self.name, node.group, node.edge_node)

    def _device_death(
        self,
        node: EdgeNodeSession,
        topic: SparkplugTopic,
        payload: pb.Payload,
        message: Message,
        builder: DeliveryBuilder,
    ) -> None:
        self._session_problem(node, payload)
        self._stale(node, topic.device, message, builder)

    def _session_problem(self, node: EdgeNodeSession, payload: pb.Payload) -> str | None:
        """Why the message does not continue the node's session (after which a rebirth is
        requested), None if it does."""
        if not node.born:
            problem = "no NBIRTH seen for this edge node"
        elif node.awaiting_rebirth:
            problem = "waiting for the NBIRTH requested after a sequence gap"
        elif not payload.HasField("seq"):
            problem = "payload without seq"
        elif node.follows(payload.seq):
            return None
        else:
            expected = (node.seq or 0) + 1
            problem = f"sequence gap: expected seq {expected % 256}, got {payload.seq}"
            node.awaiting_rebirth = True
        self._request_rebirth(node)
        return problem

    def _request_rebirth(self, node: EdgeNodeSession) -> None:
        now = time.monotonic()
        if now - node.rebirth_requested_at < self.spec.rebirth_interval:
            return
        node.rebirth_requested_at = now
        command = rebirth_command(int(time.time() * 1000))
        self._link.publish(command_topic(node.group, node.edge_node), command, 0)

    def _read(
        self,
        node: EdgeNodeSession,
        topic: SparkplugTopic,
        payload: pb.Payload,
        message: Message,
        builder: DeliveryBuilder,
        problem: str | None = None,
    ) -> None:
        """Read the payload's metrics: by name in births, by alias or name in data; by name
        alone when the session has a ``problem`` (see :meth:`_session_problem`)."""
        default_ms = payload.timestamp if payload.HasField("timestamp") else message.received * 1e3
        device = topic.device
        node_readers = self._readers.setdefault((node.group, node.edge_node), {})
        readers = node_readers.setdefault(device, {})
        unread: list[str] = []
        for metric in payload.metrics:
            if problem is not None:
                info = node.named(device, metric)
                if info is None:
                    unread.append(_metric_label(metric))
                    continue
                reader = self._reader(node, device, info)
            else:
                key = metric.name or metric.alias
                if key not in readers:
                    found = node.lookup(device, metric)
                    if found is None:
                        unread.append(metric.name or f"alias {metric.alias}")
                        continue
                    readers[key] = self._reader(node, device, found)
                reader = readers[key]
            if reader is None:
                continue
            value = metric_value(metric, reader.wrap)
            ts_ms = metric.timestamp if metric.HasField("timestamp") else default_ms
            builder.add(reader.route, ts_ms, value, _GOOD if value is not None else _BAD)
        if unread:  # one dead letter for the message, not a copy of it per metric
            reason = (
                _undeclared(unread)
                if problem is None
                else _undecodable(topic.message_type, unread, problem)
            )
            builder.reject(message, reason)

    def _reader(self, node: EdgeNodeSession, device: str, info: MetricInfo) -> MetricReader | None:
        """How to read a born metric; None if it is no series (control, not numeric, unmapped)."""
        if is_control(info.name) or info.datatype not in NUMERIC_TYPES:
            return None
        route = self._router.route((node.group, node.edge_node, device, info.name), info)
        return None if route is None else MetricReader(route, signed_wrap(info.datatype))

    def _forget_readers(self, node: EdgeNodeSession, device: str | None) -> None:
        """A birth redefines the metrics of the node (all its devices) or of one device."""
        readers = self._readers.get((node.group, node.edge_node), {})
        if device is None:
            readers.clear()
        else:
            readers.pop(device, None)

    def _stale(
        self,
        node: EdgeNodeSession,
        device: str | None,
        message: Message,
        builder: DeliveryBuilder,
    ) -> None:
        """A BAD reading, without value, at the death's arrival for each series of the dead."""
        for owner, info in node.metrics_of(device):
            if is_control(info.name) or info.datatype not in NUMERIC_TYPES:
                continue
            route = self._router.route((node.group, node.edge_node, owner, info.name), info)
            if route is not None:
                builder.add(route, message.received * 1e3, None, int(Quality.BAD))

    def mappings(self) -> Sequence[tuple[str, PointMap]]:
        """Series of the concrete mappings, and those templated mappings births named so far."""
        return templated_mappings(self.spec.prefix, self.spec.points, self._router.discovered)

    def status(self) -> ConnectorStatus:
        """Connected or not, last message, rate and errors."""
        return self._status.snapshot()

    async def stop(self) -> None:
        """Publish the host's STATE death (as primary host) and disconnect."""
        farewell = None
        if self.spec.primary:
            farewell = Will(self._state_topic, state_payload(False, self._state_ts), 1, True)
        await self._link.stop(farewell)
