"""The access log: a JSON line per request, with route, status, user and request id, never a
token."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import Fleet, bearer


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    records = [record for record in caplog.records if record.name == "valueloop.access"]
    return [json.loads(record.getMessage()) for record in records]


def test_each_request_is_one_line(
    client: TestClient,
    tokens: dict[str, str],
    fleet: Fleet,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="valueloop.access")
    order = fleet.order_ids[0]
    headers = {**bearer(tokens["viewer"]), "X-Request-ID": "req-42"}
    answered = client.get(f"/api/workorders/{order}", headers=headers)
    assert answered.status_code == 200
    refused_answer = client.get("/api/assets", headers=bearer(tokens["viewer"] + "x"))
    assert refused_answer.status_code == 401
    assert client.get("/api/nowhere", headers=bearer(tokens["admin"])).status_code == 404
    assert client.get(f"/?token={tokens['admin']}").status_code == 200
    read, refused, unknown, console = _lines(caplog)
    assert read.pop("ms") >= 0
    assert read == {
        "method": "GET",
        "route": "/api/workorders/{order_id}",
        "path": f"/api/workorders/{order}",
        "status": 200,
        "user": "viewer",
        "client": "testclient",
        "request_id": "req-42",
    }
    assert (refused["route"], refused["status"], refused["user"]) == ("/api/assets", 401, "-")
    assert refused["request_id"] == refused_answer.headers["X-Request-ID"] != "req-42"
    assert (unknown["route"], unknown["path"], unknown["status"]) == ("-", "/api/nowhere", 404)
    assert (console["route"], console["path"], console["status"]) == ("/", "/", 200)
    for token in tokens.values():
        secret = token.split("_", 2)[2]
        assert all(secret not in record.getMessage() for record in caplog.records)


def test_what_a_client_writes_stays_one_short_line(
    client: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="valueloop.access")
    hostile = {**bearer(tokens["viewer"]), "X-Request-ID": 'a"}, {"user": "admin'}
    answer = client.get('/api/workorders/a"}, {"user": "admin' + "x" * 500, headers=hostile)
    (line,) = _lines(caplog)
    assert (line["user"], line["status"]) == ("viewer", 404)
    assert line["route"] == "/api/workorders/{order_id}"
    assert line["path"].startswith('/api/workorders/a"}') and len(line["path"]) == 200
    assert line["request_id"] == answer.headers["X-Request-ID"]  # a new id for an unsafe one
    assert caplog.records[-1].getMessage().count('"user"') == 1
