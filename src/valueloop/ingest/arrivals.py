"""Arrivals: the newest time stored for each series by this process's ingest, and what came late.

Analytics score a grid cell once every series they read has moved past it, rather than waiting a
fixed lateness: a reading stored is scored at the engine's next step. Connectors deliver each
series in time order, so a series whose newest stored point is past a cell will add nothing to
it. Not every reading comes in time order, though: a pack writes a day's figures after the day,
an edge agent forwards its backlog after a link outage, an import replays history. A consumer
that must judge every point (the alarm job) watches the writes (:meth:`Arrivals.watch`): at
each of its steps it takes the earliest time written to each series since its previous step, and
whether a write went back in time. The record is in memory and fed by the ingest pipeline; it knows
nothing of points stored by other processes (those wait for the lateness instead).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa


@dataclass(frozen=True)
class Written:
    """What was written to one series since a consumer last took it.

    ``earliest`` is the oldest time written; ``back`` says whether a write went back in time: it
    held a point older than the newest this process had stored for the series before it (or the
    process had stored nothing for the series yet, so it cannot tell).
    """

    earliest: datetime
    back: bool


class Writes:
    """The writes of each series since :meth:`take` was last called, for one consumer."""

    def __init__(self) -> None:
        self._pending: dict[int, Written] = {}
        self._lock = threading.Lock()

    def note(self, series_id: int, earliest: datetime, back: bool) -> None:
        """Add one write of ``series_id`` whose oldest point is at ``earliest``."""
        with self._lock:
            known = self._pending.get(series_id)
            if known is not None:
                earliest, back = min(earliest, known.earliest), back or known.back
            self._pending[series_id] = Written(earliest, back)

    def take(self) -> dict[int, Written]:
        """What was written to each series since the previous call (and forget it)."""
        with self._lock:
            taken, self._pending = self._pending, {}
        return taken


class Arrivals:
    """The newest stored timestamp of each series, updated after every write."""

    def __init__(self) -> None:
        self._latest: dict[int, datetime] = {}
        self._watchers: list[Writes] = []
        self._lock = threading.Lock()

    def watch(self) -> Writes:
        """A record of every write from now on, for one consumer to :meth:`Writes.take`."""
        writes = Writes()
        with self._lock:
            self._watchers.append(writes)
        return writes

    def record(self, points: pa.Table) -> None:
        """Note the oldest and newest timestamp of each series in a stored PointBatch."""
        if points.num_rows == 0:
            return
        spans = points.group_by("series_id").aggregate([("ts", "min"), ("ts", "max")]).to_pydict()
        with self._lock:
            for series_id, oldest, newest in zip(
                spans["series_id"], spans["ts_min"], spans["ts_max"], strict=True
            ):
                known = self._latest.get(series_id)
                for watcher in self._watchers:
                    watcher.note(series_id, oldest, known is None or oldest < known)
                if known is None or newest > known:
                    self._latest[series_id] = newest

    def reached(self, series: Sequence[int]) -> datetime | None:
        """The time every one of ``series`` has reached (the oldest of their newest); None if
        one of them has not arrived since the process started."""
        with self._lock:
            found = [self._latest.get(series_id) for series_id in series]
        if not found or any(moment is None for moment in found):
            return None
        return min(moment for moment in found if moment is not None)
