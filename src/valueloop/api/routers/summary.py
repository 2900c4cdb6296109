"""The latest run's summary: model accuracy, plan status, cost per policy and savings."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.answers import not_found
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import SummaryOut

router = APIRouter(prefix="/summary", tags=["summary"])


@router.get("", responses=not_found("No run has finished yet."))
def latest_summary(site: SiteDep) -> SummaryOut:
    """The summary of the most recent run (404 until a run has finished)."""
    summary = site.latest_summary()
    if summary is None:
        raise NotFoundError("no run has finished yet")
    return SummaryOut.model_validate({"currency": site.config.site.currency, **summary})
