"""The one Arrow schema every stage exchanges: the PointBatch.

A PointBatch is a narrow ``pyarrow.Table`` sorted by ``(series_id, ts)``:

- ``series_id`` (int32): the id the asset model gives a signal path,
- ``ts`` (timestamp[us, UTC]): when the value was measured,
- ``value`` (float64): the value in the signal's unit,
- ``quality`` (uint8): OPC UA-like, 0 good, 1 uncertain, 2 bad.
"""

from __future__ import annotations

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


class Quality(IntEnum):
    """Quality of a point, following the OPC UA status classes."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


def empty_points() -> pa.Table:
    """An empty PointBatch."""
    return POINT_SCHEMA.empty_table()


def sort_points(batch: pa.Table) -> pa.Table:
    """Sort a PointBatch by ``(series_id, ts)``, the order every store expects."""
    indices = pc.sort_indices(batch, sort_keys=[("series_id", "ascending"), ("ts", "ascending")])
    return batch.take(indices)
