"""Configuration of a Modbus TCP connector: the device, the polling, and the register map.

A value of more than one register (int32, uint32, float32) is read from two consecutive registers.
``byte_order`` names where its four bytes, A the most significant to D the least, lie in them:
``ABCD`` (the default: high word first, each register big-endian, as Modbus itself does),
``CDAB`` (low word first), ``BADC`` (bytes swapped in each register) or ``DCBA`` (both); a 16-bit
value is swapped in ``BADC`` and ``DCBA``. The earlier spelling, ``byte_order`` and
``word_order`` each ``big`` or ``little`` (``big``/``little`` is CDAB), is still read. A point can
override the device's order. Times are in seconds.

``setpoints`` map the device's writable values: holding registers of any of the reader's data
types, or coils (one bit, written as 0 or 1). A set-point may also be read as a reading under
``points``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from valueloop.connectors.spec import FieldConnectorSpec, PointMap, check_setpoints

RegisterTable = Literal["holding", "input"]
SetpointTable = Literal["holding", "coil"]
RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]
ByteOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
"""Where the bytes A (most significant) to D of a 32-bit value lie in its two registers."""
Endian = Literal["big", "little"]
"""The earlier spelling of an order: of the bytes in a register, or of the two registers."""

BYTE_ORDERS: dict[tuple[Endian, Endian], ByteOrder] = {
    ("big", "big"): "ABCD",
    ("big", "little"): "CDAB",
    ("little", "big"): "BADC",
    ("little", "little"): "DCBA",
}
"""The byte order of each earlier ``(byte_order, word_order)`` pair."""
_ENDIANS: dict[str, tuple[Endian, Endian]] = {order: pair for pair, order in BYTE_ORDERS.items()}


def _endians(order: ByteOrder | Endian, word_order: Endian | None) -> tuple[Endian, Endian]:
    """``(bytes in a register, words)`` of an order in either spelling."""
    if order in _ENDIANS:
        return _ENDIANS[order]
    return ("little" if order == "little" else "big"), word_order or "big"


_ABCD_DOC = "ABCD: high word first, each register big-endian, as Modbus itself does"
_OTHER_ORDERS_DOC = (
    "CDAB: low word first; BADC: bytes swapped in each register; DCBA: both. The earlier big "
    "or little names only the bytes in a register, with word_order"
)
_WORD_ORDER_DOC = (
    "earlier spelling, with byte_order big or little: big (high word first) or little (CDAB, "
    "DCBA); leave it out with ABCD, CDAB, BADC or DCBA"
)

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


def _check_orders(byte_order: ByteOrder | Endian | None, word_order: Endian | None) -> None:
    if word_order is not None and byte_order in _ENDIANS:
        raise ValueError(f"byte_order {byte_order} says the word order already; remove word_order")


class RegisterValue(PointMap):
    """A value held at ``address`` as ``data_type``; its order overrides the connector's."""

    address: Annotated[int, Field(ge=0, le=65535)]
    data_type: RegisterType = "uint16"
    byte_order: Annotated[
        ByteOrder | Endian | None,
        Field(description=f"null: the connector's; {_ABCD_DOC}; {_OTHER_ORDERS_DOC}"),
    ] = None
    word_order: Annotated[Endian | None, Field(description=_WORD_ORDER_DOC)] = None

    @model_validator(mode="after")
    def _orders(self) -> Self:
        _check_orders(self.byte_order, self.word_order)
        return self


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
    byte_order: Annotated[
        ByteOrder | Endian, Field(description=f"the default, {_ABCD_DOC}; {_OTHER_ORDERS_DOC}")
    ] = "ABCD"
    word_order: Annotated[Endian | None, Field(description=_WORD_ORDER_DOC)] = None
    max_registers: Annotated[int, Field(ge=2, le=MAX_REGISTERS_PER_READ)] = MAX_REGISTERS_PER_READ
    max_gap: Annotated[int, Field(ge=0)] = 8
    points: Annotated[list[ModbusPoint], Field(min_length=1)]
    setpoints: list[ModbusSetpoint] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _earlier_spelling(cls, data: Any) -> Any:
        """``word_order`` alone is the earlier spelling, whose byte order defaulted to big."""
        if isinstance(data, dict) and data.get("word_order") is not None:
            return {"byte_order": "big", **data}
        return data

    @model_validator(mode="after")
    def _distinct_setpoints(self) -> Self:
        _check_orders(self.byte_order, self.word_order)
        check_setpoints(self.setpoints)
        return self

    def order_of(self, value: RegisterValue) -> ByteOrder:
        """The byte order of ``value``: its own, else the connector's.

        In the earlier spelling, what the value leaves out of ``byte_order`` and ``word_order``
        is the connector's.
        """
        in_register, words = _endians(self.byte_order, self.word_order)
        if value.byte_order in _ENDIANS:
            return BYTE_ORDERS[_ENDIANS[value.byte_order]]
        if value.byte_order is not None:
            in_register = _endians(value.byte_order, None)[0]
        return BYTE_ORDERS[(in_register, value.word_order or words)]
