"""Users and their tokens, managed while the server runs (admin role).

What ``valueloop users`` does on a stopped site: add a user, issue another token, change a role,
revoke a token; and change when a token expires. A token issued here is in the response this
once; it authenticates at once, and a token revoked or given another expiry here is so from the
next request on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends

from valueloop.api.answers import conflict
from valueloop.api.auth import (
    TokenInfo,
    describe_token,
    issue_token,
    issue_user_token,
    list_users,
    parse_lifetime,
    revoke_token,
    set_token_expiry,
    set_user_role,
)
from valueloop.api.deps import SiteDep
from valueloop.api.models import (
    IssuedTokenOut,
    PrincipalOut,
    RoleIn,
    TokenExpiryIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from valueloop.api.paging import ListPage
from valueloop.api.signin import require
from valueloop.store.duckdb import DuckDBStore

router = APIRouter(tags=["users"], dependencies=[Depends(require("admin"))])


def _lifetime(text: str | None) -> timedelta | None:
    return None if text is None else parse_lifetime(text)


def _token_out(token: TokenInfo) -> TokenOut:
    return TokenOut(
        token_id=token.token_id,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


def _issued(store: DuckDBStore, token: str) -> IssuedTokenOut:
    info = describe_token(store, token)
    return IssuedTokenOut(
        name=info.name,
        role=info.role,
        token=token,
        token_id=info.token_id,
        expires_at=info.expires_at,
    )


@router.get("/users")
def users(site: SiteDep, page: ListPage) -> list[UserOut]:
    """The users, oldest first, a page at a time, with their role and tokens (id and times;
    never a secret or a hash)."""
    return [
        UserOut(
            name=user.name,
            role=user.role,
            created_at=user.created_at,
            tokens=[_token_out(token) for token in user.tokens],
        )
        for user in page.rows(list_users(site.store), lambda user: (user.created_at, user.name))
    ]


@router.post("/users", status_code=201, responses=conflict("A user has this name, in any case."))
def add_user(body: UserIn, site: SiteDep) -> IssuedTokenOut:
    """Add a user and issue their first token (409 if the name is taken, in any case)."""
    token = issue_token(site.store, body.name, body.role, lifetime=_lifetime(body.expires_in))
    return _issued(site.store, token)


@router.post("/users/{name}/tokens", status_code=201)
def another_token(name: str, site: SiteDep, body: TokenIn | None = None) -> IssuedTokenOut:
    """Issue another token for a user, with their role (404 if there is no such user)."""
    lifetime = _lifetime(body.expires_in if body is not None else None)
    return _issued(site.store, issue_user_token(site.store, name, lifetime=lifetime))


@router.patch("/users/{name}", responses=conflict("The user is the site's last admin."))
def change_role(name: str, body: RoleIn, site: SiteDep) -> PrincipalOut:
    """Change a user's role, for every token they hold, from their next request on (409 for
    the site's last admin)."""
    principal = set_user_role(site.store, name, body.role)
    return PrincipalOut(name=principal.name, role=principal.role)


@router.post("/tokens/{token_id}/revoke", responses=conflict("The token is revoked already."))
def revoke(token_id: str, site: SiteDep) -> TokenOut:
    """Revoke a token (404 if unknown, 409 if revoked already); the user's others remain."""
    return _token_out(revoke_token(site.store, token_id))


@router.patch("/tokens/{token_id}", responses=conflict("The token is revoked."))
def change_expiry(token_id: str, body: TokenExpiryIn, site: SiteDep) -> TokenOut:
    """Change when a token expires: at ``expires_at``, or ``expires_in`` from now (404 if
    unknown, 409 if revoked, 422 for a time not in the future or more than ten years ahead).
    An expired token may be given a later expiry."""
    now = datetime.now(UTC)
    return _token_out(set_token_expiry(site.store, token_id, body.expiry(now), now=now))
