"""API users and tokens: names unique, tokens stored hashed, checked in constant time and expiring,
roles enforced with 401 and 403."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import Fleet, bearer

from valueloop.api.auth import (
    ROLES,
    TOKEN_LIFETIME,
    Principal,
    TokenRefused,
    authenticate,
    describe_token,
    issue_token,
    issue_user_token,
    list_tokens,
    list_users,
    parse_lifetime,
    revoke_token,
    role_allows,
    rotate_user_token,
    set_user_role,
)
from valueloop.api.errors import NotFoundError
from valueloop.errors import ActionError, AuthError, DataError
from valueloop.site import Site
from valueloop.store.duckdb import DuckDBStore


def test_only_the_hash_of_a_token_is_stored(site: Site) -> None:
    token = issue_token(site.store, "maria", "operator")
    prefix, token_id, secret = token.split("_", 2)
    assert prefix == "vl" and len(secret) >= 43
    rows = site.store.query("SELECT * FROM api_tokens").to_pylist()
    assert len(rows) == 1
    assert rows[0]["token_id"] == token_id
    assert rows[0]["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in rows[0].values())
    assert "token_hash" not in list_tokens(site.store).column_names


def test_authenticate_gives_the_principal_until_revoked(site: Site) -> None:
    token = issue_token(site.store, "maria", "operator")
    principal = authenticate(site.store, token)
    assert (principal.name, principal.role) == ("maria", "operator")
    revoke_token(site.store, token.split("_")[1])
    with pytest.raises(AuthError, match="unknown or revoked"):
        authenticate(site.store, token)
    with pytest.raises(ActionError, match="already revoked"):
        revoke_token(site.store, token.split("_")[1])
    with pytest.raises(NotFoundError, match="no token 'nope'"):
        revoke_token(site.store, "nope")


@pytest.mark.parametrize(
    "token", ["", "nonsense", "vl_deadbeef_secret", "vl__", "Bearer x", "vl_x_y_z"]
)
def test_malformed_or_unknown_tokens_are_refused(site: Site, token: str) -> None:
    issue_token(site.store, "maria", "viewer")
    with pytest.raises(AuthError):
        authenticate(site.store, token)


def test_a_right_id_with_a_wrong_secret_is_refused(site: Site) -> None:
    token = issue_token(site.store, "maria", "admin")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError):
        authenticate(site.store, forged)


def test_issue_checks_name_and_role(site: Site) -> None:
    with pytest.raises(DataError, match="unknown role"):
        issue_token(site.store, "maria", "root")
    with pytest.raises(DataError, match="needs a name"):
        issue_token(site.store, "  ", "viewer")
    with pytest.raises(DataError, match="printable"):
        issue_token(site.store, "maria\nadmin", "viewer")
    with pytest.raises(DataError, match="at most 3650 days"):
        issue_token(site.store, "maria", "viewer", lifetime=timedelta(days=3651))
    assert list_tokens(site.store).num_rows == 0


# whether a user holding the role of a row may do what needs the role of a column
_MATRIX = """
          viewer  operator  approver  admin  ingest
viewer    yes     no        no        no     no
operator  yes     yes       no        no     no
approver  yes     yes       yes       no     no
admin     yes     yes       yes       yes    yes
ingest    no      no        no        no     yes
"""


def test_roles_are_ordered_viewer_operator_approver_admin() -> None:
    header, *rows = (line.split() for line in _MATRIX.strip().splitlines())
    allowed = {row[0]: dict(zip(header, row[1:], strict=True)) for row in rows}
    assert tuple(header) == ROLES == tuple(allowed)
    for held in ROLES:
        for needed in ROLES:
            assert role_allows(held, needed) is (allowed[held][needed] == "yes"), (held, needed)


def test_a_name_is_one_user_whatever_its_case(site: Site) -> None:
    issue_token(site.store, "Maria Rossi", "approver")
    for again in ("maria rossi", "  MARIA ROSSI ", "Maria Rossi"):
        with pytest.raises(ActionError, match="exists already") as refused:
            issue_token(site.store, again, "admin")
        assert "valueloop users token 'Maria Rossi'" in str(refused.value)
    assert list_tokens(site.store).num_rows == 1


def test_another_token_acts_as_the_same_user(site: Site) -> None:
    first = issue_token(site.store, "Maria", "approver")
    second = issue_user_token(site.store, " maria ")
    assert first != second
    maria = Principal(name="Maria", role="approver")
    assert authenticate(site.store, first) == authenticate(site.store, second) == maria
    revoke_token(site.store, first.split("_")[1])
    with pytest.raises(AuthError, match="unknown or revoked"):
        authenticate(site.store, first)
    assert authenticate(site.store, second) == maria
    third = issue_user_token(site.store, "MARIA")  # a user whose tokens were revoked remains
    assert authenticate(site.store, third) == maria
    listed = list_tokens(site.store).to_pylist()
    assert [(row["name"], row["role"]) for row in listed] == [("Maria", "approver")] * 3
    assert [row["revoked_at"] is None for row in listed] == [False, True, True]


def test_another_token_needs_an_existing_user(site: Site) -> None:
    with pytest.raises(NotFoundError, match=r"no user 'tom'.*valueloop users add tom --role ROLE"):
        issue_user_token(site.store, "tom")


def test_a_users_role_is_one_for_all_their_tokens(site: Site) -> None:
    tokens = [issue_token(site.store, "maria", "operator"), issue_user_token(site.store, "maria")]
    assert set_user_role(site.store, "MARIA", "approver") == Principal("maria", "approver")
    assert {authenticate(site.store, token).role for token in tokens} == {"approver"}
    roles = site.store.query("SELECT role FROM api_tokens").column("role").to_pylist()
    assert roles == ["approver", "approver"]
    with pytest.raises(DataError, match="unknown role"):
        set_user_role(site.store, "maria", "root")
    with pytest.raises(NotFoundError, match="no user"):
        set_user_role(site.store, "tom", "viewer")


def test_the_last_admin_keeps_the_role(site: Site) -> None:
    issue_token(site.store, "root", "admin")
    with pytest.raises(ActionError, match="root is the site's last admin"):
        set_user_role(site.store, "root", "operator")
    issue_token(site.store, "ada", "admin")
    assert set_user_role(site.store, "root", "operator").role == "operator"
    with pytest.raises(ActionError, match="ada is the site's last admin"):
        set_user_role(site.store, "ada", "viewer")
    assert set_user_role(site.store, "ada", "admin").role == "admin"


@pytest.fixture
def legacy_store(tmp_path: Path) -> Iterator[DuckDBStore]:
    """A store whose tokens were issued before users existed: maria twice, with two roles."""
    store = DuckDBStore(tmp_path / "legacy.duckdb")
    store.execute(
        "CREATE TABLE api_tokens (token_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, "
        "role VARCHAR NOT NULL, token_hash VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, "
        "revoked_at TIMESTAMPTZ)"
    )
    legacy = [("a1", "Maria", "admin"), ("b2", "maria ", "operator"), ("c3", "tom", "viewer")]
    for minute, (token_id, name, role) in enumerate(legacy):
        secret_hash = hashlib.sha256(f"s{token_id}".encode()).hexdigest()
        issued = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
        store.execute(
            "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)",
            [token_id, name, role, secret_hash, issued],
        )
    yield store
    store.close()


_LEGACY_DAY = datetime(2026, 1, 2, tzinfo=UTC)  # a day after the legacy tokens were issued


def test_tokens_issued_before_users_existed_are_adopted(legacy_store: DuckDBStore) -> None:
    maria = Principal("Maria", "operator")  # one user, with the lesser of her two roles
    tokens = ("vl_a1_sa1", "vl_b2_sb2")
    assert {authenticate(legacy_store, token, now=_LEGACY_DAY) for token in tokens} == {maria}
    assert authenticate(legacy_store, "vl_c3_sc3", now=_LEGACY_DAY) == Principal("tom", "viewer")
    with pytest.raises(ActionError, match="exists already"):
        issue_token(legacy_store, "MARIA", "viewer")
    assert authenticate(legacy_store, issue_user_token(legacy_store, "maria")) == maria
    assert set_user_role(legacy_store, "maria", "admin").role == "admin"
    roles = {authenticate(legacy_store, token, now=_LEGACY_DAY).role for token in tokens}
    assert roles == {"admin"}
    assert list_tokens(legacy_store).column("name").to_pylist() == ["Maria"] * 2 + ["tom", "Maria"]


def test_tokens_issued_before_expiry_existed_expire_90_days_after_issue(
    legacy_store: DuckDBStore,
) -> None:
    listed = list_tokens(legacy_store).to_pylist()
    assert all(row["expires_at"] - row["created_at"] == timedelta(days=90) for row in listed)
    last_valid = datetime(2026, 4, 1, tzinfo=UTC) - timedelta(microseconds=1)
    assert authenticate(legacy_store, "vl_a1_sa1", now=last_valid).name == "Maria"
    with pytest.raises(TokenRefused, match="token expired at 2026-04-01 00:00:00 UTC") as expired:
        authenticate(legacy_store, "vl_a1_sa1")
    assert (expired.value.reason, expired.value.token_id) == ("expired", "a1")


def test_a_token_expires_after_its_lifetime(site: Site) -> None:
    issued = datetime(2026, 3, 1, 12, tzinfo=UTC)
    token = issue_token(site.store, "maria", "viewer", lifetime=timedelta(seconds=1), now=issued)
    assert authenticate(site.store, token, now=issued + timedelta(milliseconds=999)).name == "maria"
    with pytest.raises(TokenRefused, match="expired at 2026-03-01 12:00:01 UTC"):
        authenticate(site.store, token, now=issued + timedelta(seconds=1))
    another = issue_user_token(site.store, "maria", now=issued)
    (row,) = [r for r in list_tokens(site.store).to_pylist() if r["token_id"] in another]
    assert row["expires_at"] == issued + TOKEN_LIFETIME == issued + timedelta(days=90)


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        (" 90m ", timedelta(minutes=90)),
        ("1s", timedelta(seconds=1)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_lifetimes_are_a_number_and_a_unit(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["0d", "30", "d", "1y", "-1d", "1.5d", "99999999d", "3651d"])
def test_other_lifetimes_are_refused(text: str) -> None:
    with pytest.raises(DataError, match=r"lifetime|at most 3650 days"):
        parse_lifetime(text)


def test_a_refusal_says_why_to_the_log_only(site: Site) -> None:
    past = datetime.now(UTC) - timedelta(days=91)
    good = issue_token(site.store, "maria", "viewer")
    revoked = issue_user_token(site.store, "maria")
    revoke_token(site.store, revoked.split("_")[1])
    expired = issue_user_token(site.store, "maria", now=past)
    cases = {
        "nonsense": ("malformed", None),
        "vl_0123456789ab_secret": ("unknown", "0123456789ab"),
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"): (
            "wrong secret",
            good.split("_")[1],
        ),
        revoked: ("revoked", revoked.split("_")[1]),
        expired: ("expired", expired.split("_")[1]),
    }
    for token, (reason, token_id) in cases.items():
        with pytest.raises(TokenRefused) as refused:
            authenticate(site.store, token)
        assert (refused.value.reason, refused.value.token_id) == (reason, token_id)
        told = str(refused.value)
        assert (
            told.startswith("token expired at")
            if reason == "expired"
            else told == ("unknown or revoked token")
        )


def test_rotate_issues_a_new_token_and_revokes_the_others(site: Site) -> None:
    old = [issue_token(site.store, "maria", "approver"), issue_user_token(site.store, "maria")]
    toms = issue_token(site.store, "tom", "viewer")
    new = rotate_user_token(site.store, "MARIA", lifetime=timedelta(days=30))
    assert authenticate(site.store, new) == Principal("maria", "approver")
    for token in old:
        with pytest.raises(TokenRefused, match="unknown or revoked"):
            authenticate(site.store, token)
    assert authenticate(site.store, toms).name == "tom"
    info = describe_token(site.store, new)
    assert info.revoked_at is None and info.expires_at - info.created_at == timedelta(days=30)
    with pytest.raises(NotFoundError, match="no user 'ann'"):
        rotate_user_token(site.store, "ann")


def test_users_are_listed_with_their_tokens(site: Site) -> None:
    first = issue_token(site.store, "Maria", "approver")
    issue_token(site.store, "tom", "viewer")
    second = issue_user_token(site.store, "maria")
    revoke_token(site.store, first.split("_")[1])
    maria, tom = list_users(site.store)
    assert (maria.name, maria.role, tom.name, tom.role) == ("Maria", "approver", "tom", "viewer")
    ids = [token.token_id for token in maria.tokens]
    assert ids == [first.split("_")[1], second.split("_")[1]]
    assert [token.revoked_at is None for token in maria.tokens] == [False, True]
    assert len(tom.tokens) == 1


def test_an_expired_token_is_told_when_it_expired(client: TestClient, site: Site) -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    token = issue_token(site.store, "maria", "viewer", lifetime=timedelta(days=1), now=issued)
    answer = client.get("/api/me", headers=bearer(token))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["detail"].startswith("token expired at 2026-01-02 00:00:00 UTC")


def test_api_routes_need_a_valid_token(client: TestClient, tokens: dict[str, str]) -> None:
    missing = client.get("/api/assets")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = client.get("/api/assets", headers=bearer(tokens["viewer"] + "x"))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    basic = client.get("/api/assets", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    assert client.get("/api/assets", headers=bearer(tokens["viewer"])).status_code == 200


def test_every_api_route_is_protected(client: TestClient) -> None:
    routes = client.get("/openapi.json").json()["paths"]
    api_paths = [path for path in routes if path.startswith("/api/")]
    assert len(api_paths) >= 15
    for path, operations in routes.items():
        for method, operation in operations.items():
            if path.startswith("/api/"):
                assert operation.get("security"), f"{method.upper()} {path} is not protected"
                url = path.replace("{", "").replace("}", "")
                answer = client.request(method.upper(), url)
                assert answer.status_code == 401, f"{method.upper()} {path}"


def test_ingest_tokens_cannot_read(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get("/api/assets", headers=bearer(tokens["ingest"]))
    assert answer.status_code == 403


@pytest.mark.parametrize("role", ["viewer", "operator"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_approvers_decide(
    client: TestClient, tokens: dict[str, str], fleet: Fleet, role: str, decision: str
) -> None:
    order = fleet.order_ids[0]
    answer = client.post(
        f"/api/workorders/{order}/{decision}", headers=bearer(tokens[role]), json={}
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == f"role {role} may not do this; it needs approver"
    status = client.get(f"/api/workorders/{order}", headers=bearer(tokens["viewer"])).json()
    assert status["status"] == "proposed"


def test_healthz_and_docs_are_open(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "valueloop"
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "https://" not in docs.text and "http://" not in docs.text
    for asset in ("/static/swagger/swagger-ui-bundle.js", "/static/swagger/swagger-ui.css"):
        assert asset in docs.text
        assert client.get(asset).status_code == 200
