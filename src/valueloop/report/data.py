"""What a report shows, gathered from a site with the same queries and models as the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from valueloop.analytics.records import GroundTruth
from valueloop.api.convert import rows_as
from valueloop.api.errors import NotFoundError
from valueloop.api.models import AssetOut, LedgerOut, PlanDetail, PlanRowsOut, SummaryOut
from valueloop.api.routers.assets import list_assets
from valueloop.api.routers.ledger import latest_ledger
from valueloop.api.routers.plans import get_plan, get_plan_rows
from valueloop.api.routers.summary import latest_summary
from valueloop.site import Site

_PREDICTED_VS_TRUE = """
SELECT p.asset, p.rul, p.lower, p.upper, g.true_rul
FROM predictions p
JOIN ground_truth g ON g.asset = p.asset AND g.as_of = p.as_of
LEFT JOIN runs r ON r.run_id = p.run_id
QUALIFY row_number() OVER (
    PARTITION BY p.asset ORDER BY r.started_at DESC NULLS LAST, p.run_id DESC
) = 1
ORDER BY p.asset
"""


SOLUTION_CHARTS = ("jsp", "fjsp", "cvrp", "vrptw")
"""Plan kinds the report draws: shop schedules as a Gantt chart, routes as a map."""


class TruthPoint(BaseModel):
    """A prediction made at the instant the asset's true remaining life is known (cycles)."""

    asset: str
    rul: float
    lower: float
    upper: float
    true_rul: float


class ReportData(BaseModel):
    """Everything a report shows."""

    site: str
    generated_at: datetime
    currency: str
    summary: SummaryOut | None
    assets: list[AssetOut]
    plan: PlanDetail | None
    solution: PlanRowsOut | None
    truth: list[TruthPoint]
    ledger: LedgerOut


def predicted_vs_true(site: Site) -> list[TruthPoint]:
    """Per asset, the newest prediction made at the instant its true remaining life is known."""
    GroundTruth(site.store)  # the table exists even where no truth is known
    return rows_as(TruthPoint, site.store.query(_PREDICTED_VS_TRUE))


def report_data(site: Site, generated_at: datetime) -> ReportData:
    """Gather a report's figures from ``site``."""
    try:
        summary: SummaryOut | None = latest_summary(site)
    except NotFoundError:
        summary = None
    plan_id = (summary.plan_id if summary else None) or site.plans.latest_id()
    solution_id = site.plans.latest_of(SOLUTION_CHARTS)
    return ReportData(
        site=site.config.site.name,
        generated_at=generated_at,
        currency=site.config.site.currency,
        summary=summary,
        assets=list_assets(site),
        plan=get_plan(plan_id, site) if plan_id else None,
        solution=get_plan_rows(solution_id, site) if solution_id else None,
        truth=predicted_vs_true(site),
        ledger=latest_ledger(site),
    )
