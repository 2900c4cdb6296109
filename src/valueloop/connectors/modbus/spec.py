"""Configuration of a Modbus TCP connector: the device, the polling, and the register map.

A value of more than one register (int32, uint32, float32) is read from two consecutive registers;
``word_order`` says which comes first (``big``: the high word, as Modbus itself does) and
``byte_order`` whether the bytes inside each register are swapped (``little``). The four layouts
met in the field are big/big (ABCD), big/little (CDAB), little/big (BADC) and little/little (DCBA).
A point can override the device's orders. Times are in seconds.

``setpoints`` map the device's writable values: holding registers of any of the reader's data
types, or coils (one bit, written as 0 or 1). A set-point may also be read as a reading under
``points``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from valueloop.connectors.spec import FieldConnectorSpec, PointMap, check_setpoints

RegisterTable = Literal["holding", "input"]
SetpointTable = Literal["holding", "coil"]
RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]
Order = Literal["big", "little"]

REGISTER_WIDTH: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
}
"""Registers (16 bits each) a value of each type occupies."""

MAX_REGISTERS_PER_READ = 125
"""The most registers one Modbus read may return (the protocol's limit)."""


class RegisterValue(PointMap):
    """A value held at ``address`` as ``data_type``; the orders override the connector's."""

    address: Annotated[int, Field(ge=0, le=65535)]
    data_type: RegisterType = "uint16"
    byte_order: Order | None = None
    word_order: Order | None = None


class ModbusPoint(RegisterValue):
    """A value in a register table mapped to a series; stored as ``raw * scale + offset``."""

    table: RegisterTable = "holding"


class ModbusSetpoint(RegisterValue):
    """A writable holding register (or registers) or coil behind the set-point of a series.

    The written raw value is ``(value - offset) / scale``: rounded to the nearest integer for the
    integer types, and refused when outside the type's range; a coil takes 0 or 1.
    """

    table: SetpointTable = "holding"

    @model_validator(mode="after")
    def _writable(self) -> Self:
        register_only = self.model_fields_set & {"data_type", "byte_order", "word_order"}
        if self.table == "coil" and register_only:
            raise ValueError(f"a coil holds one bit; remove {', '.join(sorted(register_only))}")
        return self


class ModbusSpec(FieldConnectorSpec):
    """A Modbus TCP device polled every ``poll_interval_s`` seconds.

    Registers of the same table closer than ``max_gap`` unmapped registers are read together, up
    to ``max_registers`` per read; a read the device refuses is split into one read per point.
    ``setpoints`` are written only through approved work orders (see
    :class:`~valueloop.connectors.modbus.sink.ModbusSink`).
    """

    kind: Literal["modbus"] = "modbus"
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    poll_interval_s: Annotated[float, Field(gt=0)] = 1.0
    timeout_s: Annotated[float, Field(gt=0)] = 3.0
    reconnect_initial_s: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    byte_order: Order = "big"
    word_order: Order = "big"
    max_registers: Annotated[int, Field(ge=2, le=MAX_REGISTERS_PER_READ)] = MAX_REGISTERS_PER_READ
    max_gap: Annotated[int, Field(ge=0)] = 8
    points: Annotated[list[ModbusPoint], Field(min_length=1)]
    setpoints: list[ModbusSetpoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_setpoints(self) -> Self:
        check_setpoints(self.setpoints)
        return self
