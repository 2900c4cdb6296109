"""Validation keeps good rows, dead-letters bad ones with a reason, refuses a wrong schema."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from valueloop.errors import DataError
from valueloop.ingest.validate import validate_points
from valueloop.schema import POINT_SCHEMA

GOOD_TS = datetime(2026, 1, 1, tzinfo=UTC)


def test_rows_are_judged_one_by_one() -> None:
    batch = pa.table(
        {
            "series_id": [2, 1, 99, 1, 1],
            "ts": [
                GOOD_TS,
                GOOD_TS,
                GOOD_TS,
                datetime(2300, 1, 1, tzinfo=UTC),
                datetime(1969, 12, 31, tzinfo=UTC),
            ],
            "value": [math.nan, 1.0, 2.0, 3.0, 4.0],
            "quality": [0, 0, 0, 0, 0],
        },
        schema=POINT_SCHEMA,
    )
    result = validate_points(batch, pa.array([1, 2], pa.int32()))
    assert result.points.column("series_id").to_pylist() == [1, 2]
    assert result.points.column("quality").to_pylist() == [0, 2]  # NaN kept, marked bad
    assert math.isnan(result.points.column("value")[1].as_py())
    assert result.rejected.column("reason").to_pylist() == [
        "unknown series_id",
        "timestamp outside 1970-2200",
        "timestamp outside 1970-2200",
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"series_id": pa.array([1], pa.int32())}), "lacks column 'ts'"),
        (
            pa.table(
                {
                    "series_id": pa.array([1], pa.int64()),
                    "ts": pa.array([GOOD_TS], pa.timestamp("us", tz="UTC")),
                    "value": [1.0],
                    "quality": pa.array([0], pa.uint8()),
                }
            ),
            "column 'series_id' is int64, expected int32",
        ),
        (
            pa.table(
                {
                    "series_id": pa.array([1], pa.int32()),
                    "ts": pa.array([GOOD_TS.replace(tzinfo=None)], pa.timestamp("us")),
                    "value": [1.0],
                    "quality": pa.array([0], pa.uint8()),
                }
            ),
            "column 'ts' is timestamp\\[us\\], expected timestamp\\[us, tz=UTC\\]",
        ),
    ],
)
def test_wrong_schema_names_the_column(table: pa.Table, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_points(table, pa.array([1], pa.int32()))
