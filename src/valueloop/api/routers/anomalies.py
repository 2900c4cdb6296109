"""Anomaly events found by the live detectors."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.models import AnomalyOut
from valueloop.api.paging import ListPage

router = APIRouter(prefix="/anomalies", tags=["anomalies"])


@router.get("")
def list_anomalies(site: SiteDep, page: ListPage, asset: str | None = None) -> list[AnomalyOut]:
    """The anomaly events (of ``asset``, or of every asset), newest first, a page at a time."""
    return page.rows(
        rows_as(AnomalyOut, site.anomalies.list(page.reach, asset)),
        lambda event: (event.start_ts, event.series_id, event.detector, event.peak_ts),
        descending=True,
        capped=True,
    )
