"""``GET /api/audit/verify``: every sealed log of the site verified, for a viewer or above."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.api.fleet import bearer

from valueloop.site import Site


def _heads(site: Site) -> dict[str, int]:
    return {
        log: int(site.store.query(f"SELECT count(*) AS n FROM {log}").column("n")[0].as_py())
        for log in ("audit", "ledger")
    }


def test_a_viewer_sees_each_log_verified(
    client: TestClient, tokens: dict[str, str], site: Site
) -> None:
    answer = client.get("/api/audit/verify", headers=bearer(tokens["viewer"]))
    assert answer.status_code == 200
    heads = _heads(site)
    assert heads["audit"] > 0 and heads["ledger"] > 0
    assert answer.json() == [
        {
            "log": log,
            "ok": True,
            "checked": heads[log],
            "head_seq": heads[log],
            "first_broken": None,
            "reason": "",
        }
        for log in ("audit", "ledger")
    ]


def test_an_edited_entry_is_named_with_its_reason(
    client: TestClient, tokens: dict[str, str], site: Site
) -> None:
    site.store.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
    reports = client.get("/api/audit/verify", headers=bearer(tokens["admin"])).json()
    audit, ledger = reports
    assert (audit["log"], audit["ok"], audit["first_broken"]) == ("audit", False, 1)
    assert audit["reason"] == "hash does not match its content"
    assert ledger["ok"] is True


def test_it_needs_a_token_of_a_reading_role(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/audit/verify").status_code == 401
    assert client.get("/api/audit/verify", headers=bearer(tokens["ingest"])).status_code == 403
