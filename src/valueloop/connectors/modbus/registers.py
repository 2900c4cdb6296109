"""Planning coalesced register reads and decoding their registers, vectorised with numpy.

:func:`plan_reads` groups the points of each table into as few reads as the protocol allows;
:class:`RegisterLayout` decodes all points of a poll at once from the registers the reads
returned, concatenated in plan order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from valueloop.connectors.modbus.spec import (
    MAX_REGISTERS_PER_READ,
    REGISTER_WIDTH,
    ModbusPoint,
    ModbusSpec,
)

_TYPE_CODES = {"int16": 0, "uint16": 1, "int32": 2, "uint32": 3, "float32": 4}

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


class RegisterLayout:
    """Where each point's registers sit in a poll's registers, and how to decode them."""

    def __init__(self, spec: ModbusSpec, reads: Sequence[Read]) -> None:
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
        self._byteswap = np.array(
            [(p.byte_order or spec.byte_order) == "little" for p in chosen], np.bool_
        )
        self._wordswap = np.array(
            [(p.word_order or spec.word_order) == "little" for p in chosen], np.bool_
        )
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
