"""PostgreSQL's binary wire formats, encoded and decoded with numpy: no Python object per value.

- :class:`Columns` and :func:`binary_copy_payload` build a ``COPY ... FROM STDIN (FORMAT BINARY)``
  stream of a PointBatch from structured numpy arrays.
- :func:`packed` wraps a query so that it returns each column as one ``bytea`` of big-endian
  values (``string_agg`` of the type's ``*send`` function); :func:`unpacked` decodes that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from psycopg import sql
from psycopg.rows import TupleRow

from valueloop.errors import StoreError
from valueloop.schema import POINT_SCHEMA
from valueloop.store.base import prepare_batch

PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL counts microseconds from 2000-01-01 UTC

# Binary COPY: a signature, flags and header extension length, rows, then a -1 trailer. Each row is
# a field count, then each field as its byte length and big-endian value (length -1: NULL).
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"
COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("series_id_len", ">i4"),
        ("series_id", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
        ("quality_len", ">i4"),
        ("quality", ">i2"),
    ]
)
VALUE_AT = COPY_ROW.itemsize - 14  # value (8 bytes), then quality length (4) and quality (2)
VALUE_BYTES = slice(VALUE_AT, VALUE_AT + 8)

Kind = Literal["bool", "int2", "int4", "int8", "float8", "timestamptz"]
KINDS: dict[Kind, tuple[str, str]] = {
    "bool": ("boolsend", "u1"),
    "int2": ("int2send", ">i2"),
    "int4": ("int4send", ">i4"),
    "int8": ("int8send", ">i8"),
    "float8": ("float8send", ">f8"),
    "timestamptz": ("timestamptz_send", ">i8"),
}


@dataclass(frozen=True)
class Columns:
    """Arrays of one series-sorted PointBatch: the form the binary COPY encoder takes."""

    series_id: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    value_null: npt.NDArray[np.bool_] | None
    quality: npt.NDArray[np.uint8]

    @classmethod
    def of(cls, batch: pa.Table) -> Columns:
        value = batch.column("value")
        return cls(
            series_id=batch.column("series_id").to_numpy(),
            ts=batch.column("ts").cast(pa.int64()).to_numpy(),
            value=value.to_numpy(),
            value_null=value.is_null().to_numpy() if value.null_count else None,
            quality=batch.column("quality").to_numpy(),
        )

    def take(self, rows: npt.NDArray[np.intp]) -> Columns:
        """The given rows, in the given order."""
        return Columns(
            self.series_id[rows],
            self.ts[rows],
            self.value[rows],
            None if self.value_null is None else self.value_null[rows],
            self.quality[rows],
        )

    def copy_payload(self) -> bytes:
        """The rows as a complete binary COPY stream."""
        rows = np.empty(len(self.ts), COPY_ROW)
        rows["fields"] = 4
        rows["series_id_len"], rows["series_id"] = 4, self.series_id
        rows["ts_len"], rows["ts"] = 8, self.ts - PG_EPOCH_US
        rows["value_len"], rows["value"] = 8, self.value
        rows["quality_len"], rows["quality"] = 2, self.quality
        if self.value_null is None or not self.value_null.any():
            body = rows.tobytes()
        else:  # a NULL field is its length -1 without value bytes
            rows["value_len"][self.value_null] = -1
            keep = np.ones((len(rows), COPY_ROW.itemsize), np.bool_)
            keep[self.value_null, VALUE_BYTES] = False
            body = rows.view(np.uint8).reshape(len(rows), COPY_ROW.itemsize)[keep].tobytes()
        return COPY_HEADER + body + COPY_TRAILER


def binary_copy_payload(batch: pa.Table) -> bytes:
    """A PointBatch as the complete binary ``COPY`` stream the store itself sends.

    Benchmarks use it to time a raw ``COPY`` of exactly the bytes the store writes.
    """
    return Columns.of(prepare_batch(batch)).copy_payload()


def packed(columns: Sequence[tuple[str, Kind]], query: sql.Composable) -> sql.Composed:
    """One row: the row count of ``query``, then each column as one bytea of big-endian values.

    ``query`` must give no NULL in these columns (``string_agg`` would skip it) and order its rows;
    a plain aggregate keeps that order.
    """
    packed = [
        sql.SQL("string_agg({}({}), ''::bytea)").format(
            sql.SQL(KINDS[kind][0]), sql.Identifier(name)
        )
        for name, kind in columns
    ]
    return sql.SQL("SELECT count(*), {} FROM ({}) AS rows").format(
        sql.SQL(", ").join(packed), query
    )


def unpacked(
    row: TupleRow | None, columns: Sequence[tuple[str, Kind]]
) -> dict[str, npt.NDArray[Any]]:
    """Decode a row of :func:`packed` into native arrays; timestamps as µs since the epoch."""
    if row is None:
        raise StoreError("PostgreSQL store: a packed query returned no row")
    arrays: dict[str, npt.NDArray[Any]] = {}
    for (name, kind), data in zip(columns, row[1:], strict=True):
        big_endian = np.frombuffer(data or b"", KINDS[kind][1])
        array = big_endian.astype(big_endian.dtype.newbyteorder("="))
        if kind == "timestamptz":
            array += PG_EPOCH_US
        elif kind == "bool":
            array = array.astype(np.bool_)
        arrays[name] = array
    return arrays


def points_table(arrays: dict[str, npt.NDArray[Any]]) -> pa.Table:
    nulls = arrays["value_null"]
    return pa.table(
        {
            "series_id": pa.array(arrays["series_id"], pa.int32()),
            "ts": pa.array(arrays["ts"], POINT_SCHEMA.field("ts").type),
            "value": pa.array(arrays["value"], pa.float64(), mask=nulls if nulls.any() else None),
            "quality": pa.array(arrays["quality"].astype(np.uint8), pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )
