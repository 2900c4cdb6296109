"""Set-point writes to Sparkplug B 3.0 edge nodes (NCMD / DCMD), read back from their data.

The sink has an MQTT link of its own (:class:`~valueloop.connectors.mqtt.link.MqttLink`, client id
``<client_id>-sink``, clean session), opened at the first call and consumed by a thread of its
own, so that reads and writes may come from any event loop. It follows the edge nodes its
set-points live on (``spBv1.0/<group>/+/<edge_node>`` and ``.../<edge_node>/+``):

- NBIRTH and DBIRTH give each metric's name, alias, datatype and value; NDATA and DDATA (by alias
  or name) its later values; an NDEATH (its ``bdSeq`` matching the birth's) or a DDEATH ends them.
- A read or write about a node (or device) whose births the sink has not seen publishes an NCMD
  ``Node Control/Rebirth = true`` (at most once per ``rebirth_interval``) and waits up to
  ``command_timeout`` seconds for the births.
- A write sends ``raw = (value - offset) / scale`` in the metric's datatype, by name (and alias
  when born with one), at QoS 0 as Sparkplug 3.0 requires of commands, to
  ``spBv1.0/<group>/DCMD/<edge_node>/<device>``, or ``.../NCMD/<edge_node>`` for a node metric.
  QoS 0 has no acknowledgement: a command counts as published once the broker has routed it
  back to the sink's own subscription (so the sink's MQTT user must be allowed to subscribe to
  the command topics). The result's detail is JSON: the series, metric, topic, datatype, raw
  value ``written`` and the ``previous`` one last reported, and both in the series' unit.

Whether the edge node applied a command shows in its data: a read gives the metric's latest value
as ``raw * scale + offset``. Failures are results naming the metric and the cause; nothing raises.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from valueloop.connectors.base import ReadBack, SetpointWrite, WriteResult
from valueloop.connectors.mqtt.link import Message, MqttLink
from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.connectors.sparkplug.codec import (
    NAMESPACE,
    NUMERIC_TYPES,
    birth_sequence,
    command_topic,
    decode_payload,
    metric_value,
    parse_topic,
    rebirth_command,
    setpoint_command,
    signed_wrap,
)
from valueloop.connectors.sparkplug.nodes import EdgeNodeSession
from valueloop.connectors.sparkplug.spec import SparkplugSetpoint, SparkplugSpec
from valueloop.connectors.status import StatusTracker
from valueloop.errors import ConnectorError

_CLOSE_POLL = 0.05
"""Seconds between two looks of the sink's thread at whether it was closed."""


@dataclass
class _EdgeNode:
    """What the sink knows of one edge node: its session, aliases and latest raw values."""

    session: EdgeNodeSession
    devices: set[str] = field(default_factory=set)
    """Devices whose DBIRTH arrived since the node's NBIRTH."""
    aliases: dict[tuple[str, str], int] = field(default_factory=dict)
    values: dict[tuple[str, str], float | None] = field(default_factory=dict)
    """Latest raw value of each numeric metric by ``(device, name)``; None when null."""
    offline: set[str] = field(default_factory=set)
    """Devices whose DDEATH arrived ("" after the node's NDEATH), until their next birth."""

    def born(self, device: str) -> bool:
        """Whether the births declaring ``device``'s metrics (the node's for "") were seen."""
        return self.session.born and (not device or device in self.devices)

    def record(self, device: str, payload: pb.Payload) -> None:
        """Keep the values (and, in a birth, the aliases) of the payload's numeric metrics."""
        for metric in payload.metrics:
            info = self.session.lookup(device, metric)
            if info is None or info.datatype not in NUMERIC_TYPES:
                continue
            if metric.name and metric.HasField("alias"):
                self.aliases[(device, info.name)] = metric.alias
            self.values[(device, info.name)] = metric_value(metric, signed_wrap(info.datatype))

    def forget(self, device: str | None) -> None:
        """Drop the aliases and values of ``device``, or of the node and all its devices."""
        for table in (self.aliases, self.values):
            for key in [key for key in table if device in (None, key[0])]:
                del table[key]


def _place(group: str, edge_node: str, device: str) -> str:
    return "/".join(part for part in (group, edge_node, device) if part)


class SparkplugSink:
    """A :class:`~valueloop.connectors.base.Sink` writing the set-points of a SparkplugSpec."""

    def __init__(self, spec: SparkplugSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._targets = {spec.path(setpoint): setpoint for setpoint in spec.setpoints}
        edge_nodes = sorted({setpoint.address[:2] for setpoint in spec.setpoints})
        self._subscriptions = [
            f"{NAMESPACE}/{group}/+/{edge_node}{devices}"
            for group, edge_node in edge_nodes
            for devices in ("", "/+")
        ]
        self._link_spec = spec.model_copy(
            update={
                "client_id": f"{spec.mqtt_client_id}-sink",
                "clean_start": True,
                "session_expiry": 0,
            }
        )
        self._status = StatusTracker(spec.name, spec.kind)
        self._changed = threading.Condition()
        """Guards everything below; notified on each batch of messages and on connect."""
        self._nodes: dict[tuple[str, str], _EdgeNode] = {}
        self._awaiting: bytes | None = None
        """The command published and not yet routed back by the broker."""
        self._link: MqttLink | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._closing = threading.Event()
        self._writing = threading.Lock()
        """One command awaits its routing at a time."""

    def targets(self) -> Sequence[str]:
        """The full series paths of the mapped set-points."""
        return list(self._targets)

    async def read(self, series: Sequence[str]) -> Sequence[ReadBack]:
        """The latest value each set-point's metric reported, in the series' unit."""
        return await asyncio.to_thread(self._read_all, series)

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Publish one command per write, in order; report each outcome."""
        return await asyncio.to_thread(self._write_all, writes)

    async def close(self) -> None:
        """Disconnect the link and end its thread."""
        with self._changed:
            self._closed = True
            thread = self._thread
        self._closing.set()
        if thread is not None:
            await asyncio.to_thread(thread.join, self.spec.command_timeout)

    def _unmapped(self, series: str) -> str:
        return (
            f"connector {self.name} has no Sparkplug set-point for {series}; map it under setpoints"
        )

    def _read_all(self, series: Sequence[str]) -> list[ReadBack]:
        targets = [self._targets.get(path) for path in series]
        problem = self._prepare([target for target in targets if target is not None])
        answers = []
        for path, target in zip(series, targets, strict=True):
            if target is None:
                answers.append(ReadBack(path, None, self._unmapped(path)))
            elif problem:
                answers.append(ReadBack(path, None, f"{target.metric}: {problem}"))
            else:
                answers.append(self._read_one(path, target))
        return answers

    def _read_one(self, series: str, target: SparkplugSetpoint) -> ReadBack:
        group, edge_node, device, name = target.address
        with self._changed:
            node = self._nodes.get((group, edge_node))
            if node is None or not node.born(device):
                return ReadBack(series, None, f"{target.metric}: {self._absence(node, target)}")
            info = node.session.by_name.get((device, name))
            raw = node.values.get((device, name))
        if info is None:
            return ReadBack(series, None, self._not_born(target))
        if info.datatype not in NUMERIC_TYPES:
            kind = pb.DataType.Name(info.datatype)
            return ReadBack(series, None, f"metric {target.metric} is a {kind}, not a number")
        if raw is None:
            return ReadBack(series, None, f"metric {target.metric} is null")
        return ReadBack(series, raw * target.scale + target.offset)

    def _write_all(self, writes: Sequence[SetpointWrite]) -> list[WriteResult]:
        targets = [self._targets.get(write.series) for write in writes]
        problem = self._prepare([target for target in targets if target is not None])
        results = []
        for write, target in zip(writes, targets, strict=True):
            if target is None:
                results.append(WriteResult(write.reference, False, self._unmapped(write.series)))
            elif problem:
                results.append(
                    WriteResult(write.reference, False, f"{target.metric} not written: {problem}")
                )
            else:
                results.append(self._write_one(write, target))
        return results

    def _write_one(self, write: SetpointWrite, target: SparkplugSetpoint) -> WriteResult:
        group, edge_node, device, name = target.address
        with self._changed:
            node = self._nodes.get((group, edge_node))
            if node is None or not node.born(device):
                reason = self._absence(node, target)
                return WriteResult(write.reference, False, f"{target.metric} not written: {reason}")
            info = node.session.by_name.get((device, name))
            alias = node.aliases.get((device, name))
            previous = node.values.get((device, name))
        if info is None:
            return WriteResult(write.reference, False, self._not_born(target))
        born_as = pb.DataType.Name(info.datatype)
        if target.data_type is not None and target.data_type != born_as:
            return WriteResult(
                write.reference,
                False,
                f"{target.metric} not written: the mapping says {target.data_type}, "
                f"the birth declares {born_as}",
            )
        raw = (write.value - target.offset) / target.scale
        try:
            payload = setpoint_command(name, alias, info.datatype, raw, int(time.time() * 1000))
        except ValueError as err:
            return WriteResult(
                write.reference, False, f"{target.metric} not written ({write.value}): {err}"
            )
        topic = command_topic(group, edge_node, device)
        if not self._publish_command(topic, payload):
            cause = self._status.snapshot().last_error or "the link is down"
            return WriteResult(
                write.reference,
                False,
                f"{target.metric}: the command to {topic} was not routed by the broker within "
                f"{self.spec.command_timeout} s ({cause})",
            )
        written = metric_value(decode_payload(payload).metrics[0], signed_wrap(info.datatype))
        detail: dict[str, Any] = {
            "series": target.series,
            "metric": target.metric,
            "topic": topic,
            "data_type": born_as,
            "written": written,
            "previous": previous,
            "setpoint": None if written is None else written * target.scale + target.offset,
        }
        if previous is not None:
            detail["previous_setpoint"] = previous * target.scale + target.offset
        return WriteResult(write.reference, True, json.dumps(detail))

    def _publish_command(self, topic: str, payload: bytes) -> bool:
        """Publish at QoS 0; whether the broker routed the command back within the timeout."""
        assert self._link is not None
        with self._writing:
            with self._changed:
                self._awaiting = payload
            self._link.publish(topic, payload, 0)
            with self._changed:
                routed = self._changed.wait_for(
                    lambda: self._awaiting is None, self.spec.command_timeout
                )
                self._awaiting = None
        return routed

    def _absence(self, node: _EdgeNode | None, target: SparkplugSetpoint) -> str:
        """Why the births of ``target``'s node or device are missing (lock held)."""
        group, edge_node, device, _ = target.address
        waited = f"none came within {self.spec.command_timeout} s of a rebirth request"
        if node is not None and "" in node.offline:
            return f"edge node {group}/{edge_node} is offline (NDEATH); {waited}"
        if node is not None and node.session.born and device in node.offline:
            return f"device {_place(group, edge_node, device)} is offline (DDEATH); {waited}"
        return f"no birth seen from {_place(group, edge_node, device)}; {waited}"

    def _not_born(self, target: SparkplugSetpoint) -> str:
        group, edge_node, device, name = target.address
        return f"metric {name!r} is not in the birth of {_place(group, edge_node, device)}"

    def _prepare(self, targets: Sequence[SparkplugSetpoint]) -> str:
        """Connect if needed and get the births ``targets`` need; the reason if the link is not
        up (births still missing are reported per set-point)."""
        if not targets:
            return ""
        deadline = time.monotonic() + self.spec.command_timeout
        problem = self._connect(deadline)
        if problem:
            return problem
        places = {target.address[:3] for target in targets}
        with self._changed:
            stale = {place[:2] for place in places if not self._born(place)}
            asks = [key for key in stale if self._rebirth_due(key)]
        assert self._link is not None
        for group, edge_node in asks:
            command = rebirth_command(int(time.time() * 1000))
            self._link.publish(command_topic(group, edge_node), command, 0)
        if stale:
            with self._changed:
                self._changed.wait_for(
                    lambda: all(self._born(place) for place in places),
                    deadline - time.monotonic(),
                )
        return ""

    def _born(self, place: tuple[str, str, str]) -> bool:
        node = self._nodes.get(place[:2])
        return node is not None and node.born(place[2])

    def _rebirth_due(self, key: tuple[str, str]) -> bool:
        """Whether to ask ``key``'s node for its births now (not within ``rebirth_interval``)."""
        node = self._node(*key)
        now = time.monotonic()
        if now - node.session.rebirth_requested_at < self.spec.rebirth_interval:
            return False
        node.session.rebirth_requested_at = now
        return True

    def _connect(self, deadline: float) -> str:
        """Start the link at the first call and wait until it is up; the reason if it is not."""
        with self._changed:
            if self._closed:
                return f"sink {self.name} is closed"
            if self._link is None:
                try:
                    self._link = MqttLink(
                        self._link_spec,
                        self._subscriptions,
                        self._status,
                        on_connect=self._connected,
                    )
                except ConnectorError as err:
                    return str(err)
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._link,),
                    name=f"sparkplug-sink-{self.name}",
                    daemon=True,
                )
                self._thread.start()
            up = self._changed.wait_for(
                lambda: self._status.snapshot().connected, deadline - time.monotonic()
            )
        if up:
            return ""
        cause = self._status.snapshot().last_error or "no answer"
        return (
            f"broker {self.spec.host}:{self.spec.port} not reachable within "
            f"{self.spec.command_timeout} s ({cause})"
        )

    def _connected(self) -> None:
        """(Re)connected with a clean session: what was known may have changed meanwhile."""
        with self._changed:
            self._nodes.clear()
            self._changed.notify_all()

    def _run(self, link: MqttLink) -> None:
        asyncio.run(self._listen(link))

    async def _listen(self, link: MqttLink) -> None:
        """Take the link's messages until :meth:`close` (in the sink's thread and event loop)."""

        async def stop_when_closed() -> None:
            while not self._closing.is_set():
                await asyncio.sleep(_CLOSE_POLL)
            await link.stop()

        stopper = asyncio.create_task(stop_when_closed())
        async for batch in link.batches():
            with self._changed:
                for message in batch:
                    self._take(message)
                self._changed.notify_all()
        await stopper

    def _node(self, group: str, edge_node: str) -> _EdgeNode:
        key = (group, edge_node)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = _EdgeNode(EdgeNodeSession(group, edge_node))
        return node

    def _take(self, message: Message) -> None:
        """Follow one message of a watched edge node (lock held)."""
        if message.payload == self._awaiting:
            self._awaiting = None
            return
        topic = parse_topic(message.topic)
        if topic is None or topic.message_type in ("NCMD", "DCMD"):
            return
        try:
            payload = decode_payload(message.payload)
        except ValueError:
            return
        node = self._node(topic.group, topic.edge_node)
        kind, device = topic.message_type, topic.device
        if kind == "NBIRTH":
            node.session.node_birth(payload)
            node.devices.clear()
            node.offline.clear()
            node.forget(None)
            node.record("", payload)
        elif kind == "DBIRTH" and node.session.born:
            node.session.declare(device, payload)
            node.devices.add(device)
            node.offline.discard(device)
            node.forget(device)
            node.record(device, payload)
        elif kind in ("NDATA", "DDATA") and node.born(device):
            node.record(device, payload)
        elif kind == "NDEATH" and birth_sequence(payload) == node.session.bd_seq:
            node.session.born = False
            node.devices.clear()
            node.offline.add("")
            node.forget(None)
        elif kind == "DDEATH":
            node.devices.discard(device)
            node.offline.add(device)
            node.forget(device)
