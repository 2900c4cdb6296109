"""Remaining-useful-life predictions: the latest per asset, and each asset's history."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import PredictionOut

router = APIRouter(prefix="/predictions", tags=["predictions"])


@router.get("")
def latest_predictions(site: SiteDep) -> list[PredictionOut]:
    """The newest prediction of every asset, by asset."""
    return rows_as(PredictionOut, site.predictions.latest())


@router.get("/{asset}")
def asset_predictions(asset: str, site: SiteDep) -> list[PredictionOut]:
    """Every prediction made for one asset, oldest first."""
    history = rows_as(PredictionOut, site.predictions.history(asset))
    if not history:
        raise NotFoundError(f"no predictions for {asset!r}")
    return history
