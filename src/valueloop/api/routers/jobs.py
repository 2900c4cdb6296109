"""The status of the engine's jobs: what each did last, its watermark and when it runs next."""

from __future__ import annotations

from fastapi import APIRouter, Request

from valueloop.api.paging import ListPage
from valueloop.engine import Engine, JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/jobs")
def list_jobs(request: Request, page: ListPage) -> list[JobStatus]:
    """The jobs of the engine the server runs, in data-flow order, a page at a time (none
    without an engine)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    return page.rows([] if engine is None else engine.statuses())
