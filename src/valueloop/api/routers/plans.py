"""Plans, newest first, and one plan with its per-asset assignments."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.errors import NotFoundError
from valueloop.api.models import AssignmentOut, PlanDetail, PlanOut, PlanRowsOut
from valueloop.api.paging import ListPage
from valueloop.errors import OptimizeError

router = APIRouter(prefix="/plans", tags=["plans"])


@router.get("")
def list_plans(site: SiteDep, page: ListPage) -> list[PlanOut]:
    """The plans' headers, newest first, a page at a time."""
    plans = rows_as(PlanOut, site.plans.list())
    return page.rows(plans, lambda plan: (plan.created_at, plan.plan_id), descending=True)


@router.get("/{plan_id}")
def get_plan(plan_id: str, site: SiteDep) -> PlanDetail:
    """A plan with its assignments, by day; assets not serviced within the horizon last."""
    try:
        header = site.plans.get(plan_id)
    except OptimizeError as err:
        raise NotFoundError(str(err)) from err
    return PlanDetail(
        plan=PlanOut.model_validate(header),
        assignments=rows_as(AssignmentOut, site.plans.assignments(plan_id)),
    )


@router.get("/{plan_id}/rows")
def get_plan_rows(plan_id: str, site: SiteDep) -> PlanRowsOut:
    """A schedule, route or dispatch plan kept by ``valueloop solve --record``, with its rows."""
    try:
        header = site.plans.get(plan_id)
        source, rows = site.plans.solution_rows(plan_id)
    except OptimizeError as err:
        raise NotFoundError(str(err)) from err
    return PlanRowsOut(plan=PlanOut.model_validate(header), source=source, rows=rows)
