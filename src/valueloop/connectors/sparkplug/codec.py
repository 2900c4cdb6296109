"""Sparkplug B 3.0 wire forms: topics, protobuf payloads, metric values, host STATE, commands.

Payloads are the generated ``sparkplug_b_pb2`` messages (see ``generate.sh``). Numeric metric
values are read as float64 following the specification's encoding: Int8/16/32 travel as uint32
two's complement in ``int_value``, Int64 as uint64 in ``long_value``, Boolean as 1.0 / 0.0,
DateTime as milliseconds since 1970. Other datatypes (strings, bytes, data sets, templates,
arrays) are not series values and are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from valueloop.connectors.sparkplug import sparkplug_b_pb2 as pb

NAMESPACE = "spBv1.0"
MESSAGE_TYPES = frozenset(
    {"NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD"}
)
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"
CONTROL_PREFIXES = ("Node Control/", "Device Control/")
"""Metrics that control the edge node rather than measure anything: never series."""

INT32_TYPES = frozenset({pb.Int8, pb.Int16, pb.Int32})
UNSIGNED_TYPES = frozenset({pb.UInt8, pb.UInt16, pb.UInt32, pb.UInt64, pb.DateTime})
NUMERIC_TYPES = frozenset(
    {*INT32_TYPES, *UNSIGNED_TYPES, pb.Int64, pb.Float, pb.Double, pb.Boolean}
)
NUMERIC_FIELDS = frozenset(
    {"int_value", "long_value", "float_value", "double_value", "boolean_value"}
)
UNIT_PROPERTIES = ("engUnit", "engUnits", "unit", "Units")
"""Metric property keys that carry the engineering unit (conventions of common edge software)."""


@dataclass(frozen=True)
class SparkplugTopic:
    """A parsed Sparkplug topic ``spBv1.0/group/TYPE/edge_node[/device]``; device "" for nodes."""

    group: str
    message_type: str
    edge_node: str
    device: str


def parse_topic(topic: str) -> SparkplugTopic | None:
    """The parts of a Sparkplug B edge topic, or None if ``topic`` is not one."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[2] not in MESSAGE_TYPES:
        return None
    return SparkplugTopic(parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else "")


def decode_payload(payload: bytes) -> pb.Payload:
    """Parse a Sparkplug B payload; ``ValueError`` saying why if it is not one."""
    message = pb.Payload()
    try:
        message.ParseFromString(payload)
    except DecodeError as err:
        raise ValueError(f"undecodable Sparkplug B payload: {err}") from err
    return message


def is_control(name: str) -> bool:
    """Whether ``name`` is a control metric (bdSeq, Node Control/..., Device Control/...)."""
    return name == BDSEQ_METRIC or name.startswith(CONTROL_PREFIXES)


def signed_wrap(datatype: int) -> int:
    """2**bits of a signed integer datatype's two's complement on the wire; 0 if not signed."""
    if datatype in INT32_TYPES:
        return 2**32
    return 2**64 if datatype == pb.Int64 else 0


def metric_value(metric: pb.Payload.Metric, wrap: int) -> float | None:
    """The metric's value as float64; ``wrap`` from :func:`signed_wrap`.

    None when the metric is null or carries no numeric value (a datatype it was not born with).
    """
    if metric.is_null:
        return None
    field = metric.WhichOneof("value")
    if field not in NUMERIC_FIELDS:
        return None
    raw = getattr(metric, field)
    if wrap and raw >= wrap // 2:
        raw -= wrap
    return float(raw)


def metric_unit(metric: pb.Payload.Metric) -> str:
    """The engineering unit a metric's properties declare, "" if none."""
    properties = metric.properties
    for key, value in zip(properties.keys, properties.values, strict=False):
        if key in UNIT_PROPERTIES and value.WhichOneof("value") == "string_value":
            return str(value.string_value)
    return ""


def birth_sequence(payload: pb.Payload) -> int | None:
    """The ``bdSeq`` metric of an NBIRTH or NDEATH payload, None if absent."""
    for metric in payload.metrics:
        if metric.name == BDSEQ_METRIC and metric.WhichOneof("value") is not None:
            return int(getattr(metric, str(metric.WhichOneof("value"))))
    return None


def rebirth_command(timestamp_ms: int) -> bytes:
    """An NCMD payload asking an edge node to publish its births again."""
    payload = pb.Payload(timestamp=timestamp_ms)
    payload.metrics.add(
        name=REBIRTH_METRIC, timestamp=timestamp_ms, datatype=pb.Boolean, boolean_value=True
    )
    return bytes(payload.SerializeToString())


def command_topic(group: str, edge_node: str) -> str:
    """The NCMD topic of an edge node."""
    return f"{NAMESPACE}/{group}/NCMD/{edge_node}"


def state_topic(host_id: str) -> str:
    """The STATE topic of a host application."""
    return f"{NAMESPACE}/STATE/{host_id}"


def state_payload(online: bool, timestamp_ms: int) -> bytes:
    """A Sparkplug 3.0 host STATE payload."""
    return json.dumps({"online": online, "timestamp": timestamp_ms}).encode()
