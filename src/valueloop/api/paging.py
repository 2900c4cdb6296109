"""Paging of list routes: ``limit`` and an opaque ``cursor`` in the query, the next page's cursor
in the response headers, the body unchanged.

A route takes a :class:`Page` through :data:`ListPage` (at most :data:`LIST_MAXIMUM` rows a page,
:data:`LIST_DEFAULT` without ``limit``) or :data:`PointsPage` (the points of a series). A page
holds the rows whose key, in the route's order, comes after the cursor's; when more rows follow,
the response carries ``X-Next-Cursor: <cursor>`` and ``Link: <same query, that cursor>;
rel="next"``. The cursor is the URL-safe base64 of the last row's key (times in microseconds since
the epoch) and of its position, so that a route reading its newest rows first knows how far to
read. A ``limit`` beyond the route's maximum, or a cursor that does not decode, is a 422 naming
it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

from valueloop.errors import DataError

LIST_DEFAULT = 500
"""Rows of a list route's page without ``limit``."""
LIST_MAXIMUM = 5_000
"""The most rows a list route's page may ask for."""
POINTS_DEFAULT = 100_000
"""Points of a series' page without ``limit``."""
POINTS_MAXIMUM = 1_000_000
"""The most points a series' page may ask for."""

NEXT_CURSOR_HEADER = "X-Next-Cursor"

KeyPart = int | float | str
Key = tuple[KeyPart, ...]
"""A row's place in a route's order; compared part by part."""

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def key_part(value: KeyPart | datetime) -> KeyPart:
    """A key part as a cursor keeps it: a time as microseconds since the epoch (UTC if naive)."""
    if not isinstance(value, datetime):
        return value
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _malformed(what: object) -> DataError:
    return DataError(f"cursor {what!s:.60}: malformed; send the one X-Next-Cursor gave")


def key_time(part: KeyPart) -> datetime:
    """The time a key part made by :func:`key_part` stands for (DataError if it is none)."""
    if not isinstance(part, int):
        raise _malformed(f"time {part!r}")
    try:
        return _EPOCH + part * _MICROSECOND
    except OverflowError as err:
        raise _malformed(f"time {part}") from err


def encode_cursor(key: Key, sent: int) -> str:
    """The cursor of the page after the row with ``key``, the ``sent``-th of the route's order."""
    text = json.dumps({"k": list(key), "n": sent}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Key, int]:
    """The key and the count of rows sent that ``cursor`` holds (DataError if malformed)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, sent = data["k"], data["n"]
    except (binascii.Error, ValueError, TypeError, KeyError) as err:
        raise _malformed(repr(cursor)) from err
    parts_ok = isinstance(key, list) and all(
        isinstance(part, int | float | str) and not isinstance(part, bool) for part in key
    )
    if not parts_ok or not key or isinstance(sent, bool) or not isinstance(sent, int) or sent < 0:
        raise _malformed(repr(cursor))
    return tuple(key), sent


@dataclass
class Page:
    """One page of a list route: how many rows, after which key, and where to say what is next.

    ``after`` is the cursor's key (None on the first page) and ``sent`` how many rows of the
    route's order came up to it when it was made.
    """

    limit: int
    after: Key | None
    sent: int
    request: Request
    response: Response

    @property
    def reach(self) -> int:
        """How many rows from the first of the route's order make this page and tell whether
        another follows, unless rows were added before the cursor since it was made: for a route
        that reads its newest rows up to a count."""
        return self.sent + self.limit + 1

    def rows(
        self,
        rows: Sequence[T],
        key: Callable[[T], Sequence[KeyPart | datetime]] | None = None,
        *,
        descending: bool = False,
        capped: bool = False,
    ) -> list[T]:
        """This page of ``rows``: ordered by ``key`` (by position in ``rows`` if None; newest
        first if ``descending``), those after the cursor's key, at most ``limit`` of them.

        ``capped`` says ``rows`` are only the first :attr:`reach` rows of the route's order,
        ordered by the key's first part as the key orders: when there are that many, more may
        follow, and the rows sharing the last one's first key part may be incomplete, so they are
        left to the next page (unless the page would hold nothing else).
        """
        keys: list[Key] = (
            [tuple(map(key_part, key(row))) for row in rows]
            if key is not None
            else [(position,) for position in range(len(rows))]
        )
        ordered = sorted(zip(keys, rows, strict=True), key=lambda pair: pair[0], reverse=descending)
        try:
            rest = [pair for pair in ordered if self.follows(pair[0], descending=descending)]
        except TypeError as err:
            raise _malformed(self.after) from err
        before = len(ordered) - len(rest)
        more = len(rest) > self.limit
        if capped and len(rows) >= self.reach:
            edge = ordered[-1][0][0]
            rest = [pair for pair in rest if pair[0][0] != edge] or rest
            more = True
        page = rest[: self.limit]
        if more and page:
            self.next_after(page[-1][0], before + len(page))
        elif more and self.after is not None:  # rows added before the cursor filled the read
            self.next_after(self.after, before)
        return [row for _, row in page]

    def follows(self, key: Key, *, descending: bool = False) -> bool:
        """Whether a row with ``key`` comes after the cursor (every row does on the first page)."""
        if self.after is None:
            return True
        if len(key) != len(self.after):
            raise _malformed(self.after)
        return key < self.after if descending else key > self.after

    def next_after(self, key: Key, position: int) -> None:
        """Say in the response that more rows follow the row with ``key``, the ``position``-th
        of the route's order: ``X-Next-Cursor`` and a ``Link`` with ``rel="next"``."""
        cursor = encode_cursor(key, position)
        url = self.request.url.include_query_params(cursor=cursor)
        self.response.headers[NEXT_CURSOR_HEADER] = cursor
        self.response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


def paging(default: int, maximum: int) -> Callable[..., Awaitable[Page]]:
    """A dependency reading ``limit`` (``default`` if absent, at most ``maximum``) and
    ``cursor`` from the query (on the event loop: it reads nothing else)."""

    async def page(
        request: Request,
        response: Response,
        limit: int | None = Query(None, ge=1, le=maximum),
        cursor: str | None = Query(None, min_length=1, pattern="^[A-Za-z0-9_-]+$"),
    ) -> Page:
        rows = default if limit is None else limit
        if not 1 <= rows <= maximum:
            raise DataError(f"limit={rows}: ask for 1 to {maximum} rows a page")
        after, sent = (None, 0) if cursor is None else decode_cursor(cursor)
        return Page(limit=rows, after=after, sent=sent, request=request, response=response)

    return page


ListPage = Annotated[Page, Depends(paging(LIST_DEFAULT, LIST_MAXIMUM))]
"""A list route's page: :data:`LIST_DEFAULT` rows unless ``limit`` asks for up to
:data:`LIST_MAXIMUM`."""
PointsPage = Annotated[Page, Depends(paging(POINTS_DEFAULT, POINTS_MAXIMUM))]
"""A page of a series' points: :data:`POINTS_DEFAULT` unless ``limit`` asks for up to
:data:`POINTS_MAXIMUM`."""
