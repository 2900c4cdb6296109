"""The asset tree of a site (ISA-95 area, line, asset) and one asset's overview."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter
from pydantic import BaseModel

from valueloop.api.alarm_models import AlarmOut
from valueloop.api.catalogue import PerCatalogue
from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import PointOut, PredictionOut, WorkOrderOut
from valueloop.api.paging import LIST_MAXIMUM
from valueloop.api.routers.alarms import Book
from valueloop.api.routers.workorders import order_out
from valueloop.model.paths import is_series_path
from valueloop.site import Site

router = APIRouter(prefix="/assets", tags=["assets"])

Level = Literal["area", "line", "asset"]

SPARKLINE_SPAN = timedelta(hours=24)
"""The stretch of data a sparkline shows, ending at the asset's newest point."""
SPARKLINE_POINTS = 60
"""The most points of a sparkline."""
RECENT_ORDERS = 20
"""Work orders an overview lists, newest first."""
RECENT_PREDICTIONS = 20
"""Predictions an overview lists, newest first."""


class TreeNode(BaseModel):
    """An area, a line or an asset, with what it holds."""

    path: str
    name: str
    level: Level
    type: str | None
    children: list[TreeNode]


class AssetTree(BaseModel):
    """The site's areas, their lines and their assets, by name."""

    site: str
    nodes: list[TreeNode]


class SignalOverview(BaseModel):
    """A signal or set-point of an asset: its newest point and a sparkline of its last day."""

    series_id: int
    path: str
    signal: str
    unit: str
    latest: PointOut | None
    sparkline: list[tuple[int, float | None]]


class SetpointOverview(BaseModel):
    """A set-point of an asset, its limits and its newest stored value."""

    name: str
    unit: str
    min: float
    max: float
    max_step: float | None
    current: float | None


class AssetOverview(BaseModel):
    """What an asset page shows: signals, active alarms, predictions, work orders, set-points."""

    asset: str
    type: str | None
    signals: list[SignalOverview]
    alarms: list[AlarmOut]
    predictions: list[PredictionOut]
    workorders: list[WorkOrderOut]
    setpoints: list[SetpointOverview]


def _places(site: Site) -> dict[str, tuple[str, str, str | None]]:
    """Each asset's area, line and type: the model's assets, then any other asset a series of
    the catalogue names by a full path."""
    places: dict[str, tuple[str, str, str | None]] = {
        asset.name: (asset.area, asset.line, asset.type_name)
        for asset in site.model.assets.values()
    }
    for path in site.registry.catalogue().column("path").to_pylist():
        if is_series_path(path):
            _, area, line, asset, _ = path.split("/")
            places.setdefault(asset, (area, line, None))
    return places


def asset_tree(site: Site) -> AssetTree:
    """The site's assets as an ISA-95 tree, areas, lines and assets each by name."""
    areas: dict[str, dict[str, list[TreeNode]]] = {}
    for asset, (area, line, kind) in sorted(_places(site).items()):
        node = TreeNode(
            path=f"{area}/{line}/{asset}", name=asset, level="asset", type=kind, children=[]
        )
        areas.setdefault(area, {}).setdefault(line, []).append(node)
    nodes = [
        TreeNode(
            path=area,
            name=area,
            level="area",
            type=None,
            children=[
                TreeNode(path=f"{area}/{line}", name=line, level="line", type=None, children=assets)
                for line, assets in sorted(lines.items())
            ],
        )
        for area, lines in sorted(areas.items())
    ]
    return AssetTree(site=site.model.name, nodes=nodes)


_kept_tree = PerCatalogue(asset_tree)


@router.get("/tree")
def tree(site: SiteDep) -> AssetTree:
    """The site's areas, lines and assets (ISA-95), each level by name."""
    return _kept_tree(site)


def _signals(site: Site, series: list[dict[str, Any]]) -> list[SignalOverview]:
    """The signals with their newest point and a sparkline of the day of data up to the
    asset's newest point (at most :data:`SPARKLINE_POINTS` bucket averages)."""
    ids = [row["series_id"] for row in series]
    latest = {point.series_id: point for point in rows_as(_Latest, site.points.latest(ids))}
    sparklines: dict[int, list[tuple[int, float | None]]] = {}
    if latest:
        end = max(point.ts for point in latest.values()) + timedelta(microseconds=1)
        buckets = site.points.downsample(
            ids, end - SPARKLINE_SPAN, end, SPARKLINE_SPAN / (SPARKLINE_POINTS - 1), ("avg",)
        )
        stamps = pc.divide(buckets.column("bucket").cast(pa.int64()), 1000).to_pylist()
        for series_id, stamp, average in zip(
            buckets.column("series_id").to_pylist(),
            stamps,
            buckets.column("avg").to_pylist(),
            strict=True,
        ):
            sparklines.setdefault(series_id, []).append((stamp, average))
    return [
        SignalOverview(
            series_id=row["series_id"],
            path=row["path"],
            signal=row["signal"],
            unit=row["unit"],
            latest=latest.get(row["series_id"]),
            sparkline=sparklines.get(row["series_id"], []),
        )
        for row in series
    ]


class _Latest(PointOut):
    series_id: int


@router.get("/{asset}/overview")
def overview(asset: str, site: SiteDep, book: Book) -> AssetOverview:
    """One asset: its signals with their newest point and a sparkline of their last day of
    data, its active and unacknowledged alarms, its latest predictions and work orders (newest
    first, at most 20 each) and its set-points with their limits."""
    series = site.registry.catalogue(asset).to_pylist()
    found = site.model.assets.get(asset)
    if found is None and not series:
        raise NotFoundError(f"no asset {asset!r}")
    signals = _signals(site, series)
    orders = site.work_orders.newest_of(asset, RECENT_ORDERS)
    approvals = (
        site.work_orders.approvals([order["order_id"] for order in orders]) if orders else {}
    )
    current = {signal.signal: signal.latest for signal in signals}
    setpoints = (
        []
        if found is None
        else [
            SetpointOverview(
                name=name,
                unit=point.unit,
                min=point.min,
                max=point.max,
                max_step=point.max_step,
                current=getattr(current.get(name), "value", None),
            )
            for name, point in found.type.setpoints.items()
        ]
    )
    return AssetOverview(
        asset=asset,
        type=None if found is None else found.type_name,
        signals=signals,
        alarms=rows_as(AlarmOut, book.list(asset=asset, limit=LIST_MAXIMUM)),
        predictions=rows_as(PredictionOut, site.predictions.history(asset))[::-1][
            :RECENT_PREDICTIONS
        ],
        workorders=[order_out(site, order, approvals[order["order_id"]]) for order in orders],
        setpoints=setpoints,
    )
