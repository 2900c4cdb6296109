"""The status of the engine's jobs: what each did last, its watermark and when it runs next."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from valueloop.engine import Engine, JobState

router = APIRouter(tags=["jobs"])


class JobStatusOut(BaseModel):
    """A job's last step and schedule.

    ``status`` is null until the job first runs; ``next_run`` is null when it runs at the engine's
    next tick. ``last_run`` and ``next_run`` are times of the engine's clock, ``watermark`` the data
    time up to which the job has done its work, ``seconds`` the wall duration of its last step,
    ``failures`` its failed steps since its last success and ``runs`` all its steps.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    status: JobState | None
    message: str
    watermark: datetime | None
    last_run: datetime | None
    next_run: datetime | None
    failures: int
    runs: int
    last_error: str | None
    seconds: float | None


@router.get("/jobs")
def list_jobs(request: Request) -> list[JobStatusOut]:
    """Every job of the engine the server runs, in data-flow order (none without an engine)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        return []
    return [JobStatusOut(**asdict(status)) for status in engine.statuses()]
