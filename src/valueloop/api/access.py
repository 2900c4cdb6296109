"""The access log: one JSON line per HTTP request, on the logger ``valueloop.access``.

A line holds the method, the route template (``/api/workorders/{order_id}``; ``-`` for static
files and paths no route matched) and the path, the status, the duration in milliseconds, the
authenticated user's name (``-`` when none), the client's address and the request's id (the one
answered in ``X-Request-ID``: :mod:`valueloop.api.requestid`). Query strings and headers are never
logged, so neither is a token. The path, which a client chose, is cut to 200 characters and
escaped by JSON, as every value is, so a line is always one line.

Refused sign-ins are audited on the child logger ``valueloop.access.auth``
(:mod:`valueloop.api.throttle`). When the process has configured no logging (``valueloop serve``
does not), :func:`install_access_log` sends both to standard error at level INFO; otherwise they
go wherever the process's logging configuration sends them.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valueloop.api.requestid import request_id
from valueloop.api.signin import principal_of

logger = logging.getLogger("valueloop.access")

_MAX_PATH = 200


def client_address(scope: Scope) -> str:
    """The address of the client that sent the request, as the connection says (``-`` if none).

    Forwarding headers (``X-Forwarded-For``) count only from a proxy ``valueloop serve
    --trusted-proxy`` names (the server then gives the client's address here); any client can
    write them, so from anyone else they are ignored.
    """
    client = scope.get("client")
    return str(client[0]) if client else "-"


def _route_template(scope: Scope) -> str:
    """The template of the route that answered (``-`` if none), prefixes of included routers too.

    A route knows only its own template; the prefixes it was included under are the part of the
    path in front of what the route matches.
    """
    route = scope.get("route")
    pattern = getattr(route, "path_regex", None)
    template = getattr(route, "path_format", None)
    if pattern is None or not isinstance(template, str):
        return "-"
    path: str = scope["path"]
    for cut, char in enumerate(path):
        if char == "/" and pattern.match(path[cut:]):
            return path[:cut] + template
    return template


class AccessLog:
    """ASGI middleware writing one access-log line per HTTP request, once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and log it, failed ones (status 500) included."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            principal = principal_of(scope)
            line = {
                "method": scope["method"],
                "route": _route_template(scope),
                "path": scope["path"][:_MAX_PATH],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user": principal.name if principal else "-",
                "client": client_address(scope),
                "request_id": request_id(scope),
            }
            logger.info(json.dumps(line))


def install_access_log(app: FastAPI) -> None:
    """Log every request ``app`` answers; install it after other middleware, so that it sees the
    answers they give (a throttled request's 429, say)."""
    app.add_middleware(AccessLog)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
