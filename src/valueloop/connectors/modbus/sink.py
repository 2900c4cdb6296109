"""Set-point writes to a Modbus TCP device, for work orders approved through act/.

Each :class:`~valueloop.connectors.modbus.spec.ModbusSetpoint` is written in one request: a
16-bit type with function 6 (write single register), a 32-bit type with function 16 (write
multiple registers: both words at once, so the device never holds half a value), a coil with
function 5 (write single coil). A value in the set-point's unit is sent as the raw value
``(value - offset) / scale``, encoded exactly as the reader decodes it (see
:func:`~valueloop.connectors.modbus.registers.encode`). An accepted write reports what was sent,
as JSON in the :class:`~valueloop.connectors.base.WriteResult` detail::

    {"series": "plant/utilities/line1/chiller1/supply_sp", "table": "holding", "address": 100,
     "data_type": "int16", "registers": [65], "setpoint": 6.5}

``setpoint`` is the value the device now holds, in the series' unit (after the type's rounding).
A value outside the type's range, an exception response from the device or a lost link is a
failed result naming the series, the address and the cause; nothing raises. Every call opens and
closes its own client, so calls may come from different event loops.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Sequence

import numpy as np
from pymodbus.client import AsyncModbusTcpClient

from valueloop.connectors.base import ReadBack, SetpointWrite, WriteResult
from valueloop.connectors.modbus.link import LINK_ERRORS, exception_response, tcp_client
from valueloop.connectors.modbus.registers import Read, RegisterLayout, encode
from valueloop.connectors.modbus.spec import REGISTER_WIDTH, ModbusSetpoint, ModbusSpec
from valueloop.errors import ConnectorError


def _where(series: str, setpoint: ModbusSetpoint) -> str:
    """The series with the place it is written: ``... (holding register 100, int16)``."""
    if setpoint.table == "coil":
        return f"{series} (coil {setpoint.address})"
    return f"{series} (holding register {setpoint.address}, {setpoint.data_type})"


class ModbusSink:
    """A :class:`~valueloop.connectors.base.Sink` writing the set-points mapped in a ModbusSpec."""

    def __init__(self, spec: ModbusSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self._setpoints = {spec.path(setpoint): setpoint for setpoint in spec.setpoints}
        self._layouts = {
            series: RegisterLayout(
                spec,
                [Read("holding", setpoint.address, REGISTER_WIDTH[setpoint.data_type], (0,))],
                [setpoint],
            )
            for series, setpoint in self._setpoints.items()
            if setpoint.table == "holding"
        }

    def targets(self) -> Sequence[str]:
        """The full series paths of the mapped set-points."""
        return list(self._setpoints)

    async def read(self, series: Sequence[str]) -> Sequence[ReadBack]:
        """The value each set-point holds now, in its unit, read over one connection."""
        async with self._connected(series) as link:
            return [await self._read_one(link, path) for path in series]

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Write each set-point in one request, in order, over one connection."""
        async with self._connected([write.series for write in writes]) as link:
            return [await self._write_one(link, write) for write in writes]

    async def close(self) -> None:
        """Nothing to release: each call opens and closes its own client."""

    @contextlib.asynccontextmanager
    async def _connected(self, series: Sequence[str]) -> AsyncIterator[AsyncModbusTcpClient | str]:
        """A connected client if any of ``series`` is mapped, else why there is none."""
        if not any(path in self._setpoints for path in series):
            yield "no mapped set-point was asked for"
            return
        client = tcp_client(self.spec)
        try:
            if await client.connect():
                yield client
            else:
                yield f"cannot connect to Modbus device {self.spec.host}:{self.spec.port}"
        finally:
            client.close()

    def _silent(self, err: BaseException) -> ConnectorError:
        where = f"{self.spec.host}:{self.spec.port}"
        return ConnectorError(f"no answer from Modbus device {where}: {err}")

    def _unmapped(self, series: str) -> str:
        return f"connector {self.name} has no set-point for {series}; map it under setpoints"

    async def _read_one(self, link: AsyncModbusTcpClient | str, series: str) -> ReadBack:
        setpoint = self._setpoints.get(series)
        if setpoint is None:
            return ReadBack(series, None, self._unmapped(series))
        try:
            if isinstance(link, str):
                raise ConnectorError(link)
            value = self._decode(series, setpoint, await self._fetch(link, setpoint))
            if not math.isfinite(value):
                raise ConnectorError("the registers hold a non-finite float32, no value")
        except ConnectorError as err:
            return ReadBack(series, None, f"reading {_where(series, setpoint)} failed: {err}")
        return ReadBack(series, value)

    async def _write_one(
        self, link: AsyncModbusTcpClient | str, write: SetpointWrite
    ) -> WriteResult:
        setpoint = self._setpoints.get(write.series)
        if setpoint is None:
            return WriteResult(write.reference, False, self._unmapped(write.series))
        try:
            registers = self._encode(setpoint, write.value)
            if isinstance(link, str):
                raise ConnectorError(link)
            await self._send(link, setpoint, registers)
        except ConnectorError as err:
            return WriteResult(
                write.reference,
                False,
                f"writing {write.value} to {_where(write.series, setpoint)} failed: {err}",
            )
        detail: dict[str, object] = {
            "series": write.series,
            "table": setpoint.table,
            "address": setpoint.address,
        }
        if setpoint.table == "holding":
            detail["data_type"] = setpoint.data_type
        detail["registers"] = registers
        detail["setpoint"] = self._decode(write.series, setpoint, registers)
        return WriteResult(write.reference, True, json.dumps(detail))

    def _encode(self, setpoint: ModbusSetpoint, value: float) -> list[int]:
        """The registers (or the coil's bit, as ``[0]`` or ``[1]``) for ``value`` in its unit."""
        raw = (value - setpoint.offset) / setpoint.scale
        if setpoint.table == "holding":
            return encode(raw, setpoint.data_type, self.spec.order_of(setpoint))
        if not math.isfinite(raw) or round(raw) not in (0, 1):
            raise ConnectorError(f"{raw} is not 0 or 1, the values a coil holds")
        return [round(raw)]

    def _decode(self, series: str, setpoint: ModbusSetpoint, registers: list[int]) -> float:
        """The value in the set-point's unit of its registers (or its coil's bit)."""
        if setpoint.table == "coil":
            return registers[0] * setpoint.scale + setpoint.offset
        (value,) = self._layouts[series].decode(np.array(registers, np.uint16))
        return float(value)

    async def _send(
        self, client: AsyncModbusTcpClient, setpoint: ModbusSetpoint, registers: list[int]
    ) -> None:
        """Write ``registers`` in one request; a refusal or a lost link is a ConnectorError."""
        unit = self.spec.unit_id
        try:
            if setpoint.table == "coil":
                answer = await client.write_coil(
                    setpoint.address, bool(registers[0]), device_id=unit
                )
            elif len(registers) == 1:
                answer = await client.write_register(setpoint.address, registers[0], device_id=unit)
            else:
                answer = await client.write_registers(setpoint.address, registers, device_id=unit)
        except LINK_ERRORS as err:
            raise self._silent(err) from err
        if answer.isError():
            raise ConnectorError(f"the device refused it: {exception_response(answer)}")

    async def _fetch(self, client: AsyncModbusTcpClient, setpoint: ModbusSetpoint) -> list[int]:
        """The set-point's registers (or its coil's bit); a refusal is a ConnectorError."""
        unit = self.spec.unit_id
        count = 1 if setpoint.table == "coil" else REGISTER_WIDTH[setpoint.data_type]
        try:
            if setpoint.table == "coil":
                answer = await client.read_coils(setpoint.address, count=1, device_id=unit)
            else:
                answer = await client.read_holding_registers(
                    setpoint.address, count=count, device_id=unit
                )
        except LINK_ERRORS as err:
            raise self._silent(err) from err
        if answer.isError():
            raise ConnectorError(f"the device refused the read: {exception_response(answer)}")
        if setpoint.table == "coil":
            return [int(answer.bits[0])]
        if len(answer.registers) < count:
            raise ConnectorError(f"short answer: {len(answer.registers)} of {count} registers")
        return list(answer.registers[:count])
