"""Refused sign-ins: counted per address, audited without the secret, and an address with too many
barred with 429 and ``Retry-After`` while others are served."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.fleet import bearer

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.api.throttle import Throttle
from valueloop.site import Site

GUESSER = ("203.0.113.7", 40001)
NEIGHBOUR = ("198.51.100.9", 40002)


class Clock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_barred_for_a_window_after_too_many_refusals() -> None:
    clock = Clock()
    throttle = Throttle(failures=3, window=60, clock=clock)
    assert [throttle.refuse("a"), throttle.refuse("a")] == [1, 2]
    assert throttle.retry_after("a") is None
    clock.now += 10
    assert throttle.refuse("a") == 3
    assert throttle.retry_after("a") == 60
    assert throttle.retry_after("b") is None and throttle.refuse("b") == 1
    clock.now += 59.5
    assert throttle.retry_after("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert throttle.retry_after("a") is None
    assert throttle.refuse("a") == 1  # counted afresh once the bar ends


def test_refusals_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    throttle = Throttle(failures=3, window=60, clock=clock)
    throttle.refuse("a")
    clock.now += 30
    throttle.refuse("a")
    clock.now += 30  # the first refusal leaves the window
    assert throttle.refuse("a") == 2
    assert throttle.retry_after("a") is None


def test_the_addresses_remembered_are_capped() -> None:
    clock = Clock()
    throttle = Throttle(failures=2, window=60, addresses=3, clock=clock)
    for address in ("a", "b", "c", "d"):
        throttle.refuse(address)
    assert throttle.refuse("a") == 1  # "a", least recently refused, was forgotten for "d"
    assert throttle.refuse("d") == 2 and throttle.retry_after("d") == 60
    for address in ("e", "f", "g"):
        throttle.refuse(address)
        throttle.refuse(address)
    assert throttle.retry_after("d") is None  # the bars remembered are capped as well
    assert throttle.retry_after("g") == 60


@pytest.fixture
def app(site: Site) -> FastAPI:
    """The application serving the (empty) site."""
    return create_app(site)


@pytest.fixture
def guesser(app: FastAPI) -> Iterator[TestClient]:
    """A client at an address that guesses tokens."""
    with TestClient(app, client=GUESSER) as test_client:
        yield test_client


def _audit(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    lines = [r for r in caplog.records if r.name == "valueloop.access.auth"]
    return [json.loads(record.getMessage()) for record in lines]


def test_a_guessing_address_is_barred_and_its_neighbour_is_not(
    app: FastAPI, guesser: TestClient, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="valueloop.access")
    valid = issue_token(site.store, "maria", "viewer")
    guesses = [f"{valid[:-6]}guess{n:02d}" for n in range(25)]
    statuses = [guesser.get("/api/me", headers=bearer(guess)).status_code for guess in guesses]
    assert statuses == [401] * 20 + [429] * 5
    barred = guesser.get("/api/me", headers=bearer(valid))
    assert barred.status_code == 429
    assert 1 <= int(barred.headers["Retry-After"]) <= 60
    assert "too many refused tokens" in barred.json()["detail"]
    assert barred.headers["X-Request-ID"]
    assert guesser.get("/healthz").status_code == 200
    with TestClient(app, client=NEIGHBOUR) as neighbour:
        assert neighbour.get("/api/me", headers=bearer(valid)).json()["name"] == "maria"
        assert neighbour.get("/api/me", headers=bearer(guesses[0])).status_code == 401
    audit = _audit(caplog)
    assert len(audit) == 21
    assert audit[0] == {
        "event": "token refused",
        "reason": "wrong secret",
        "client": GUESSER[0],
        "token_id": valid.split("_")[1],
        "refusals": 1,
        "barred": False,
    }
    assert audit[19]["refusals"] == 20 and audit[19]["barred"] is True
    assert audit[20]["client"] == NEIGHBOUR[0] and audit[20]["refusals"] == 1
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "valueloop.access"]
    assert access[20]["request_id"] != access[21]["request_id"]
    assert [(line["status"], line["user"]) for line in access[19:27]] == [
        (401, "-"),
        *[(429, "-")] * 6,
        (200, "-"),  # /healthz
    ]
    secret = valid.split("_", 2)[2]
    assert all(secret[:-6] not in record.getMessage() for record in caplog.records)


def test_requests_without_a_token_are_not_counted(
    guesser: TestClient, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="valueloop.access")
    for _ in range(25):
        assert guesser.get("/api/assets").status_code == 401
    valid = issue_token(site.store, "maria", "viewer")
    assert guesser.get("/api/me", headers=bearer(valid)).status_code == 200
    assert _audit(caplog) == []
