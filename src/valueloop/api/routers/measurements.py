"""Measurement plans: expected and verified value side by side; adjustments (approver)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import AwareDatetime, BaseModel, Field

from valueloop.api.auth import Principal
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.paging import ListPage
from valueloop.api.signin import require
from valueloop.site import Site
from valueloop.value.adjustments import AdjustmentKind, adjustments_of, record_adjustment
from valueloop.value.plans import MeasurementPlan, PlanBook
from valueloop.value.verified import latest_measurement

router = APIRouter(prefix="/measurements", tags=["measurements"])

Approver = Annotated[Principal, Depends(require("approver"))]


class AdjustmentIn(BaseModel):
    """A non-routine adjustment: ``amount`` (KPI unit per interval) added to the baseline."""

    kind: AdjustmentKind
    start: AwareDatetime
    end: AwareDatetime
    amount: float
    reason: str = Field(min_length=1)


class AdjustmentOut(AdjustmentIn):
    """An adjustment as recorded: who recorded it and its audit sequence number."""

    plan_id: str
    actor: str
    seq: int


class MeasurementOut(BaseModel):
    """A plan, its status and its latest measurement: expected and verified value side by side.

    ``figures`` are the ledger's ``measurement`` entries by metric (``expected_value``,
    ``saving``, ``money``, ``uncertainty_90``...); empty until the reporting window closes.
    """

    plan: dict[str, Any]
    status: str
    revision: int | None = None
    verified: bool | None = None
    reasons: list[str] = []
    figures: dict[str, float] = {}
    statistics: dict[str, Any] | None = None
    adjustments: list[AdjustmentOut] = []


def _out(site: Site, plan: MeasurementPlan, state: str) -> MeasurementOut:
    recorded = latest_measurement(site.ledger, plan.plan_id)
    adjustments = [
        AdjustmentOut(**a.as_dict()) for a in adjustments_of(site.work_orders.audit, plan.plan_id)
    ]
    if recorded is None:
        return MeasurementOut(plan=plan.as_dict(), status=state, adjustments=adjustments)
    return MeasurementOut(
        plan=plan.as_dict(),
        status=state,
        revision=recorded.revision,
        verified=recorded.verified,
        reasons=recorded.reasons,
        figures=recorded.figures,
        statistics=recorded.assumptions.get("statistics"),
        adjustments=adjustments,
    )


def _plan(site: Site, plan_id: str) -> tuple[MeasurementPlan, str]:
    found = PlanBook(site.store).get(plan_id)
    if found is None:
        raise NotFoundError(f"no measurement plan {plan_id!r}")
    return found[0], found[1].value


@router.get("")
def list_measurements(site: SiteDep, page: ListPage) -> list[MeasurementOut]:
    """The measurement plans with their latest measurements, by the end of their reporting
    windows, a page at a time."""
    plans = page.rows(
        PlanBook(site.store).all(), lambda found: (found[0].reporting_end, found[0].plan_id)
    )
    return [_out(site, plan, state.value) for plan, state in plans]


@router.get("/{plan_id}")
def get_measurement(plan_id: str, site: SiteDep) -> MeasurementOut:
    """One measurement plan with its latest measurement and its adjustments."""
    return _out(site, *_plan(site, plan_id))


@router.post("/{plan_id}/adjustments", status_code=status.HTTP_201_CREATED)
def add_adjustment(
    plan_id: str, body: AdjustmentIn, site: SiteDep, principal: Approver
) -> AdjustmentOut:
    """Record a non-routine adjustment of a plan's baseline, in the audit trail, as the token's
    user; the measurement job applies it at its next step."""
    _plan(site, plan_id)
    recorded = record_adjustment(
        site.work_orders.audit,
        plan_id,
        kind=body.kind,
        start=datetime.fromisoformat(body.start.isoformat()),
        end=datetime.fromisoformat(body.end.isoformat()),
        amount=body.amount,
        reason=body.reason,
        actor=principal.name,
    )
    return AdjustmentOut(**recorded.as_dict())
