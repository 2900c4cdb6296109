"""The one Arrow schema every stage exchanges: the PointBatch.

A PointBatch is a narrow ``pyarrow.Table`` sorted by ``(series_id, ts)``:

- ``series_id`` (int32): the id the asset model gives a signal path,
- ``ts`` (timestamp[us, UTC]): when the value was measured,
- ``value`` (float64): the value in the signal's unit,
- ``quality`` (uint8): OPC UA-like, 0 good, 1 uncertain, 2 bad.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum

import pyarrow as pa
import pyarrow.compute as pc

POINT_SCHEMA = pa.schema(
    [
        pa.field("series_id", pa.int32(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("quality", pa.uint8(), nullable=False),
    ]
)

DEAD_LETTER_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("raw", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
    ]
)


READING_SCHEMA = pa.schema(
    [
        pa.field("series", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("quality", pa.uint8(), nullable=False),
    ]
)
"""Readings: points named by their series path (``site/area/line/asset/signal``), as connectors
read them and as the edge sends them; the central side resolves each path to its ``series_id``."""


class Quality(IntEnum):
    """Quality of a point, following the OPC UA status classes."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


def schema_problem(batch: pa.Table, *, exact_types: bool = True) -> str | None:
    """What is wrong with a PointBatch's columns, naming the column; None if nothing.

    With ``exact_types=False`` only the column names, nulls and a timestamp type are checked (the
    store converts other time zones and castable types itself).
    """
    for field in POINT_SCHEMA:
        if field.name not in batch.column_names:
            return f"PointBatch lacks column {field.name!r} ({field.type})"
        actual = batch.schema.field(field.name).type
        if exact_types and actual != field.type:
            return f"PointBatch column {field.name!r} is {actual}, expected {field.type}"
        if not field.nullable and batch.column(field.name).null_count:
            return f"PointBatch column {field.name!r} has null values"
    extra = [name for name in batch.column_names if name not in POINT_SCHEMA.names]
    if extra:
        return f"PointBatch has unexpected columns: {', '.join(extra)}"
    ts_type = batch.schema.field("ts").type
    if not pa.types.is_timestamp(ts_type):
        return f"PointBatch column 'ts' is {ts_type}, expected timestamp[us, tz=UTC]"
    if ts_type.tz is None:
        return "PointBatch column 'ts' has naive timestamps; give them a time zone (UTC preferred)"
    return None


def empty_points() -> pa.Table:
    """An empty PointBatch."""
    return POINT_SCHEMA.empty_table()


def empty_readings() -> pa.Table:
    """An empty table of readings."""
    return READING_SCHEMA.empty_table()


def sort_points(batch: pa.Table) -> pa.Table:
    """Sort a PointBatch by ``(series_id, ts)``, the order every store expects."""
    indices = pc.sort_indices(batch, sort_keys=[("series_id", "ascending"), ("ts", "ascending")])
    return batch.take(indices)


def dead_letters(source: str, raw: pa.Array, reason: pa.Array) -> pa.Table:
    """Dead-letter rows for ``raw`` inputs from ``source``, received now."""
    received = datetime.now(UTC)
    return pa.table(
        {
            "source": pa.array([source] * len(raw), pa.string()),
            "received_at": pa.array([received] * len(raw), pa.timestamp("us", tz="UTC")),
            "raw": raw.cast(pa.string()),
            "reason": reason.cast(pa.string()),
        },
        schema=DEAD_LETTER_SCHEMA,
    )
