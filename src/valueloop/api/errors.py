"""valueloop errors as HTTP responses, in one place and in one shape.

Every 4xx and 5xx answer of the API has the body :class:`ErrorOut`: ``detail``, a sentence naming
what is wrong (the parameter, row and field, or limit) and what to do; ``request_id``, the id of
the request (also in the ``X-Request-ID`` header), to find its log lines; and ``errors``, one item
per invalid parameter or body field when the request failed validation (left out otherwise).

Routes and dependencies raise :class:`~valueloop.errors.ValueloopError` subclasses; the handler
installed by :func:`install_error_handlers` turns each into its status code
(:func:`status_of`). Failed request validation, the framework's own errors (an unknown path, a
method a route does not take) and :class:`~fastapi.HTTPException` are answered in the same
shape. Server-side failures, and any exception nothing else handled (the handler of last resort),
are logged with the request's id and answered with a JSON 500 ``internal error``, so a client can
quote the id and keeps its connection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
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
    "ErrorOut",
    "FieldErrorOut",
    "ForbiddenError",
    "NotFoundError",
    "error_response",
    "install_error_handlers",
    "status_of",
]

_SHOWN_FIELD_ERRORS = 5
"""Field errors named in an answer's ``detail``; ``errors`` lists them all."""


class NotFoundError(ValueloopError):
    """The requested resource does not exist."""


class BodyTooLargeError(DataError):
    """A request body is larger than the route accepts (HTTP 413)."""


class FieldErrorOut(BaseModel):
    """One invalid parameter or body field of a request."""

    model_config = ConfigDict(frozen=True)

    loc: list[str | int] = Field(
        description="Where: ``path``, ``query``, ``header`` or ``body``, then the field's names "
        "and positions."
    )
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="The kind of error, e.g. ``int_parsing`` or ``missing``.")


class ErrorOut(BaseModel):
    """The body of every 4xx and 5xx answer."""

    model_config = ConfigDict(frozen=True)

    detail: str = Field(description="What is wrong (naming the field or limit) and what to do.")
    request_id: str = Field(description="The request's id, as in the X-Request-ID header.")
    errors: list[FieldErrorOut] = Field(
        default=[],
        description="Each invalid parameter or body field; left out for other errors.",
    )


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


def error_response(
    scope: Scope,
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldErrorOut] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An answer of ``status`` in the one error shape, naming the request's id."""
    current = request_id(scope)
    body = ErrorOut(detail=detail, request_id=current, errors=list(errors))
    return JSONResponse(
        body.model_dump(mode="json", exclude_defaults=True),
        status_code=status,
        headers={**(headers or {}), REQUEST_ID_HEADER: current},
    )


def _internal_error(scope: Scope, exc: BaseException, status: int = 500) -> JSONResponse:
    """Log ``exc`` under the request's id and answer with that id alone."""
    logger.error(
        "request %s: %s %s failed",
        request_id(scope),
        scope.get("method"),
        scope.get("path"),
        exc_info=exc,
    )
    return error_response(scope, status, "internal error")


def _handle(request: Request, exc: Exception) -> JSONResponse:
    error = exc if isinstance(exc, ValueloopError) else ValueloopError(str(exc))
    status = status_of(error)
    if status >= 500:
        return _internal_error(request.scope, exc, status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(request.scope, status, str(error), headers=headers)


def _field_error(error: Mapping[str, Any]) -> FieldErrorOut:
    return FieldErrorOut(
        loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
        msg=str(error.get("msg", "")),
        type=str(error.get("type", "")),
    )


def _handle_invalid(request: Request, exc: Exception) -> JSONResponse:
    """A request that failed validation: 422 naming each invalid field."""
    raw = exc.errors() if isinstance(exc, RequestValidationError) else []
    errors = [_field_error(error) for error in raw]
    named = "; ".join(
        f"{'.'.join(str(part) for part in error.loc)}: {error.msg}"
        for error in errors[:_SHOWN_FIELD_ERRORS]
    )
    more = len(errors) - _SHOWN_FIELD_ERRORS
    detail = (named or "the request is invalid") + (f"; and {more} more" if more > 0 else "")
    return error_response(request.scope, 422, detail, errors=errors)


def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    """The framework's own answers (an unknown path, a method not allowed) and HTTPException."""
    if not isinstance(exc, HTTPException):
        return _internal_error(request.scope, exc)
    if exc.status_code >= 500:
        return _internal_error(request.scope, exc, exc.status_code)
    if exc.status_code == 400:  # the framework could not read the body: it is invalid
        return error_response(request.scope, 422, f"body: {exc.detail} (not UTF-8 JSON)")
    return error_response(request.scope, exc.status_code, str(exc.detail), headers=exc.headers)


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
    """Answer every error of ``app`` in the one shape: a :class:`ValueloopError` raised by a route
    with its HTTP status, failed validation with 422, and any other exception with a JSON 500."""
    app.add_exception_handler(ValueloopError, _handle)
    app.add_exception_handler(RequestValidationError, _handle_invalid)
    app.add_exception_handler(HTTPException, _handle_http)
    app.add_middleware(LastResortMiddleware)
