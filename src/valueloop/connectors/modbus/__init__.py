"""The Modbus TCP connector: holding and input registers polled, coalesced and decoded.

- :class:`ModbusSource` polls the mapped registers at a fixed rate;
- :func:`plan_reads` shows how the registers are grouped into reads.
"""

from valueloop.connectors.modbus.registers import Read, RegisterLayout, plan_reads
from valueloop.connectors.modbus.source import ModbusSource
from valueloop.connectors.modbus.spec import ModbusPoint, ModbusSpec

__all__ = ["ModbusPoint", "ModbusSource", "ModbusSpec", "Read", "RegisterLayout", "plan_reads"]
