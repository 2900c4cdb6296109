"""Assets with their latest remaining-life prediction, and the series each carries."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.compute as pc
from fastapi import APIRouter, Request, Response

from valueloop.api.catalogue import PerCatalogue
from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.kept import kept_answers
from valueloop.api.models import AssetOut, PredictionOut, Risk, SeriesOut
from valueloop.api.paging import ListPage
from valueloop.model.site import SiteModel
from valueloop.site import Site

router = APIRouter(prefix="/assets", tags=["assets"])


MEDIUM_RISK = timedelta(days=30)
"""An asset that may fail within this time (and not within the approval window) is at medium
risk: about the notice a shop visit needs."""


def cycle_time(model: SiteModel, asset: str) -> timedelta | None:
    """How long one cycle of an asset's remaining life lasts, None if the site does not say.

    A remaining-life model counts life in rows of the asset's history, one per reading: a cycle
    lasts the shortest ``expected_interval`` of the signals of the asset's type.
    """
    found = model.assets.get(asset)
    if found is None:
        return None
    intervals = [s.expected_interval for s in found.type.signals.values() if s.expected_interval]
    return min(intervals, default=None)


def risk_of(prediction: PredictionOut | None, cycle: timedelta | None, window: timedelta) -> Risk:
    """How soon an asset may fail: the lower bound of its remaining life (``cycle`` long each)
    against the approval ``window`` (high risk) and :data:`MEDIUM_RISK` (medium risk)."""
    if prediction is None or cycle is None:
        return "unknown"
    lead = cycle * prediction.lower
    if lead < window:
        return "high"
    if lead < MEDIUM_RISK:
        return "medium"
    return "low"


def _assets_of(site: Site) -> dict[str, tuple[int, timedelta | None]]:
    """Each asset with a series: how many it has and how long one of its cycles lasts."""
    counts = pc.value_counts(site.registry.catalogue().column("asset")).to_pylist()
    return {
        count["values"]: (count["counts"], cycle_time(site.model, count["values"]))
        for count in counts
    }


_kept_assets = PerCatalogue(_assets_of)


def list_assets(site: Site) -> list[AssetOut]:
    """Every asset with a series or a prediction, with its latest prediction, by name."""
    series = _kept_assets(site)
    latest = {p.asset: p for p in rows_as(PredictionOut, site.predictions.latest())}
    window = site.config.policy.approve_within
    assets = []
    for asset in sorted(series.keys() | latest.keys()):
        count, cycle = series.get(asset) or (0, cycle_time(site.model, asset))
        prediction = latest.get(asset)
        assets.append(
            AssetOut(
                asset=asset,
                series=count,
                risk=risk_of(prediction, cycle, window),
                prediction=prediction,
            )
        )
    return assets


@router.get("", response_model=list[AssetOut])
def assets_page(request: Request, site: SiteDep, page: ListPage) -> Response:
    """The assets with a series or a prediction, with their latest prediction, by name, a page
    at a time; made once per change of the series or the predictions."""
    basis = (site.registry.catalogue(), site.predictions.latest())
    return kept_answers(request, "assets", list[AssetOut]).answer(
        page, basis, lambda: page.rows(list_assets(site), lambda asset: (asset.asset,))
    )


@router.get("/{asset}/series")
def asset_series(asset: str, site: SiteDep, page: ListPage) -> list[SeriesOut]:
    """The series of one asset, by id, a page at a time."""
    series = rows_as(SeriesOut, site.registry.catalogue(asset))
    if not series:
        raise NotFoundError(f"no asset {asset!r}")
    return page.rows(series, lambda one: (one.series_id,))
