"""Assets with their latest remaining-life prediction, and the series each carries."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import AssetOut, PredictionOut, Risk, SeriesOut
from valueloop.config import SiteConfig

router = APIRouter(prefix="/assets", tags=["assets"])


MEDIUM_RISK_DAYS = 30
"""An asset that may fail within this many days (and not within the approval window) is at
medium risk: about the notice a shop visit needs."""


def risk_of(prediction: PredictionOut | None, config: SiteConfig) -> Risk:
    """How soon an asset may fail: the lower bound of its remaining life, in days, against the
    site's approval window (high risk) and :data:`MEDIUM_RISK_DAYS` (medium risk)."""
    if prediction is None:
        return "unknown"
    days = prediction.lower / config.cycles_per_day
    if days < config.policy.approve_within_days:
        return "high"
    if days < MEDIUM_RISK_DAYS:
        return "medium"
    return "low"


@router.get("")
def list_assets(site: SiteDep) -> list[AssetOut]:
    """Every asset with a series or a prediction, with its latest prediction, by name."""
    series = Counter(site.registry.catalogue().column("asset").to_pylist())
    latest = {p.asset: p for p in rows_as(PredictionOut, site.predictions.latest())}
    return [
        AssetOut(
            asset=asset,
            series=series.get(asset, 0),
            risk=risk_of(latest.get(asset), site.config),
            prediction=latest.get(asset),
        )
        for asset in sorted(set(series) | set(latest))
    ]


@router.get("/{asset}/series")
def asset_series(asset: str, site: SiteDep) -> list[SeriesOut]:
    """The series of one asset, by id."""
    series = rows_as(SeriesOut, site.registry.catalogue(asset))
    if not series:
        raise NotFoundError(f"no asset {asset!r}")
    return series
