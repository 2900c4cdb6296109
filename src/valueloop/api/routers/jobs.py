"""The status of the engine's jobs: what each did last, its watermark and when it runs next."""

from __future__ import annotations

from fastapi import APIRouter, Request

from valueloop.engine import Engine, JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/jobs")
def list_jobs(request: Request) -> list[JobStatus]:
    """Every job of the engine the server runs, in data-flow order (none without an engine)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        return []
    return engine.statuses()
