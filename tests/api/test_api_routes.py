"""The API's resources, read through a viewer's token and decided through an approver's."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import DAYS, RUL, Fleet, bearer

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site


@pytest.fixture
def viewer(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["viewer"])


@pytest.fixture
def approver(site: Site) -> dict[str, str]:
    return bearer(issue_token(site.store, "maria", "approver"))


def test_assets_carry_their_latest_prediction_and_risk(
    client: TestClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    every = client.get("/api/assets", headers=viewer).json()
    assert len(every) == 100 and all(a["series"] == 24 for a in every)
    assets, others = every[: len(fleet.assets)], every[len(fleet.assets) :]
    assert [a["asset"] for a in assets] == fleet.assets
    assert [a["prediction"]["rul"] for a in assets] == RUL
    # lower bounds of 2.1, 7, 21, 38.5, 63 and 84 days (a cycle every 12 h, 7-day approval window)
    assert [a["risk"] for a in assets] == ["high", "medium", "medium", "low", "low", "low"]
    assert {a["risk"] for a in others} == {"unknown"} and others[0]["prediction"] is None


def test_series_of_an_asset(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    series = client.get(f"/api/assets/{fleet.assets[0]}/series", headers=viewer).json()
    assert len(series) == 24 and series[0]["series_id"] == fleet.series_id
    assert series[3]["signal"] == "sensor_1" and series[3]["unit"] == "degR"
    assert client.get("/api/assets/engine-999/series", headers=viewer).status_code == 404


def test_points_in_a_range(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    answer = client.get(
        f"/api/series/{fleet.series_id}/points",
        params={"start": "2026-05-30T00:00:00Z", "end": "2026-05-30T02:00:00"},
        headers=viewer,
    ).json()
    assert answer["series"]["series_id"] == fleet.series_id
    assert [p["value"] for p in answer["points"]] == [0.0, 1.0, 2.0, 3.0]
    assert answer["points"][0] == {"ts": "2026-05-30T00:00:00Z", "value": 0.0, "quality": 0}
    assert client.get("/api/series/9999/points", headers=viewer).status_code == 404


def test_downsample_json(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    answer = client.get(
        f"/api/series/{fleet.series_id}/downsample",
        params={"every": "1h", "start": "2026-05-30T00:00:00Z", "end": "2026-05-30T03:00:00Z"},
        headers=viewer,
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "series": client.get(f"/api/assets/{fleet.assets[0]}/series", headers=viewer).json()[0],
        "every": "1h",
        "every_seconds": 3600.0,
        "buckets": [
            {"bucket": "2026-05-30T00:00:00Z", "avg": 0.5, "min": 0.0, "max": 1.0, "last": 1.0},
            {"bucket": "2026-05-30T01:00:00Z", "avg": 2.5, "min": 2.0, "max": 3.0, "last": 3.0},
            {"bucket": "2026-05-30T02:00:00Z", "avg": 4.5, "min": 4.0, "max": 5.0, "last": 5.0},
        ],
    }
    whole = client.get(
        f"/api/series/{fleet.series_id}/downsample", params={"every": "1d"}, headers=viewer
    ).json()
    assert [(b["bucket"][:10], b["min"], b["max"]) for b in whole["buckets"]] == [
        ("2026-05-30", 0.0, 47.0),
        ("2026-05-31", 48.0, 95.0),
    ]


@pytest.mark.parametrize("every", ["fortnight", "0h", "-1h"])
def test_downsample_refuses_a_bad_width(
    client: TestClient, viewer: dict[str, str], fleet: Fleet, every: str
) -> None:
    answer = client.get(
        f"/api/series/{fleet.series_id}/downsample", params={"every": every}, headers=viewer
    )
    assert answer.status_code == 422


def test_predictions(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    latest = client.get("/api/predictions", headers=viewer).json()
    assert [p["asset"] for p in latest] == fleet.assets
    history = client.get(f"/api/predictions/{fleet.assets[1]}", headers=viewer).json()
    assert len(history) == 1 and history[0]["rul"] == RUL[1]
    assert history[0]["as_of"] == "2026-06-01T00:00:00Z"
    assert client.get("/api/predictions/engine-999", headers=viewer).status_code == 404


def test_plans(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    plans = client.get("/api/plans", headers=viewer).json()
    assert [p["plan_id"] for p in plans] == [fleet.plan_id]
    detail = client.get(f"/api/plans/{fleet.plan_id}", headers=viewer).json()
    assert detail["plan"]["status"] == "OPTIMAL"
    by_asset = {a["asset"]: a for a in detail["assignments"]}
    assert [by_asset[asset]["day"] for asset in fleet.assets] == DAYS
    assert by_asset[fleet.assets[1]]["starts_at"] == "2026-06-03T00:00:00Z"
    assert by_asset[fleet.assets[-1]]["starts_at"] is None
    assert client.get("/api/plans/PL-none", headers=viewer).status_code == 404


def test_an_approver_approves_and_the_audit_shows_who_and_when(
    client: TestClient, viewer: dict[str, str], approver: dict[str, str], fleet: Fleet
) -> None:
    order = fleet.order_ids[0]
    before = datetime.now().astimezone()
    answer = client.post(
        f"/api/workorders/{order}/approve", json={"comment": "slot booked"}, headers=approver
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "approved" and answer.json()["updated_by"] == "maria"
    trail = client.get(f"/api/workorders/{order}/audit", headers=viewer).json()
    assert [(row["action"], row["actor"]) for row in trail] == [
        ("propose", "planner:cp-sat"),
        ("approve", "maria"),
        ("approved", "maria"),
    ]
    assert trail[2]["detail"] == {
        "from": "proposed",
        "comment": "slot booked",
        "approvers": ["maria"],
    }
    assert datetime.fromisoformat(trail[2]["recorded_at"]) >= before
    again = client.post(f"/api/workorders/{order}/approve", headers=approver)
    assert again.status_code == 409
    assert "only a proposed order" in again.json()["detail"]
    reject = client.post(f"/api/workorders/{order}/reject", headers=approver)
    assert reject.status_code == 409


def test_an_approver_rejects_without_a_body(
    client: TestClient, approver: dict[str, str], fleet: Fleet
) -> None:
    answer = client.post(f"/api/workorders/{fleet.order_ids[1]}/reject", headers=approver)
    assert answer.status_code == 200 and answer.json()["status"] == "rejected"


def test_unknown_work_orders_are_404(client: TestClient, approver: dict[str, str]) -> None:
    assert client.post("/api/workorders/WO-none/approve", headers=approver).status_code == 404
    assert client.get("/api/workorders/WO-none/audit", headers=approver).status_code == 404
    assert client.get("/api/workorders/WO-none", headers=approver).status_code == 404


def test_work_orders_by_status(
    client: TestClient, viewer: dict[str, str], approver: dict[str, str], fleet: Fleet
) -> None:
    client.post(f"/api/workorders/{fleet.order_ids[2]}/approve", headers=approver)
    proposed = client.get("/api/workorders", params={"status": "proposed"}, headers=viewer)
    assert [o["order_id"] for o in proposed.json()] == fleet.order_ids[:2]
    everything = client.get("/api/workorders", headers=viewer).json()
    assert [o["status"] for o in everything] == ["proposed", "proposed", "approved"]
    bad = client.get("/api/workorders", params={"status": "lost"}, headers=viewer)
    assert bad.status_code == 422


def test_ledger_with_its_chain_status(
    client: TestClient, viewer: dict[str, str], fleet: Fleet, site: Site
) -> None:
    ledger = client.get("/api/ledger", headers=viewer).json()
    assert ledger["run_id"] == fleet.run_id and ledger["intact"] is True
    assert [e["metric"] for e in ledger["entries"]] == ["cost", "money"]
    assert ledger["entries"][0]["assumptions"] == {"crew_per_day": 2, "horizon_days": 75}
    site.store.execute("UPDATE ledger SET value = 1 WHERE seq = 1")
    tampered = client.get("/api/ledger", headers=viewer).json()
    assert tampered["intact"] is False and tampered["broken"] == [1]


def test_dead_letters(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    answer = client.get("/api/deadletters", params={"limit": 1}, headers=viewer).json()
    assert answer["count"] == 2 and len(answer["items"]) == 1
    assert answer["items"][0]["reason"] == "unparsable"


def test_summary(client: TestClient, viewer: dict[str, str], fleet: Fleet) -> None:
    summary = client.get("/api/summary", headers=viewer).json()
    assert summary["plan_id"] == fleet.plan_id and summary["currency"] == "USD"
    assert summary["policies"]["run_to_failure"]["failures"] == 3
    assert summary["savings"]["fixed_interval"] == {"money": 2.8e6, "percent": 31.1}
    assert summary["stage_seconds"] == {"collect": 1.5, "analyse": 2.0}


def test_no_summary_before_a_run(site: Site) -> None:
    token = issue_token(site.store, "maria", "viewer")
    with TestClient(create_app(site)) as fresh:
        answer = fresh.get("/api/summary", headers=bearer(token))
        assert answer.status_code == 404
        assert fresh.get("/api/ledger", headers=bearer(token)).json() == {
            "run_id": None,
            "intact": True,
            "broken": [],
            "entries": [],
        }
        assets = fresh.get("/api/assets", headers=bearer(token)).json()
        assert len(assets) == 100 and {a["prediction"] is None for a in assets} == {True}


def test_whoami(client: TestClient, approver: dict[str, str]) -> None:
    assert client.get("/api/me", headers=approver).json() == {"name": "maria", "role": "approver"}
