"""valueloop errors as HTTP responses, in one place.

Routes and dependencies raise :class:`~valueloop.errors.ValueloopError` subclasses; the handler
installed by :func:`install_error_handlers` turns each into a status code and a ``{"detail": ...}``
body. Server-side failures, and any exception nothing else handled (the handler of last resort),
are logged with the request's id and answered with a JSON 500
``{"detail": "internal error", "request_id": ...}``, so a client can quote the id and keeps its
connection.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from valueloop.api.requestid import REQUEST_ID_HEADER, request_id
from valueloop.errors import (
    ActionError,
    AuthError,
    DataError,
    ForbiddenError,
    LimitError,
    ValueloopError,
)

logger = logging.getLogger(__name__)


__all__ = [
    "BodyTooLargeError",
    "ForbiddenError",
    "NotFoundError",
    "install_error_handlers",
    "status_of",
]


class NotFoundError(ValueloopError):
    """The requested resource does not exist."""


class BodyTooLargeError(DataError):
    """A request body is larger than the route accepts (HTTP 413)."""


_STATUS: dict[type[ValueloopError], int] = {
    NotFoundError: 404,
    BodyTooLargeError: 413,
    ForbiddenError: 403,
    AuthError: 401,
    LimitError: 422,
    ActionError: 409,
    DataError: 422,
}


def status_of(error: ValueloopError) -> int:
    """The HTTP status code of a valueloop error (500 for errors a client cannot fix)."""
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def _internal_error(scope: Scope, exc: BaseException, status: int = 500) -> JSONResponse:
    """Log ``exc`` under the request's id and answer with that id alone."""
    current = request_id(scope)
    logger.error(
        "request %s: %s %s failed",
        current,
        scope.get("method"),
        scope.get("path"),
        exc_info=exc,
    )
    return JSONResponse(
        {"detail": "internal error", "request_id": current},
        status_code=status,
        headers={REQUEST_ID_HEADER: current},
    )


def _handle(request: Request, exc: Exception) -> JSONResponse:
    error = exc if isinstance(exc, ValueloopError) else ValueloopError(str(exc))
    status = status_of(error)
    if status >= 500:
        return _internal_error(request.scope, exc, status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)


class LastResortMiddleware:
    """Answer any exception no handler took with a JSON 500 naming the request's id.

    Without it the server's own error page is sent and the exception raised on, which closes a
    keep-alive connection. An exception after the answer has begun cannot be answered; it is
    raised on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application; answer 500 if it fails before it answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def watch(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if answered:
                raise
            await _internal_error(scope, exc)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every :class:`ValueloopError` raised by a route with its HTTP status, and any
    other exception with a JSON 500."""
    app.add_exception_handler(ValueloopError, _handle)
    app.add_middleware(LastResortMiddleware)
