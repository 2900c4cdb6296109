"""Paging of the list routes and of a series' points, and the caps on declaring series."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import Fleet, _plan, bearer

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.api.paging import LIST_MAXIMUM, POINTS_DEFAULT, POINTS_MAXIMUM
from valueloop.api.routers.ingest import MAX_DECLARED, NEW_SERIES_PER_HOUR
from valueloop.schema import POINT_SCHEMA, dead_letters
from valueloop.site import Site
from valueloop.value.plans import MeasurementPlan, PlanBook

Rows = Callable[[Any], list[Any]]


def whole(body: Any) -> list[Any]:
    return list(body)


def field(name: str) -> Rows:
    return lambda body: list(body[name])


def walk(
    client: TestClient, url: str, rows_of: Rows, limit: int, **params: str
) -> tuple[list[Any], int]:
    """Every row of ``url``, page by page through each page's ``Link``; and how many pages."""
    answer = client.get(url, params={"limit": limit, **params})
    rows: list[Any] = []
    pages = 0
    while True:
        assert answer.status_code == 200, answer.text
        page = rows_of(answer.json())
        assert len(page) <= limit
        rows += page
        pages += 1
        cursor = answer.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in answer.headers
            return rows, pages
        link = answer.headers["Link"]
        assert link.endswith('>; rel="next"') and f"cursor={cursor}" in link
        answer = client.get(link[1 : link.index(">")])


@pytest.fixture
def admin(site: Site, client: TestClient, tokens: dict[str, str]) -> TestClient:
    """The fleet's client with an admin token (every list is open to it)."""
    client.headers.update(bearer(tokens["admin"]))
    return client


def _measurement_plan(number: int, reporting_end: datetime) -> MeasurementPlan:
    """A daily measurement plan of work order ``WO-<number>`` whose reporting ends then."""
    start = reporting_end - timedelta(days=30)
    return MeasurementPlan(
        plan_id=f"MV-WO-{number}-energy",
        order_id=f"WO-{number}",
        asset="unit-1",
        action="clean",
        kpi="energy",
        option="B",
        meter="unit-1/power",
        unit="kWh",
        interval="daily",
        timezone="UTC",
        executed_at=start - timedelta(days=1),
        reference_start=start - timedelta(days=91),
        reference_end=start - timedelta(days=1),
        reporting_start=start,
        reporting_end=reporting_end,
        planned_reporting_end=reporting_end,
        regressors={},
        baseline="mean",
        params={},
        tariff=None,
        price=0.0,
        currency="EUR",
        expected_value=100.0 * number,
    )


def _more_rows(site: Site) -> None:
    """Four more plans, seven more dead letters and five measurement plans (two pairs ending
    together) than the fleet has."""
    for _ in range(4):
        site.plans.add(
            _plan(list(site.model.assets)[:6]),
            kind="maintenance",
            starts_at=datetime(2026, 6, 1, tzinfo=UTC),
            model_version="m",
        )
    letters = [f"row {i}" for i in range(7)]
    site.pipeline.dead_letters.add(
        dead_letters("replay", pa.array(letters), pa.array(["unparsable"] * 7))
    )
    book = PlanBook(site.store)
    for number, day in enumerate([3, 1, 3, 2, 1]):
        book.add(_measurement_plan(number, datetime(2026, 7, day, tzinfo=UTC)))


LISTS: list[tuple[str, Rows]] = [
    ("/api/assets", whole),
    ("/api/predictions", whole),
    ("/api/plans", whole),
    ("/api/workorders", whole),
    ("/api/deadletters", field("items")),
    ("/api/ledger", field("entries")),
    ("/api/users", whole),
    ("/api/jobs", whole),
    ("/api/alarms", whole),
    ("/api/anomalies", whole),
    ("/api/measurements", whole),
]


def test_walking_a_list_page_by_page_gives_the_rows_of_one_call(
    admin: TestClient, site: Site, fleet: Fleet
) -> None:
    _more_rows(site)
    for url, rows_of in [*LISTS, (f"/api/predictions/{fleet.assets[0]}", whole)]:
        everything = admin.get(url)
        assert everything.status_code == 200, url
        assert "X-Next-Cursor" not in everything.headers
        for limit in (1, 2, 3):
            rows, pages = walk(admin, url, rows_of, limit)
            assert rows == rows_of(everything.json()), (url, limit)
            assert pages == max(1, -(-len(rows) // limit)), (url, limit)


def test_a_page_keeps_the_rest_of_the_body(admin: TestClient, site: Site) -> None:
    _more_rows(site)
    first = admin.get("/api/deadletters", params={"limit": 2}).json()
    assert first["count"] == 9 and len(first["items"]) == 2
    assert first["items"][0]["letter_id"] > first["items"][1]["letter_id"]
    assert {c["source"] for c in first["counts"]} == {"fleet-replay", "replay"}


def test_measurements_page_by_the_end_of_their_reporting_windows(
    admin: TestClient, site: Site
) -> None:
    _more_rows(site)
    rows, pages = walk(admin, "/api/measurements", whole, 2)
    assert [row["plan"]["plan_id"] for row in rows] == [
        f"MV-WO-{number}-energy" for number in (1, 4, 3, 0, 2)
    ]
    assert pages == 3 and all(row["status"] == "open" for row in rows)


def test_letters_arriving_between_pages_are_neither_repeated_nor_skipped(
    admin: TestClient, site: Site
) -> None:
    _more_rows(site)
    before = [item["letter_id"] for item in admin.get("/api/deadletters").json()["items"]]
    first = admin.get("/api/deadletters", params={"limit": 3})
    seen = [item["letter_id"] for item in first.json()["items"]]
    site.pipeline.dead_letters.add(
        dead_letters("late", pa.array([f"late {i}" for i in range(5)]), pa.array(["x"] * 5))
    )
    cursor = first.headers["X-Next-Cursor"]
    while cursor:
        answer = admin.get("/api/deadletters", params={"limit": 3, "cursor": cursor})
        seen += [item["letter_id"] for item in answer.json()["items"]]
        cursor = answer.headers.get("X-Next-Cursor", "")
    assert seen == before


def test_a_limit_above_the_maximum_is_a_422_naming_it(admin: TestClient) -> None:
    for url, _ in LISTS:
        answer = admin.get(url, params={"limit": LIST_MAXIMUM + 1})
        assert answer.status_code == 422, url
        assert str(LIST_MAXIMUM) in answer.json()["detail"]
        assert admin.get(url, params={"limit": 0}).status_code == 422
        assert admin.get(url, params={"limit": LIST_MAXIMUM}).status_code == 200


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_malformed_cursor_is_a_422(admin: TestClient, fleet: Fleet) -> None:
    malformed = [
        "!!!",
        _b64("not json"),
        _b64("[1, 2]"),
        _b64('{"k": [], "n": 0}'),
        _b64('{"k": [1], "n": -1}'),
        _b64('{"k": [[1]], "n": 0}'),
    ]
    for cursor in malformed:
        for url in ("/api/assets", f"/api/series/{fleet.series_id}/points"):
            answer = admin.get(url, params={"cursor": cursor})
            assert answer.status_code == 422, (url, cursor)
            assert "cursor" in answer.json()["detail"]


def test_a_cursor_of_another_route_is_a_422(admin: TestClient, fleet: Fleet) -> None:
    cursor = admin.get("/api/assets", params={"limit": 1}).headers["X-Next-Cursor"]
    answer = admin.get(f"/api/series/{fleet.series_id}/points", params={"cursor": cursor})
    assert answer.status_code == 422
    assert admin.get("/api/ledger", params={"cursor": cursor}).status_code == 422


def _many_points(series_id: int, count: int, start: datetime) -> pa.Table:
    seconds = pa.array(range(count), pa.int64())
    stamps = pa.array(
        [start + timedelta(seconds=s) for s in range(count)], pa.timestamp("us", tz="UTC")
    )
    return pa.table(
        {
            "series_id": pa.array([series_id] * count, pa.int32()),
            "ts": stamps,
            "value": seconds.cast(pa.float64()),
            "quality": pa.array([0] * count, pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def test_points_are_paged_in_the_store_by_default(admin: TestClient, site: Site) -> None:
    asset = site.model.assets[list(site.model.assets)[1]]
    path = site.model.path(asset.name, next(iter(asset.type.signals)))
    series_id = int(site.registry.lookup([path]).column("series_id")[0].as_py())
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    site.points.write(_many_points(series_id, 250_000, start))
    site.points.compact(start + timedelta(days=1))  # the first 86,400 points go cold
    url = f"/api/series/{series_id}/points"
    across = site.points.read([series_id], start + timedelta(seconds=86_398), limit=4)
    assert across.column("value").to_pylist() == [86_398.0, 86_399.0, 86_400.0, 86_401.0]

    first = admin.get(url)
    assert first.status_code == 200
    body = first.json()
    assert body["series"]["series_id"] == series_id
    assert len(body["points"]) == POINTS_DEFAULT
    assert "X-Next-Cursor" in first.headers

    values: list[float] = []
    answer = first
    while True:
        values += [point["value"] for point in answer.json()["points"]]
        link = answer.headers.get("Link")
        if link is None:
            break
        answer = admin.get(link[1 : link.index(">")])
    assert values == [float(i) for i in range(250_000)]

    window = {
        "start": (start + timedelta(seconds=10)).isoformat(),
        "end": (start + timedelta(seconds=30)).isoformat(),
    }
    small, pages = walk(admin, url, field("points"), 7, **window)
    assert [p["value"] for p in small] == [float(i) for i in range(10, 30)] and pages == 3
    answer = admin.get(url, params={"limit": POINTS_MAXIMUM + 1})
    assert answer.status_code == 422 and str(POINTS_MAXIMUM) in answer.json()["detail"]


def test_points_of_a_small_series_walk_exactly(admin: TestClient, fleet: Fleet) -> None:
    url = f"/api/series/{fleet.series_id}/points"
    rows, pages = walk(admin, url, field("points"), 10)
    assert rows == admin.get(url).json()["points"] and len(rows) == 96 and pages == 10


def _declaration(first: int, count: int) -> dict[str, list[dict[str, str]]]:
    return {
        "series": [
            {"path": f"plant/bulk/line-1/unit-{i}/temp"} for i in range(first, first + count)
        ]
    }


@pytest.fixture
def ingest_client(site: Site) -> TestClient:
    client = TestClient(create_app(site))
    client.headers.update(bearer(issue_token(site.store, "edge-7", "ingest")))
    return client


def test_more_than_a_thousand_series_in_one_declaration_is_a_422(
    ingest_client: TestClient, site: Site
) -> None:
    answer = ingest_client.post("/api/ingest/series", json=_declaration(0, MAX_DECLARED + 1))
    assert answer.status_code == 422
    assert str(MAX_DECLARED) in answer.json()["detail"]
    assert site.registry.resolve(pa.array(["plant/bulk/line-1/unit-0/temp"])).null_count == 1
    assert ingest_client.post("/api/ingest/series", json=_declaration(0, MAX_DECLARED)).json() == {
        "declared": MAX_DECLARED
    }


def test_new_series_past_the_hourly_quota_are_a_429(ingest_client: TestClient, site: Site) -> None:
    calls = NEW_SERIES_PER_HOUR // MAX_DECLARED
    for call in range(calls):
        answer = ingest_client.post(
            "/api/ingest/series", json=_declaration(call * MAX_DECLARED, MAX_DECLARED)
        )
        assert answer.status_code == 200, answer.text
    again = ingest_client.post("/api/ingest/series", json=_declaration(0, MAX_DECLARED))
    assert again.status_code == 200  # known series are not new
    refused = ingest_client.post("/api/ingest/series", json=_declaration(NEW_SERIES_PER_HOUR, 1))
    assert refused.status_code == 429
    assert str(NEW_SERIES_PER_HOUR) in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    new = f"plant/bulk/line-1/unit-{NEW_SERIES_PER_HOUR}/temp"
    assert site.registry.resolve(pa.array([new])).null_count == 1

    other = TestClient(ingest_client.app)
    other.headers.update(bearer(issue_token(site.store, "edge-8", "ingest")))
    assert (
        other.post("/api/ingest/series", json=_declaration(NEW_SERIES_PER_HOUR, 1)).status_code
        == 200
    )
