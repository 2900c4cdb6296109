"""The Parquet cold tier: exact round trips, day partitions, retention, size, atomic replacement.

The TimeSeriesStore rules across the hot/cold boundary are checked in ``test_contract.py``.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from valueloop.schema import POINT_SCHEMA
from valueloop.store.parquet import (
    SCALE_KEY,
    SIGNED_ZERO_KEY,
    ParquetTier,
    bytes_per_point,
    decimal_scale,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def points(rows: Sequence[tuple[int, datetime, float | None, int]]) -> pa.Table:
    ids, ts, values, quality = zip(*rows, strict=True)
    return pa.table(
        {"series_id": list(ids), "ts": list(ts), "value": list(values), "quality": list(quality)},
        schema=POINT_SCHEMA,
    )


def bits(values: list[float | None]) -> list[bytes | None]:
    return [None if v is None else struct.pack("<d", v) for v in values]


@pytest.fixture
def tier(tmp_path: Path) -> ParquetTier:
    return ParquetTier(tmp_path / "cold")


def only_part(tier: ParquetTier) -> Path:
    (part,) = tier.files()
    return part


def test_decimal_scale_is_the_fewest_exact_digits() -> None:
    assert decimal_scale(pa.array([1.0, -3.0, 0.0])) == 0
    assert decimal_scale(pa.array([0.1, 0.29, 42.0, None])) == 2
    assert decimal_scale(pa.array([123.456789, 0.000001])) == 6
    assert decimal_scale(pa.array([0.1234567])) is None  # seven digits
    assert decimal_scale(pa.array([0.1, math.nan])) is None
    assert decimal_scale(pa.array([0.1, math.inf])) is None
    assert decimal_scale(pa.array([-0.0, 0.5])) == 1  # the sign of zero is kept apart
    assert decimal_scale(pa.array([5e-324])) is None
    assert decimal_scale(pa.array([2.0**60])) is None  # beyond exact integers


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scale=st.integers(min_value=0, max_value=6),
    units=st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=50),
)
def test_scaled_decimals_round_trip_bit_for_bit(
    tmp_path_factory: pytest.TempPathFactory, scale: int, units: list[int]
) -> None:
    values = [unit / 10**scale for unit in units]
    tier = ParquetTier(tmp_path_factory.mktemp("scaled"))
    try:
        tier.write(points([(1, T0 + i * SECOND, v, 0) for i, v in enumerate(values)]))
        part = only_part(tier)
        stored = pq.read_metadata(part)
        expected_scale = decimal_scale(pa.array(values))
        assert expected_scale is not None and expected_scale <= scale
        assert stored.metadata[SCALE_KEY] == str(expected_scale).encode()
        value_column = stored.row_group(0).column(2)
        assert value_column.physical_type == "INT64"
        assert "DELTA_BINARY_PACKED" in value_column.encodings
        assert bits(tier.read([1]).column("value").to_pylist()) == bits(values)
    finally:
        tier.close()


def test_negative_zero_keeps_its_sign_in_the_scaled_path(tier: ParquetTier) -> None:
    values = [0.25, -0.0, 0.0, -0.01, -0.0, 3.5, None, -12.75]
    tier.write(points([(1, T0 + i * SECOND, v, 0) for i, v in enumerate(values)]))
    metadata = pq.read_metadata(only_part(tier)).metadata
    assert (metadata[SCALE_KEY], metadata[SIGNED_ZERO_KEY]) == (b"2", b"1")
    assert bits(tier.read([1]).column("value").to_pylist()) == bits(values)


def test_floats_round_trip_bit_for_bit_with_nan_inf_negative_zero_and_subnormals(
    tier: ParquetTier,
) -> None:
    rng = np.random.default_rng(7)
    special: list[float | None] = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, -2.2e-310]
    special += [1.7976931348623157e308, 0.1 + 0.2, None]
    values = special + rng.normal(0, 1e6, 200).tolist()
    rows = [(2, T0 + i * SECOND, v, 0) for i, v in enumerate(values)]
    report = tier.write(points(rows))
    assert (report.received, report.inserted, report.replaced) == (len(rows), len(rows), 0)
    part = only_part(tier)
    assert SCALE_KEY not in pq.read_metadata(part).metadata
    value_column = pq.read_metadata(part).row_group(0).column(2)
    assert value_column.physical_type == "DOUBLE"
    assert "BYTE_STREAM_SPLIT" in value_column.encodings
    back = tier.read([2])
    assert bits(back.column("value").to_pylist()) == bits(values)
    bad = [2 if v is None or not math.isfinite(v) else 0 for v in values]
    assert back.column("quality").to_pylist() == bad


def test_parts_are_day_partitions_sorted_and_encoded_for_size(tier: ParquetTier) -> None:
    rows = [
        (2, T0 + timedelta(days=1, hours=1), 2.5, 0),
        (1, T0 - timedelta(microseconds=1), 1.5, 0),
        (2, T0, 0.5, 1),
        (1, T0 + timedelta(hours=23), 1.0, 0),
        (1, T0, 3.0, 0),
    ]
    tier.write(points(rows))
    layout = sorted(str(part.relative_to(tier.folder)) for part in tier.files())
    assert [name.split("/")[0] for name in layout] == [
        "day=2026-02-28",
        "day=2026-03-01",
        "day=2026-03-02",
    ]
    assert all(re.fullmatch(r"day=[\d-]+/part-[0-9a-f]{32}\.parquet", name) for name in layout)
    middle = pq.read_table(tier.folder / layout[1])
    assert middle.column("series_id").to_pylist() == [1, 1, 2]
    assert middle.column("ts").to_pylist() == [T0, T0 + timedelta(hours=23), T0]
    meta = pq.ParquetFile(tier.folder / layout[1]).metadata
    columns = {
        meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i) for i in range(4)
    }
    assert all(column.compression == "ZSTD" for column in columns.values())
    assert "DELTA_BINARY_PACKED" in columns["ts"].encodings
    assert "RLE_DICTIONARY" in columns["series_id"].encodings
    assert "RLE_DICTIONARY" in columns["quality"].encodings
    assert [(c.column_index, c.descending) for c in meta.row_group(0).sorting_columns] == [
        (0, False),
        (1, False),
    ]
    assert tier.days(T0, T0 + timedelta(hours=1)) == [T0.date()]
    window = tier.read([1, 2], T0, T0 + timedelta(days=1))
    assert window.to_pylist() == points([rows[4], rows[3], rows[2]]).to_pylist()
    assert tier.read([3]).num_rows == 0


def test_a_merge_keeps_the_last_write_and_counts_replacements(tier: ParquetTier) -> None:
    tier.write(points([(1, T0, 1.0, 0), (1, T0 + SECOND, 2.0, 0)]))
    report = tier.write(points([(1, T0 + SECOND, 20.0, 1), (1, T0 + 2 * SECOND, 3.0, 0)]))
    assert (report.inserted, report.replaced) == (1, 1)
    assert tier.read([1]).column("value").to_pylist() == [1.0, 20.0, 3.0]
    assert len(tier.files()) == 1
    latest = tier.latest([1, 2], before=T0 + 2 * SECOND)
    assert latest.to_pylist() == points([(1, T0 + SECOND, 20.0, 1)]).to_pylist()


def test_retention_drops_whole_days_and_rewrites_the_partial_one(tier: ParquetTier) -> None:
    rows = [(1, T0 + timedelta(hours=6 * h), float(h), 0) for h in range(12)]  # three days
    tier.write(points(rows))
    assert tier.delete_before(T0 + timedelta(days=1, hours=12)) == 6
    assert tier.days() == [(T0 + timedelta(days=1)).date(), (T0 + timedelta(days=2)).date()]
    assert tier.read([1]).column("value").to_pylist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    assert tier.delete_before(T0) == 0
    assert tier.delete_from(T0 + timedelta(days=2, hours=6)) == 3
    assert tier.read([1]).column("value").to_pylist() == [6.0, 7.0, 8.0]
    assert tier.delete_before(T0 + timedelta(days=3)) == 3
    assert tier.days() == [] and tier.info().points == 0
    assert [path.name for path in tier.folder.iterdir()] == []


def test_quantised_random_walk_takes_under_1_7_bytes_per_point(tier: ParquetTier) -> None:
    rng = np.random.default_rng(42)
    series, steps = 1_000, 1_000
    start = np.datetime64("2026-03-01T00:00:00", "us")
    walks = np.cumsum(rng.normal(0, 0.1, (series, steps)), axis=1) + rng.uniform(
        0, 100, (series, 1)
    )
    batch = pa.table(
        {
            "series_id": pa.array(np.repeat(np.arange(series, dtype=np.int32), steps)),
            "ts": pa.array(np.tile(start + np.arange(steps) * np.timedelta64(1, "s"), series)).cast(
                POINT_SCHEMA.field("ts").type
            ),
            "value": np.round(walks, 2).ravel(),
            "quality": pa.array(np.zeros(series * steps, np.uint8)),
        },
        schema=POINT_SCHEMA,
    )
    tier.write(batch)
    info = tier.info()
    assert (info.series, info.points) == (series, series * steps)
    assert pq.read_metadata(only_part(tier)).metadata[SCALE_KEY] == b"2"
    per_point = bytes_per_point(info)
    assert per_point is not None and per_point < 1.7
    assert tier.read([7]).column("value").to_pylist() == np.round(walks[7], 2).tolist()


def test_a_failed_write_leaves_the_day_as_it_was(
    tier: ParquetTier, monkeypatch: pytest.MonkeyPatch
) -> None:
    tier.write(points([(1, T0, 1.0, 0)]))
    before = only_part(tier)

    def torn_write(table: pa.Table, where: Path, **options: object) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", torn_write)
    with pytest.raises(OSError, match="disk full"):
        tier.write(points([(1, T0, 2.0, 0)]))
    monkeypatch.undo()
    assert tier.files() == [before]
    assert tier.read([1]).column("value").to_pylist() == [1.0]
    tier.write(points([(1, T0 + SECOND, 3.0, 0)]))  # the next write clears the torn file
    assert [path.name for path in only_part(tier).parent.iterdir()] == [only_part(tier).name]
    assert tier.read([1]).column("value").to_pylist() == [1.0, 3.0]


def test_a_crash_before_the_old_part_is_removed_reads_the_new_part_only(
    tier: ParquetTier, tmp_path: Path
) -> None:
    tier.write(points([(1, T0, 1.0, 0)]))
    old = only_part(tier)
    kept = tmp_path / "old.parquet"
    kept.write_bytes(old.read_bytes())
    tier.write(points([(1, T0, 2.0, 0), (1, T0 + SECOND, 3.0, 0)]))
    new = only_part(tier)
    old.write_bytes(kept.read_bytes())  # as if the crash came between os.replace and unlink
    assert sorted(new.parent.iterdir()) == sorted([old, new])
    assert tier.files() == [new]
    assert tier.read([1]).column("value").to_pylist() == [2.0, 3.0]
    assert tier.info().points == 2
    tier.write(points([(1, T0 + 2 * SECOND, 4.0, 0)]))
    assert len(list(new.parent.iterdir())) == 1
    assert tier.read([1]).column("value").to_pylist() == [2.0, 3.0, 4.0]
