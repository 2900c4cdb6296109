"""Work orders: list, approve or reject (operator role), and each order's audit trail."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from valueloop.act.workorders import OrderStatus
from valueloop.api.auth import Principal, require
from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import AuditOut, DecisionIn, WorkOrderOut
from valueloop.errors import ActionError
from valueloop.site import Site

router = APIRouter(prefix="/workorders", tags=["work orders"])

Operator = Annotated[Principal, Depends(require("operator"))]

_decisions = threading.Lock()
"""Decisions are taken one at a time, so an order cannot be decided twice by racing requests."""


def _order(site: Site, order_id: str) -> dict[str, Any]:
    try:
        return site.work_orders.get(order_id)
    except ActionError as err:
        raise NotFoundError(str(err)) from err


def _decide(
    site: Site, order_id: str, to: OrderStatus, principal: Principal, body: DecisionIn | None
) -> WorkOrderOut:
    comment = body.comment if body is not None else ""
    with _decisions:
        _order(site, order_id)
        order = site.work_orders.transition(order_id, to, actor=principal.name, comment=comment)
    return WorkOrderOut.model_validate(order)


@router.get("")
def list_work_orders(site: SiteDep, status: OrderStatus | None = None) -> list[WorkOrderOut]:
    """Work orders by due time, optionally only those in ``status``."""
    return rows_as(WorkOrderOut, site.work_orders.list(status))


@router.get("/{order_id}")
def get_work_order(order_id: str, site: SiteDep) -> WorkOrderOut:
    """One work order."""
    return WorkOrderOut.model_validate(_order(site, order_id))


@router.post("/{order_id}/approve")
def approve_work_order(
    order_id: str, site: SiteDep, principal: Operator, body: DecisionIn | None = None
) -> WorkOrderOut:
    """Approve a proposed work order on behalf of the token's owner (409 if not proposed)."""
    return _decide(site, order_id, OrderStatus.APPROVED, principal, body)


@router.post("/{order_id}/reject")
def reject_work_order(
    order_id: str, site: SiteDep, principal: Operator, body: DecisionIn | None = None
) -> WorkOrderOut:
    """Reject a proposed work order on behalf of the token's owner (409 if not proposed)."""
    return _decide(site, order_id, OrderStatus.REJECTED, principal, body)


@router.get("/{order_id}/audit")
def work_order_audit(order_id: str, site: SiteDep) -> list[AuditOut]:
    """Every recorded move of one work order, with who and when, oldest first."""
    _order(site, order_id)
    return rows_as(AuditOut, site.work_orders.audit_trail(order_id))
