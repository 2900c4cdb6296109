"""``GET /api/jobs``: the engine's job statuses, read with a viewer's token.

The application is wired here as :func:`valueloop.api.app.create_app` wires each router (under
``/api``, behind the viewer role), over a real site database, so the test needs no sector pack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from tests.engine.jobs import Sampler, Trainer

from valueloop.api.auth import issue_token
from valueloop.api.errors import install_error_handlers
from valueloop.api.routers import jobs
from valueloop.api.signin import require
from valueloop.engine import Engine, JobBook, SimulatedClock
from valueloop.store.duckdb import DuckDBStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TEN = timedelta(minutes=10)


@dataclass
class _SiteDatabase:
    """The part of a site the token check reads: its database."""

    store: DuckDBStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(tmp_path / "site.duckdb")
    yield opened
    opened.close()


@pytest.fixture
def app(store: DuckDBStore) -> FastAPI:
    application = FastAPI()
    application.state.site = _SiteDatabase(store)
    install_error_handlers(application)
    application.include_router(
        jobs.router, prefix="/api", dependencies=[Depends(require("viewer"))]
    )
    return application


def test_jobs_route_lists_the_engine_statuses(app: FastAPI, store: DuckDBStore) -> None:
    client = TestClient(app)
    viewer = {"Authorization": f"Bearer {issue_token(store, 'vera', 'viewer')}"}
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs", headers=viewer).json() == []

    engine = Engine(
        JobBook(store),
        [Sampler(store, "analytics", TEN), Trainer(store, "model", TEN, "analytics", 3)],
        clock=SimulatedClock(T0),
    )
    app.state.engine = engine
    listed = client.get("/api/jobs", headers=viewer).json()
    assert [(job["name"], job["status"], job["next_run"]) for job in listed] == [
        ("analytics", None, None),
        ("model", None, None),
    ]
    engine.run_due()
    analytics, model = client.get("/api/jobs", headers=viewer).json()
    assert analytics == {
        "name": "analytics",
        "status": "ok",
        "message": "",
        "watermark": "2026-03-01T00:00:00Z",
        "last_run": "2026-03-01T00:00:00Z",
        "next_run": "2026-03-01T00:10:00Z",
        "failures": 0,
        "runs": 1,
        "last_error": None,
        "seconds": analytics["seconds"],
    }
    assert analytics["seconds"] >= 0
    assert (model["status"], model["message"]) == ("waiting", "1 of 3 samples")
