"""A request id for every HTTP request, to find a request's log lines from its answer.

An incoming ``X-Request-ID`` header is kept when it is short and of safe characters (a proxy's
or client's id); otherwise a new id is made. The id is held in the request's state
(``request.state.request_id``) and returned in the ``X-Request-ID`` response header.
"""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""An incoming id is kept only if it matches this: up to 128 letters, digits and ``._:-``."""


def request_id(scope: Scope) -> str:
    """The id of the request of ``scope``; one is made if it has none yet."""
    state: dict[str, object] = scope.setdefault("state", {})
    found = state.get("request_id")
    if isinstance(found, str):
        return found
    made = uuid.uuid4().hex
    state["request_id"] = made
    return made


class RequestIdMiddleware:
    """Give each HTTP request an id (the caller's if it is safe) and answer with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the request's id, then add it to the response's headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        if _SAFE_ID.fullmatch(incoming):
            scope.setdefault("state", {})["request_id"] = incoming
        current = request_id(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = current
            await send(message)

        await self.app(scope, receive, send_with_id)


def install_request_id(app: FastAPI) -> None:
    """Give every request of ``app`` an id, returned in the ``X-Request-ID`` header."""
    app.add_middleware(RequestIdMiddleware)
