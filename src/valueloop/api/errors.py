"""valueloop errors as HTTP responses, in one place.

Routes and dependencies raise :class:`~valueloop.errors.ValueloopError` subclasses; the handler
installed by :func:`install_error_handlers` turns each into a status code and a ``{"detail": ...}``
body. Server-side failures are logged and answered with a generic message.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from valueloop.errors import (
    ActionError,
    AuthError,
    DataError,
    ForbiddenError,
    LimitError,
    ValueloopError,
)

logger = logging.getLogger(__name__)


__all__ = ["ForbiddenError", "NotFoundError", "install_error_handlers", "status_of"]


class NotFoundError(ValueloopError):
    """The requested resource does not exist."""


_STATUS: dict[type[ValueloopError], int] = {
    NotFoundError: 404,
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


def _handle(request: Request, exc: Exception) -> JSONResponse:
    error = exc if isinstance(exc, ValueloopError) else ValueloopError(str(exc))
    status = status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status >= 500:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse({"detail": "internal error; see the server log"}, status_code=status)
    return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every :class:`ValueloopError` raised by a route with its HTTP status."""
    app.add_exception_handler(ValueloopError, _handle)
