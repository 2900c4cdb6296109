"""Set-point writes to an OPC UA server, for work orders approved through act/.

Each write reads the node's value first and reports it with what was written, as JSON in the
:class:`~valueloop.connectors.base.WriteResult` detail, so the audit trail holds what a rollback
must restore::

    {"series": "pump1/setpoint", "node": "ns=2;s=Pump1.Setpoint", "data_type": "Double",
     "written": 42.5, "previous": 30.0, "setpoint": 42.5, "previous_setpoint": 30.0}

``written``/``previous`` are the node's raw values, ``setpoint``/``previous_setpoint`` the same in
the series' unit. A write the server refuses (unknown node, access denied, type mismatch) or that
cannot be sent is a failed result naming the node and the reason; nothing raises.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from asyncua import ua
from asyncua.client.client import Client

from valueloop.connectors.base import SetpointWrite, WriteResult
from valueloop.connectors.opcua.session import (
    UA_ERRORS,
    close_client,
    describe,
    open_spec_client,
    resolve,
)
from valueloop.connectors.opcua.spec import OpcUaSetpoint, OpcUaSpec
from valueloop.errors import ConnectorError

_INTEGER_TYPES = {"SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"}


def encode(raw: float, data_type: str) -> ua.Variant:
    """``raw`` as a Variant of the OPC UA built-in ``data_type`` (integers rounded)."""
    value: Any = raw
    if data_type == "Boolean":
        value = raw != 0
    elif data_type in _INTEGER_TYPES:
        value = round(raw)
    return ua.Variant(value, getattr(ua.VariantType, data_type))


class OpcUaSink:
    """A :class:`~valueloop.connectors.base.Sink` writing the set-points mapped in an OpcUaSpec."""

    def __init__(self, spec: OpcUaSpec) -> None:
        self.spec = spec
        self._targets = {setpoint.series: setpoint for setpoint in spec.setpoints}

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Write each set-point in its own request, in order; report each outcome."""
        spec = self.spec
        try:
            client = await open_spec_client(spec)
        except ConnectorError as err:
            return [WriteResult(write.reference, False, str(err)) for write in writes]
        try:
            return [await self._write_one(client, write) for write in writes]
        finally:
            await close_client(client, spec.timeout_s)

    async def _write_one(self, client: Client, write: SetpointWrite) -> WriteResult:
        series = f"{write.asset}/{write.signal}"
        target = self._targets.get(series)
        if target is None:
            return WriteResult(
                write.reference,
                False,
                f"connector {self.spec.name} has no set-point node for {series}; "
                "map it under setpoints",
            )
        raw = (write.value - target.offset) / target.scale
        try:
            variant = encode(raw, target.data_type)
            node = await resolve(client, target.node)
            previous = await node.read_value()
            await node.write_value(ua.DataValue(variant))
        except (*UA_ERRORS, ConnectorError) as err:
            return WriteResult(
                write.reference,
                False,
                f"writing {raw} ({target.data_type}) to node {target.node} for {series} failed: "
                f"{describe(err)}",
            )
        return WriteResult(
            write.reference,
            True,
            json.dumps(_detail(series, target, variant, previous), default=str),
        )


def _detail(
    series: str, target: OpcUaSetpoint, variant: ua.Variant, previous: Any
) -> dict[str, Any]:
    """What was written and what the node held before, raw and in the series' unit."""
    detail: dict[str, Any] = {
        "series": series,
        "node": target.node,
        "data_type": target.data_type,
        "written": variant.Value,
        "previous": previous,
        "setpoint": variant.Value * target.scale + target.offset,
    }
    if isinstance(previous, bool | int | float):
        detail["previous_setpoint"] = previous * target.scale + target.offset
    return detail
