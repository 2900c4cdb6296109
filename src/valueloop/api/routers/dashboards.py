"""Dashboards: each user's own and the shared ones; the owner edits, everyone reads a shared one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from valueloop.api.auth import Principal
from valueloop.api.errors import ForbiddenError, NotFoundError
from valueloop.api.paging import ListPage
from valueloop.api.signin import current_principal
from valueloop.errors import ActionError
from valueloop.store.dashboards import Dashboard, DashboardBook

router = APIRouter(prefix="/dashboards", tags=["dashboards"])

GRID_COLUMNS = 12
"""Columns of a dashboard's grid."""
MAX_PANELS = 100
"""The most panels a dashboard holds."""

User = Annotated[Principal, Depends(current_principal)]


def dashboard_book(request: Request) -> DashboardBook:
    """The site's dashboard book, opened once per application."""
    book: DashboardBook | None = getattr(request.app.state, "dashboard_book", None)
    if book is None:
        book = request.app.state.dashboard_book = DashboardBook(request.app.state.site.store)
    return book


Book = Annotated[DashboardBook, Depends(dashboard_book)]


class Panel(BaseModel):
    """A panel of a dashboard, placed on a 12-column grid (in grid units)."""

    model_config = ConfigDict(strict=True)

    id: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Literal["trend", "kpi", "gauge", "alarms", "table", "gantt"]
    x: Annotated[int, Field(ge=0, lt=GRID_COLUMNS)]
    y: Annotated[int, Field(ge=0, le=10_000)]
    w: Annotated[int, Field(ge=1, le=GRID_COLUMNS)]
    h: Annotated[int, Field(ge=1, le=100)]
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="what the panel shows, by kind: series ids, unit, thresholds, a plan id",
    )

    @model_validator(mode="after")
    def _on_the_grid(self) -> Self:
        if self.x + self.w > GRID_COLUMNS:
            raise ValueError(f"x + w must be at most {GRID_COLUMNS}, the grid's columns")
        return self


class DashboardIn(BaseModel):
    """A dashboard as its owner saves it."""

    model_config = ConfigDict(strict=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    shared: bool = False
    panels: Annotated[list[Panel], Field(max_length=MAX_PANELS)] = []

    @model_validator(mode="after")
    def _distinct_panels(self) -> Self:
        ids = [panel.id for panel in self.panels]
        if len(set(ids)) != len(ids):
            raise ValueError("each panel needs its own id")
        return self


class DashboardOut(BaseModel):
    """A dashboard, its owner and when it was made and last saved."""

    id: str
    name: str
    shared: bool
    owner: str
    panels: list[Panel]
    created_at: datetime
    updated_at: datetime


def _out(dashboard: Dashboard) -> DashboardOut:
    return DashboardOut(
        id=dashboard.dashboard_id,
        name=dashboard.name,
        shared=dashboard.shared,
        owner=dashboard.owner,
        panels=[Panel.model_validate(panel) for panel in dashboard.panels],
        created_at=dashboard.created_at,
        updated_at=dashboard.updated_at,
    )


def _visible(book: DashboardBook, dashboard_id: str, user: Principal) -> Dashboard:
    """A dashboard the user may see (404 for one they may not: its id tells them nothing)."""
    try:
        dashboard = book.get(dashboard_id)
    except ActionError as err:
        raise NotFoundError(str(err)) from err
    if not dashboard.visible_to(user.name):
        raise NotFoundError(f"no dashboard {dashboard_id!r}")
    return dashboard


def _owned(book: DashboardBook, dashboard_id: str, user: Principal) -> Dashboard:
    """A dashboard the user may change: theirs (403 for another's shared one)."""
    dashboard = _visible(book, dashboard_id, user)
    if not dashboard.owned_by(user.name):
        raise ForbiddenError(f"dashboard {dashboard_id} is {dashboard.owner}'s; only they edit it")
    return dashboard


@router.get("")
def list_dashboards(book: Book, user: User, page: ListPage) -> list[DashboardOut]:
    """The token owner's dashboards and the shared ones, by name, a page at a time."""
    dashboards = page.rows(
        book.visible_to(user.name), lambda dashboard: (dashboard.name, dashboard.dashboard_id)
    )
    return [_out(dashboard) for dashboard in dashboards]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_dashboard(body: DashboardIn, book: Book, user: User) -> DashboardOut:
    """Save a new dashboard of the token's owner."""
    panels = [panel.model_dump() for panel in body.panels]
    return _out(book.create(user.name, body.name, shared=body.shared, panels=panels))


@router.get("/{dashboard_id}")
def get_dashboard(dashboard_id: str, book: Book, user: User) -> DashboardOut:
    """One dashboard: the token owner's, or a shared one."""
    return _out(_visible(book, dashboard_id, user))


@router.put("/{dashboard_id}")
def replace_dashboard(dashboard_id: str, body: DashboardIn, book: Book, user: User) -> DashboardOut:
    """Save a dashboard anew: name, sharing and panels (its owner only)."""
    _owned(book, dashboard_id, user)
    panels = [panel.model_dump() for panel in body.panels]
    return _out(book.replace(dashboard_id, body.name, shared=body.shared, panels=panels))


@router.delete("/{dashboard_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dashboard(dashboard_id: str, book: Book, user: User) -> Response:
    """Drop a dashboard (its owner only)."""
    _owned(book, dashboard_id, user)
    book.delete(dashboard_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
