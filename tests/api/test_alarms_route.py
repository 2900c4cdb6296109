"""``/api/alarms``: listed by a viewer; acknowledged, shelved and unshelved by an operator.

The application is wired as :func:`valueloop.api.app.create_app` wires each router (under
``/api``, behind the viewer role), over a real site database holding alarms raised through the
alarm book.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from tests.alarms.helpers import at, telemetry_stale, vibration_hi

from valueloop.alarms import AlarmBook, Transition, alarm_id
from valueloop.api.auth import issue_token
from valueloop.api.errors import install_error_handlers
from valueloop.api.routers import alarms
from valueloop.api.signin import require
from valueloop.store.duckdb import DuckDBStore

HI = vibration_hi()
STALE = telemetry_stale()
ACTIVE = alarm_id(HI.key, at(50))
CLEARED = alarm_id(HI.key, at(10))
STALE_ID = alarm_id(STALE.key, at(40))


@dataclass
class _SiteDatabase:
    """The part of a site the routes read: its database."""

    store: DuckDBStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(tmp_path / "site.duckdb")
    AlarmBook(opened).apply(
        [
            Transition(HI, "activate", at(10), 12.5, HI.signal),
            Transition(HI, "clear", at(30), 8.0, HI.signal),
            Transition(STALE, "activate", at(40), None, "pressure"),
            Transition(HI, "activate", at(50), 13.0, HI.signal),
        ]
    )
    yield opened
    opened.close()


@pytest.fixture
def client(store: DuckDBStore) -> TestClient:
    application = FastAPI()
    application.state.site = _SiteDatabase(store)
    install_error_handlers(application)
    application.include_router(
        alarms.router, prefix="/api", dependencies=[Depends(require("viewer"))]
    )
    return TestClient(application)


@pytest.fixture
def viewer(store: DuckDBStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(store, 'vera', 'viewer')}"}


@pytest.fixture
def operator(store: DuckDBStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(store, 'maria', 'operator')}"}


def test_a_viewer_lists_alarms_newest_first_with_their_flags(
    client: TestClient, viewer: dict[str, str]
) -> None:
    assert client.get("/api/alarms").status_code == 401
    listed = client.get("/api/alarms", headers=viewer).json()
    assert [a["alarm_id"] for a in listed] == [ACTIVE, STALE_ID, CLEARED]
    assert listed[0] | {"alarm_id": "-"} == {
        "alarm_id": "-",
        "key": "vibration_high:hi@compressor-1",
        "name": "vibration_high",
        "asset": "compressor-1",
        "level": "hi",
        "signal": "vibration",
        "priority": "high",
        "state": "unack",
        "raised_at": "2026-03-01T00:00:50Z",
        "value_at_raise": 13.0,
        "cleared_at": None,
        "value_at_clear": None,
        "acked_at": None,
        "acked_by": None,
        "ack_comment": None,
        "suppressed": False,
        "description": "bearing wear or imbalance",
        "shelved": False,
        "shelved_until": None,
        "shelved_by": None,
        "out_of_service": False,
    }
    assert listed[2]["state"] == "rtn_unack"
    stale = client.get("/api/alarms", params={"priority": "medium"}, headers=viewer).json()
    assert [a["alarm_id"] for a in stale] == [STALE_ID]
    assert client.get("/api/alarms", params={"limit": 1}, headers=viewer).json()[0] == listed[0]
    assert client.get("/api/alarms", params={"state": "bogus"}, headers=viewer).status_code == 422
    assert client.get(f"/api/alarms/{CLEARED}", headers=viewer).json() == listed[2]


def test_a_viewer_cannot_acknowledge(client: TestClient, viewer: dict[str, str]) -> None:
    answer = client.post(f"/api/alarms/{ACTIVE}/acknowledge", headers=viewer)
    assert answer.status_code == 403
    assert "needs operator" in answer.json()["detail"]
    assert (
        client.post(
            f"/api/alarms/{ACTIVE}/shelve", json={"duration": "1h"}, headers=viewer
        ).status_code
        == 403
    )


def test_an_operator_acknowledges_once(
    client: TestClient, viewer: dict[str, str], operator: dict[str, str]
) -> None:
    before = datetime.now(UTC)
    answer = client.post(
        f"/api/alarms/{ACTIVE}/acknowledge", json={"comment": "crew on the way"}, headers=operator
    )
    assert answer.status_code == 200
    acked = answer.json()
    assert (acked["state"], acked["acked_by"], acked["ack_comment"]) == (
        "acked", "maria", "crew on the way",
    )  # fmt: skip
    assert datetime.fromisoformat(acked["acked_at"]) >= before - timedelta(seconds=1)
    again = client.post(f"/api/alarms/{ACTIVE}/acknowledge", headers=operator)
    assert again.status_code == 409
    assert "is acked" in again.json()["detail"]
    assert (
        client.post(f"/api/alarms/{CLEARED}/acknowledge", headers=operator).json()["state"]
        == "normal"
    )
    assert [a["alarm_id"] for a in client.get("/api/alarms", headers=viewer).json()] == [
        ACTIVE,
        STALE_ID,
    ]
    everything = client.get("/api/alarms", params={"include_normal": True}, headers=viewer)
    assert len(everything.json()) == 3
    trail = client.get(f"/api/alarms/{ACTIVE}/audit", headers=viewer).json()
    assert [(row["actor"], row["action"]) for row in trail] == [("maria", "acknowledge")]
    assert trail[0]["detail"]["comment"] == "crew on the way"


def test_unknown_alarms_are_not_found(client: TestClient, operator: dict[str, str]) -> None:
    assert client.get("/api/alarms/AL-000000000000", headers=operator).status_code == 404
    answer = client.post("/api/alarms/AL-000000000000/acknowledge", headers=operator)
    assert answer.status_code == 404
    assert "no alarm" in answer.json()["detail"]
    shelve = client.post("/api/alarms/AL-0/shelve", json={"duration": "1h"}, headers=operator)
    assert shelve.status_code == 404
    assert client.post("/api/alarms/AL-0/unshelve", headers=operator).status_code == 404


def test_an_operator_shelves_for_a_while_and_unshelves(
    client: TestClient, operator: dict[str, str]
) -> None:
    before = datetime.now(UTC)
    answer = client.post(
        f"/api/alarms/{ACTIVE}/shelve",
        json={"duration": "8h", "comment": "sensor being replaced"},
        headers=operator,
    )
    assert answer.status_code == 200
    shelved = answer.json()
    assert shelved["shelved"] and shelved["shelved_by"] == "maria" and shelved["state"] == "unack"
    until = datetime.fromisoformat(shelved["shelved_until"])
    assert (
        timedelta(hours=8) - timedelta(seconds=5) < until - before <= timedelta(hours=8, seconds=5)
    )
    # the point is shelved: its older alarm shows it too
    assert client.get(f"/api/alarms/{CLEARED}", headers=operator).json()["shelved"]
    ends = (before + timedelta(hours=2)).isoformat()
    moved = client.post(f"/api/alarms/{ACTIVE}/shelve", json={"until": ends}, headers=operator)
    assert datetime.fromisoformat(moved.json()["shelved_until"]) == before + timedelta(hours=2)
    unshelved = client.post(
        f"/api/alarms/{ACTIVE}/unshelve", json={"comment": "sensor back"}, headers=operator
    )
    assert unshelved.status_code == 200 and not unshelved.json()["shelved"]
    assert client.post(f"/api/alarms/{ACTIVE}/unshelve", headers=operator).status_code == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"duration": "30d"}, 409),  # longer than the 7-day longest shelf
        ({"duration": "eight hours"}, 422),
        ({"duration": "0s"}, 422),
        ({}, 422),
        ({"duration": "1h", "until": "2030-01-01T00:00:00Z"}, 422),
        ({"until": "2030-01-01T00:00:00"}, 422),  # no time zone
        ({"until": "2020-01-01T00:00:00Z"}, 409),  # in the past
    ],
)
def test_a_bad_shelf_is_refused(
    client: TestClient, operator: dict[str, str], body: dict[str, str], status: int
) -> None:
    answer = client.post(f"/api/alarms/{ACTIVE}/shelve", json=body, headers=operator)
    assert answer.status_code == status, answer.json()
    assert not client.get(f"/api/alarms/{ACTIVE}", headers=operator).json()["shelved"]


def test_the_site_alarm_book_is_used_when_the_site_has_one(store: DuckDBStore) -> None:
    @dataclass
    class _SiteWithBook:
        store: DuckDBStore
        alarms: AlarmBook

    application = FastAPI()
    book = AlarmBook(store, max_shelve=timedelta(hours=1))
    application.state.site = _SiteWithBook(store, book)
    install_error_handlers(application)
    application.include_router(alarms.router, prefix="/api")
    client = TestClient(application)
    headers = {"Authorization": f"Bearer {issue_token(store, 'maria', 'operator')}"}
    answer = client.post(f"/api/alarms/{ACTIVE}/shelve", json={"duration": "2h"}, headers=headers)
    assert answer.status_code == 409 and "at most 1:00:00" in answer.json()["detail"]
