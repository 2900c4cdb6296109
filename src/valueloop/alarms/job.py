"""The alarm job: evaluates a site's alarm points on the points stored since its last step.

Limit alarms are judged as soon as their points are stored: each step reads every point up to
``now`` that is newer than the last one judged for its alarm (each series arrives in time order
from its connector, so nothing judged early is judged differently later). Stale-data alarms are
judged up to ``now - lateness`` (the job's watermark), as a reading may be on its way a moment
after it was measured; a series is watched from its first good reading (one that never reported
raises no stale-data alarm: its connector's status tells). A point older than
``watermark - lateness`` arriving after its series had moved on is not judged. The transitions
go to the alarm book, expired shelves end, and the evaluators' state travels in the job's state
blob (JSON), so the alarms do not depend on how time was split into steps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from valueloop.alarms.book import AlarmBook
from valueloop.alarms.definitions import LimitAlarm, StaleAlarm
from valueloop.alarms.evaluate import evaluate_limits, evaluate_stale, from_micros
from valueloop.engine.job import JobResult
from valueloop.errors import ConfigError
from valueloop.store.base import TimeSeriesStore


class AlarmJob:
    """The alarms of a site as one engine job.

    ``chunk`` bounds how much data time one read covers, so a first step over a long history
    does not read it all at once.
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

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Judge limit alarms on every point stored up to ``now``, stale-data ones up to
        ``now - lateness``, and apply what they raise."""
        horizon = now - self.lateness
        start = watermark if watermark is not None else self._earliest(horizon)
        saved: dict[str, Any] = json.loads(state) if state else {}
        limit_state, stale_state = saved.get("limits"), saved.get("stale")
        expired = self.book.expire_shelves(now)
        changed = transitions = 0
        begin = self._limits_from(limit_state, watermark, start)
        end_of_now = now + timedelta(microseconds=1)
        while self.limits and begin < end_of_now:
            end = min(begin + self.chunk, end_of_now)
            batch = self.points.read(self._limit_series, begin, end)
            found, limit_state = evaluate_limits(self.limits, batch, limit_state)
            transitions += len(found)
            changed += self.book.apply(found)
            begin = end
        begin = start
        while self.stale and begin < horizon:
            end = min(begin + self.chunk, horizon)
            batch = self.points.read(self._stale_series, begin, end)
            more, stale_state = evaluate_stale(self.stale, batch, end, stale_state)
            transitions += len(more)
            changed += self.book.apply(more)
            begin = end
        blob = json.dumps({"limits": limit_state, "stale": stale_state}, sort_keys=True)
        return JobResult(
            watermark=max(start, horizon),
            state=blob.encode(),
            rows=changed,
            message=(
                f"{transitions} transitions ({changed} alarm rows changed), "
                f"{expired} shelves expired, up to {max(start, horizon).isoformat()}"
            ),
        )
