"""Arrivals: the newest time stored for each series by this process's ingest.

Analytics score a grid cell once every series they read has moved past it, rather than waiting a
fixed lateness: a reading stored is scored at the engine's next step. Connectors deliver each
series in time order, so a series whose newest stored point is past a cell will add nothing to
it. The record is in memory and fed by the ingest pipeline; it knows nothing of points stored by
other processes (those wait for the lateness instead).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa


class Arrivals:
    """The newest stored timestamp of each series, updated after every write."""

    def __init__(self) -> None:
        self._latest: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def record(self, points: pa.Table) -> None:
        """Note the newest timestamp of each series in a stored PointBatch."""
        if points.num_rows == 0:
            return
        newest = points.group_by("series_id").aggregate([("ts", "max")]).to_pydict()
        with self._lock:
            for series_id, ts in zip(newest["series_id"], newest["ts_max"], strict=True):
                known = self._latest.get(series_id)
                if known is None or ts > known:
                    self._latest[series_id] = ts

    def reached(self, series: Sequence[int]) -> datetime | None:
        """The time every one of ``series`` has reached (the oldest of their newest); None if
        one of them has not arrived since the process started."""
        with self._lock:
            found = [self._latest.get(series_id) for series_id in series]
        if not found or any(moment is None for moment in found):
            return None
        return min(moment for moment in found if moment is not None)
