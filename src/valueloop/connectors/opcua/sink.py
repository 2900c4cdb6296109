"""Set-point writes to an OPC UA server, for work orders approved through act/.

Each write reads the node's value first and reports it with what was written, as JSON in the
:class:`~valueloop.connectors.base.WriteResult` detail, so the audit trail holds what a rollback
must restore::

    {"series": "plant/water/line1/pump1/setpoint", "node": "ns=2;s=Pump1.Setpoint",
     "data_type": "Double", "written": 42.5, "previous": 30.0, "setpoint": 42.5,
     "previous_setpoint": 30.0}

``written``/``previous`` are the node's raw values, ``setpoint``/``previous_setpoint`` the same in
the series' unit. A value the data type cannot hold (out of an integer type's range, not finite),
a write the server refuses (unknown node, access denied, type mismatch) or one that cannot be sent
is a failed result naming the series, the node and the reason; nothing raises. Every call opens
and closes its own session, so calls may come from different event loops.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from asyncua import ua
from asyncua.client.client import Client

from valueloop.connectors.base import ReadBack, SetpointWrite, WriteResult
from valueloop.connectors.opcua.session import (
    UA_ERRORS,
    close_client,
    describe,
    open_spec_client,
    resolve,
)
from valueloop.connectors.opcua.spec import OpcUaSetpoint, OpcUaSpec
from valueloop.errors import ConnectorError

_INTEGER_TYPES: dict[str, type[np.integer[Any]]] = {
    "SByte": np.int8,
    "Byte": np.uint8,
    "Int16": np.int16,
    "UInt16": np.uint16,
    "Int32": np.int32,
    "UInt32": np.uint32,
    "Int64": np.int64,
    "UInt64": np.uint64,
}
_FLOAT_MAX = float(np.finfo(np.float32).max)


def encode(raw: float, data_type: str) -> ua.Variant:
    """``raw`` as a Variant of the OPC UA built-in ``data_type`` (integers rounded).

    A value the type cannot hold (outside an integer type's range or Float's, or not finite) is a
    ConnectorError naming the type and its range.
    """
    value: Any = raw
    if not math.isfinite(raw):
        raise ConnectorError(f"{raw} is not a finite number; a {data_type} node cannot hold it")
    if data_type == "Boolean":
        value = raw != 0
    elif data_type in _INTEGER_TYPES:
        limits = np.iinfo(_INTEGER_TYPES[data_type])
        value = round(raw)
        if not limits.min <= value <= limits.max:
            raise ConnectorError(
                f"{raw} is outside the range of {data_type}, {limits.min} to {limits.max}"
            )
    elif data_type == "Float" and abs(raw) > _FLOAT_MAX:
        raise ConnectorError(f"{raw} is outside the range of Float, +-{_FLOAT_MAX:.6g}")
    return ua.Variant(value, getattr(ua.VariantType, data_type))


class OpcUaSink:
    """A :class:`~valueloop.connectors.base.Sink` writing the set-points mapped in an OpcUaSpec."""

    def __init__(self, spec: OpcUaSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._setpoints = {spec.path(setpoint): setpoint for setpoint in spec.setpoints}

    def targets(self) -> Sequence[str]:
        """The full series paths of the mapped set-points."""
        return list(self._setpoints)

    async def read(self, series: Sequence[str]) -> Sequence[ReadBack]:
        """The value each set-point's node holds now, in the series' unit, over one session."""
        async with self._session(series) as session:
            return [await self._read_one(session, path) for path in series]

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Write each set-point in its own request, in order, over one session."""
        async with self._session([write.series for write in writes]) as session:
            return [await self._write_one(session, write) for write in writes]

    async def close(self) -> None:
        """Nothing to release: each call opens and closes its own session."""

    @asynccontextmanager
    async def _session(self, series: Sequence[str]) -> AsyncIterator[Client | str]:
        """A connected client if any of ``series`` is mapped, else why there is none."""
        if not any(path in self._setpoints for path in series):
            yield "no mapped set-point was asked for"
            return
        try:
            client = await open_spec_client(self.spec)
        except ConnectorError as err:
            yield str(err)
            return
        try:
            yield client
        finally:
            await close_client(client, self.spec.timeout_s)

    def _unmapped(self, series: str) -> str:
        return f"connector {self.name} has no set-point node for {series}; map it under setpoints"

    async def _read_one(self, session: Client | str, series: str) -> ReadBack:
        target = self._setpoints.get(series)
        if target is None:
            return ReadBack(series, None, self._unmapped(series))
        try:
            if isinstance(session, str):
                raise ConnectorError(session)
            value = await (await resolve(session, target.node)).read_value()
        except (*UA_ERRORS, ConnectorError) as err:
            return ReadBack(
                series, None, f"reading node {target.node} for {series} failed: {describe(err)}"
            )
        if not isinstance(value, bool | int | float):
            return ReadBack(
                series,
                None,
                f"node {target.node} for {series} holds a {type(value).__name__}, not a number",
            )
        return ReadBack(series, value * target.scale + target.offset)

    async def _write_one(self, session: Client | str, write: SetpointWrite) -> WriteResult:
        series = write.series
        target = self._setpoints.get(series)
        if target is None:
            return WriteResult(write.reference, False, self._unmapped(series))
        raw = (write.value - target.offset) / target.scale
        try:
            variant = encode(raw, target.data_type)
            if isinstance(session, str):
                raise ConnectorError(session)
            node = await resolve(session, target.node)
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
