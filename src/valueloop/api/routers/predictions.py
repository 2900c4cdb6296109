"""Remaining-useful-life predictions: the latest per asset, and each asset's history."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import PredictionOut
from valueloop.api.paging import ListPage

router = APIRouter(prefix="/predictions", tags=["predictions"])


@router.get("")
def latest_predictions(site: SiteDep, page: ListPage) -> list[PredictionOut]:
    """The newest prediction of every asset, by asset, a page at a time."""
    latest = rows_as(PredictionOut, site.predictions.latest())
    return page.rows(latest, lambda prediction: (prediction.asset,))


@router.get("/{asset}")
def asset_predictions(asset: str, site: SiteDep, page: ListPage) -> list[PredictionOut]:
    """The predictions made for one asset, oldest first, a page at a time."""
    history = rows_as(PredictionOut, site.predictions.history(asset))
    if not history:
        raise NotFoundError(f"no predictions for {asset!r}")
    return page.rows(history, lambda prediction: (prediction.as_of, prediction.run_id))
