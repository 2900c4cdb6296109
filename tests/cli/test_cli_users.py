"""``users``: one user per name, more tokens for a user, roles changed for all their tokens,
tokens that expire and are rotated."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from valueloop.api.auth import Principal, authenticate, list_tokens
from valueloop.cli import users
from valueloop.errors import AuthError
from valueloop.packs.aviation import PACK
from valueloop.site import open_site

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough for whole table rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _users(data_dir: Path, *args: str, code: int = 0) -> Result:
    result = runner.invoke(
        users.app, [*args, "--data-dir", str(data_dir), "--site", str(PACK.site_file)]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.output
    return result


def _principal(data_dir: Path, token: str) -> Principal:
    site = open_site(PACK.site_file, data_dir)
    try:
        return authenticate(site.store, token)
    finally:
        site.close()


def test_add_refuses_a_name_taken_in_any_case(data_dir: Path) -> None:
    _users(data_dir, "add", "Maria", "--role", "approver")
    refused = _users(data_dir, "add", " MARIA ", "--role", "admin", code=1)
    assert refused.stdout == ""
    assert "user 'Maria' exists already (approver)" in refused.stderr
    assert "valueloop users token Maria" in refused.stderr
    assert _users(data_dir, "list").stdout.count("Maria") == 1


def test_token_gives_an_existing_user_another_token(data_dir: Path) -> None:
    first = _users(data_dir, "add", "maria", "--role", "approver").stdout.strip()
    another = _users(data_dir, "token", "MARIA")
    second = another.stdout.strip()
    assert "token for maria (approver)" in another.stderr
    assert second != first
    assert (
        _principal(data_dir, first)
        == _principal(data_dir, second)
        == Principal("maria", "approver")
    )
    listing = _users(data_dir, "list").stdout
    for token in (first, second):
        assert token.split("_")[1] in listing and token.split("_", 2)[2] not in listing
    assert listing.count("maria") == 2 and listing.count("approver") == 2
    unknown = _users(data_dir, "token", "tom", code=1)
    assert "no user 'tom'" in unknown.stderr and "valueloop users add tom" in unknown.stderr


def test_role_changes_every_token_of_a_user(data_dir: Path) -> None:
    first = _users(data_dir, "add", "maria", "--role", "operator").stdout.strip()
    second = _users(data_dir, "token", "maria").stdout.strip()
    assert _users(data_dir, "role", "Maria", "approver").stdout.strip() == "maria is now approver"
    assert {_principal(data_dir, token).role for token in (first, second)} == {"approver"}
    assert "root" in _users(data_dir, "role", "maria", "root", code=2).output
    assert "no user 'tom'" in _users(data_dir, "role", "tom", "viewer", code=1).stderr


def test_revoking_an_unknown_token_is_refused(data_dir: Path) -> None:
    assert "no token 'nope'" in _users(data_dir, "revoke", "nope", code=1).stderr


def _expiries(data_dir: Path) -> dict[str, tuple[datetime, datetime, datetime | None]]:
    site = open_site(PACK.site_file, data_dir)
    try:
        rows = list_tokens(site.store).to_pylist()
    finally:
        site.close()
    return {
        row["token_id"]: (row["created_at"], row["expires_at"], row["revoked_at"]) for row in rows
    }


def test_tokens_expire_after_90_days_or_as_told(data_dir: Path) -> None:
    added = _users(data_dir, "add", "maria", "--role", "viewer")
    short = _users(data_dir, "token", "maria", "--expires-in", "30d")
    assert "valid until" in added.stderr and "valid until" in short.stderr
    expiries = _expiries(data_dir)
    for result, days in ((added, 90), (short, 30)):
        created, expires, _ = expiries[result.stdout.strip().split("_")[1]]
        assert expires - created == timedelta(days=days)
        assert f"{expires:%Y-%m-%d %H:%M} UTC" in result.stderr
    assert "expires" in _users(data_dir, "list").stdout
    for wrong in ("1y", "0d", "3651d"):
        refused = _users(data_dir, "token", "maria", "--expires-in", wrong, code=2)
        assert "--expires-in" in refused.output
    assert len(_expiries(data_dir)) == 2


def test_rotate_prints_a_new_token_and_revokes_the_others(data_dir: Path) -> None:
    old = [
        _users(data_dir, "add", "maria", "--role", "approver").stdout.strip(),
        _users(data_dir, "token", "maria").stdout.strip(),
    ]
    toms = _users(data_dir, "add", "tom", "--role", "viewer").stdout.strip()
    rotated = _users(data_dir, "rotate", "MARIA", "--expires-in", "7d")
    new = rotated.stdout.strip()
    assert new.startswith("vl_") and new not in old
    assert "token for maria (approver)" in rotated.stderr
    assert "their other tokens are revoked" in rotated.stderr
    assert _principal(data_dir, new) == Principal("maria", "approver")
    assert _principal(data_dir, toms) == Principal("tom", "viewer")
    expiries = _expiries(data_dir)
    assert all(expiries[token.split("_")[1]][2] is not None for token in old)
    created, expires, revoked = expiries[new.split("_")[1]]
    assert revoked is None and expires - created == timedelta(days=7)
    for token in old:
        with pytest.raises(AuthError, match="unknown or revoked"):
            _principal(data_dir, token)
    assert "no user 'ann'" in _users(data_dir, "rotate", "ann", code=1).stderr
