"""The tiered store: compaction, the watermark, writes below it, crash recovery, and reads over
any window matching the reference store whatever the compaction history.

The TimeSeriesStore contract across the hot/cold boundary is checked in ``test_contract.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from tests.store.reference import EPOCH, ReferenceStore

from valueloop.schema import POINT_SCHEMA
from valueloop.store.duckdb import DuckDBStore
from valueloop.store.tiered import TieredStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
SERIES = [1, 2, 3]


def points(rows: list[tuple[int, datetime, float, int]]) -> pa.Table:
    ids, ts, values, quality = zip(*rows, strict=True)
    return pa.table(
        {"series_id": list(ids), "ts": list(ts), "value": list(values), "quality": list(quality)},
        schema=POINT_SCHEMA,
    )


def three_days() -> pa.Table:
    """Three series, one point every 3 hours for three days, values with two decimals."""
    return points(
        [(s, T0 + 3 * h * HOUR, round(s * 10 + h * 0.25, 2), 0) for s in SERIES for h in range(24)]
    )


def open_store(folder: Path) -> TieredStore:
    return TieredStore(DuckDBStore(folder / "hot.duckdb"), folder / "cold")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TieredStore]:
    opened = open_store(tmp_path)
    yield opened
    opened.close()


def snapshot(store: TieredStore, tmp_path: Path) -> dict[str, object]:
    """Everything a reader can see, for before/after comparisons."""
    store.export_parquet(tmp_path / "snapshot.parquet")
    return {
        "read": store.read(SERIES).to_pylist(),
        "window": store.read(SERIES, T0 + 20 * HOUR, T0 + 40 * HOUR).to_pylist(),
        "buckets": store.downsample(
            SERIES, None, None, timedelta(hours=5), ("avg", "min", "max", "last", "count")
        ).to_pylist(),
        "latest": store.latest([*SERIES, 9]).to_pylist(),
        "export": pq.read_table(tmp_path / "snapshot.parquet").to_pylist(),
    }


def tier_points(store: TieredStore) -> dict[str, int]:
    return {tier.tier: tier.points for tier in store.info()}


def test_compaction_moves_old_days_and_keeps_every_read_identical(
    store: TieredStore, tmp_path: Path
) -> None:
    store.write(three_days())
    before = snapshot(store, tmp_path)
    boundary = T0 + 40 * HOUR
    days: list[datetime] = []
    moved = store.compact(boundary, progress=days.append)
    assert moved == 3 * 14  # hours 0, 3, ..., 39
    assert days == [T0 + 24 * HOUR, boundary]
    assert store.watermark == boundary
    assert tier_points(store) == {"hot": 3 * 10, "cold": 3 * 14}
    assert [day.isoformat() for day in store.cold.days()] == ["2026-03-01", "2026-03-02"]
    assert snapshot(store, tmp_path) == before
    assert store.compact(boundary) == 0
    assert all(check.violations == 0 for check in store.check())


def test_the_watermark_survives_reopening(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.write(three_days())
    store.compact(T0 + 30 * HOUR)
    expected = snapshot(store, tmp_path)
    store.close()
    reopened = open_store(tmp_path)
    try:
        assert reopened.watermark == T0 + 30 * HOUR
        assert snapshot(reopened, tmp_path) == expected
    finally:
        reopened.close()


def test_a_write_below_the_watermark_lands_cold_and_replaces(store: TieredStore) -> None:
    store.write(three_days())
    store.compact(T0 + 30 * HOUR)
    hot_before = tier_points(store)["hot"]
    report = store.write(
        points(
            [(1, T0 + 3 * HOUR, -1.5, 1), (1, T0 + 4 * HOUR, 7.0, 0), (1, T0 + 61 * HOUR, 8.0, 0)]
        )
    )
    assert (report.received, report.inserted, report.replaced) == (3, 2, 1)
    assert tier_points(store) == {"hot": hot_before + 1, "cold": 3 * 10 + 1}
    window = store.read([1], T0 + 3 * HOUR, T0 + 5 * HOUR)
    assert window.column("value").to_pylist() == [-1.5, 7.0]
    assert window.column("quality").to_pylist() == [1, 0]
    cold = store.cold.read([1], T0 + 3 * HOUR, T0 + 5 * HOUR)
    assert cold.column("value").to_pylist() == [-1.5, 7.0]


def test_a_crash_between_cold_write_and_hot_delete_converges_on_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path)
    store.write(three_days())
    expected = snapshot(store, tmp_path)

    def crash(before: datetime) -> int:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(store.hot, "delete_before", crash)
    with pytest.raises(KeyboardInterrupt):
        store.compact(T0 + 40 * HOUR)
    assert store.watermark == T0 + 24 * HOUR  # the first day was copied, not deleted
    assert tier_points(store) == {"hot": 3 * 24, "cold": 3 * 8}
    assert snapshot(store, tmp_path) == expected  # reads count no point twice
    copies = {check.name: check.violations for check in store.check()}
    assert copies["no (series_id, ts) in both tiers"] == 3 * 8
    assert copies["hot tier at or above the watermark"] == 3 * 8
    monkeypatch.undo()
    store.cold.close()  # the process died: the hot store's file is simply reopened
    store.hot.close()

    reopened = open_store(tmp_path)
    try:
        assert reopened.compact(T0 + 40 * HOUR) == 3 * 14  # the first day moves once more
        assert tier_points(reopened) == {"hot": 3 * 10, "cold": 3 * 14}
        assert all(check.violations == 0 for check in reopened.check())
        assert snapshot(reopened, tmp_path) == expected
    finally:
        reopened.close()


def test_a_crash_before_the_watermark_rises_leaves_an_ignored_cold_copy(
    store: TieredStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(three_days())
    expected = snapshot(store, tmp_path)

    def crash(moment: datetime) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "_raise_watermark", crash)
    with pytest.raises(OSError, match="disk full"):
        store.compact(T0 + 40 * HOUR)
    monkeypatch.undo()
    assert store.watermark is None and tier_points(store) == {"hot": 3 * 24, "cold": 3 * 8}
    assert snapshot(store, tmp_path) == expected  # no watermark yet: the cold copy is ignored
    store.write(points([(2, T0 + 3 * HOUR, 99.0, 0)]))
    assert store.compact(T0 + 40 * HOUR) == 3 * 14
    assert store.read([2], T0 + 3 * HOUR, T0 + 4 * HOUR).column("value").to_pylist() == [99.0]
    assert all(check.violations == 0 for check in store.check())


def test_a_point_written_straight_to_the_hot_store_below_the_watermark_is_kept(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path)
    store.write(three_days())
    store.compact(T0 + 30 * HOUR)
    store.hot.write(points([(3, T0 + HOUR, 5.0, 0)]))  # bypassing the tiered store
    assert store.read([3], T0, T0 + 2 * HOUR).num_rows == 1  # not visible yet
    store.close()
    reopened = open_store(tmp_path)
    try:
        reopened.write(points([(3, T0 + 50 * HOUR, 6.0, 0)]))
        assert reopened.read([3], T0, T0 + 2 * HOUR).column("value").to_pylist() == [30.0, 5.0]
        assert all(check.violations == 0 for check in reopened.check())
    finally:
        reopened.close()


# Property: whatever the writes and compactions, reads of any window match the reference. ----

STEPS = st.integers(min_value=0, max_value=60)  # 30-minute steps: 30 hours, two UTC days
ROW = st.tuples(
    st.sampled_from(SERIES),
    STEPS,
    st.one_of(st.floats(width=64), st.integers(-500, 500).map(lambda u: u / 100)),
    st.integers(min_value=0, max_value=2),
)
ACTION = st.one_of(
    st.lists(ROW, min_size=1, max_size=20).map(lambda rows: ("write", rows)),
    STEPS.map(lambda step: ("compact", step)),
)
WINDOW = st.tuples(st.one_of(st.none(), STEPS), st.one_of(st.none(), STEPS))


def at(step: int) -> datetime:
    return T0 - 6 * HOUR + step * timedelta(minutes=30)


def windowed(
    reference: ReferenceStore, start: datetime | None, end: datetime | None
) -> ReferenceStore:
    """The reference holding only the points in ``[start, end)``."""
    low = -math.inf if start is None else (start - EPOCH) // timedelta(microseconds=1)
    high = math.inf if end is None else (end - EPOCH) // timedelta(microseconds=1)
    window = ReferenceStore()
    window.points = {key: row for key, row in reference.points.items() if low <= key[1] < high}
    return window


def same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return (
            left == right or (math.isnan(left) and math.isnan(right)) or math.isclose(left, right)
        )
    return left == right


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    actions=st.lists(ACTION, min_size=1, max_size=8),
    windows=st.lists(WINDOW, min_size=1, max_size=3),
    every=st.sampled_from([7, 60, 180]),
)
def test_any_history_of_writes_and_compactions_reads_like_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    actions: list[tuple[str, object]],
    windows: list[tuple[int | None, int | None]],
    every: int,
) -> None:
    reference = ReferenceStore()
    store = open_store(tmp_path_factory.mktemp("tiered"))
    try:
        for action, argument in actions:
            if action == "compact":
                assert isinstance(argument, int)
                store.compact(at(argument))
            else:
                assert isinstance(argument, list)
                batch = points([(sid, at(step), value, q) for sid, step, value, q in argument])
                store.write(batch)
                reference.write(batch)
        for low, high in windows:
            start = None if low is None else at(low)
            end = None if high is None else at(high)
            got, want = store.read(SERIES, start, end), reference.read(SERIES, start, end)
            assert got.column("ts").to_pylist() == want.column("ts").to_pylist()
            pairs = zip(
                got.column("value").to_pylist(), want.column("value").to_pylist(), strict=True
            )
            assert all(same(a, b) for a, b in pairs)
            assert got.column("quality").to_pylist() == want.column("quality").to_pylist()
            buckets = store.downsample(
                SERIES, start, end, timedelta(minutes=every), ("avg", "last", "count")
            ).to_pylist()
            expected = windowed(reference, start, end).downsample(SERIES, timedelta(minutes=every))
            assert [(b["series_id"], b["bucket"], b["count"]) for b in buckets] == [
                (b["series_id"], b["bucket"], b["count"]) for b in expected
            ]
            for agg in ("avg", "last"):
                assert all(same(a[agg], b[agg]) for a, b in zip(buckets, expected, strict=True))
        latest = [(r["series_id"], r["ts"]) for r in store.latest(SERIES).to_pylist()]
        assert latest == [
            (sid, EPOCH + timedelta(microseconds=ts)) for sid, ts, _, _ in reference.latest(SERIES)
        ]
        assert all(check.violations == 0 for check in store.check())
    finally:
        store.close()
