"""``/api/users`` and ``/api/tokens``: an admin manages users and tokens while the server runs, and
every change applies from the next request on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import bearer

from valueloop.api.app import create_app
from valueloop.api.auth import describe_token, issue_token, list_users
from valueloop.site import Site


@pytest.fixture
def app_client(site: Site) -> Iterator[TestClient]:
    """A client of the application serving the (empty) site."""
    with TestClient(create_app(site)) as test_client:
        yield test_client


@pytest.fixture
def admin(site: Site) -> dict[str, str]:
    """The Authorization header of an admin."""
    return bearer(issue_token(site.store, "root", "admin"))


def _add(client: TestClient, admin: dict[str, str], name: str, role: str) -> str:
    answer = client.post("/api/users", headers=admin, json={"name": name, "role": role})
    assert answer.status_code == 201, answer.text
    issued: str = answer.json()["token"]
    return issued


def test_an_added_user_signs_in_at_once(app_client: TestClient, admin: dict[str, str]) -> None:
    before = datetime.now(UTC)
    answer = app_client.post(
        "/api/users", headers=admin, json={"name": " Maria ", "role": "operator"}
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["name"], body["role"]) == ("Maria", "operator")
    assert body["token"].split("_")[1] == body["token_id"]
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=90) <= expires - before < timedelta(days=90, minutes=1)
    me = app_client.get("/api/me", headers=bearer(body["token"]))
    assert me.json() == {"name": "Maria", "role": "operator"}
    listed = app_client.get("/api/users", headers=admin)
    assert listed.status_code == 200
    assert "hash" not in listed.text and body["token"].split("_", 2)[2] not in listed.text
    maria = next(user for user in listed.json() if user["name"] == "Maria")
    assert maria["role"] == "operator"
    assert [token["token_id"] for token in maria["tokens"]] == [body["token_id"]]
    assert maria["tokens"][0]["revoked_at"] is None
    assert maria["tokens"][0]["expires_at"] == body["expires_at"]


def test_a_revoked_token_is_refused_from_the_next_request(
    app_client: TestClient, admin: dict[str, str]
) -> None:
    first = _add(app_client, admin, "maria", "viewer")
    more = app_client.post("/api/users/MARIA/tokens", headers=admin, json={"expires_in": "30d"})
    assert more.status_code == 201
    second = more.json()["token"]
    expires = datetime.fromisoformat(more.json()["expires_at"])
    assert expires - datetime.now(UTC) > timedelta(days=29, hours=23)
    assert expires - datetime.now(UTC) <= timedelta(days=30)
    assert app_client.get("/api/me", headers=bearer(first)).status_code == 200
    revoked = app_client.post(f"/api/tokens/{first.split('_')[1]}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = app_client.get("/api/me", headers=bearer(first))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown or revoked token"
    assert app_client.get("/api/me", headers=bearer(second)).status_code == 200
    again = app_client.post(f"/api/tokens/{first.split('_')[1]}/revoke", headers=admin)
    assert again.status_code == 409 and "already revoked" in again.json()["detail"]
    unknown = app_client.post("/api/tokens/nope/revoke", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no token 'nope'"


def test_a_role_change_applies_to_the_next_request(
    app_client: TestClient, admin: dict[str, str]
) -> None:
    token = _add(app_client, admin, "maria", "viewer")
    assert app_client.get("/api/users", headers=bearer(token)).status_code == 403
    changed = app_client.patch("/api/users/Maria", headers=admin, json={"role": "admin"})
    assert changed.json() == {"name": "maria", "role": "admin"}
    assert app_client.get("/api/users", headers=bearer(token)).status_code == 200
    app_client.patch("/api/users/maria", headers=admin, json={"role": "viewer"})
    assert app_client.get("/api/users", headers=bearer(token)).status_code == 403


def test_an_admin_changes_when_a_token_expires(
    app_client: TestClient, site: Site, admin: dict[str, str]
) -> None:
    issued = datetime.now(UTC) - timedelta(days=2)
    token = issue_token(site.store, "maria", "viewer", lifetime=timedelta(days=1), now=issued)
    token_id = token.split("_")[1]
    assert app_client.get("/api/me", headers=bearer(token)).status_code == 401
    extended = app_client.patch(f"/api/tokens/{token_id}", headers=admin, json={"expires_in": "2h"})
    assert extended.status_code == 200, extended.text
    expires = datetime.fromisoformat(extended.json()["expires_at"])
    assert timedelta(hours=1, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=2)
    assert app_client.get("/api/me", headers=bearer(token)).json()["name"] == "maria"
    soon = datetime.now(UTC) + timedelta(minutes=5)
    shortened = app_client.patch(
        f"/api/tokens/{token_id}", headers=admin, json={"expires_at": soon.isoformat()}
    )
    assert datetime.fromisoformat(shortened.json()["expires_at"]) == soon
    (listed,) = [
        user
        for user in app_client.get("/api/users", headers=admin).json()
        if user["name"] == "maria"
    ]
    assert datetime.fromisoformat(listed["tokens"][0]["expires_at"]) == soon
    assert app_client.get("/api/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"expires_at": "2020-01-01T00:00:00Z"}, 422, "is not in the future; to end a token now"),
        ({"expires_in": "3651d"}, 422, "at most 3650 days"),
        ({"expires_at": "2999-01-01T00:00:00Z"}, 422, "at most 3650 days from now"),
        ({"expires_at": "2030-01-01T00:00:00"}, 422, "timezone"),
        ({"expires_in": "1d", "expires_at": "2030-01-01T00:00:00Z"}, 422, "exactly one of"),
        ({}, 422, "exactly one of"),
    ],
)
def test_an_expiry_out_of_range_is_refused(
    app_client: TestClient,
    site: Site,
    admin: dict[str, str],
    body: dict[str, str],
    status: int,
    detail: str,
) -> None:
    token_id = _add(app_client, admin, "maria", "viewer").split("_")[1]
    before = describe_token(site.store, f"vl_{token_id}_x").expires_at
    answer = app_client.patch(f"/api/tokens/{token_id}", headers=admin, json=body)
    assert answer.status_code == status
    assert detail in answer.json()["detail"]
    assert describe_token(site.store, f"vl_{token_id}_x").expires_at == before


def test_an_unknown_or_revoked_token_keeps_its_expiry(
    app_client: TestClient, admin: dict[str, str]
) -> None:
    token_id = _add(app_client, admin, "maria", "viewer").split("_")[1]
    unknown = app_client.patch("/api/tokens/nope", headers=admin, json={"expires_in": "1d"})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no token 'nope'"
    app_client.post(f"/api/tokens/{token_id}/revoke", headers=admin)
    revoked = app_client.patch(f"/api/tokens/{token_id}", headers=admin, json={"expires_in": "1d"})
    assert revoked.status_code == 409
    assert revoked.json()["detail"] == f"token {token_id} is revoked; issue the user a new one"


@pytest.mark.parametrize("role", ["viewer", "operator", "approver", "ingest"])
def test_only_admins_manage_users(app_client: TestClient, site: Site, role: str) -> None:
    token = bearer(issue_token(site.store, "maria", role))
    calls = [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"name": "eve", "role": "admin"}),
        ("POST", "/api/users/maria/tokens", {}),
        ("PATCH", "/api/users/maria", {"role": "admin"}),
        ("PATCH", f"/api/tokens/{token['Authorization'].split('_')[1]}", {"expires_in": "1d"}),
        ("POST", f"/api/tokens/{token['Authorization'].split('_')[1]}/revoke", None),
    ]
    for method, path, body in calls:
        answer = app_client.request(method, path, headers=token, json=body)
        assert answer.status_code == 403, f"{method} {path}"
    assert [(user.name, user.role, len(user.tokens)) for user in list_users(site.store)] == [
        ("maria", role, 1)
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("POST", "/api/users", {"name": "MARIA", "role": "viewer"}, 409, "exists already"),
        ("POST", "/api/users", {"name": "  ", "role": "viewer"}, 422, "needs a name"),
        ("POST", "/api/users", {"name": "eve", "role": "root"}, 422, None),
        (
            "POST",
            "/api/users",
            {"name": "eve", "role": "viewer", "expires_in": "1y"},
            422,
            "lifetime '1y' is not a whole number and a unit",
        ),
        ("POST", "/api/users/tom/tokens", None, 404, "no user 'tom'"),
        ("POST", "/api/users/maria/tokens", {"expires_in": "3651d"}, 422, "at most 3650 days"),
        ("PATCH", "/api/users/tom", {"role": "viewer"}, 404, "no user 'tom'"),
    ],
)
def test_refused_changes_say_why(
    app_client: TestClient,
    admin: dict[str, str],
    method: str,
    path: str,
    body: dict[str, str] | None,
    status: int,
    detail: str | None,
) -> None:
    _add(app_client, admin, "maria", "viewer")
    answer = app_client.request(method, path, headers=admin, json=body)
    assert answer.status_code == status
    if detail is not None:
        assert detail in answer.json()["detail"]
    users = app_client.get("/api/users", headers=admin).json()
    assert [(user["name"], len(user["tokens"])) for user in users] == [("root", 1), ("maria", 1)]
