"""HTTP ingest: JSON, CSV and Arrow batches for an ingest token, exactly once per sender and key."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import bearer

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.connectors.base import readings
from valueloop.ingest.wire import ARROW_TYPE, readings_to_arrow
from valueloop.site import Site

PUMP = "plant/utilities/loop-1/pump-1"


@pytest.fixture
def ingest_client(site: Site) -> TestClient:
    client = TestClient(create_app(site))
    client.headers.update(bearer(issue_token(site.store, "edge-1", "ingest")))
    answer = client.post(
        "/api/ingest/series",
        json={
            "series": [
                {"path": f"{PUMP}/pressure", "unit": "bar"},
                {"path": f"{PUMP}/flow", "unit": "l/min"},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    return client


def stored(site: Site, signal: str) -> list[tuple[datetime, float]]:
    series_id = site.registry.lookup([f"{PUMP}/{signal}"]).column("series_id")[0].as_py()
    rows = site.points.read([series_id])
    return list(zip(rows.column("ts").to_pylist(), rows.column("value").to_pylist(), strict=True))


def test_json_batch_is_stored_once_per_key(ingest_client: TestClient, site: Site) -> None:
    body = {
        "readings": [
            {"series": f"{PUMP}/pressure", "ts": "2026-03-01T10:00:00Z", "value": 2.5},
            {"series": f"{PUMP}/pressure", "ts": 1772359260000, "value": 2.75},
            {"series": f"{PUMP}/flow", "ts": "2026-03-01T11:00:00+01:00", "value": 118.0},
        ]
    }
    first = ingest_client.post("/api/ingest", json=body, headers={"Idempotency-Key": "b-1"})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "key": "b-1",
        "duplicate": False,
        "readings": 3,
        "stored": 3,
        "dead_letters": 0,
    }
    again = ingest_client.post("/api/ingest", json=body, headers={"Idempotency-Key": "b-1"})
    assert again.json()["duplicate"] is True
    assert stored(site, "pressure") == [
        (datetime(2026, 3, 1, 10, 0, tzinfo=UTC), 2.5),
        (datetime(2026, 3, 1, 10, 1, tzinfo=UTC), 2.75),
    ]
    assert stored(site, "flow") == [(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), 118.0)]


def test_csv_and_arrow_batches(ingest_client: TestClient, site: Site) -> None:
    csv = (
        "series,ts,value,quality\n"
        f"{PUMP}/flow,2026-03-01T10:00:00Z,120.5,0\n"
        f"{PUMP}/flow,2026-03-01T10:01:00Z,,2\n"
    )
    answer = ingest_client.post("/api/ingest", content=csv, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 2
    table = readings(
        [f"{PUMP}/pressure"] * 2,
        pa.array(
            [datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 1, 12, 1, tzinfo=UTC)],
            pa.timestamp("us", tz="UTC"),
        ),
        pa.array([3.0, 3.25]),
    )
    answer = ingest_client.post(
        "/api/ingest", content=readings_to_arrow(table), headers={"Content-Type": ARROW_TYPE}
    )
    assert answer.json()["stored"] == 2
    assert [value for _, value in stored(site, "pressure")] == [3.0, 3.25]
    flow = site.points.read(site.registry.lookup([f"{PUMP}/flow"]).column("series_id").to_pylist())
    assert flow.column("quality").to_pylist() == [0, 2]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (
            b'{"readings": [{"series": "a/b/c/d/e", "ts": "2026-01-01T00:00:00Z"}]}',
            None,
            "reading 1: missing value",
        ),
        (
            b'[{"series": "a/b/c/d/e", "ts": "2026-01-01T00:00:00Z", "value": "high"}]',
            None,
            "reading 1: value must be a number",
        ),
        (
            b'[{"series": "a/b/c/d/e", "ts": "2026-01-01T00:00:00", "value": 1}]',
            None,
            "no time zone",
        ),
        (b"series,value\nx,1\n", "text/csv", "lacks ts"),
        (b"\x00\x01", "application/vnd.apache.arrow.stream", "not an Arrow IPC stream"),
        (b"<xml/>", "application/xml", "is not one of"),
    ],
)
def test_bad_bodies_get_a_422_naming_the_problem(
    ingest_client: TestClient, body: bytes, content_type: str | None, message: str
) -> None:
    headers = {"Content-Type": content_type or "application/json"}
    answer = ingest_client.post("/api/ingest", content=body, headers=headers)
    assert answer.status_code == 422
    assert message in answer.json()["detail"]


def test_unknown_series_become_dead_letters(ingest_client: TestClient, site: Site) -> None:
    body = [
        {"series": f"{PUMP}/vibration", "ts": "2026-03-01T10:00:00Z", "value": 1.0},
        {"series": f"{PUMP}/flow", "ts": "2026-03-01T10:00:00Z", "value": 99.0},
    ]
    answer = ingest_client.post("/api/ingest", json=body).json()
    assert (answer["stored"], answer["dead_letters"]) == (1, 1)
    viewer = bearer(issue_token(site.store, "ann", "viewer"))
    letters = ingest_client.get("/api/deadletters", headers=viewer).json()
    assert [item["reason"] for item in letters["items"]] == ["unknown series path"]
    assert {c["reason"]: c["pending"] for c in letters["counts"]}["unknown series path"] == 1


def test_a_time_outside_1970_2200_refuses_the_batch(ingest_client: TestClient, site: Site) -> None:
    body = [
        {"series": f"{PUMP}/flow", "ts": "2026-03-01T10:00:00Z", "value": 99.0},
        {"series": f"{PUMP}/flow", "ts": "2250-01-01T00:00:00Z", "value": 1.0},
    ]
    answer = ingest_client.post("/api/ingest", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"] == "reading 2: ts '2250-01-01T00:00:00Z' is outside 1970-2200"
    assert stored(site, "flow") == []


def test_a_key_is_bound_to_its_readings_and_its_sender(
    ingest_client: TestClient, site: Site
) -> None:
    key = {"Idempotency-Key": "b-1"}
    first = [{"series": f"{PUMP}/flow", "ts": "2026-03-01T10:00:00Z", "value": 1.0}]
    other = [{"series": f"{PUMP}/flow", "ts": "2026-03-01T10:01:00Z", "value": 2.0}]
    assert ingest_client.post("/api/ingest", json=first, headers=key).status_code == 200
    reused = ingest_client.post("/api/ingest", json=other, headers=key)
    assert reused.status_code == 409
    assert "idempotency key 'b-1' was used for another batch" in reused.json()["detail"]
    assert [value for _, value in stored(site, "flow")] == [1.0]
    second_sender = bearer(issue_token(site.store, "edge-2", "ingest"))
    answer = ingest_client.post("/api/ingest", json=other, headers={**key, **second_sender})
    assert (answer.json()["duplicate"], answer.json()["stored"]) == (False, 1)
    assert [value for _, value in stored(site, "flow")] == [1.0, 2.0]


def test_an_arrow_batch_resent_under_its_key_is_a_duplicate(
    ingest_client: TestClient, site: Site
) -> None:
    table = readings(
        [f"{PUMP}/pressure"],
        pa.array([datetime(2026, 3, 1, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        pa.array([3.0]),
    )
    headers = {"Content-Type": ARROW_TYPE, "Idempotency-Key": "edge-1-batch-1"}
    body = readings_to_arrow(table)
    answers = [ingest_client.post("/api/ingest", content=body, headers=headers) for _ in range(2)]
    assert [answer.json()["duplicate"] for answer in answers] == [False, True]


def test_only_ingest_tokens_may_send(site: Site) -> None:
    client = TestClient(create_app(site))
    body = [{"series": f"{PUMP}/flow", "ts": "2026-03-01T10:00:00Z", "value": 1.0}]
    assert client.post("/api/ingest", json=body).status_code == 401
    viewer = bearer(issue_token(site.store, "ann", "viewer"))
    assert client.post("/api/ingest", json=body, headers=viewer).status_code == 403
    operator = bearer(issue_token(site.store, "bob", "operator"))
    assert client.post("/api/ingest", json=body, headers=operator).status_code == 403
    ingest = bearer(issue_token(site.store, "edge", "ingest"))
    assert client.get("/api/assets", headers=ingest).status_code == 403


def test_forwarded_dead_letters_are_kept_once(ingest_client: TestClient, site: Site) -> None:
    body = {
        "items": [
            {
                "source": "line-mqtt",
                "received_at": "2026-03-01T10:00:00Z",
                "raw": "{bad",
                "reason": "payload is not JSON",
            }
        ]
    }
    for _ in range(2):
        answer = ingest_client.post(
            "/api/ingest/deadletters", json=body, headers={"Idempotency-Key": "dl-1"}
        )
        assert answer.status_code == 200
    assert site.pipeline.dead_letters.count() == 1
