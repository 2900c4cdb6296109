"""Anomaly events found by the live detectors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.models import AnomalyOut

router = APIRouter(prefix="/anomalies", tags=["anomalies"])


@router.get("")
def list_anomalies(
    site: SiteDep,
    asset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AnomalyOut]:
    """The newest anomaly events (of ``asset``, or of every asset), newest first."""
    return rows_as(AnomalyOut, site.anomalies.list(limit, asset))
