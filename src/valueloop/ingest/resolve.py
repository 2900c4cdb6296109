"""From readings named by series path to a PointBatch keyed by series id.

Field connectors and the edge name series by path; the store keys them by id. Readings of a path
the asset model does not know are not dropped: they become dead letters with the reason, and can
be replayed once the series is registered (``valueloop deadletter replay``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import DataError
from valueloop.model.assets import SeriesRegistry
from valueloop.schema import DEAD_LETTER_SCHEMA, POINT_SCHEMA, READING_SCHEMA, dead_letters

UNKNOWN_SERIES = "unknown series path"
"""Dead-letter reason of a reading whose series the asset model does not know."""


@dataclass(frozen=True)
class Resolved:
    """Readings turned into storable points, and those that could not be, as dead letters."""

    points: pa.Table
    rejected: pa.Table


def reading_text(readings: pa.Table) -> pa.Array:
    """Each reading as one line of JSON, the raw form kept in the dead-letter table."""
    rows = readings.to_pylist()
    return pa.array(
        [
            json.dumps(
                {
                    "series": row["series"],
                    "ts": row["ts"].isoformat(),
                    "value": row["value"],
                    "quality": row["quality"],
                }
            )
            for row in rows
        ],
        pa.string(),
    )


def resolve_readings(readings: pa.Table, registry: SeriesRegistry, source: str) -> Resolved:
    """Map each reading's series path to its id; unknown paths become dead letters."""
    if not readings.schema.equals(READING_SCHEMA):
        try:
            readings = readings.select(READING_SCHEMA.names).cast(READING_SCHEMA)
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise DataError(f"readings do not match the reading schema: {err}") from err
    ids = registry.resolve(readings.column("series").combine_chunks())
    known = pc.is_valid(ids)
    points = pa.table(
        {
            "series_id": ids.filter(known),
            "ts": readings.column("ts").filter(known),
            "value": readings.column("value").filter(known),
            "quality": readings.column("quality").filter(known),
        },
        schema=POINT_SCHEMA,
    )
    unknown = readings.filter(pc.invert(known))
    if unknown.num_rows == 0:
        return Resolved(points=points, rejected=DEAD_LETTER_SCHEMA.empty_table())
    reasons = pa.array([UNKNOWN_SERIES] * unknown.num_rows, pa.string())
    return Resolved(points=points, rejected=dead_letters(source, reading_text(unknown), reasons))
