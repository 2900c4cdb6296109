"""A bound on request bodies: 413 before a body larger than the route accepts is read whole.

Every route's body is at most :data:`MAX_REQUEST_BYTES` (16 MiB; a declaration of 1,000 series or
a page of forwarded dead letters is far less), refused from its ``Content-Length`` or as soon as
the bytes read pass it. ``POST /api/ingest`` bounds its own body (see
:mod:`valueloop.api.routers.ingest`) and is left to do so.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valueloop.api.errors import error_response

MAX_REQUEST_BYTES = 16 * 2**20
"""The largest body a route other than the ingest of readings accepts, in bytes."""
OWN_LIMIT_PATHS = frozenset({"/api/ingest"})
"""Paths whose route bounds its body itself."""


def _too_large(size: str, limit: int) -> str:
    return f"the body has {size} bytes; send at most {limit}"


class BodyLimit:
    """ASGI middleware answering 413 for a body over :data:`MAX_REQUEST_BYTES`."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a body declared too large; stop reading one that turns out too large."""
        if scope["type"] != "http" or scope["path"] in OWN_LIMIT_PATHS:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await error_response(scope, 413, _too_large(declared, self.limit))(scope, receive, send)
            return
        size = 0

        async def receive_counting() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:
                raise HTTPException(413, _too_large(f"more than {self.limit}", self.limit))
            return message

        await self.app(scope, receive_counting, send)


def install_body_limit(app: FastAPI) -> None:
    """Bound the bodies of ``app``'s requests (the ingest of readings bounds its own)."""
    app.add_middleware(BodyLimit)
