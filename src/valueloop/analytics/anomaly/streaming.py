"""Live anomaly scoring in the loop: each asset's detector keeps its state between batches.

:class:`StreamingScorer` receives PointBatches (:data:`valueloop.schema.POINT_SCHEMA`) as they
arrive, scores only rows newer than the last row it scored for the asset (no re-read of history),
and returns anomaly events: runs of consecutive rows whose score exceeds ``alarm`` (debounced
over ``persistence`` rows).

An asset is watched by one detector over an ordered list of series (its signals); a batch's points
are aligned by timestamp into rows of those signals. A point missing from a row, with a NaN value
or with bad quality (2) leaves a NaN in the row: the detector holds its state and scores the row 0
(see :mod:`.base`). A point of a series no detector watches raises
:class:`~valueloop.errors.ModelError`. Rows at or before the asset's last scored timestamp are
skipped (already scored).

Events come as an Arrow table (:data:`EVENT_SCHEMA`): asset, the series that contributes most
(for detectors that report per-signal scores, else the asset's first series), start and end
timestamps, the peak score and its time. An event still open at the end of a batch is reported
when it closes, or by :meth:`StreamingScorer.flush`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.analytics.anomaly.alarms import Persistence
from valueloop.analytics.anomaly.base import StreamingDetector
from valueloop.errors import ModelError
from valueloop.schema import POINT_SCHEMA, Quality

EVENT_SCHEMA = pa.schema(
    [
        pa.field("asset", pa.string(), nullable=False),
        pa.field("series_id", pa.int32(), nullable=False),
        pa.field("start", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("end", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("peak_ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
    ]
)
SCORE_SCHEMA = pa.schema(
    [
        pa.field("asset", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("missing", pa.bool_(), nullable=False),
    ]
)


@dataclass
class _Open:
    start: np.datetime64
    end: np.datetime64
    peak_ts: np.datetime64
    score: float
    series_id: int


@dataclass
class _Watch:
    series: tuple[int, ...]
    detector: StreamingDetector
    last: np.datetime64 | None = None
    open: _Open | None = None
    persistence: Persistence = field(default_factory=Persistence)
    closed: list[tuple[str, _Open]] = field(default_factory=list)


class StreamingScorer:
    """Scores new points per asset with stateful detectors and reports anomaly events.

    ``watches`` maps an asset name to ``(series ids in column order, detector)``; detectors are
    used as given (fitted beforehand if they need it). A row belongs to an event when its score is
    above ``alarm``, debounced over ``persistence`` rows (:class:`~.alarms.Persistence`).
    """

    def __init__(
        self,
        watches: Mapping[str, tuple[Sequence[int], StreamingDetector]],
        *,
        alarm: float = 0.5,
        persistence: int = 1,
    ) -> None:
        self.alarm = alarm
        self.persistence = persistence
        self._watches = {
            asset: _Watch(tuple(series), detector, persistence=Persistence(rows=persistence))
            for asset, (series, detector) in watches.items()
        }
        self._owner: dict[int, str] = {}
        for asset, watch in self._watches.items():
            for series_id in watch.series:
                if series_id in self._owner:
                    raise ModelError(f"series {series_id} is watched by two assets")
                self._owner[series_id] = asset
        self.last_scores = SCORE_SCHEMA.empty_table()

    def update(self, batch: pa.Table) -> pa.Table:
        """Score the new rows of ``batch``; returns the events that closed (EVENT_SCHEMA)."""
        batch = batch.select(POINT_SCHEMA.names)
        unknown = set(pc.unique(batch["series_id"]).to_pylist()) - set(self._owner)
        if unknown:
            raise ModelError(
                f"series {sorted(unknown)} are not watched by any detector: add them to an "
                "asset's watch (and train its detector on them) before scoring"
            )
        scores = []
        for asset, watch in self._watches.items():
            rows = batch.filter(pc.is_in(batch["series_id"], pa.array(watch.series, pa.int32())))
            if rows.num_rows:
                scores.append(self._score_asset(asset, watch, rows))
        self.last_scores = pa.concat_tables(scores) if scores else SCORE_SCHEMA.empty_table()
        return self._drain()

    def flush(self) -> pa.Table:
        """Close every open event (end of a replay or shutdown) and return all pending events."""
        for asset, watch in self._watches.items():
            if watch.open is not None:
                watch.closed.append((asset, watch.open))
                watch.open = None
        return self._drain()

    def _score_asset(self, asset: str, watch: _Watch, rows: pa.Table) -> pa.Table:
        stamps, matrix = _align(rows, watch.series)
        if watch.last is not None:
            new = stamps > watch.last
            stamps, matrix = stamps[new], matrix[new]
        if stamps.size == 0:
            return SCORE_SCHEMA.empty_table()
        scores = watch.detector.update_many(stamps, matrix)
        watch.last = stamps[-1]
        contributions = getattr(watch.detector, "signal_scores", None)
        self._track(asset, watch, stamps, scores, contributions)
        return pa.table(
            {
                "asset": pa.array([asset] * stamps.size, pa.string()),
                "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                "score": pa.array(scores),
                "missing": pa.array(watch.detector.missing),
            },
            schema=SCORE_SCHEMA,
        )

    def _track(
        self,
        asset: str,
        watch: _Watch,
        stamps: npt.NDArray[np.datetime64],
        scores: npt.NDArray[np.float64],
        contributions: npt.NDArray[np.float64] | None,
    ) -> None:
        alarm = watch.persistence.update(scores > self.alarm)
        if watch.open is not None and not alarm[0]:
            watch.closed.append((asset, watch.open))
            watch.open = None
        edges = np.flatnonzero(np.diff(alarm.astype(np.int8), prepend=0, append=0))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            peak = start + int(np.argmax(scores[start:stop]))
            series_id = watch.series[0]
            if contributions is not None and contributions.shape == (
                scores.size,
                len(watch.series),
            ):
                series_id = watch.series[int(np.argmax(contributions[start:stop].sum(axis=0)))]
            run = _Open(
                stamps[start], stamps[stop - 1], stamps[peak], float(scores[peak]), series_id
            )
            if watch.open is not None:
                run = _merge(watch.open, run)
                watch.open = None
            if stop < scores.size:
                watch.closed.append((asset, run))
            else:
                watch.open = run

    def _drain(self) -> pa.Table:
        events = [event for watch in self._watches.values() for event in watch.closed]
        for watch in self._watches.values():
            watch.closed = []
        events.sort(key=lambda item: (item[1].start, item[0]))
        return pa.table(
            {
                "asset": pa.array([asset for asset, _ in events], pa.string()),
                "series_id": pa.array([e.series_id for _, e in events], pa.int32()),
                "start": _stamps([e.start for _, e in events]),
                "end": _stamps([e.end for _, e in events]),
                "peak_ts": _stamps([e.peak_ts for _, e in events]),
                "score": pa.array([e.score for _, e in events], pa.float64()),
            },
            schema=EVENT_SCHEMA,
        )


def _stamps(values: list[np.datetime64]) -> pa.Array:
    return pa.array(np.array(values, dtype="datetime64[us]"), pa.timestamp("us", tz="UTC"))


def _merge(earlier: _Open, later: _Open) -> _Open:
    """One event from an event left open by the previous batch and its continuation."""
    peak = earlier if earlier.score >= later.score else later
    return _Open(earlier.start, later.end, peak.peak_ts, peak.score, earlier.series_id)


def _align(
    rows: pa.Table, series: tuple[int, ...]
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
    """Rows of one value per series and distinct timestamp (NaN where a point is missing/bad)."""
    stamps = rows["ts"].cast(pa.timestamp("us")).to_numpy().astype("datetime64[us]")
    values = rows["value"].to_numpy(zero_copy_only=False).astype(np.float64)
    bad = rows["quality"].to_numpy() == Quality.BAD
    values = np.where(bad, np.nan, values)
    ids = np.array(series)
    sorter = np.argsort(ids)
    column = sorter[np.searchsorted(ids, rows["series_id"].to_numpy(), sorter=sorter)]
    unique, row = np.unique(stamps, return_inverse=True)
    matrix = np.full((unique.size, len(series)), np.nan)
    matrix[row, column] = values
    return unique, matrix
