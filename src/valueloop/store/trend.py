"""A series drawn at a chart's pixel width: raw points when few, else MinMaxLTTB over buckets.

A chart ``width`` pixels wide shows at most about two values a pixel, so a range holding more than
:data:`RAW_PER_PIXEL` points a pixel is not read point by point. The store aggregates it instead,
in :data:`BUCKETS_PER_PIXEL` epoch-aligned buckets a pixel (minimum, maximum, count and worst
quality of each, computed where the points are, never pulled into Python), and each bucket gives
its minimum and maximum as two points a quarter of a pixel apart at most, each with the worst
quality of the bucket's points. MinMaxLTTB (the ``tsdownsample`` package, in Rust) then keeps
about ``width`` of those that preserve the line's shape: its spikes, its level and its gaps. A
bucket holding points but no finite value gives one bad-quality point without a value, so a chart
shows where the data was bad.

A gap is a stretch longer than :data:`GAP_INTERVALS` times the series' median interval without a
point (in buckets: the bucket width over the median count of points a bucket holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.schema import Quality
from valueloop.store.base import TimeSeriesStore

RAW_PER_PIXEL = 2
"""Above this many points a pixel, a range is drawn from buckets instead of its points."""
BUCKETS_PER_PIXEL = 4
"""Store buckets read per pixel before MinMaxLTTB picks the points to draw."""
GAP_INTERVALS = 5
"""A stretch without a point longer than this many median intervals is a gap."""

Mode = Literal["raw", "minmaxlttb"]
Point = tuple[int, float | None, int]
"""``(ms since the epoch, value or None, quality)``."""

_US_PER_MS = 1_000
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Trace:
    """One series as a chart draws it: its points, how they were chosen, and its gaps (ms)."""

    series_id: int
    mode: Mode
    points: list[Point]
    gaps: list[tuple[int, int]]


def _micros(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)


def _gaps(stamps: npt.NDArray[np.int64], interval: float) -> list[tuple[int, int]]:
    """The stretches (ms) between consecutive ``stamps`` (µs) longer than the gap limit."""
    if len(stamps) < 2 or interval <= 0:
        return []
    steps = np.diff(stamps)
    found = np.flatnonzero(steps > GAP_INTERVALS * interval)
    return [
        (int(stamps[i] // _US_PER_MS), int(stamps[i + 1] // _US_PER_MS)) for i in found.tolist()
    ]


def _gaps_between(
    starts: npt.NDArray[np.int64], step: int, interval: float
) -> list[tuple[int, int]]:
    """The stretches (ms) between buckets (starting at ``starts``, µs, ``step`` wide) with no
    point, longer than the gap limit."""
    if len(starts) < 2:
        return []
    empty = starts[1:] - (starts[:-1] + step)
    found = np.flatnonzero(empty > GAP_INTERVALS * interval)
    return [
        (int((starts[i] + step) // _US_PER_MS), int(starts[i + 1] // _US_PER_MS))
        for i in found.tolist()
    ]


def _raw(series_id: int, points: pa.Table) -> Trace:
    stamps = _micros(points.column("ts"))
    values = points.column("value").to_pylist()
    qualities = points.column("quality").to_pylist()
    interval = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 0.0
    drawn = [
        (int(ts // _US_PER_MS), value, quality)
        for ts, value, quality in zip(stamps.tolist(), values, qualities, strict=True)
    ]
    return Trace(series_id, "raw", drawn, _gaps(stamps, interval))


def _bucketed(series_id: int, buckets: pa.Table, every: timedelta, width: int) -> Trace:
    """MinMaxLTTB over each bucket's minimum and maximum (``width`` points or so)."""
    from tsdownsample import MinMaxLTTBDownsampler

    step = every // _MICROSECOND
    starts = _micros(buckets.column("bucket"))
    counts = np.asarray(buckets.column("count").to_numpy(), np.int64)
    finite = np.asarray(pc.is_valid(buckets.column("min")).to_numpy(zero_copy_only=False), bool)
    low = np.asarray(buckets.column("min").fill_null(0.0).to_numpy(), np.float64)
    high = np.asarray(buckets.column("max").fill_null(0.0).to_numpy(), np.float64)
    worst = np.asarray(buckets.column("worst").to_numpy(), np.int64)
    # each finite bucket: its minimum at its start, its maximum half a bucket later
    x = np.column_stack([starts, starts + step // 2])[finite].ravel()
    y = np.column_stack([low, high])[finite].ravel()
    quality = np.repeat(worst[finite], 2)
    keep = np.arange(len(x))
    if len(x) > width:
        keep = MinMaxLTTBDownsampler().downsample(x, y, n_out=width)  # type: ignore[no-untyped-call]
    points: list[Point] = [
        (ts // _US_PER_MS, value, code)
        for ts, value, code in zip(
            x[keep].tolist(), y[keep].tolist(), quality[keep].tolist(), strict=True
        )
    ]
    points += [(int(ts // _US_PER_MS), None, int(Quality.BAD)) for ts in starts[~finite].tolist()]
    points.sort(key=lambda point: point[0])
    interval = step / float(np.median(counts)) if len(counts) else 0.0
    return Trace(series_id, "minmaxlttb", points, _gaps_between(starts, step, interval))


def _bucket_width(span: timedelta, width: int) -> timedelta:
    """:data:`BUCKETS_PER_PIXEL` buckets a pixel, in whole µs (every store buckets any width)."""
    return max(_MICROSECOND * (span // (_MICROSECOND * BUCKETS_PER_PIXEL * width)), _MICROSECOND)


def draw(
    store: TimeSeriesStore, series: Sequence[int], start: datetime, end: datetime, width: int
) -> list[Trace]:
    """Each of ``series`` in ``[start, end)`` drawn ``width`` pixels wide, in the order given.

    One aggregate query for all series tells how many points each holds; a series with at most
    :data:`RAW_PER_PIXEL` a pixel is then read raw, any other drawn from its buckets.
    """
    every = _bucket_width(end - start, width)
    buckets = store.downsample(series, start, end, every, ("min", "max", "count", "worst"))
    ids = buckets.column("series_id")
    traces = []
    for series_id in series:
        own = buckets.filter(pc.equal(ids, series_id))
        if (pc.sum(own.column("count")).as_py() or 0) <= RAW_PER_PIXEL * width:
            traces.append(_raw(series_id, store.read([series_id], start, end)))
        else:
            traces.append(_bucketed(series_id, own, every, width))
    return traces
