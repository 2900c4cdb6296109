"""Live scoring: a SKAB file replayed in batches gives the events of the offline evaluation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valueloop.analytics.anomaly import EVENT_SCHEMA, StreamingScorer, skab_detector
from valueloop.analytics.anomaly.alarms import Persistence
from valueloop.analytics.anomaly.data import SkabFile, load_skab_file
from valueloop.analytics.anomaly.evaluate import SKAB_ALARM, SKAB_PERSISTENCE, SKAB_TRAIN_ROWS
from valueloop.errors import ModelError
from valueloop.schema import POINT_SCHEMA, Quality

SIGNALS = tuple(range(101, 109))


@pytest.fixture(scope="module")
def skab() -> SkabFile:
    return load_skab_file("valve2/1.csv")


def points(data: SkabFile, start: int, stop: int, quality: int = Quality.GOOD) -> pa.Table:
    """The rows ``start:stop`` of a SKAB file as a PointBatch of eight series."""
    rows = stop - start
    stamps = np.repeat(data.timestamps[start:stop].astype("datetime64[us]"), len(SIGNALS))
    return pa.table(
        {
            "series_id": pa.array(np.tile(np.array(SIGNALS, dtype=np.int32), rows)),
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "value": pa.array(data.values[start:stop].ravel()),
            "quality": pa.array(np.full(rows * len(SIGNALS), quality, dtype=np.uint8)),
        },
        schema=POINT_SCHEMA,
    )


def scorer(data: SkabFile) -> StreamingScorer:
    train = slice(0, SKAB_TRAIN_ROWS)
    detector = skab_detector().fit(data.timestamps[train], data.values[train])
    return StreamingScorer(
        {"pump": (SIGNALS, detector)}, alarm=SKAB_ALARM, persistence=SKAB_PERSISTENCE
    )


def offline_events(data: SkabFile) -> list[tuple[np.datetime64, np.datetime64]]:
    train = slice(0, SKAB_TRAIN_ROWS)
    detector = skab_detector().fit(data.timestamps[train], data.values[train])
    raw = detector.update_many(data.timestamps, data.values) > SKAB_ALARM
    alarm = Persistence(rows=SKAB_PERSISTENCE).update(raw)
    edges = np.flatnonzero(np.diff(alarm.astype(np.int8), prepend=0, append=0))
    return [
        (data.timestamps[a], data.timestamps[b - 1])
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def test_replay_in_batches_matches_the_offline_events(skab: SkabFile) -> None:
    live = scorer(skab)
    tables = []
    size = len(skab.timestamps)
    for start in range(0, size, 53):
        tables.append(live.update(points(skab, start, min(start + 53, size))))
        assert live.last_scores.num_rows == min(53, size - start)
    tables.append(live.flush())
    events = pa.concat_tables(tables)
    assert events.schema == EVENT_SCHEMA
    got = list(
        zip(
            events["start"].cast(pa.timestamp("s")).to_numpy(),
            events["end"].cast(pa.timestamp("s")).to_numpy(),
            strict=True,
        )
    )
    assert got == offline_events(skab)
    assert len(got) >= 1
    anomaly = skab.timestamps[skab.anomaly == 1]
    longest = max(end - start for start, end in got)
    assert longest > 0.5 * (anomaly[-1] - anomaly[0])


def test_rows_already_scored_are_not_scored_again(skab: SkabFile) -> None:
    live = scorer(skab)
    live.update(points(skab, 0, 500))
    live.update(points(skab, 450, 520))
    assert live.last_scores.num_rows == 20


def test_unknown_series_is_refused(skab: SkabFile) -> None:
    batch = points(skab, 0, 3)
    stray = batch.set_column(0, "series_id", pa.array([999] * batch.num_rows, pa.int32()))
    with pytest.raises(ModelError, match="999"):
        scorer(skab).update(stray)


def test_bad_quality_points_are_held_and_flagged(skab: SkabFile) -> None:
    live = scorer(skab)
    live.update(points(skab, 0, 600, quality=Quality.BAD))
    assert live.last_scores["missing"].to_pylist() == [True] * 600
    assert pc.max(live.last_scores["score"]).as_py() == 0.0
