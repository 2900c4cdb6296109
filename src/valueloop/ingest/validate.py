"""Validation of PointBatches before they reach the store.

A batch with the wrong schema is refused whole, with an error naming the column. Inside a good
batch, each row is judged alone: rows of unknown series or with a timestamp outside 1970-2200 are
rejected with their reason (they go to the dead-letter table), NaN and infinite values are kept with
quality bad, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import DataError
from valueloop.schema import POINT_SCHEMA, Quality, schema_problem, sort_points

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Validated:
    """The rows fit for the store and the rows rejected, each with its reason."""

    points: pa.Table
    rejected: pa.Table  # the PointBatch columns plus ``reason`` (string)


def check_schema(batch: pa.Table) -> None:
    """Refuse a batch whose columns or types differ from the PointBatch schema."""
    problem = schema_problem(batch)
    if problem is not None:
        raise DataError(problem)


def validate_points(batch: pa.Table, known_series: pa.Array) -> Validated:
    """Split a PointBatch into storable rows and rejected rows with reasons."""
    check_schema(batch)
    batch = batch.select(POINT_SCHEMA.names).cast(POINT_SCHEMA)
    none = pa.scalar(None, pa.string())
    unknown = pc.invert(pc.is_in(batch.column("series_id"), value_set=known_series))
    out_of_range = pc.or_(
        pc.less(batch.column("ts"), pa.scalar(EARLIEST, pa.timestamp("us", tz="UTC"))),
        pc.greater_equal(batch.column("ts"), pa.scalar(LATEST, pa.timestamp("us", tz="UTC"))),
    )
    reason = pc.if_else(unknown, pa.scalar("unknown series_id"), none)
    reason = pc.coalesce(
        reason, pc.if_else(out_of_range, pa.scalar("timestamp outside 1970-2200"), none)
    )
    bad_quality = pc.greater(batch.column("quality"), pa.scalar(int(Quality.BAD), pa.uint8()))
    reason = pc.coalesce(reason, pc.if_else(bad_quality, pa.scalar("quality above 2"), none))
    accepted = pc.is_null(reason)
    points = batch.filter(accepted)
    not_finite = pc.invert(pc.fill_null(pc.is_finite(points.column("value")), False))
    quality = pc.if_else(
        not_finite, pa.scalar(int(Quality.BAD), pa.uint8()), points.column("quality")
    )
    points = points.set_column(points.schema.get_field_index("quality"), "quality", quality)
    rejected = batch.filter(pc.invert(accepted)).append_column(
        "reason", reason.filter(pc.invert(accepted))
    )
    return Validated(points=sort_points(points.cast(POINT_SCHEMA)), rejected=rejected)
