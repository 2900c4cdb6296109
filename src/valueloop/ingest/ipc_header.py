"""What an Arrow IPC record batch will cost to decode, read from its header before decoding it.

A compressed record batch of a few kilobytes can decompress to gigabytes. Its header (a FlatBuffer,
see Arrow's ``Message.fbs``) gives the row count and the place of each buffer in the body; a
compressed buffer starts with its decompressed length as a little-endian int64 (-1: stored as is).
Reading those numbers lets a receiver refuse a batch before allocating anything for it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pyarrow as pa

from valueloop.errors import DataError

_RECORD_BATCH = 3
"""The ``MessageHeader`` union's tag of a ``RecordBatch``."""

_UNCOMPRESSED = -1
"""The length prefix of a buffer of a compressed batch that was stored uncompressed."""


@dataclass(frozen=True)
class BatchCost:
    """The rows of a record batch and the bytes its buffers take once decoded."""

    rows: int
    decoded_bytes: int


class _Table:
    """One table of a FlatBuffer: just what reading a ``RecordBatch`` header needs."""

    def __init__(self, data: pa.Buffer, position: int) -> None:
        self._data = data
        self._position = position
        self._vtable = position - _read(data, "<i", position)
        self._vtable_size = _read(data, "<H", self._vtable)

    def _field(self, index: int) -> int:
        """The offset of field ``index`` in the table (0: absent)."""
        entry = 4 + 2 * index
        return _read(self._data, "<H", self._vtable + entry) if entry < self._vtable_size else 0

    def scalar(self, index: int, layout: str, default: int) -> int:
        """A scalar field, or its default when absent."""
        offset = self._field(index)
        return _read(self._data, layout, self._position + offset) if offset else default

    def table(self, index: int) -> _Table | None:
        """A sub-table field, or None when absent."""
        offset = self._field(index)
        if not offset:
            return None
        at = self._position + offset
        return _Table(self._data, at + _read(self._data, "<I", at))

    def vector(self, index: int) -> tuple[int, int]:
        """Where a vector field's elements start and how many there are (0 when absent)."""
        offset = self._field(index)
        if not offset:
            return 0, 0
        at = self._position + offset
        start = at + _read(self._data, "<I", at)
        return start + 4, _read(self._data, "<I", start)


def _read(data: pa.Buffer, layout: str, position: int) -> int:
    if position < 0:
        raise DataError("the Arrow stream has a malformed message header")
    try:
        value: int = struct.unpack_from(layout, data, position)[0]
    except struct.error as err:
        raise DataError("the Arrow stream has a malformed message header") from err
    return value


def batch_cost(message: pa.ipc.Message) -> BatchCost:
    """Rows and decoded bytes of a record batch ``message``, from its header and buffer prefixes.

    Raises :class:`~valueloop.errors.DataError` when the message is not a record batch or its
    header cannot be read.
    """
    metadata = message.metadata
    root = _Table(metadata, _read(metadata, "<I", 0))
    header = root.table(2)
    if root.scalar(1, "<B", 0) != _RECORD_BATCH or header is None:
        raise DataError(
            f"the Arrow stream holds a {message.type} message; send record batches only"
        )
    start, count = header.vector(2)
    compressed = header.table(3) is not None
    rows = header.scalar(0, "<q", 0)
    decoded = 0
    for index in range(count):
        offset = _read(metadata, "<q", start + 16 * index)
        length = _read(metadata, "<q", start + 16 * index + 8)
        size = length
        if compressed and length > 0:
            prefix = _read(message.body, "<q", offset)
            size = length - 8 if prefix == _UNCOMPRESSED else prefix
        if size < 0:
            raise DataError("the Arrow stream has a buffer of negative length")
        decoded += size
    if rows < 0:
        raise DataError("the Arrow stream has a batch of negative length")
    return BatchCost(rows=rows, decoded_bytes=decoded)
