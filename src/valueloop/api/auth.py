"""API tokens and roles.

A token reads ``vl_<token_id>_<secret>``: ``token_id`` is a short, non-secret id used to find the
token's row, ``secret`` 32 random bytes (``secrets.token_urlsafe``). Only the SHA-256 of the
secret is stored, in ``api_tokens``; the token itself is shown once, when it is issued, and never
stored or logged. Hashes are compared in constant time.

Roles: ``viewer`` < ``operator`` (may approve and reject work orders) < ``admin``; ``ingest`` may
only send data (and ``admin`` everything).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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

Role = Literal["viewer", "operator", "admin", "ingest"]
ROLES: tuple[Role, ...] = get_args(Role)

_RANK: dict[Role, int] = {"viewer": 1, "operator": 2, "admin": 3}
_PREFIX = "vl"
_DUMMY_HASH = hashlib.sha256(b"").hexdigest()

_DDL = """
CREATE TABLE IF NOT EXISTS api_tokens (
    token_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
)
"""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the token's name and role."""

    name: str
    role: Role


def role_allows(held: Role, needed: Role) -> bool:
    """Whether a token with role ``held`` may do what needs role ``needed``."""
    if held == "admin":
        return True
    if needed == "ingest" or held == "ingest":
        return held == needed
    return _RANK[held] >= _RANK[needed]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _ensure_table(store: DuckDBStore) -> None:
    store.execute(_DDL)


def issue_token(store: DuckDBStore, name: str, role: str) -> str:
    """Create a token for ``name`` with ``role``; return it (the only time it is available)."""
    if not name.strip():
        raise AuthError("a token needs a name")
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    _ensure_table(store)
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.execute(
        "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)",
        [token_id, name.strip(), role, _hash(secret), datetime.now(UTC)],
    )
    return f"{_PREFIX}_{token_id}_{secret}"


def revoke_token(store: DuckDBStore, token_id: str) -> None:
    """Revoke the token with id ``token_id``; it authenticates no request afterwards."""
    _ensure_table(store)
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
    """Every token's id, name, role, creation and revocation time (never a hash or a secret)."""
    _ensure_table(store)
    return store.query(
        "SELECT token_id, name, role, created_at, revoked_at FROM api_tokens ORDER BY created_at"
    )


def authenticate(store: DuckDBStore, token: str) -> Principal:
    """The principal of a valid, unrevoked token; any other token is an :class:`AuthError`."""
    _ensure_table(store)
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    rows: list[dict[str, Any]] = []
    if prefix == _PREFIX and token_id and secret:
        rows = store.query(
            "SELECT name, role, token_hash FROM api_tokens "
            "WHERE token_id = ? AND revoked_at IS NULL",
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
    description="An API token issued with `valueloop users add NAME --role ROLE`.",
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
