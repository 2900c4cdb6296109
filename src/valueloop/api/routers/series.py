"""The stored points of a series, raw or downsampled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import BucketOut, PointOut, SeriesBuckets, SeriesOut, SeriesPoints
from valueloop.api.paging import PointsPage, key_part, key_time
from valueloop.config import parse_duration
from valueloop.errors import DataError
from valueloop.site import Site

router = APIRouter(prefix="/series", tags=["series"])

MAX_BUCKET = timedelta(days=3653)
"""Widest downsampling bucket (``every``): ten years."""
_INT32 = (-(2**31), 2**31 - 1)
"""The ids a series can have."""


def catalogue_rows(site: Site, series_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The catalogue rows of those of ``series_ids`` that are registered, by id (from the
    registry's kept catalogue: no query)."""
    known = site.registry.catalogue()
    ids = pa.array([one for one in series_ids if _INT32[0] <= one <= _INT32[1]], pa.int32())
    wanted = pc.is_in(known.column("series_id"), value_set=ids)
    return {row["series_id"]: row for row in known.filter(wanted).to_pylist()}


def _series(site: Site, series_id: int) -> SeriesOut:
    found = catalogue_rows(site, [series_id]).get(series_id)
    if found is None:
        raise NotFoundError(f"no series {series_id}")
    return SeriesOut.model_validate(found)


def _utc(moment: datetime | None) -> datetime | None:
    """A query time; one without a time zone is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _resume(page: PointsPage, series_id: int, start: datetime | None) -> datetime | None:
    """Where a page of a series' points starts: just after the cursor's point, if any."""
    if page.after is None:
        return start
    if len(page.after) != 2 or page.after[0] != series_id:
        raise DataError(f"cursor: not one of series {series_id}; send the one X-Next-Cursor gave")
    after = key_time(page.after[1]) + timedelta(microseconds=1)
    return after if start is None else max(start, after)


@router.get("/{series_id}/points")
def series_points(
    series_id: int,
    site: SiteDep,
    page: PointsPage,
    start: datetime | None = None,
    end: datetime | None = None,
) -> SeriesPoints:
    """The points of a series with ``start <= ts < end``, oldest first, a page at a time."""
    series = _series(site, series_id)
    first = _resume(page, series_id, _utc(start))
    points = site.points.read([series_id], first, _utc(end), limit=page.limit + 1)
    if points.num_rows > page.limit:
        points = points.slice(0, page.limit)
        last = points.column("ts")[-1].as_py()
        page.next_after((series_id, key_part(last)), page.sent + page.limit)
    return SeriesPoints(series=series, points=rows_as(PointOut, points))


@router.get("/{series_id}/downsample")
def series_downsample(
    series_id: int,
    site: SiteDep,
    every: str = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
) -> SeriesBuckets:
    """Average, minimum, maximum and last value per UTC-aligned bucket of width ``every``
    (e.g. ``30min``, ``1h``, ``1d``; more than 0 and at most ten years)."""
    try:
        width = parse_duration(every)
    except ValueError as err:
        raise DataError(f"every: {err}") from err
    except OverflowError:
        width = timedelta.max
    if not timedelta(0) < width <= MAX_BUCKET:
        raise DataError(
            f"every={every!r}: the bucket width must be more than 0 and at most 10 years"
        )
    series = _series(site, series_id)
    buckets = site.points.downsample([series_id], _utc(start), _utc(end), width)
    return SeriesBuckets(
        series=series,
        every=every,
        every_seconds=width.total_seconds(),
        buckets=rows_as(BucketOut, buckets),
    )
