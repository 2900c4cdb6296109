"""Trends: several series over one time range, drawn at a chart's pixel width."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from valueloop.api.answers import not_found
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.routers.series import catalogue_rows
from valueloop.errors import DataError
from valueloop.store.base import EARLIEST_US, LATEST_US
from valueloop.store.trend import Mode, draw

router = APIRouter(prefix="/trends", tags=["series"])

MAX_SERIES = 50
"""The most series one trend draws."""
MIN_WIDTH, MAX_WIDTH = 100, 10_000
"""The narrowest and widest chart, in pixels."""


class TraceOut(BaseModel):
    """One series of a trend: its points (``[ms since the epoch, value, quality]``) and gaps."""

    series_id: int
    path: str
    unit: str
    mode: Mode = Field(
        description="raw: every stored point; minmaxlttb: about `width` points chosen by "
        "MinMaxLTTB from the store's per-bucket minimum and maximum"
    )
    points: list[tuple[int, float | None, int]]
    gaps: list[tuple[int, int]] = Field(
        description="[start, end] in ms: stretches longer than 5 median intervals without data"
    )


class TrendOut(BaseModel):
    """Series over ``[start, end)`` drawn ``width`` pixels wide, and the time the server took."""

    start: datetime
    end: datetime
    width: int
    series: list[TraceOut]
    server_ms: float


def _bounded(moment: datetime) -> datetime:
    """A query time in UTC (UTC if it has no zone), within the times a store can hold."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    earliest = datetime.fromtimestamp(EARLIEST_US / 1e6, UTC)
    latest = datetime.fromtimestamp(LATEST_US / 1e6, UTC)
    return min(max(aware.astimezone(UTC), earliest), latest)


@router.get("", responses=not_found("A series id names no series."))
def trend(
    site: SiteDep,
    series: Annotated[list[int], Query(min_length=1, max_length=MAX_SERIES)],
    start: datetime,
    end: datetime,
    width: Annotated[int, Query(ge=MIN_WIDTH, le=MAX_WIDTH)] = 1_000,
) -> TrendOut:
    """Up to 50 series over ``[start, end)`` drawn ``width`` pixels wide (100 to 10,000): every
    point of a series holding at most about two a pixel, else about ``width`` points chosen by
    MinMaxLTTB over the store's per-bucket minimum and maximum; bad-quality points keep their
    quality."""
    started = time.perf_counter()
    first, last = _bounded(start), _bounded(end)
    if first >= last:
        raise DataError("start: must be before end")
    wanted = list(dict.fromkeys(series))
    catalogue = catalogue_rows(site, wanted)
    unknown = [series_id for series_id in wanted if series_id not in catalogue]
    if unknown:
        raise NotFoundError(f"no series {', '.join(map(str, unknown[:5]))}")
    traces = draw(site.points, wanted, first, last, width)
    return TrendOut(
        start=first,
        end=last,
        width=width,
        series=[
            TraceOut(
                series_id=trace.series_id,
                path=catalogue[trace.series_id]["path"],
                unit=catalogue[trace.series_id]["unit"],
                mode=trace.mode,
                points=trace.points,
                gaps=trace.gaps,
            )
            for trace in traces
        ],
        server_ms=(time.perf_counter() - started) * 1e3,
    )
