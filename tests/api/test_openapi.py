"""The OpenAPI description is honest: every route declares every status it can answer, each error
in the one shape, and the ingest route the three body types it reads."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import bearer

from valueloop.api.app import create_app
from valueloop.ingest.wire import ARROW_TYPE, CSV_TYPE, JSON_TYPE
from valueloop.site import Site

ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture
def openapi(site: Site) -> dict[str, Any]:
    with TestClient(create_app(site)) as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
    ]


def expected_statuses(path: str, operation: dict[str, Any]) -> set[str]:
    """What any route like this one can answer, whatever it does."""
    statuses = {"500", "504"}
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        statuses |= {"401", "403", "429"}
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses.add("404")
    if parameters or "requestBody" in operation:
        statuses.add("422")
    if "requestBody" in operation:
        statuses |= {"408", "413"}
    return statuses


def test_every_route_declares_every_status_it_can_answer(openapi: dict[str, Any]) -> None:
    found = operations(openapi)
    assert len(found) >= 40
    for method, path, operation in found:
        declared = set(operation["responses"])
        missing = expected_statuses(path, operation) - declared
        assert not missing, f"{method} {path} does not declare {sorted(missing)}"
        if path.startswith("/api/"):
            assert operation.get("security"), f"{method} {path} declares no token"


def test_every_error_is_declared_in_the_one_shape(openapi: dict[str, Any]) -> None:
    for method, path, operation in operations(openapi):
        for status, answer in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, status)
            assert answer["description"], (method, path, status)
    schemas = openapi["components"]["schemas"]
    assert {"HTTPValidationError", "ValidationError"}.isdisjoint(schemas)
    error = schemas["ErrorOut"]
    assert set(error["required"]) == {"detail", "request_id"}
    assert error["properties"]["detail"]["type"] == "string"


def test_conflicts_and_retry_after_are_declared(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    for path in (
        "/api/ingest",
        "/api/ingest/deadletters",
        "/api/users",
        "/api/workorders/{order_id}/approve",
        "/api/alarms/{alarm_id}/acknowledge",
        "/api/tokens/{token_id}/revoke",
    ):
        assert "409" in paths[path]["post"]["responses"], path
    throttled = paths["/api/me"]["get"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]
    assert "WWW-Authenticate" in paths["/api/me"]["get"]["responses"]["401"]["headers"]


def test_the_ingest_body_has_its_three_types(openapi: dict[str, Any]) -> None:
    ingest = openapi["paths"]["/api/ingest"]["post"]
    body = ingest["requestBody"]
    assert body["required"] is True
    content = body["content"]
    assert set(content) == {JSON_TYPE, CSV_TYPE, ARROW_TYPE}
    reading = content[JSON_TYPE]["schema"]["anyOf"][0]["items"]
    assert set(reading["required"]) == {"series", "ts", "value"}
    assert content[CSV_TYPE]["example"].startswith("series,ts,value\n")
    assert content[ARROW_TYPE]["schema"]["format"] == "binary"
    assert not any(parameter["name"] == "content-type" for parameter in ingest["parameters"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/nowhere", None, 404),
        ("put", "/api/users", None, 405),
        ("get", "/api/assets?limit=0", None, 401),
        ("post", "/api/ingest/series", b"\xff\xfe{", 401),
    ],
)
def test_every_error_answer_has_the_one_shape(
    site: Site, method: str, path: str, body: bytes | None, status: int
) -> None:
    with TestClient(create_app(site)) as client:
        answer = client.request(method, path, content=body)
    assert answer.status_code == status
    error = answer.json()
    assert isinstance(error["detail"], str) and error["detail"]
    assert error["request_id"] == answer.headers["X-Request-ID"]


def test_invalid_requests_name_each_field_in_the_one_shape(
    site: Site, tokens: dict[str, str]
) -> None:
    headers = bearer(tokens["admin"])
    with TestClient(create_app(site)) as client:
        limit = client.get("/api/assets", params={"limit": 0}, headers=headers)
        unreadable = client.post("/api/ingest/series", content=b"\xff\xfe{", headers=headers)
        kindless = client.post("/api/workorders", json={"asset": "a", "task": "t"}, headers=headers)
    assert limit.status_code == 422
    assert limit.json()["errors"][0]["loc"] == ["query", "limit"]
    assert limit.json()["detail"].startswith("query.limit: ")
    assert unreadable.status_code == 422 and unreadable.json()["detail"].startswith("body")
    assert kindless.status_code == 422
    assert kindless.json()["errors"][0]["loc"] == ["body"]
