"""Sparkplug B 3.0 wire forms: topics, protobuf payloads, metric values, host STATE, commands.

Payloads are the generated ``sparkplug_b_pb2`` messages (see ``generate.sh``). Numeric metric
values are read as float64 following the specification's encoding: Int8/16/32 travel as uint32
two's complement in ``int_value``, Int64 as uint64 in ``long_value``, Boolean as 1.0 / 0.0,
DateTime as milliseconds since 1970. Other datatypes (strings, bytes, data sets, templates,
arrays) are not series values and are left out. Set-point commands are written the same way
(:func:`setpoint_command`), integers rounded and checked against their datatype's range.
"""

from __future__ import annotations

import json
import math
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
INTEGER_RANGES: dict[int, tuple[int, int]] = {
    pb.Int8: (-(2**7), 2**7 - 1),
    pb.Int16: (-(2**15), 2**15 - 1),
    pb.Int32: (-(2**31), 2**31 - 1),
    pb.Int64: (-(2**63), 2**63 - 1),
    pb.UInt8: (0, 2**8 - 1),
    pb.UInt16: (0, 2**16 - 1),
    pb.UInt32: (0, 2**32 - 1),
    pb.UInt64: (0, 2**64 - 1),
}
"""Least and greatest value of each integer datatype a set-point can be written in."""
FLOAT_MAX = 3.4028234663852886e38
"""The greatest finite float32."""
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


def setpoint_command(
    name: str, alias: int | None, datatype: int, raw: float, timestamp_ms: int
) -> bytes:
    """An NCMD or DCMD payload setting metric ``name`` (and ``alias`` if born with one) to ``raw``.

    ``raw`` is encoded in ``datatype``: integers rounded, Boolean from 0 or 1 (rounded), Float
    and Double as they are; ``ValueError`` saying why when the datatype cannot hold it.
    """
    type_name = pb.DataType.Name(datatype)
    if not math.isfinite(raw):
        raise ValueError(f"{raw} cannot be written as {type_name}")
    payload = pb.Payload(timestamp=timestamp_ms)
    metric = payload.metrics.add(name=name, timestamp=timestamp_ms, datatype=datatype)
    if alias is not None:
        metric.alias = alias
    if datatype in INTEGER_RANGES:
        least, greatest = INTEGER_RANGES[datatype]
        value = round(raw)
        if not least <= value <= greatest:
            raise ValueError(f"{raw} is outside the range of {type_name} ({least} to {greatest})")
        if datatype in (pb.Int64, pb.UInt64):
            metric.long_value = value % 2**64  # two's complement, as the specification says
        else:
            metric.int_value = value % 2**32
    elif datatype == pb.Boolean:
        if round(raw) not in (0, 1):
            raise ValueError(f"{raw} is not a Boolean (0 or 1)")
        metric.boolean_value = round(raw) == 1
    elif datatype == pb.Float:
        if abs(raw) > FLOAT_MAX:
            raise ValueError(f"{raw} is outside the range of Float (+-{FLOAT_MAX:.7g})")
        metric.float_value = raw
    elif datatype == pb.Double:
        metric.double_value = raw
    else:
        raise ValueError(f"a set-point cannot be written as {type_name}")
    return bytes(payload.SerializeToString())


def command_topic(group: str, edge_node: str, device: str = "") -> str:
    """The NCMD topic of an edge node, or the DCMD topic of one of its devices."""
    if device:
        return f"{NAMESPACE}/{group}/DCMD/{edge_node}/{device}"
    return f"{NAMESPACE}/{group}/NCMD/{edge_node}"


def state_topic(host_id: str) -> str:
    """The STATE topic of a host application."""
    return f"{NAMESPACE}/STATE/{host_id}"


def state_payload(online: bool, timestamp_ms: int) -> bytes:
    """A Sparkplug 3.0 host STATE payload."""
    return json.dumps({"online": online, "timestamp": timestamp_ms}).encode()
