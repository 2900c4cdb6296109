"""Work orders: propose (operator), approve, reject (approver), roll back, complete, audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from valueloop.act.dispatch import Completion
from valueloop.act.trail import approvers
from valueloop.act.workorders import OrderStatus
from valueloop.api.answers import conflict
from valueloop.api.auth import Principal
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import (
    AuditOut,
    DecisionIn,
    MaintenanceTaskIn,
    RollbackIn,
    WorkOrderIn,
    WorkOrderOut,
)
from valueloop.api.paging import ListPage
from valueloop.api.signin import require
from valueloop.errors import ActionError
from valueloop.site import Site

router = APIRouter(prefix="/workorders", tags=["work orders"])

Operator = Annotated[Principal, Depends(require("operator"))]
Approver = Annotated[Principal, Depends(require("approver"))]


def _order(site: Site, order_id: str) -> dict[str, Any]:
    try:
        return site.work_orders.get(order_id)
    except ActionError as err:
        raise NotFoundError(str(err)) from err


def order_out(
    site: Site, order: dict[str, Any], entries: list[dict[str, Any]] | None = None
) -> WorkOrderOut:
    """An order with who approved it and how many approvals its policy asks for.

    ``entries`` are the order's ``approve`` audit entries when the caller has them already.
    """
    if entries is None:
        entries = site.work_orders.approvals([order["order_id"]])[order["order_id"]]
    return WorkOrderOut.model_validate(
        {
            **order,
            "approved_by": approvers(entries, str(order["created_by"])),
            "approvals_needed": site.config.policy.of(str(order["kind"])).approvals,
        }
    )


@router.get("")
def list_work_orders(
    site: SiteDep, page: ListPage, status: OrderStatus | None = None
) -> list[WorkOrderOut]:
    """Work orders by due time, optionally only those in ``status``, a page at a time."""
    orders = page.rows(
        site.work_orders.list(status).to_pylist(),
        lambda order: (order["due_at"], order["asset"], order["order_id"]),
    )
    approvals = site.work_orders.approvals([order["order_id"] for order in orders])
    return [order_out(site, order, approvals[order["order_id"]]) for order in orders]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=conflict("The asset or set-point cannot take this order now."),
)
def propose_work_order(body: WorkOrderIn, site: SiteDep, principal: Operator) -> WorkOrderOut:
    """Propose a set-point change or a maintenance task on behalf of the token's owner.

    A set-point change outside its limits (range, step from the current value, rate) is refused
    with a 422 naming the limit.
    """
    desk = site.actions
    if isinstance(body, MaintenanceTaskIn):
        order = desk.propose_task(
            body.asset,
            body.task,
            window_start=body.window_start,
            window_end=body.window_end,
            crew=body.crew,
            expected_value=body.expected_value,
            actor=principal.name,
        )
    else:
        order = desk.propose_setpoint(
            body.asset,
            body.setpoint,
            target=body.target,
            change=body.change,
            reason=body.reason,
            expected_value=body.expected_value,
            due_at=body.due_at,
            actor=principal.name,
        )
    return order_out(site, order)


@router.get("/{order_id}")
def get_work_order(order_id: str, site: SiteDep) -> WorkOrderOut:
    """One work order."""
    return order_out(site, _order(site, order_id))


def _decide(
    site: Site, order_id: str, principal: Principal, body: DecisionIn | None, approve: bool
) -> WorkOrderOut:
    _order(site, order_id)
    decide = site.actions.approve if approve else site.actions.reject
    order = decide(
        order_id,
        actor=principal.name,
        role=principal.role,
        comment=body.comment if body is not None else "",
    )
    return order_out(site, order)


@router.post(
    "/{order_id}/approve",
    responses=conflict("The order is not proposed, or the token's owner proposed or approved it."),
)
def approve_work_order(
    order_id: str, site: SiteDep, principal: Approver, body: DecisionIn | None = None
) -> WorkOrderOut:
    """Add the token owner's approval (never the proposer's); approved once the policy's count
    of approvers is reached (409 if not proposed or approved by them already)."""
    return _decide(site, order_id, principal, body, approve=True)


@router.post("/{order_id}/reject", responses=conflict("The order is not proposed."))
def reject_work_order(
    order_id: str, site: SiteDep, principal: Approver, body: DecisionIn | None = None
) -> WorkOrderOut:
    """Reject a proposed work order on behalf of the token's owner (409 if not proposed)."""
    return _decide(site, order_id, principal, body, approve=False)


@router.post(
    "/{order_id}/rollback",
    status_code=status.HTTP_201_CREATED,
    responses=conflict("The order is not an executed set-point change, or has a rollback."),
)
def roll_back_work_order(
    order_id: str, site: SiteDep, principal: Operator, body: RollbackIn | None = None
) -> WorkOrderOut:
    """Propose the rollback of an executed set-point change to its audited previous value.

    The rollback is a work order of its own, decided under the same policy.
    """
    _order(site, order_id)
    order = site.actions.rollback(
        order_id, actor=principal.name, reason=body.reason if body is not None else ""
    )
    return order_out(site, order)


@router.post(
    "/{order_id}/complete",
    responses=conflict("The order is not a dispatched maintenance task."),
)
def complete_work_order(
    order_id: str, body: Completion, site: SiteDep, principal: Operator
) -> WorkOrderOut:
    """Close a dispatched maintenance task with its actual cost, duration and findings
    (the maintenance system's completion call)."""
    _order(site, order_id)
    order = site.actions.complete(
        order_id,
        actor=principal.name,
        actual_cost=body.actual_cost,
        duration_h=body.duration_h,
        findings=body.findings,
    )
    return order_out(site, order)


@router.get("/{order_id}/audit")
def work_order_audit(order_id: str, site: SiteDep) -> list[AuditOut]:
    """Every recorded move of one work order, with who and when, oldest first."""
    _order(site, order_id)
    return [
        AuditOut.model_validate(row) for row in site.work_orders.audit_trail(order_id).to_pylist()
    ]
