"""The stored rows of tokens recently presented, kept in memory so that a request's token is
checked without reading the database.

A token's row (its user's name and role, the hash of its secret, when it expires and was
revoked) is kept for :data:`TOKEN_ROW_SECONDS` after it is read; the secret is still hashed and
compared, and revocation and expiry still checked, on every request. Every change to users or
tokens made through :mod:`valueloop.api.auth` (a revocation, a role, an expiry) forgets all kept
rows at once, so it applies from the next request on; a row read while a change was being made is
not kept. Only rows that exist are kept: an unknown token id is looked up each time (and a client
presenting many is barred by :mod:`valueloop.api.throttle`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from valueloop.per_owner import PerOwner

TOKEN_ROW_SECONDS = 10.0
"""How long a token's stored row is used without reading it again, in seconds: the bound on
how late a change made other than through :mod:`valueloop.api.auth` is seen."""
MOST_ROWS = 10_000
"""The most rows kept per database; more forget them all."""


@dataclass(frozen=True)
class TokenRow:
    """What is stored of a token and its user, as a request's check needs it."""

    name: str
    role: str
    token_hash: str
    revoked_at: datetime | None
    expires_at: datetime


class TokenRows:
    """The rows of recently presented tokens of one database, by token id; thread-safe.

    ``clock`` gives monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._rows: dict[str, tuple[float, TokenRow]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """A number that changes whenever the rows are forgotten: take it before reading a row,
        give it to :meth:`keep`."""
        return self._generation

    def get(self, token_id: str) -> TokenRow | None:
        """The kept row of ``token_id``, unless none is kept or it is older than
        :data:`TOKEN_ROW_SECONDS`."""
        kept = self._rows.get(token_id)
        if kept is None or self.clock() - kept[0] >= TOKEN_ROW_SECONDS:
            return None
        return kept[1]

    def keep(self, token_id: str, row: TokenRow, generation: int) -> None:
        """Keep ``row``, read when :attr:`generation` was ``generation``, unless the rows were
        forgotten since (a change may have made it stale)."""
        with self._lock:
            if generation != self._generation:
                return
            if len(self._rows) >= MOST_ROWS:
                self._rows.clear()
            self._rows[token_id] = (self.clock(), row)

    def forget(self) -> None:
        """Forget every kept row: users or tokens have changed."""
        with self._lock:
            self._generation += 1
            self._rows.clear()


_by_database = PerOwner(TokenRows)


def token_rows(database: object) -> TokenRows:
    """The kept token rows of ``database`` (made at the first call)."""
    return _by_database(database)
