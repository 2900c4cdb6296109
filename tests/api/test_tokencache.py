"""A token's stored row is kept in memory for a few seconds, so that a request's token is checked
without reading the database, and forgotten at once when users or tokens change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from valueloop.api.auth import (
    TokenRefused,
    authenticate,
    issue_token,
    revoke_token,
    set_token_expiry,
    set_user_role,
)
from valueloop.api.tokencache import TOKEN_ROW_SECONDS, TokenRow, TokenRows
from valueloop.site import Site

ROW = TokenRow(
    name="maria",
    role="viewer",
    token_hash="0" * 64,
    revoked_at=None,
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
)


class Clock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_row_is_used_for_a_few_seconds() -> None:
    clock = Clock()
    rows = TokenRows(clock)
    assert rows.get("a1") is None
    rows.keep("a1", ROW, rows.generation)
    clock.now += TOKEN_ROW_SECONDS - 0.1
    assert rows.get("a1") is ROW
    clock.now += 0.1
    assert rows.get("a1") is None


def test_a_row_read_before_a_change_is_not_kept() -> None:
    rows = TokenRows(Clock())
    read_at = rows.generation
    rows.forget()
    rows.keep("a1", ROW, read_at)
    assert rows.get("a1") is None
    rows.keep("a1", ROW, rows.generation)
    rows.forget()
    assert rows.get("a1") is None


def _revoked_behind_the_books(site: Site, token: str) -> None:
    site.store.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?",
        [datetime.now(UTC), token.split("_")[1]],
    )


def test_a_checked_token_is_not_read_again_until_users_or_tokens_change(site: Site) -> None:
    token = issue_token(site.store, "maria", "viewer")
    assert authenticate(site.store, token).role == "viewer"
    _revoked_behind_the_books(site, token)
    assert authenticate(site.store, token).role == "viewer"  # the kept row, not the table
    set_user_role(site.store, "maria", "operator")
    with pytest.raises(TokenRefused) as refused:
        authenticate(site.store, token)
    assert refused.value.reason == "revoked"


@pytest.mark.parametrize("change", ["revoke", "expiry"])
def test_a_change_through_the_books_applies_to_the_next_check(site: Site, change: str) -> None:
    token = issue_token(site.store, "maria", "viewer")
    token_id = token.split("_")[1]
    assert authenticate(site.store, token).name == "maria"
    if change == "revoke":
        revoke_token(site.store, token_id)
    else:
        set_token_expiry(site.store, token_id, datetime.now(UTC) + timedelta(seconds=1))
    later = datetime.now(UTC) + timedelta(seconds=2)
    with pytest.raises(TokenRefused) as refused:
        authenticate(site.store, token, now=later)
    assert refused.value.reason == ("revoked" if change == "revoke" else "expired")
