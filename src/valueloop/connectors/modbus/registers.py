"""Planning coalesced register reads, decoding their registers (vectorised), encoding writes.

:func:`plan_reads` groups the points of each table into as few reads as the protocol allows;
:class:`RegisterLayout` decodes all points of a poll at once from the registers the reads
returned, concatenated in plan order; :func:`encode` is its inverse for one value to write.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from valueloop.connectors.modbus.spec import (
    MAX_REGISTERS_PER_READ,
    REGISTER_WIDTH,
    ByteOrder,
    ModbusPoint,
    ModbusSpec,
    RegisterType,
    RegisterValue,
)
from valueloop.errors import ConnectorError

_TYPE_CODES = {"int16": 0, "uint16": 1, "int32": 2, "uint32": 3, "float32": 4}
_FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}
_INTEGERS: dict[str, type[np.integer[Any]]] = {
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
}
_FLOAT32_MAX = float(np.finfo(np.float32).max)

Registers = np.ndarray[Any, np.dtype[np.uint16]]
Floats = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Read:
    """One read request: ``count`` registers of ``table`` from ``address``, serving ``points``."""

    table: str
    address: int
    count: int
    points: tuple[int, ...]


def plan_reads(
    points: Sequence[ModbusPoint],
    *,
    max_registers: int = MAX_REGISTERS_PER_READ,
    max_gap: int = 0,
) -> list[Read]:
    """Reads covering every point, merging points of a table at most ``max_gap`` registers apart.

    No read spans more than ``max_registers``; each point lies wholly inside one read.
    """
    reads: list[Read] = []
    order = sorted(range(len(points)), key=lambda i: (points[i].table, points[i].address))
    current: list[int] = []
    start = end = 0
    for index in order:
        point = points[index]
        stop = point.address + REGISTER_WIDTH[point.data_type]
        joins = (
            current
            and points[current[0]].table == point.table
            and point.address - end <= max_gap
            and max(end, stop) - start <= max_registers
        )
        if joins:
            current.append(index)
            end = max(end, stop)
            continue
        if current:
            reads.append(Read(points[current[0]].table, start, end - start, tuple(current)))
        current, start, end = [index], point.address, stop
    if current:
        reads.append(Read(points[current[0]].table, start, end - start, tuple(current)))
    return reads


def encode(raw: float, data_type: RegisterType, order: ByteOrder = "ABCD") -> list[int]:
    """The registers holding ``raw`` as ``data_type`` in byte ``order``, to be written.

    The inverse of :meth:`RegisterLayout.decode` (before scale and offset). An integer type takes
    the nearest integer; a value outside the type's range, or not finite, is a ConnectorError
    naming the type and its range.
    """
    value: float = raw
    if not math.isfinite(raw):
        raise ConnectorError(f"{raw} is not a finite number; a {data_type} register cannot hold it")
    if data_type in _INTEGERS:
        limits = np.iinfo(_INTEGERS[data_type])
        value = round(raw)
        if not limits.min <= value <= limits.max:
            raise ConnectorError(
                f"{raw} is outside the range of {data_type}, {limits.min} to {limits.max}"
            )
    elif abs(raw) > _FLOAT32_MAX:
        raise ConnectorError(f"{raw} is outside the range of float32, +-{_FLOAT32_MAX:.6g}")
    data = struct.pack(_FORMATS[data_type], value)
    words = [data[i : i + 2] for i in range(0, len(data), 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BADC", "DCBA"):
        words = [word[::-1] for word in words]
    return [int.from_bytes(word, "big") for word in words]


class RegisterLayout:
    """Where each point's registers sit in a poll's registers, and how to decode them.

    The reads' point indices refer to ``points``, the spec's readings unless given (its
    set-points, say); a point's byte order defaults to the spec's.
    """

    def __init__(
        self,
        spec: ModbusSpec,
        reads: Sequence[Read],
        points: Sequence[RegisterValue] | None = None,
    ) -> None:
        if points is None:
            points = spec.points
        order: list[int] = []
        position: list[int] = []
        base = 0
        for read in reads:
            for index in read.points:
                order.append(index)
                position.append(base + points[index].address - read.address)
            base += read.count
        self.order = np.array(order, np.int64)
        """Point indices in the order their values are decoded."""
        self.total = base
        chosen = [points[i] for i in order]
        self._position = np.array(position, np.int64)
        self._type = np.array([_TYPE_CODES[p.data_type] for p in chosen], np.int8)
        orders = [spec.order_of(p) for p in chosen]
        self._byteswap = np.array([order in ("BADC", "DCBA") for order in orders], np.bool_)
        self._wordswap = np.array([order in ("CDAB", "DCBA") for order in orders], np.bool_)
        self._scale = np.array([p.scale for p in chosen], np.float64)
        self._offset = np.array([p.offset for p in chosen], np.float64)

    def decode(self, registers: Registers) -> Floats:
        """The values of every point (in :attr:`order`), scaled, from ``registers``.

        ``registers`` holds :attr:`total` registers, the reads' answers concatenated in plan order.
        A non-finite float32 (a device's "no value") decodes to NaN.
        """
        padded = np.append(registers, np.uint16(0))
        first = padded[self._position]
        second = padded[self._position + 1]
        first = np.where(self._byteswap, first.byteswap(), first)
        second = np.where(self._byteswap, second.byteswap(), second)
        high = np.where(self._wordswap, second, first).astype(np.uint32)
        low = np.where(self._wordswap, first, second).astype(np.uint32)
        word32 = (high << 16) | low
        raw = np.select(
            [self._type == code for code in range(5)],
            [
                first.view(np.int16).astype(np.float64),
                first.astype(np.float64),
                word32.view(np.int32).astype(np.float64),
                word32.astype(np.float64),
                word32.view(np.float32).astype(np.float64),
            ],
        )
        with np.errstate(invalid="ignore"):
            values: Floats = raw * self._scale + self._offset
        return values
