"""The Modbus TCP connector: registers polled, coalesced and decoded; set-points written back.

- :class:`ModbusSource` polls the mapped registers at a fixed rate;
- :class:`ModbusSink` writes set-points approved in act/ to holding registers and coils;
- :func:`plan_reads` shows how the registers are grouped into reads, :func:`encode` how a value
  to write becomes registers.
"""

from valueloop.connectors.modbus.registers import Read, RegisterLayout, encode, plan_reads
from valueloop.connectors.modbus.sink import ModbusSink
from valueloop.connectors.modbus.source import ModbusSource
from valueloop.connectors.modbus.spec import ModbusPoint, ModbusSetpoint, ModbusSpec

__all__ = [
    "ModbusPoint",
    "ModbusSetpoint",
    "ModbusSink",
    "ModbusSource",
    "ModbusSpec",
    "Read",
    "RegisterLayout",
    "encode",
    "plan_reads",
]
