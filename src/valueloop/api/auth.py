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

Every token expires: ``api_tokens.expires_at`` is set when it is issued, :data:`TOKEN_LIFETIME`
(90 days) after it unless another lifetime is given (``30d``, ``12h``: :func:`parse_lifetime`).
An expired token is refused with the time it expired; :func:`rotate_user_token` gives its user a
new one and revokes the others. A store whose tokens predate expiry gets the column when its
tables are first opened, each token expiring 90 days after it was issued: tokens older than that
are refused from then on, and their users need a new one (``valueloop users rotate NAME``).

Roles: ``viewer`` (reads) < ``operator`` (proposes work orders, acknowledges and shelves alarms)
< ``approver`` (approves and rejects work orders, requests rollbacks) < ``admin`` (everything);
``ingest`` may only send data.

Tokens issued before users existed are adopted on first use: each name becomes a user, and a name
whose tokens carried different roles gets the least of them (``ingest`` counting as the least),
which :func:`set_user_role` raises again.

A refused token raises :class:`TokenRefused`, whose ``reason`` (malformed, unknown, wrong secret,
revoked, expired) is for the server's log only: a client learns no more than "unknown or revoked",
except the holder of a right but expired token, who is told when it expired.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import shlex
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import pyarrow as pa

from valueloop.api.errors import NotFoundError
from valueloop.api.tokencache import TokenRow, token_rows
from valueloop.errors import ActionError, AuthError, DataError
from valueloop.store.duckdb import DuckDBStore

Role = Literal["viewer", "operator", "approver", "admin", "ingest"]
ROLES: tuple[Role, ...] = get_args(Role)

Refusal = Literal["malformed", "unknown", "wrong secret", "revoked", "expired"]
"""Why a token was refused, as the server's log says it."""

TOKEN_LIFETIME = timedelta(days=90)
"""How long a token is valid when issued without another lifetime."""
MAX_LIFETIME = timedelta(days=3650)
"""The longest lifetime a token may be issued with."""

_RANK: dict[Role, int] = {"viewer": 1, "operator": 2, "approver": 3, "admin": 4}
_LEAST_FIRST: tuple[Role, ...] = ("ingest", "viewer", "operator", "approver", "admin")
_PREFIX = "vl"
_TOKEN = re.compile(rf"{_PREFIX}_([0-9A-Za-z]{{1,32}})_(.+)", re.DOTALL)
_DUMMY_HASH = hashlib.sha256(b"").hexdigest()
_LIFETIME = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_MAX_NAME = 100

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
_TOKEN_EXPIRY_DDL = "ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ"
_TOKEN_COLUMNS = "t.token_id, u.name, u.role, t.created_at, t.expires_at, t.revoked_at"

_ready: weakref.WeakSet[DuckDBStore] = weakref.WeakSet()
"""Stores whose user and token tables exist and whose tokens all have a user and an expiry."""


@dataclass(frozen=True)
class Principal:
    """Who a request or command acts for: the user's name and role."""

    name: str
    role: Role


@dataclass(frozen=True)
class TokenInfo:
    """What is known of an issued token: never its secret nor its hash."""

    token_id: str
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class UserInfo:
    """A user, their role and their tokens, oldest first."""

    name: str
    role: Role
    created_at: datetime
    tokens: tuple[TokenInfo, ...]


class TokenRefused(AuthError):
    """A bearer token that authenticates nobody.

    ``reason`` says why and ``token_id`` is the id the token names (``None`` if it names none);
    both are for the server's log, the message is what the client is told.
    """

    def __init__(self, message: str, reason: Refusal, token_id: str | None) -> None:
        super().__init__(message)
        self.reason: Refusal = reason
        self.token_id = token_id


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


def parse_lifetime(text: str) -> timedelta:
    """A token lifetime written as a whole number and a unit: ``30d``, ``12h``, ``90m``, ``45s``.

    Anything else, or more than :data:`MAX_LIFETIME`, is a :class:`DataError`.
    """
    match = _LIFETIME.fullmatch(text.strip())
    if match is None:
        raise DataError(
            f"lifetime {text[:20]!r} is not a whole number and a unit (s, m, h or d), e.g. 30d"
        )
    count, unit = match.groups()
    return _checked_lifetime(timedelta(**{_UNITS[unit]: int(count)}))


def _checked_lifetime(lifetime: timedelta) -> timedelta:
    if lifetime <= timedelta(0):
        raise DataError("a token's lifetime must be positive")
    if lifetime > MAX_LIFETIME:
        raise DataError(f"a token may live at most {MAX_LIFETIME.days} days")
    return lifetime


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user_key(name: str) -> str:
    return name.strip().casefold()


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def _checked_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise DataError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")


def _checked_name(name: str) -> str:
    stripped = name.strip()
    if not stripped:
        raise DataError("a user needs a name")
    if len(stripped) > _MAX_NAME or not stripped.isprintable():
        raise DataError(f"a user's name is at most {_MAX_NAME} printable characters")
    return stripped


def _ensure_tables(store: DuckDBStore) -> None:
    if store in _ready:
        return
    store.execute(_TOKENS_DDL)
    store.execute(_USERS_DDL)
    store.execute(_TOKEN_USER_DDL)
    store.execute(_TOKEN_EXPIRY_DDL)
    store.execute(
        "UPDATE api_tokens SET expires_at = created_at + ? WHERE expires_at IS NULL",
        [TOKEN_LIFETIME],
    )
    _adopt_tokens_without_user(store)
    token_rows(store).forget()
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
        raise NotFoundError(
            f"no user {name.strip()!r}; add them with "
            f"`valueloop users add {shlex.quote(name.strip())} --role ROLE`"
        )
    return user


def _expiry(lifetime: timedelta | None, now: datetime) -> datetime:
    return now + _checked_lifetime(TOKEN_LIFETIME if lifetime is None else lifetime)


def _new_token(store: DuckDBStore, user: _User, expires_at: datetime, now: datetime) -> str:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.execute(
        "INSERT INTO api_tokens "
        "(token_id, name, role, token_hash, created_at, user_key, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [token_id, user.name, user.role, _hash(secret), now, user.key, expires_at],
    )
    return f"{_PREFIX}_{token_id}_{secret}"


def issue_token(
    store: DuckDBStore,
    name: str,
    role: str,
    *,
    lifetime: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """Add the user ``name`` with ``role`` and issue their first token; return it.

    The token is valid for ``lifetime`` (:data:`TOKEN_LIFETIME` unless given) from ``now`` (the
    current time unless given), returned this once and stored only as a hash. A name already
    taken, in any case and with any spaces around it, is an :class:`ActionError`:
    :func:`issue_user_token` gives an existing user another token. A blank or overlong name, an
    unknown role or a lifetime out of range is a :class:`DataError`.
    """
    stripped = _checked_name(name)
    checked = _checked_role(role)
    _ensure_tables(store)
    key = _user_key(stripped)
    taken = _find_user(store, key)
    if taken is not None:
        raise ActionError(
            f"user {taken.name!r} exists already ({taken.role}); to give them another token use "
            f"`valueloop users token {shlex.quote(taken.name)}`"
        )
    at = _now(now)
    expires_at = _expiry(lifetime, at)
    user = _User(key, stripped, checked)
    store.execute("INSERT INTO api_users VALUES (?, ?, ?, ?)", [user.key, user.name, user.role, at])
    return _new_token(store, user, expires_at, at)


def issue_user_token(
    store: DuckDBStore,
    name: str,
    *,
    lifetime: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """Issue another token for the existing user ``name``, with that user's role; return it.

    ``name`` matches regardless of case and surrounding spaces; the token acts as the user's
    stored name and is valid for ``lifetime`` from ``now``. An unknown name is a
    :class:`~valueloop.api.errors.NotFoundError`.
    """
    user = _existing_user(store, name)
    at = _now(now)
    return _new_token(store, user, _expiry(lifetime, at), at)


def rotate_user_token(
    store: DuckDBStore,
    name: str,
    *,
    lifetime: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """Issue the user ``name`` a new token and revoke all their others; return the new one.

    The new token is issued before the others are revoked, so the user is never without one.
    """
    user = _existing_user(store, name)
    at = _now(now)
    token = _new_token(store, user, _expiry(lifetime, at), at)
    store.execute(
        "UPDATE api_tokens SET revoked_at = ? "
        "WHERE user_key = ? AND token_id <> ? AND revoked_at IS NULL",
        [at, user.key, token_id_of(token)],
    )
    token_rows(store).forget()
    return token


def set_user_role(store: DuckDBStore, name: str, role: str) -> Principal:
    """Give the existing user ``name`` the role ``role``, for every token they hold.

    The site's last admin keeps the role (an :class:`ActionError`): someone must be able to
    manage users and tokens while the server runs.
    """
    checked = _checked_role(role)
    user = _existing_user(store, name)
    if user.role == "admin" and checked != "admin":
        admins = store.query("SELECT count(*) AS n FROM api_users WHERE role = 'admin'")
        if admins.column("n")[0].as_py() <= 1:
            raise ActionError(
                f"{user.name} is the site's last admin: make another user admin first"
            )
    store.execute("UPDATE api_users SET role = ? WHERE user_key = ?", [checked, user.key])
    store.execute("UPDATE api_tokens SET role = ? WHERE user_key = ?", [checked, user.key])
    token_rows(store).forget()
    return Principal(name=user.name, role=checked)


def _token_info(store: DuckDBStore, token_id: str) -> TokenInfo:
    rows = store.query(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens t JOIN api_users u ON u.user_key = t.user_key "
        "WHERE t.token_id = ?",
        [token_id],
    ).to_pylist()
    if not rows:
        raise NotFoundError(f"no token {token_id!r}")
    return TokenInfo(**rows[0])


def revoke_token(store: DuckDBStore, token_id: str, *, now: datetime | None = None) -> TokenInfo:
    """Revoke the token with id ``token_id``; it authenticates no request afterwards.

    The user and their other tokens remain. An unknown id is a
    :class:`~valueloop.api.errors.NotFoundError`, a token revoked already an
    :class:`ActionError`. Returns the token as it is after.
    """
    _ensure_tables(store)
    if _token_info(store, token_id).revoked_at is not None:
        raise ActionError(f"token {token_id} is already revoked")
    store.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", [_now(now), token_id])
    token_rows(store).forget()
    return _token_info(store, token_id)


def set_token_expiry(
    store: DuckDBStore, token_id: str, expires_at: datetime, *, now: datetime | None = None
) -> TokenInfo:
    """Make the token with id ``token_id`` expire at ``expires_at``, from the next request on.

    An expired token may be given a later expiry; a revoked one may not (an
    :class:`ActionError`). A time without a zone, not after ``now`` (the current time unless
    given) or more than :data:`MAX_LIFETIME` after it is a :class:`DataError`; an unknown id a
    :class:`~valueloop.api.errors.NotFoundError`. Returns the token as it is after.
    """
    _ensure_tables(store)
    if _token_info(store, token_id).revoked_at is not None:
        raise ActionError(f"token {token_id} is revoked; issue the user a new one")
    at = _now(now)
    if expires_at.tzinfo is None:
        raise DataError("expires_at: give a time zone, e.g. 2026-06-30T18:00:00Z")
    if expires_at <= at:
        raise DataError(
            f"expires_at: {expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC is not in the future; "
            "to end a token now, revoke it"
        )
    if expires_at - at > MAX_LIFETIME:
        raise DataError(f"expires_at: a token may live at most {MAX_LIFETIME.days} days from now")
    store.execute("UPDATE api_tokens SET expires_at = ? WHERE token_id = ?", [expires_at, token_id])
    token_rows(store).forget()
    return _token_info(store, token_id)


def token_id_of(token: str) -> str | None:
    """The id a token names (not secret), or ``None`` if it is not shaped as a token."""
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


def describe_token(store: DuckDBStore, token: str) -> TokenInfo:
    """What is stored of the token ``token``: its user, role, and when it was issued, expires and
    was revoked. Found by the id the token names; its secret is not checked."""
    _ensure_tables(store)
    token_id = token_id_of(token)
    if token_id is None:
        raise DataError("not a valueloop token")
    return _token_info(store, token_id)


def list_tokens(store: DuckDBStore) -> pa.Table:
    """Every token's id, user name and role, creation, expiry and revocation time, oldest first.

    Never a hash or a secret.
    """
    _ensure_tables(store)
    return store.query(
        f"SELECT {_TOKEN_COLUMNS} "
        "FROM api_tokens t JOIN api_users u ON u.user_key = t.user_key "
        "ORDER BY t.created_at, t.token_id"
    )


def list_users(store: DuckDBStore) -> list[UserInfo]:
    """Every user, oldest first, with their role and tokens (revoked and expired ones too)."""
    _ensure_tables(store)
    users = store.query(
        "SELECT user_key, name, role, created_at FROM api_users ORDER BY created_at, user_key"
    ).to_pylist()
    tokens: dict[str, list[TokenInfo]] = {user["user_key"]: [] for user in users}
    for row in store.query(
        f"SELECT t.user_key, {_TOKEN_COLUMNS} "
        "FROM api_tokens t JOIN api_users u ON u.user_key = t.user_key "
        "ORDER BY t.created_at, t.token_id"
    ).to_pylist():
        tokens[row.pop("user_key")].append(TokenInfo(**row))
    return [
        UserInfo(
            name=user["name"],
            role=user["role"],
            created_at=user["created_at"],
            tokens=tuple(tokens[user["user_key"]]),
        )
        for user in users
    ]


def _stored_row(store: DuckDBStore, token_id: str) -> TokenRow | None:
    """The stored row of ``token_id``: the one kept in memory if fresh, else read (and kept)."""
    kept = token_rows(store)
    row = kept.get(token_id)
    if row is not None:
        return row
    generation = kept.generation
    rows = store.query(
        "SELECT u.name, u.role, t.token_hash, t.revoked_at, t.expires_at "
        "FROM api_tokens t JOIN api_users u ON u.user_key = t.user_key "
        "WHERE t.token_id = ?",
        [token_id],
    ).to_pylist()
    if not rows:
        return None
    row = TokenRow(**rows[0])
    kept.keep(token_id, row, generation)
    return row


def authenticate(store: DuckDBStore, token: str, *, now: datetime | None = None) -> Principal:
    """The user of a valid token: unrevoked and, at ``now``, unexpired.

    Any other token is a :class:`TokenRefused`. The token's row is read from the store unless it
    was read within :data:`~valueloop.api.tokencache.TOKEN_ROW_SECONDS` and users and tokens have
    not changed since (see :mod:`valueloop.api.tokencache`).
    """
    _ensure_tables(store)
    match = _TOKEN.fullmatch(token)
    token_id, secret = match.groups() if match else (None, "")
    row = None if token_id is None else _stored_row(store, token_id)
    # hash and compare even without a row, so timing tells nothing about which ids exist
    matches = hmac.compare_digest(_hash(secret), row.token_hash if row else _DUMMY_HASH)
    if row is None or not matches:
        reason: Refusal = (
            "malformed" if token_id is None else "unknown" if row is None else "wrong secret"
        )
        raise TokenRefused("unknown or revoked token", reason, token_id)
    if row.revoked_at is not None:
        raise TokenRefused("unknown or revoked token", "revoked", token_id)
    if _now(now) >= row.expires_at:
        expired = row.expires_at.astimezone(UTC)
        raise TokenRefused(
            f"token expired at {expired:%Y-%m-%d %H:%M:%S} UTC; ask an admin for a new one",
            "expired",
            token_id,
        )
    for role in ROLES:
        if row.role == role:
            return Principal(name=row.name, role=role)
    raise TokenRefused("token has an unknown role", "unknown", token_id)
