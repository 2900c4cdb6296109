"""Anomaly detection live in the loop: new points read from the store, events kept in a book.

:class:`LiveAnomalies` remembers, per asset, the newest timestamp it scored and at each
:meth:`~LiveAnomalies.poll` reads from the store only the points after it (no re-read of history),
scores them with the asset's stateful detector (a :class:`StreamingScorer`) and appends the anomaly
events that closed to the :class:`AnomalyBook` (table ``anomaly_events``), where the API and the
console read them. Points arriving later than a timestamp already scored for their asset are not
scored again (they are stored as usual).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.analytics.anomaly.streaming import EVENT_SCHEMA, StreamingScorer
from valueloop.store.base import TimeSeriesStore
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS anomaly_events (
    asset VARCHAR NOT NULL,
    series_id INTEGER NOT NULL,
    start_ts TIMESTAMPTZ NOT NULL,
    end_ts TIMESTAMPTZ NOT NULL,
    peak_ts TIMESTAMPTZ NOT NULL,
    score DOUBLE NOT NULL,
    detector VARCHAR NOT NULL
)
"""

ONE_TICK = timedelta(microseconds=1)


class AnomalyBook:
    """Anomaly events per asset: when they started and ended, their peak score and detector."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def add(self, events: pa.Table, detector: str) -> int:
        """Keep events of :data:`EVENT_SCHEMA` found by ``detector``; return how many were new.

        An event already kept (same detector, asset, series and start) is not added again, so
        scoring the same period twice keeps each event once.
        """
        if events.num_rows == 0:
            return 0
        rows = (
            events.cast(EVENT_SCHEMA)
            .rename_columns(["asset", "series_id", "start_ts", "end_ts", "peak_ts", "score"])
            .append_column("detector", pa.array([detector] * events.num_rows, pa.string()))
        )
        return self._store.append(
            "anomaly_events", rows, unless=("detector", "asset", "series_id", "start_ts")
        )

    def list(self, limit: int = 100, asset: str | None = None) -> pa.Table:
        """The newest ``limit`` events (of ``asset``, or all), newest first."""
        return self._store.query(
            "SELECT asset, series_id, start_ts, end_ts, peak_ts, score, detector "
            "FROM anomaly_events WHERE ? IS NULL OR asset = ? ORDER BY start_ts DESC LIMIT ?",
            [asset, asset, limit],
        )


class LiveAnomalies:
    """Score what arrived in the store since the last poll, asset by asset."""

    def __init__(
        self,
        points: TimeSeriesStore,
        scorer: StreamingScorer,
        watched: Mapping[str, Sequence[int]],
        book: AnomalyBook,
        *,
        detector: str,
    ) -> None:
        self.points = points
        self.scorer = scorer
        self.watched = {asset: list(series) for asset, series in watched.items()}
        self.book = book
        self.detector = detector
        self._scored_until: dict[str, datetime] = {}

    def poll(self) -> pa.Table:
        """Score the points stored since the last poll; return (and keep) the closed events."""
        found = []
        for asset, series in self.watched.items():
            after = self._scored_until.get(asset)
            batch = self.points.read(series, None if after is None else after + ONE_TICK, None)
            if batch.num_rows == 0:
                continue
            found.append(self.scorer.update(batch))
            self._scored_until[asset] = pc.max(batch["ts"]).as_py()
        events = pa.concat_tables(found) if found else EVENT_SCHEMA.empty_table()
        self.book.add(events, self.detector)
        return events

    def close(self) -> pa.Table:
        """Close the events still open (end of a replay or shutdown) and keep them."""
        events = self.scorer.flush()
        self.book.add(events, self.detector)
        return events
