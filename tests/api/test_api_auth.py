"""API tokens: stored hashed, checked in constant time, roles enforced with 401 and 403."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import Fleet, bearer

from valueloop.api.auth import authenticate, issue_token, list_tokens, revoke_token, role_allows
from valueloop.errors import AuthError
from valueloop.site import Site


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
    with pytest.raises(AuthError, match="already revoked"):
        revoke_token(site.store, token.split("_")[1])


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
    with pytest.raises(AuthError, match="unknown role"):
        issue_token(site.store, "maria", "root")
    with pytest.raises(AuthError, match="needs a name"):
        issue_token(site.store, "  ", "viewer")


def test_role_order() -> None:
    assert role_allows("operator", "viewer") and role_allows("admin", "operator")
    assert not role_allows("viewer", "operator")
    assert role_allows("ingest", "ingest") and role_allows("admin", "ingest")
    assert not role_allows("ingest", "viewer") and not role_allows("operator", "ingest")


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


def test_a_viewer_cannot_approve(client: TestClient, tokens: dict[str, str], fleet: Fleet) -> None:
    order = fleet.order_ids[0]
    answer = client.post(
        f"/api/workorders/{order}/approve", headers=bearer(tokens["viewer"]), json={}
    )
    assert answer.status_code == 403
    assert "needs operator" in answer.json()["detail"]
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
