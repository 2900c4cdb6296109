"""What the host knows of each edge node: its birth, sequence numbers and metric aliases.

An NBIRTH starts a node's session: its ``bdSeq`` (matched by the NDEATH the broker publishes if
the node dies), its sequence number, and the name, datatype and unit of each metric with the alias
that later NDATA use. DBIRTHs add the devices' metrics. Every later message of the node (DBIRTH,
NDATA, DDATA, DDEATH) carries the next ``seq`` (0-255, wrapping); a gap means a message was lost,
and the session is not trusted until the node is born again. A session restored from a kept birth
(after a restart of the host) does not know the node's current ``seq``: it takes the next one it
sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb
from valueloop.connectors.sparkplug.codec import birth_sequence, metric_unit

_IMPLIED_TYPES: dict[str, int | None] = {
    "int_value": None,
    "long_value": None,
    "float_value": pb.Float,
    "double_value": pb.Double,
    "boolean_value": pb.Boolean,
    "string_value": pb.String,
}
"""The datatype a metric's value field implies when it carries none; None when it does not tell
(an integer's field holds signed and unsigned types alike). Other fields are no series."""


@dataclass(frozen=True)
class MetricInfo:
    """A metric as its birth declared it: name, Sparkplug datatype and engineering unit."""

    name: str
    datatype: int
    unit: str


@dataclass
class EdgeNodeSession:
    """The host's view of one edge node and its devices (device "" is the node itself)."""

    group: str
    edge_node: str
    born: bool = False
    bd_seq: int | None = None
    seq: int | None = 0
    """The last sequence number seen; None until the first message of a restored session."""
    awaiting_rebirth: bool = False
    rebirth_requested_at: float = -math.inf
    by_alias: dict[tuple[str, int], MetricInfo] = field(default_factory=dict)
    by_name: dict[tuple[str, str], MetricInfo] = field(default_factory=dict)

    def node_birth(self, payload: pb.Payload) -> None:
        """Start a new session from an NBIRTH: forget all earlier metrics, devices included."""
        self.by_alias.clear()
        self.by_name.clear()
        self.born = True
        self.awaiting_rebirth = False
        self.bd_seq = birth_sequence(payload)
        self.seq = payload.seq
        self.declare("", payload)

    def declare(self, device: str, payload: pb.Payload) -> None:
        """Record the metrics a birth of ``device`` declares, replacing its earlier ones."""
        if device:
            self.by_name = {key: info for key, info in self.by_name.items() if key[0] != device}
            self.by_alias = {key: info for key, info in self.by_alias.items() if key[0] != device}
        for metric in payload.metrics:
            info = MetricInfo(metric.name, metric.datatype, metric_unit(metric))
            self.by_name[(device, metric.name)] = info
            if metric.HasField("alias"):
                self.by_alias[(device, metric.alias)] = info

    def restore(self, payload: pb.Payload) -> None:
        """Start the session from a kept NBIRTH: as born, the current ``seq`` unknown."""
        self.node_birth(payload)
        self.seq = None

    def follows(self, seq: int) -> bool:
        """Whether ``seq`` is the next sequence number (any, when it is unknown); if so it
        becomes the current one."""
        if self.seq is not None and seq != (self.seq + 1) % 256:
            return False
        self.seq = seq
        return True

    def lookup(self, device: str, metric: pb.Payload.Metric) -> MetricInfo | None:
        """The born metric a message's metric refers to (by name if it has one, else by alias)."""
        if metric.name:
            return self.by_name.get((device, metric.name))
        return self.by_alias.get((device, metric.alias))

    def named(self, device: str, metric: pb.Payload.Metric) -> MetricInfo | None:
        """A metric read by its name alone, when the session's aliases are not trusted.

        Its datatype is the metric's own, else the one a birth of this session declared for the
        name, else the one its value field implies; None when that leaves it unknown: a metric
        without name, or an integer without datatype (whose sign cannot be told).
        """
        if not metric.name:
            return None
        known = self.by_name.get((device, metric.name))
        unit = metric_unit(metric) or (known.unit if known is not None else "")
        if metric.HasField("datatype"):
            return MetricInfo(metric.name, metric.datatype, unit)
        if known is not None:
            return known
        datatype = _IMPLIED_TYPES.get(metric.WhichOneof("value") or "", pb.Unknown)
        return None if datatype is None else MetricInfo(metric.name, datatype, unit)

    def metrics_of(self, device: str | None) -> list[tuple[str, MetricInfo]]:
        """``(device, metric)`` of ``device``, or of the node and all its devices if None."""
        return [
            (owner, info) for (owner, _), info in self.by_name.items() if device in (None, owner)
        ]
