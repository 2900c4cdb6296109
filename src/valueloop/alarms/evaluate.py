"""Evaluating alarm points over PointBatches, incrementally and in data time.

Both evaluations are pure functions of the points seen so far: they take the state the previous
call returned (a small JSON-able dict the engine keeps) and return the transitions the new points
cause with the next state, so any split of the same points into calls gives the same transitions.
Times inside are microseconds since the epoch (as in the PointBatch); the work is vectorised with
NumPy, looping in Python only over transitions, never over points.

Limit alarms (:func:`evaluate_limits`) skip NaN values and bad-quality points. Stale-data alarms
(:func:`evaluate_stale`) are evaluated up to a ``now``, because data that stops arriving makes no
point to evaluate: an alarm activates once ``now`` is past the instant its series went stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.alarms.definitions import LimitAlarm, StaleAlarm, Transition, TransitionKind
from valueloop.errors import DataError
from valueloop.schema import Quality

Micros = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_FOREVER = int(np.iinfo(np.int64).max)
_NEVER = int(np.iinfo(np.int64).min)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise DataError(f"{moment.isoformat()} has no time zone; give an aware datetime")
    return (moment - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """The UTC datetime of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=int(micros))


@dataclass(frozen=True)
class _Series:
    """The points of one series: times (µs), values and qualities, in time order."""

    ts: Micros
    value: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint8]

    def where(self, keep: Flags) -> _Series:
        return _Series(self.ts[keep], self.value[keep], self.quality[keep])


_NO_POINTS = _Series(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.uint8))


def _by_series(points: pa.Table) -> dict[int, _Series]:
    """The points of each series in a PointBatch, sorted by time."""
    if points.num_rows == 0:
        return {}
    order = pc.sort_indices(points, sort_keys=[("series_id", "ascending"), ("ts", "ascending")])
    points = points.take(order)
    ids = points.column("series_id").to_numpy()
    ts = points.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    value = pc.fill_null(points.column("value").cast(pa.float64()), np.nan).to_numpy()
    quality = points.column("quality").cast(pa.uint8()).to_numpy()
    firsts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    ends = np.append(firsts[1:], len(ids))
    return {
        int(ids[lo]): _Series(ts[lo:hi], value[lo:hi], quality[lo:hi])
        for lo, hi in zip(firsts, ends, strict=True)
    }


# Limit alarms ---------------------------------------------------------------------------------


def _run_starts(condition: Flags, ts: Micros, carried: int | None) -> Micros:
    """For each point, when the run of consecutive points meeting ``condition`` began (µs).

    ``carried`` is when a run still going at the end of the previous call began. Points that do
    not meet the condition get a meaningless value.
    """
    index = np.arange(len(condition))
    begins = condition & np.concatenate(([True], ~condition[:-1]))
    first = np.maximum.accumulate(np.where(begins, index, 0))
    starts = ts[first]
    if carried is not None and len(condition) and condition[0]:
        starts[(first == 0) & condition] = carried
    return starts


def _limit_step(
    alarm: LimitAlarm, series: _Series, state: Mapping[str, Any]
) -> tuple[list[Transition], dict[str, Any]]:
    active: bool = bool(state.get("active", False))
    since: int | None = state.get("since")
    last: int | None = state.get("last")
    keep = (series.quality != Quality.BAD) & np.isfinite(series.value)
    if last is not None:
        keep &= series.ts > last
    series = series.where(keep)
    ts, value = series.ts, series.value
    if len(ts) == 0:
        return [], {"active": active, "since": since, "last": last}
    if alarm.high:
        alarming, normal = value > alarm.limit, value <= alarm.limit - alarm.deadband
    else:
        alarming, normal = value < alarm.limit, value >= alarm.limit + alarm.deadband
    alarming_since = _run_starts(alarming, ts, None if active else since)
    normal_since = _run_starts(normal, ts, since if active else None)
    on_delay, off_delay = alarm.on_delay // _MICRO, alarm.off_delay // _MICRO
    due = {
        False: np.flatnonzero(alarming & (ts - alarming_since >= on_delay)),
        True: np.flatnonzero(normal & (ts - normal_since >= off_delay)),
    }
    transitions = []
    position = 0
    while True:
        candidates = due[active]
        found = int(np.searchsorted(candidates, position))
        if found == len(candidates):
            break
        at = int(candidates[found])
        kind: TransitionKind = "clear" if active else "activate"
        transitions.append(
            Transition(alarm, kind, from_micros(int(ts[at])), float(value[at]), alarm.signal)
        )
        active = not active
        position = at + 1
    final = len(ts) - 1
    condition, starts = (normal, normal_since) if active else (alarming, alarming_since)
    since = int(starts[final]) if condition[final] else None
    return transitions, {"active": active, "since": since, "last": int(ts[final])}


def evaluate_limits(
    alarms: Sequence[LimitAlarm], points: pa.Table, state: Mapping[str, Any] | None = None
) -> tuple[list[Transition], dict[str, Any]]:
    """Transitions of limit alarms caused by ``points``, and the state for the next call.

    ``state`` is what the previous call returned (None at first). Points at or before the last
    point already evaluated for an alarm are skipped, so feeding the same points twice changes
    nothing. Transitions are in time order.
    """
    previous = state or {}
    series = _by_series(points)
    transitions: list[Transition] = []
    following: dict[str, Any] = {}
    for alarm in alarms:
        found, following[alarm.key] = _limit_step(
            alarm, series.get(alarm.series_id, _NO_POINTS), previous.get(alarm.key, {})
        )
        transitions.extend(found)
    return _in_order(transitions), following


# Stale-data alarms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spans:
    """Stale spans of one series, ``[start, end)`` in µs, and the series' state afterwards."""

    start: Micros
    end: Micros
    last_good: int | None
    bad_since: int | None


def _next_good(good: Micros, moments: Micros) -> Micros:
    """The first good reading after each of ``moments`` (``_FOREVER`` where none is yet)."""
    after = np.searchsorted(good, moments, side="right")
    padded = np.append(good, _FOREVER)
    return padded[after]


def _stale_spans(
    series: _Series, timeout: int, last_good: int | None, bad_since: int | None
) -> _Spans:
    """Where a series is stale: from ``timeout`` after a good reading with none newer, and from a
    bad reading on, each until the next good reading.

    ``last_good`` and ``bad_since`` carry the series' state from the previous call: its newest
    good reading and the first bad reading after it. Uncertain readings count as good: data flows.
    """
    bad_quality = series.quality == Quality.BAD
    good, bad = series.ts[~bad_quality], series.ts[bad_quality]
    previous = good if last_good is None else np.append(np.int64(last_good), good)
    following = np.append(previous[1:], _FOREVER)[: len(previous)]
    timed_out = previous + timeout < following
    bad_from = bad if bad_since is None else np.append(np.int64(bad_since), bad)
    if len(good):
        last_good = int(good[-1])
        later = bad[bad > last_good]
        bad_since = int(later[0]) if len(later) else None
    elif bad_since is None and len(bad):
        bad_since = int(bad[0])
    return _Spans(
        np.concatenate((previous[timed_out] + timeout, bad_from)),
        np.concatenate((following[timed_out], _next_good(good, bad_from))),
        last_good,
        bad_since,
    )


@dataclass(frozen=True)
class _Spells:
    """Spells during which at least one series of an alarm is stale, with the series that began
    each (its position in the alarm's series)."""

    opened: Micros
    closed: Micros
    first: npt.NDArray[np.intp]


def _spells(starts: Micros, ends: Micros, positions: npt.NDArray[np.intp]) -> _Spells:
    """The union of the spans ``[starts, ends)``: spans that overlap or touch make one spell."""
    order = np.lexsort((positions, starts))
    starts, ends, positions = starts[order], ends[order], positions[order]
    if len(starts) == 0:
        return _Spells(starts, ends, positions)
    reach = np.maximum.accumulate(ends)
    opens = np.flatnonzero(np.concatenate(([True], starts[1:] > reach[:-1])))
    return _Spells(starts[opens], np.maximum.reduceat(ends, opens), positions[opens])


def _stale_step(
    alarm: StaleAlarm,
    series: Mapping[int, _Series],
    state: Mapping[str, Any],
    begin: int,
    horizon: int,
) -> tuple[list[Transition], dict[str, Any]]:
    """Transitions of one stale alarm over data time ``[begin, horizon)``.

    A series the state does not know yet is watched from ``begin``: it is stale ``timeout`` after
    it if it never reports (at the very first call, ``begin`` is the ``start`` given, if any).
    """
    active: bool = bool(state.get("active", False))
    signal: str = state.get("signal", alarm.signals[0])
    known: Mapping[str, list[int | None]] = state.get("series", {})
    unseen = [None if begin == _NEVER else begin, None]
    timeout = alarm.timeout // _MICRO
    starts, ends, positions, following = [], [], [], {}
    for position, series_id in enumerate(alarm.series_ids):
        last_good, bad_since = known.get(str(series_id), unseen)
        spans = _stale_spans(series.get(series_id, _NO_POINTS), timeout, last_good, bad_since)
        starts.append(spans.start)
        ends.append(spans.end)
        positions.append(np.full(len(spans.start), position, np.intp))
        following[str(series_id)] = [spans.last_good, spans.bad_since]
    start_at = np.maximum(np.concatenate(starts), begin)
    end_at = np.minimum(np.concatenate(ends), horizon)
    stale = start_at < end_at
    spells = _spells(start_at[stale], end_at[stale], np.concatenate(positions)[stale])
    transitions: list[Transition] = []
    if active and not (len(spells.opened) and spells.opened[0] == begin):
        # the spell running at the previous horizon ended with a good reading at exactly `begin`
        transitions.append(Transition(alarm, "clear", from_micros(begin), None, signal))
        active = False
    for opened, closed, first in zip(spells.opened, spells.closed, spells.first, strict=True):
        if not active:
            signal = alarm.signals[int(first)]
            transitions.append(Transition(alarm, "activate", from_micros(opened), None, signal))
            active = True
        if closed < horizon:
            transitions.append(Transition(alarm, "clear", from_micros(closed), None, signal))
            active = False
    return transitions, {"active": active, "signal": signal, "series": following}


def evaluate_stale(
    alarms: Sequence[StaleAlarm],
    points: pa.Table,
    now: datetime,
    state: Mapping[str, Any] | None = None,
    *,
    start: datetime | None = None,
) -> tuple[list[Transition], dict[str, Any]]:
    """Transitions of stale-data alarms up to data time ``now``, and the state for the next call.

    ``points`` are the points with ``ts < now`` not given before (earlier points, already
    evaluated, are skipped; a point at or after ``now`` is an error). A stale spell that began
    before ``now`` activates at the instant it began, however late the evaluation runs.
    ``start`` (used at the first call only) is when watching began: a series that never reports
    is stale ``timeout`` after it. Without it, a series is watched from its first good reading.
    """
    previous = state or {}
    horizon = to_micros(now)
    begin: int | None = previous.get("horizon")
    if begin is None:
        begin = to_micros(start) if start is not None else _NEVER
    if points.num_rows:
        latest = pc.max(points.column("ts")).as_py()
        if latest >= now:
            raise DataError(
                f"a point at {latest.isoformat()} is not before now ({now.isoformat()}); "
                "stale alarms are evaluated on the points before now only"
            )
    if horizon <= begin:
        return [], dict(previous)
    series = {
        series_id: found.where(found.ts >= begin) for series_id, found in _by_series(points).items()
    }
    alarm_states: Mapping[str, Any] = previous.get("alarms", {})
    transitions: list[Transition] = []
    following: dict[str, Any] = {}
    for alarm in alarms:
        found, following[alarm.key] = _stale_step(
            alarm, series, alarm_states.get(alarm.key, {}), begin, horizon
        )
        transitions.extend(found)
    return _in_order(transitions), {"horizon": horizon, "alarms": following}


def _in_order(transitions: list[Transition]) -> list[Transition]:
    """Transitions by time, then point (a stable sort: each point's own order is kept)."""
    return sorted(transitions, key=lambda t: (t.ts, t.key))
