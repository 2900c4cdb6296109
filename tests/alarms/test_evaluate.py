"""Limit and stale-data alarms evaluated on points: delays, deadband, staleness, any split."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.alarms.helpers import (
    PRESSURE,
    T0,
    TEMPERATURE,
    VIBRATION,
    at,
    points,
    seen,
    telemetry_stale,
    vibration_hi,
)

from valueloop.alarms import LimitAlarm, Priority, Transition, evaluate_limits, evaluate_stale
from valueloop.errors import DataError
from valueloop.schema import POINT_SCHEMA


def _limits(alarms: Sequence[LimitAlarm], batch: pa.Table) -> list[Transition]:
    return evaluate_limits(alarms, batch)[0]


def test_on_delay_needs_the_condition_on_every_point_and_off_delay_likewise() -> None:
    values = [11] * 3 + [9] + [11] * 10 + [9.5] * 5 + [8] * 10
    batch = points(VIBRATION, range(len(values)), values)
    alarm = vibration_hi(on=5, off=3, deadband=1)
    assert seen(_limits([alarm], batch)) == [
        (alarm.key, "activate", at(9), 11.0, "vibration"),  # the run from t=4 reaches 5 s
        (alarm.key, "clear", at(22), 8.0, "vibration"),  # 9.5 is inside the deadband
    ]
    assert alarm.key == "vibration_high:hi@compressor-1"


def test_without_delay_the_first_point_over_the_limit_activates() -> None:
    batch = points(VIBRATION, [0, 1, 2, 3], [9, 10, 10.5, 10])
    assert [(t.kind, t.ts) for t in _limits([vibration_hi()], batch)] == [
        ("activate", at(2)),
        ("clear", at(3)),  # at the limit is not above it
    ]


def test_low_alarm_clears_above_limit_plus_deadband() -> None:
    alarm = LimitAlarm(
        "suction_low", "compressor-1", "suction", VIBRATION, "lo", 2.0, Priority.CRITICAL,
        deadband=0.5,
    )  # fmt: skip
    batch = points(VIBRATION, range(5), [3, 1.9, 2.2, 2.6, 1.0])
    assert [(t.kind, t.ts, t.value) for t in _limits([alarm], batch)] == [
        ("activate", at(1), 1.9),
        ("clear", at(3), 2.6),
        ("activate", at(4), 1.0),
    ]


def test_nan_and_bad_quality_points_are_ignored() -> None:
    batch = points(VIBRATION, [0, 1, 2, 3, 4], [11, math.nan, 5, 11, 50], [0, 0, 2, 1, 2])
    # the bad 5 at t=2 does not break the run; the bad 50 at t=4 is no reading either
    assert [(t.kind, t.ts) for t in _limits([vibration_hi(on=2)], batch)] == [("activate", at(3))]


def test_a_chattering_signal_gives_one_alarm_with_deadband_and_delays() -> None:
    seconds = np.arange(600)
    rng = np.random.default_rng(7)
    chatter = 10 + 1.5 * np.sin(2 * np.pi * seconds / 17) + rng.normal(0, 0.2, len(seconds))
    values = np.where((seconds >= 100) & (seconds < 400), chatter, 5.0)
    batch = points(VIBRATION, seconds.tolist(), values.tolist())
    raw = _limits([vibration_hi()], batch)
    assert sum(t.kind == "activate" for t in raw) > 12
    tamed = _limits([vibration_hi(on=2, off=10, deadband=2)], batch)
    assert [(t.kind, t.ts) for t in tamed][1:] == [("clear", at(410))]
    assert tamed[0].kind == "activate" and at(100) <= tamed[0].ts < at(120)


def _reference_limits(
    alarm: LimitAlarm, seconds: Sequence[int], values: Sequence[float], quality: Sequence[int]
) -> list[tuple[str, float, float]]:
    """The limit alarm's state machine, one point at a time."""
    active, since, found = False, None, []
    for second, value, q in zip(seconds, values, quality, strict=True):
        if q == 2 or math.isnan(value):
            continue
        if alarm.high:
            holds = value <= alarm.limit - alarm.deadband if active else value > alarm.limit
        else:
            holds = value >= alarm.limit + alarm.deadband if active else value < alarm.limit
        if not holds:
            since = None
            continue
        since = second if since is None else since
        delay = alarm.off_delay if active else alarm.on_delay
        if second - since >= delay.total_seconds():
            found.append(("clear" if active else "activate", second, value))
            active, since = not active, None
    return found


def _split(batch: pa.Table, cuts: Sequence[int]) -> list[pa.Table]:
    bounds = [0, *sorted(cuts), batch.num_rows]
    return [batch.slice(lo, hi - lo) for lo, hi in itertools.pairwise(bounds)]


def _json(state: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(state))
    return loaded


readings = st.lists(
    st.tuples(
        st.integers(1, 4),  # seconds since the previous point
        st.one_of(st.floats(5, 15), st.just(math.nan)),
        st.sampled_from([0, 0, 0, 1, 2]),
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(
    readings=readings,
    cuts=st.lists(st.integers(0, 120), max_size=8),
    delays=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    deadband=st.sampled_from([0.0, 0.5, 2.0]),
)
def test_limit_transitions_do_not_depend_on_how_points_are_split(
    readings: list[tuple[int, float, int]],
    cuts: list[int],
    delays: tuple[int, int],
    deadband: float,
) -> None:
    seconds = np.cumsum([step for step, _, _ in readings]).tolist()
    quality = [q for _, _, q in readings]
    batch = points(VIBRATION, seconds, [value for _, value, _ in readings], quality)
    high = vibration_hi(on=delays[0], off=delays[1], deadband=deadband)
    low = LimitAlarm(
        "vibration_low", "compressor-1", "vibration", VIBRATION, "lo", 8.0, "low",
        timedelta(seconds=delays[1]), timedelta(seconds=delays[0]), deadband,
    )  # fmt: skip
    whole = evaluate_limits([high, low], batch)[0]
    for alarm in (high, low):
        expected = _reference_limits(alarm, seconds, batch.column("value").to_pylist(), quality)
        mine = [(t.kind, (t.ts - T0).total_seconds(), t.value) for t in whole if t.alarm == alarm]
        assert mine == expected
    state: dict[str, Any] | None = None
    parts: list[Transition] = []
    for part in _split(batch, [cut for cut in cuts if cut <= batch.num_rows]):
        found, following = evaluate_limits([high, low], part, state)
        parts.extend(found)
        state = _json(following)
    assert seen(parts) == seen(whole)
    # the same points again change nothing
    assert evaluate_limits([high, low], batch, state)[0] == []


def test_stale_after_a_gap_activates_at_last_good_plus_timeout() -> None:
    batch = pa.concat_tables(
        [
            points(TEMPERATURE, [*range(11), *range(30, 41)], [20.0] * 22),
            points(PRESSURE, range(41), [3.0] * 41),
        ]
    )
    alarm = telemetry_stale()
    found, _ = evaluate_stale([alarm], batch, at(41), start=T0)
    assert seen(found) == [
        (alarm.key, "activate", at(15), None, "temperature"),
        (alarm.key, "clear", at(30), None, "temperature"),
    ]
    assert alarm.key == "telemetry:stale@compressor-1"


def test_a_bad_quality_reading_is_stale_until_the_next_good_one() -> None:
    quality = [0] * 20 + [2, 2] + [0] * 19
    batch = pa.concat_tables(
        [
            points(TEMPERATURE, range(41), [20.0] * 41),
            points(PRESSURE, range(41), [3.0] * 41, quality),
        ]
    )
    found, _ = evaluate_stale([telemetry_stale()], batch, at(41), start=T0)
    assert [(t.kind, t.ts, t.signal) for t in found] == [
        ("activate", at(20), "pressure"),
        ("clear", at(22), "pressure"),
    ]


def test_stale_activates_once_now_passes_it_even_without_new_points() -> None:
    alarm = telemetry_stale()
    both = pa.concat_tables([points(s, range(11), [1.0] * 11) for s in (TEMPERATURE, PRESSURE)])
    found, state = evaluate_stale([alarm], both, at(11), start=T0)
    assert found == []
    empty = POINT_SCHEMA.empty_table()
    for now in (14, 15):  # stale from t=15: not before now yet
        found, state = evaluate_stale([alarm], empty, at(now), _json(state))
        assert found == []
    found, state = evaluate_stale([alarm], empty, at(15.5), _json(state))
    assert [(t.kind, t.ts) for t in found] == [("activate", at(15))]
    back = pa.concat_tables([points(s, [30], [1.0]) for s in (TEMPERATURE, PRESSURE)])
    found, state = evaluate_stale([alarm], back, at(31), _json(state))
    assert [(t.kind, t.ts) for t in found] == [("clear", at(30))]


def test_a_series_that_never_reports_is_stale_after_start_plus_timeout() -> None:
    batch = points(TEMPERATURE, range(20), [20.0] * 20)
    found, _ = evaluate_stale([telemetry_stale()], batch, at(20), start=T0)
    assert [(t.kind, t.ts, t.signal) for t in found] == [("activate", at(5), "pressure")]
    # without a start, a series is watched from its first good reading on
    assert evaluate_stale([telemetry_stale()], batch, at(20))[0] == []


def test_points_at_or_after_now_are_refused() -> None:
    batch = points(TEMPERATURE, [0, 5], [1.0, 1.0])
    with pytest.raises(DataError, match="not before now"):
        evaluate_stale([telemetry_stale()], batch, at(5), start=T0)


def _reference_stale(
    readings: Sequence[tuple[Sequence[int], Sequence[int]]],
    timeout: int,
    start: int | None,
    end: int,
) -> list[tuple[str, float, str]]:
    """Stale-data transitions found second by second (every time in the test is whole seconds):
    a series is stale if its latest reading is bad, or ``timeout`` after its last good one."""

    def stale(seconds: Sequence[int], quality: Sequence[int], t: int) -> bool:
        before = [i for i, second in enumerate(seconds) if second <= t]
        if before and quality[before[-1]] == 2:
            return True
        good = [seconds[i] for i in before if quality[i] != 2]
        origin = good[-1] if good else start
        return origin is not None and t >= origin + timeout

    found, was = [], False
    for t in range(end):
        which = [i for i, (sec, q) in enumerate(readings) if stale(sec, q, t)]
        if bool(which) != was:
            signal = ("temperature", "pressure")[which[0]] if which else found[-1][2]
            found.append(("activate" if which else "clear", float(t), signal))
            was = bool(which)
    return found


series_readings = st.lists(
    st.tuples(st.integers(1, 9), st.sampled_from([0, 0, 0, 0, 1, 2])), min_size=0, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(
    temperature=series_readings,
    pressure=series_readings,
    nows=st.lists(st.integers(1, 400), max_size=8),
    with_start=st.booleans(),
)
def test_stale_transitions_do_not_depend_on_when_evaluation_ran(
    temperature: list[tuple[int, int]],
    pressure: list[tuple[int, int]],
    nows: list[int],
    with_start: bool,
) -> None:
    tables, columns = [], []
    for series_id, readings in ((TEMPERATURE, temperature), (PRESSURE, pressure)):
        seconds = np.cumsum([step for step, _ in readings]).tolist()
        quality = [q for _, q in readings]
        tables.append(points(series_id, seconds, [1.0] * len(readings), quality))
        columns.append((seconds, quality))
    batch = pa.concat_tables(tables)
    ts = batch.column("ts")
    alarm = telemetry_stale(intervals=3)
    start = T0 if with_start else None
    final = 401
    whole = evaluate_stale([alarm], batch, at(final), start=start)[0]
    expected = _reference_stale(columns, 3, 0 if with_start else None, final)
    assert [(t.kind, (t.ts - T0).total_seconds(), t.signal) for t in whole] == expected
    state: dict[str, Any] | None = None
    parts: list[Transition] = []
    done = 0
    for now in [*sorted(set(nows)), final]:
        lo, hi = at(done), at(now)
        chosen = pa.compute.and_(
            pa.compute.greater_equal(ts, pa.scalar(lo, ts.type)),
            pa.compute.less(ts, pa.scalar(hi, ts.type)),
        )
        found, following = evaluate_stale([alarm], batch.filter(chosen), hi, state, start=start)
        parts.extend(found)
        state, done = _json(following), now
    assert seen(parts) == seen(whole)
