"""Expected and verified value side by side: per action, per asset and per contract.

Figures come from the ledger (see :mod:`valueloop.value.side_by_side`); a figure not measured yet,
or that could not be measured, is null. Money is in the site's currency, savings in the KPI's
unit.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from valueloop.api.deps import SiteDep
from valueloop.api.paging import ListPage
from valueloop.site import Site
from valueloop.value.plans import PlanBook
from valueloop.value.side_by_side import (
    ActionValue,
    ValueTotal,
    action_values,
    by_asset,
    by_contract,
)

router = APIRouter(prefix="/value", tags=["value"])


class ActionValueOut(BaseModel):
    """One executed action measured on one KPI: the value expected beside the value verified."""

    plan_id: str
    order_id: str
    asset: str
    action: str
    kpi: str
    option: str = Field(description="IPMVP option, B (the asset metered) or C (the whole site).")
    status: str = Field(description="`open` (reporting window not closed) or `measured`.")
    reporting_end: datetime
    unit: str
    currency: str
    expected_value: float = Field(description="What the proposal expected, in money.")
    verified: bool | None = Field(
        description="Whether the saving is verified; null until measured."
    )
    reasons: list[str] = Field(description="Why the saving is not verified.")
    revision: int | None
    confidence: float | None = Field(description="Of `money_uncertainty`: 0.68 or 0.9.")
    saving: float | None = Field(description="Verified saving, in `unit`.")
    uncertainty_68: float | None
    uncertainty_90: float | None
    money: float | None = Field(description="The saving in money (earned only when verified).")
    money_uncertainty: float | None


class ValueTotalOut(BaseModel):
    """The actions of an asset or a contract: expected value beside verified value."""

    name: str = Field(description="The asset's name or the contract's id.")
    currency: str
    actions: int = Field(description="Work orders measured or being measured.")
    measured: int = Field(description="Measurements recorded (one per action and KPI).")
    verified: int = Field(description="Verified savings among them.")
    expected_value: float = Field(description="Each work order's expected value, added once.")
    verified_value: float = Field(description="Money of the verified savings.")
    uncertainty: float = Field(description="Of `verified_value`, in quadrature.")


def _action(value: ActionValue) -> ActionValueOut:
    plan = value.plan
    return ActionValueOut(
        plan_id=plan.plan_id,
        order_id=plan.order_id,
        asset=plan.asset,
        action=plan.action,
        kpi=plan.kpi,
        option=plan.option,
        status=value.status,
        reporting_end=plan.reporting_end,
        unit=plan.unit,
        currency=plan.currency,
        expected_value=value.expected_value,
        verified=value.verified,
        reasons=list(value.reasons),
        revision=value.revision,
        confidence=value.confidence,
        saving=value.saving,
        uncertainty_68=value.uncertainty_68,
        uncertainty_90=value.uncertainty_90,
        money=value.money,
        money_uncertainty=value.money_uncertainty,
    )


def _totals(site: Site, totals: list[ValueTotal]) -> list[ValueTotalOut]:
    currency = site.config.site.currency
    return [ValueTotalOut(currency=currency, **asdict(total)) for total in totals]


@router.get("/actions")
def list_action_values(
    site: SiteDep,
    page: ListPage,
    asset: Annotated[str | None, Query(description="Only the actions on this asset.")] = None,
) -> list[ActionValueOut]:
    """Each measured action (work order and KPI) with its expected and verified value, by plan."""
    values = action_values(PlanBook(site.store), site.ledger, asset)
    return page.rows([_action(value) for value in values], lambda row: (row.plan_id,))


@router.get("/assets")
def list_asset_values(site: SiteDep, page: ListPage) -> list[ValueTotalOut]:
    """Each asset acted on with the expected and verified value of its actions, by name."""
    totals = by_asset(action_values(PlanBook(site.store), site.ledger))
    return page.rows(_totals(site, totals), lambda row: (row.name,))


@router.get("/contracts")
def list_contract_values(site: SiteDep, page: ListPage) -> list[ValueTotalOut]:
    """Each contract with the expected and verified value of the actions it covers, by id."""
    values = action_values(PlanBook(site.store), site.ledger)
    totals = by_contract(site.config.value.contracts, values)
    return page.rows(_totals(site, totals), lambda row: (row.name,))
