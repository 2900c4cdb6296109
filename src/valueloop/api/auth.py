"""API users, their tokens and roles.

A user is a person or a system, named once: names are unique regardless of case and of the spaces
around them, and a user's role is one value for all their tokens. A user may hold several tokens
(one per device, say), each revocable on its own; every one of them acts as the same user.

A token reads ``vl_<token_id>_<secret>``: ``token_id`` is a short, non-secret id used to find the
token's row, ``secret`` 32 random bytes (``secrets.token_urlsafe``). Only the SHA-256 of the
secret is stored, in ``api_tokens``; the token itself is shown once, when it is issued, and never
stored or logged. Hashes are compared in constant time. Users are in ``api_users``, keyed by their
name trimmed and case-folded; ``api_tokens.user_key`` ties each token to its user, and
``api_tokens.role`` is kept equal to the user's role.

Roles: ``viewer`` (reads) < ``operator`` (proposes work orders, acknowledges and shelves alarms)
< ``approver`` (approves and rejects work orders, requests rollbacks) < ``admin`` (everything);
``ingest`` may only send data.

Tokens issued before users existed are adopted on first use: each name becomes a user, and a name
whose tokens carried different roles gets the least of them (``ingest`` counting as the least),
which :func:`set_user_role` raises again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import shlex
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

import pyarrow as pa
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from valueloop.api.deps import SiteDep
from valueloop.api.errors import ForbiddenError
from valueloop.errors import AuthError
from valueloop.store.duckdb import DuckDBStore

Role = Literal["viewer", "operator", "approver", "admin", "ingest"]
ROLES: tuple[Role, ...] = get_args(Role)

_RANK: dict[Role, int] = {"viewer": 1, "operator": 2, "approver": 3, "admin": 4}
_LEAST_FIRST: tuple[Role, ...] = ("ingest", "viewer", "operator", "approver", "admin")
_PREFIX = "vl"
_DUMMY_HASH = hashlib.sha256(b"").hexdigest()

_TOKENS_DDL = """
CREATE TABLE IF NOT EXISTS api_tokens (
    token_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
)
"""
_USERS_DDL = """
CREATE TABLE IF NOT EXISTS api_users (
    user_key VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
)
"""
_TOKEN_USER_DDL = "ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS user_key VARCHAR"

_ready: weakref.WeakSet[DuckDBStore] = weakref.WeakSet()
"""Stores whose user and token tables exist and whose tokens all have a user."""


@dataclass(frozen=True)
class Principal:
    """Who a request or command acts for: the user's name and role."""

    name: str
    role: Role


@dataclass(frozen=True)
class _User:
    key: str
    name: str
    role: Role


def role_allows(held: Role, needed: Role) -> bool:
    """Whether a user with role ``held`` may do what needs role ``needed``."""
    if held == "admin":
        return True
    if needed == "ingest" or held == "ingest":
        return held == needed
    return _RANK[held] >= _RANK[needed]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user_key(name: str) -> str:
    return name.strip().casefold()


def _checked_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise AuthError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")


def _ensure_tables(store: DuckDBStore) -> None:
    if store in _ready:
        return
    store.execute(_TOKENS_DDL)
    store.execute(_USERS_DDL)
    store.execute(_TOKEN_USER_DDL)
    _adopt_tokens_without_user(store)
    _ready.add(store)


def _adopt_tokens_without_user(store: DuckDBStore) -> None:
    """Give each token issued before users existed a user, made from its name."""
    orphans = store.query(
        "SELECT token_id, name, role, created_at FROM api_tokens "
        "WHERE user_key IS NULL ORDER BY created_at"
    ).to_pylist()
    by_key: dict[str, list[dict[str, Any]]] = {}
    for token in orphans:
        by_key.setdefault(_user_key(token["name"]), []).append(token)
    for key, tokens in by_key.items():
        user = _find_user(store, key)
        if user is None:
            roles = {token["role"] for token in tokens}
            role = next((r for r in _LEAST_FIRST if r in roles), tokens[0]["role"])
            name = tokens[0]["name"].strip()
            store.execute(
                "INSERT INTO api_users VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [key, name, role, tokens[0]["created_at"]],
            )
            user = _User(key, name, role)
        for token in tokens:
            store.execute(
                "UPDATE api_tokens SET user_key = ?, role = ? WHERE token_id = ?",
                [user.key, user.role, token["token_id"]],
            )


def _find_user(store: DuckDBStore, key: str) -> _User | None:
    rows = store.query("SELECT name, role FROM api_users WHERE user_key = ?", [key]).to_pylist()
    return _User(key, rows[0]["name"], rows[0]["role"]) if rows else None


def _existing_user(store: DuckDBStore, name: str) -> _User:
    _ensure_tables(store)
    user = _find_user(store, _user_key(name))
    if user is None:
        raise AuthError(
            f"no user {name.strip()!r}; add them with "
            f"`valueloop users add {shlex.quote(name.strip())} --role ROLE`"
        )
    return user


def _new_token(store: DuckDBStore, user: _User) -> str:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.execute(
        "INSERT INTO api_tokens (token_id, name, role, token_hash, created_at, user_key) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [token_id, user.name, user.role, _hash(secret), datetime.now(UTC), user.key],
    )
    return f"{_PREFIX}_{token_id}_{secret}"


def issue_token(store: DuckDBStore, name: str, role: str) -> str:
    """Add the user ``name`` with ``role`` and issue their first token; return it.

    The token is returned this once and stored only as a hash. A name already taken, in any case
    and with any spaces around it, is an :class:`AuthError`: :func:`issue_user_token` gives an
    existing user another token.
    """
    if not name.strip():
        raise AuthError("a user needs a name")
    checked = _checked_role(role)
    _ensure_tables(store)
    key = _user_key(name)
    taken = _find_user(store, key)
    if taken is not None:
        raise AuthError(
            f"user {taken.name!r} exists already ({taken.role}); to give them another token use "
            f"`valueloop users token {shlex.quote(taken.name)}`"
        )
    user = _User(key, name.strip(), checked)
    store.execute(
        "INSERT INTO api_users VALUES (?, ?, ?, ?)",
        [user.key, user.name, user.role, datetime.now(UTC)],
    )
    return _new_token(store, user)


def issue_user_token(store: DuckDBStore, name: str) -> str:
    """Issue another token for the existing user ``name``, with that user's role; return it.

    ``name`` matches regardless of case and surrounding spaces; the token acts as the user's
    stored name. An unknown name is an :class:`AuthError`.
    """
    return _new_token(store, _existing_user(store, name))


def set_user_role(store: DuckDBStore, name: str, role: str) -> Principal:
    """Give the existing user ``name`` the role ``role``, for every token they hold."""
    checked = _checked_role(role)
    user = _existing_user(store, name)
    store.execute("UPDATE api_users SET role = ? WHERE user_key = ?", [checked, user.key])
    store.execute("UPDATE api_tokens SET role = ? WHERE user_key = ?", [checked, user.key])
    return Principal(name=user.name, role=checked)


def revoke_token(store: DuckDBStore, token_id: str) -> None:
    """Revoke the token with id ``token_id``; it authenticates no request afterwards.

    The user and their other tokens remain.
    """
    _ensure_tables(store)
    rows = store.query(
        "SELECT revoked_at FROM api_tokens WHERE token_id = ?", [token_id]
    ).to_pylist()
    if not rows:
        raise AuthError(f"no token {token_id!r}")
    if rows[0]["revoked_at"] is not None:
        raise AuthError(f"token {token_id} is already revoked")
    store.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", [datetime.now(UTC), token_id]
    )


def list_tokens(store: DuckDBStore) -> pa.Table:
    """Every token's id, user name and role, creation and revocation time, oldest first.

    Never a hash or a secret.
    """
    _ensure_tables(store)
    return store.query(
        "SELECT t.token_id, u.name, u.role, t.created_at, t.revoked_at "
        "FROM api_tokens t JOIN api_users u ON u.user_key = t.user_key "
        "ORDER BY t.created_at, t.token_id"
    )


def authenticate(store: DuckDBStore, token: str) -> Principal:
    """The user of a valid, unrevoked token; any other token is an :class:`AuthError`."""
    _ensure_tables(store)
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    rows: list[dict[str, Any]] = []
    if prefix == _PREFIX and token_id and secret:
        rows = store.query(
            "SELECT u.name, u.role, t.token_hash "
            "FROM api_tokens t JOIN api_users u ON u.user_key = t.user_key "
            "WHERE t.token_id = ? AND t.revoked_at IS NULL",
            [token_id],
        ).to_pylist()
    # hash and compare even without a row, so timing tells nothing about which ids exist
    stored = rows[0]["token_hash"] if rows else _DUMMY_HASH
    if not hmac.compare_digest(_hash(secret), stored) or not rows:
        raise AuthError("unknown or revoked token")
    role = rows[0]["role"]
    if role not in ROLES:
        raise AuthError("token has an unknown role")
    return Principal(name=rows[0]["name"], role=role)


_bearer = HTTPBearer(
    auto_error=False,
    description=(
        "An API token issued with `valueloop users add NAME --role ROLE` (a new user) or "
        "`valueloop users token NAME` (another token for a user)."
    ),
)


def current_principal(
    site: SiteDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the principal of the request's bearer token (401 without one)."""
    if credentials is None:
        raise AuthError("a bearer token is required")
    return authenticate(site.store, credentials.credentials)


def require(role: Role) -> Callable[[Principal], Principal]:
    """FastAPI dependency factory: the request's principal, who must hold ``role`` (else 403)."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not role_allows(principal.role, role):
            raise ForbiddenError(f"role {principal.role} may not do this; it needs {role}")
        return principal

    return dependency
