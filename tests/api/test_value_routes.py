"""Expected and verified value side by side through the API, and a contract's statement list.

The site is the building of :mod:`tests.value.mv_site` (opendsm's sample meter with its injected
10 % saving): one cooling set-point change executed, measured by the engine on a simulated clock
once its 90-day reporting window closed. Every figure the routes serve is checked against the
ledger and the signed statement, not against numbers written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import bearer
from tests.value.mv_site import EXECUTED_AT, EXPECTED_VALUE, executed_change, open_mv_site

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.site import Site
from valueloop.store.appendonly import seal_of
from valueloop.value.plans import PlanBook
from valueloop.value.statement import contract_statement
from valueloop.value.verified import RecordedMeasurement, latest_measurement


@dataclass
class Served:
    site: Site
    client: TestClient
    viewer: dict[str, str]


def _served(folder: Path, days: int) -> Iterator[Served]:
    site = open_mv_site(folder)
    executed_change(site)
    clock = SimulatedClock(EXECUTED_AT)
    open_engine(site, clock).run_until(EXECUTED_AT + timedelta(days=days), step=timedelta(days=30))
    viewer = bearer(issue_token(site.store, "vera", "viewer"))
    with TestClient(create_app(site)) as client:
        yield Served(site, client, viewer)
    site.close()


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The change measured: its reporting window closed 2 days before the clock stopped."""
    yield from _served(tmp_path_factory.mktemp("measured"), 92)


@pytest.fixture(scope="module")
def waiting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The change planned, its reporting window still open."""
    yield from _served(tmp_path_factory.mktemp("waiting"), 10)


def _recorded(served: Served) -> RecordedMeasurement:
    ((plan, _),) = PlanBook(served.site.store).all()
    recorded = latest_measurement(served.site.ledger, plan.plan_id)
    assert recorded is not None
    return recorded


def test_each_action_shows_expected_and_verified_value_from_the_ledger(measured: Served) -> None:
    answer = measured.client.get("/api/value/actions", headers=measured.viewer)
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()
    recorded = _recorded(measured)
    figures = recorded.figures
    assert row["plan_id"] == recorded.plan.plan_id and row["asset"] == "hall"
    assert (row["status"], row["verified"], row["revision"]) == ("measured", True, 1)
    assert row["expected_value"] == EXPECTED_VALUE == figures["expected_value"]
    for name in ("saving", "uncertainty_68", "uncertainty_90", "money", "money_uncertainty"):
        assert row[name] == pytest.approx(figures[name]), name
    assert (row["unit"], row["currency"], row["confidence"]) == ("kWh", "EUR", 0.9)
    assert row["money"] > 0 and row["reasons"] == []
    one = measured.client.get("/api/value/actions?asset=hall", headers=measured.viewer).json()
    other = measured.client.get("/api/value/actions?asset=boiler", headers=measured.viewer).json()
    assert one == [row] and other == []


def test_assets_and_contracts_add_the_verified_value_of_their_actions(measured: Served) -> None:
    figures = _recorded(measured).figures
    for path, name in (("/api/value/assets", "hall"), ("/api/value/contracts", "ESC-7")):
        answer = measured.client.get(path, headers=measured.viewer)
        assert answer.status_code == 200, answer.text
        (row,) = answer.json()
        assert row["name"] == name and row["currency"] == "EUR"
        assert (row["actions"], row["measured"], row["verified"]) == (1, 1, 1)
        assert row["expected_value"] == EXPECTED_VALUE
        assert row["verified_value"] == pytest.approx(figures["money"])
        assert row["uncertainty"] == pytest.approx(figures["money_uncertainty"])


def test_the_statement_list_names_each_period_with_its_verified_value(measured: Served) -> None:
    answer = measured.client.get("/api/contracts/ESC-7/statements", headers=measured.viewer)
    assert answer.status_code == 200, answer.text
    periods = answer.json()
    # the reporting window runs from 5 January to 4 April 2027: the first two quarters
    assert [p["period"] for p in periods] == ["2027-Q1", "2027-Q2"]
    assert periods[0]["start"] == "2027-01-01" and periods[0]["end"] == "2027-04-01"
    site = measured.site
    for period in periods:
        statement = contract_statement(
            site.config.value,
            "ESC-7",
            period["period"],
            plans=PlanBook(site.store),
            ledger=site.ledger,
            seal=seal_of(site.store),
            site=site.model.name,
            currency="EUR",
            at=datetime(2027, 4, 10, tzinfo=UTC),
        ).content
        assert period["verified_value"] == pytest.approx(statement["money"])
        assert (period["actions"], period["verified"]) == (len(statement["lines"]), 1)
    money = _recorded(measured).figures["money"]
    assert sum(p["verified_value"] for p in periods) == pytest.approx(money)


def test_the_statement_list_pages_and_refuses_unknown_contracts(measured: Served) -> None:
    client, viewer = measured.client, measured.viewer
    first = client.get("/api/contracts/ESC-7/statements?limit=1", headers=viewer)
    assert [p["period"] for p in first.json()] == ["2027-Q1"]
    cursor = first.headers["X-Next-Cursor"]
    second = client.get(f"/api/contracts/ESC-7/statements?limit=1&cursor={cursor}", headers=viewer)
    assert [p["period"] for p in second.json()] == ["2027-Q2"]
    assert "X-Next-Cursor" not in second.headers
    unknown = client.get("/api/contracts/NOPE/statements", headers=viewer)
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["detail"]
    assert client.get("/api/value/actions").status_code == 401


def test_an_open_plan_shows_its_expected_value_and_nothing_verified(waiting: Served) -> None:
    client, viewer = waiting.client, waiting.viewer
    (row,) = client.get("/api/value/actions", headers=viewer).json()
    assert (row["status"], row["expected_value"], row["verified"]) == ("open", EXPECTED_VALUE, None)
    assert row["saving"] is None and row["money"] is None
    (asset,) = client.get("/api/value/assets", headers=viewer).json()
    assert (asset["measured"], asset["verified_value"]) == (0, 0.0)
    assert client.get("/api/contracts/ESC-7/statements", headers=viewer).json() == []
