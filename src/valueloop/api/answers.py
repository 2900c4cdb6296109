"""Every status each route can answer, declared in the OpenAPI description with the one error shape.

The error statuses of a route follow from what it is made of, so they are derived rather than
listed by hand (:func:`error_statuses`): a route that authenticates can answer 401 and, as every
route behind a sign-in can be throttled, 429; one that checks a role 403; one with a path
parameter 404; one with any parameter or a body 422; one that reads a body 413 and 408; every
route 500 and 504. A route adds what its own work can answer, a 409 say, with
:func:`conflict`. Every 4xx and 5xx answer is declared with the body
:class:`~valueloop.api.errors.ErrorOut`; FastAPI's own validation-error schema, which the API
never sends, is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from valueloop.api.errors import ErrorOut, error_response
from valueloop.api.signin import RoleCheck, current_principal

ERROR_SCHEMA = "ErrorOut"
_REF = "#/components/schemas/{model}"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

DESCRIPTIONS: dict[int, str] = {
    401: "No bearer token, or one that is malformed, unknown, revoked or expired.",
    403: "The token's role may not do this; `detail` names the role it needs.",
    404: "Nothing has the id in the path.",
    408: "The body did not arrive within the request timeout; the connection is closed.",
    409: "The request conflicts with the state of what it acts on.",
    413: "The body is larger than the route accepts; split it.",
    422: "A parameter or the body is invalid; `detail` names it and `errors` lists each field.",
    429: "Too many refused tokens from this address, or too many new series from this sender; "
    "`Retry-After` says when to try again.",
    500: "An internal error, logged under `request_id`; quote it when reporting it.",
    504: "The answer was not ready within the request timeout; the work may still complete "
    "(a batch sent again with its Idempotency-Key is stored once).",
}
"""What each error status means, on any route that can answer it."""

_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Whole seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    },
}


def conflict(description: str) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses`` entry saying when it answers 409."""
    return {409: {"description": description}}


def not_found(description: str) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses`` entry saying when it answers 404 (one without a path parameter)."""
    return {404: {"description": description}}


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    allowed: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path_regex.fullmatch(path):
            allowed |= context.methods or set()
    return sorted(allowed)


def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 with an ``Allow`` header naming every method the path takes, over all its routes."""
    allowed = _allowed_methods(request.app, request.url.path)
    detail = f"{request.method} is not allowed here; use {', '.join(allowed) or 'another path'}"
    return error_response(request.scope, 405, detail, headers={"Allow": ", ".join(allowed)})


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """The routes of ``app``'s OpenAPI description, each as included (with its router's prefix
    and dependencies)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def reads_body(route: RouteContext) -> bool:
    """Whether ``route`` reads a request body (a declared model, or a body it parses itself)."""
    return route.body_field is not None or "requestBody" in (route.openapi_extra or {})


def error_statuses(route: RouteContext) -> set[int]:
    """The error statuses ``route`` can answer, from its dependencies, parameters and body, and
    those it declares itself."""
    dependants = list(_dependants(route.dependant))
    calls = [dependant.call for dependant in dependants]
    statuses = {500, 504}
    if current_principal in calls:
        statuses |= {401, 429}
    if any(isinstance(call, RoleCheck) for call in calls):
        statuses.add(403)
    if any(dependant.path_params for dependant in dependants):
        statuses.add(404)
    has_parameters = any(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        for dependant in dependants
    )
    if has_parameters or reads_body(route):
        statuses.add(422)
    if reads_body(route):
        statuses |= {408, 413}
    declared = {int(status) for status in route.responses if str(status).isdigit()}
    return statuses | {status for status in declared if status >= 400}


def _error_answer(status: int, declared: dict[int, dict[str, Any]]) -> dict[str, Any]:
    description = DESCRIPTIONS.get(status, "An error.")
    if status in declared:
        description = str(declared[status].get("description", description))
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=ERROR_SCHEMA)}}},
    }
    if status in _HEADERS:
        answer["headers"] = _HEADERS[status]
    return answer


def _add_error_schemas(schemas: dict[str, Any]) -> None:
    error = ErrorOut.model_json_schema(ref_template=_REF)
    schemas.update(error.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = error


def document_answers(schema: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """``schema`` (``app``'s OpenAPI description) with every error status of every route declared
    in the one error shape."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_error_schemas(schemas)
    for route in api_routes(app):
        declared = {
            int(status): answer
            for status, answer in route.responses.items()
            if str(status).isdigit()
        }
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(route)):
                responses[str(status)] = _error_answer(status, declared)
    for name in _FASTAPI_VALIDATION:
        if _REF.format(model=name) not in json.dumps(schema):
            schemas.pop(name, None)
    return schema


class DocumentedAPI(FastAPI):
    """A FastAPI application whose OpenAPI description declares every error it can answer, and
    whose 405 answers name every method of the path."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.add_exception_handler(405, _method_not_allowed)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI description, made once: FastAPI's, with :func:`document_answers`."""
        if self.openapi_schema is None:
            self.openapi_schema = document_answers(super().openapi(), self)
        return self.openapi_schema
