"""The alarm job: evaluates a site's alarm points on the points stored since its last step.

Limit alarms are judged as soon as their points are stored: each step reads every point up to
``now`` that is newer than the last one judged for its alarm. Points also arrive late: a pack
writes a day's figures after the day, an edge agent forwards the backlog of a link outage, an
import replays history. The job takes, at each step, what the site's ingest wrote to each series
since the previous step (``writes``, :meth:`~valueloop.ingest.arrivals.Writes.take`) and reads
each series from the oldest point written, however old:

- points newer than the last judged for their alarm are judged in time order, as if they had
  come on time;
- points that went back in time, older than points already judged, are judged again in time
  order with those after them: from the alarm's last raise or clear before them (its state
  there is known exactly), else from a ``chunk`` before them, in the state the alarm book shows
  then. The book raises an episode once: a late reading that shows an episode began earlier
  than first seen raises nothing new (:meth:`AlarmBook.apply`).

Points older than where the job began watching (its first step: the earliest point stored then,
kept in its state as ``origin``) are history, not news: an import of last year's readings raises
no alarm today (``valueloop run --fresh`` judges them). Without ``writes`` (or for points another
process stored), a point older than ``watermark - lateness`` that arrives after its series moved
on is not judged.

Stale-data alarms are judged up to ``now - lateness`` (the job's watermark), as a reading may be
on its way a moment after it was measured; a series is watched from its first good reading (one
that never reported raises no stale-data alarm: its connector's status tells), and a reading
that arrives after its series was judged stale does not undo it: the data was late. The
transitions go to the alarm book, expired shelves end, and the evaluators' state travels in the
job's state blob (JSON), so the alarms do not depend on how time was split into steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from valueloop.alarms.book import AlarmBook
from valueloop.alarms.definitions import LimitAlarm, StaleAlarm, Transition
from valueloop.alarms.evaluate import evaluate_limits, evaluate_stale, from_micros, to_micros
from valueloop.engine.job import JobResult
from valueloop.errors import ConfigError
from valueloop.ingest.arrivals import Written
from valueloop.store.base import TimeSeriesStore

WrittenSince = Callable[[], Mapping[int, Written]]
"""``() -> what was written to each series since the previous call``, by series id."""

_MICROSECOND = timedelta(microseconds=1)


class AlarmJob:
    """The alarms of a site as one engine job.

    ``chunk`` bounds how much data time one read covers, so a first step over a long history
    does not read it all at once; it is also how far before a point that went back in time its
    alarm is judged again when the alarm did not move in that time.
    """

    def __init__(
        self,
        points: TimeSeriesStore,
        book: AlarmBook,
        limits: Sequence[LimitAlarm],
        stale: Sequence[StaleAlarm],
        *,
        every: timedelta = timedelta(seconds=1),
        lateness: timedelta = timedelta(seconds=2),
        name: str = "alarms",
        chunk: timedelta = timedelta(days=1),
        writes: WrittenSince | None = None,
    ) -> None:
        keys = [alarm.key for alarm in limits] + [alarm.key for alarm in stale]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ConfigError(f"alarm points must be unique; repeated: {', '.join(repeated)}")
        if every <= timedelta(0) or chunk <= timedelta(0) or lateness < timedelta(0):
            raise ConfigError("an alarm job needs a positive every and chunk, lateness >= 0")
        self.points = points
        self.book = book
        self.limits = tuple(limits)
        self.stale = tuple(stale)
        self.every = every
        self.lateness = lateness
        self.name = name
        self.chunk = chunk
        self.writes = writes
        self._limit_series = sorted({alarm.series_id for alarm in self.limits})
        self._stale_series = sorted(
            {series_id for alarm in self.stale for series_id in alarm.series_ids}
        )

    def _earliest(self, horizon: datetime) -> datetime:
        """Where a first step starts: the earliest stored point, or ``horizon`` if none is older."""
        starts = [tier.start for tier in self.points.info() if tier.start is not None]
        return min([*starts, horizon])

    def _limits_from(
        self, state: dict[str, Any] | None, watermark: datetime | None, start: datetime
    ) -> datetime:
        """Where this step's read of the limit alarms' series begins."""
        if watermark is None or not state:
            return start
        floor = watermark - self.lateness
        judged = []
        for alarm in self.limits:
            point = state.get(alarm.key)
            last = point.get("last") if isinstance(point, dict) else None
            judged.append(floor if last is None else from_micros(int(last)))
        return max(min(judged, default=floor), floor)

    def _rewound(
        self, alarm: LimitAlarm, earliest: datetime, origin: datetime
    ) -> tuple[datetime, dict[str, Any]]:
        """Where to judge ``alarm`` again from, for a point at ``earliest`` that went back in
        time, and its evaluator's state there."""
        floor = max(earliest - self.chunk, origin)
        moved = self.book.last_move(alarm.key, earliest)
        active = moved is not None and moved[1]
        if moved is not None and moved[0] >= floor:
            resume, last = moved[0], to_micros(moved[0])  # judged from the reading after it
        else:
            resume, last = floor, to_micros(floor) - 1
        return resume, {"active": active, "since": None, "last": last}

    def _late(
        self,
        written: Mapping[int, Written],
        state: dict[str, Any],
        begin: datetime,
        origin: datetime,
    ) -> tuple[dict[int, datetime], dict[str, Any]]:
        """The series written before ``begin`` (and after ``origin``) since the last step, each
        with where to read it from, and the state with the alarms of points that went back in
        time rewound."""
        late: dict[int, datetime] = {}
        state = dict(state)
        for alarm in self.limits:
            seen = written.get(alarm.series_id)
            if seen is None:
                continue
            point = state.get(alarm.key)
            last = point.get("last") if isinstance(point, dict) else None
            since = max(seen.earliest, origin)
            if seen.back and last is not None and to_micros(since) <= int(last):
                since, state[alarm.key] = self._rewound(alarm, since, origin)
            if since < begin:
                late[alarm.series_id] = min(since, late.get(alarm.series_id, since))
        return late, state

    def _judge(
        self, series: list[int], begin: datetime, end: datetime, state: dict[str, Any] | None
    ) -> tuple[list[Transition], dict[str, Any] | None]:
        """Limit transitions of the points of ``series`` in ``[begin, end)``, read by chunks."""
        found: list[Transition] = []
        while begin < end:
            stop = min(begin + self.chunk, end)
            more, state = evaluate_limits(self.limits, self.points.read(series, begin, stop), state)
            found += more
            begin = stop
        return found, state

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Judge limit alarms on every point stored up to ``now`` (late ones too), stale-data
        ones up to ``now - lateness``, and apply what they raise."""
        horizon = now - self.lateness
        start = watermark if watermark is not None else self._earliest(horizon)
        saved: dict[str, Any] = json.loads(state) if state else {}
        limit_state, stale_state = saved.get("limits"), saved.get("stale")
        origin = start if watermark is None else from_micros(saved.get("origin", 0))
        expired = self.book.expire_shelves(now)
        written = self.writes() if self.writes is not None else {}
        found: list[Transition] = []
        if self.limits:
            begin = self._limits_from(limit_state, watermark, start)
            if watermark is not None and limit_state and written:
                late, limit_state = self._late(written, limit_state, begin, origin)
                if late:
                    found, limit_state = self._judge(
                        sorted(late), min(late.values()), begin, limit_state
                    )
            more, limit_state = self._judge(
                self._limit_series, begin, now + _MICROSECOND, limit_state
            )
            found += more
        transitions = len(found)
        changed = self.book.apply(found)
        begin = start
        while self.stale and begin < horizon:
            end = min(begin + self.chunk, horizon)
            batch = self.points.read(self._stale_series, begin, end)
            stale, stale_state = evaluate_stale(self.stale, batch, end, stale_state)
            transitions += len(stale)
            changed += self.book.apply(stale)
            begin = end
        blob = json.dumps(
            {"limits": limit_state, "stale": stale_state, "origin": to_micros(origin)},
            sort_keys=True,
        )
        return JobResult(
            watermark=max(start, horizon),
            state=blob.encode(),
            rows=changed,
            message=(
                f"{transitions} transitions ({changed} alarm rows changed), "
                f"{expired} shelves expired, up to {max(start, horizon).isoformat()}"
            ),
        )
