"""Serving the console: the page at ``/`` and its files under ``/static``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from valueloop.console import STATIC_DIR

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""The page may load and call only its own server, and passes no referrer (it may carry a token)."""

router = APIRouter(include_in_schema=False)


@router.get("/")
def console_page() -> FileResponse:
    """The console page."""
    return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)


def mount_console(app: FastAPI) -> None:
    """Serve the console page at ``/`` and its static files under ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
