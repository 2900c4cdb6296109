"""Serving the console: the page at ``/`` and its files under ``/static``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from valueloop.console import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/")
def console_page() -> FileResponse:
    """The console page."""
    return FileResponse(STATIC_DIR / "index.html")


def mount_console(app: FastAPI) -> None:
    """Serve the console page at ``/`` and its static files under ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
