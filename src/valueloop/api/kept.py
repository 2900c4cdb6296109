"""JSON answers of list routes kept while what they were made from is unchanged.

Many clients ask a list route for the same answer: every open console reloads the alarm list when
an alarm changes, and the asset list on every visit. Such a route makes its answer once: the JSON
body and its paging headers are kept per query string beside the *basis* the answer was made
from, the objects and numbers that change whenever its data does (the kept catalogue table, the
site's count of alarm events, ...), and answered again while every part of the basis is the same
(the same object, or for a number the same value). The route names its basis before it reads
anything, so that a change made while it reads shows in the next request's basis. The token is
checked on every request, before the route runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter

from valueloop.api.paging import NEXT_CURSOR_HEADER, Page

MOST_ANSWERS = 64
"""The most answers kept per route: those of the most recent query strings."""
MOST_BYTES = 16 * 2**20
"""The most bytes of answers kept per route; a larger answer is made each time."""
_PAGING_HEADERS = (NEXT_CURSOR_HEADER, "Link")


@dataclass(frozen=True)
class _Answer:
    basis: tuple[object, ...]
    body: bytes
    headers: dict[str, str]


def _same(kept: tuple[object, ...], now: tuple[object, ...]) -> bool:
    return len(kept) == len(now) and all(
        was is part or (isinstance(was, int) and was == part)
        for was, part in zip(kept, now, strict=True)
    )


class KeptAnswers:
    """The kept answers of one list route of one application, by query string: the most recently
    made, within :data:`MOST_ANSWERS` and :data:`MOST_BYTES`; thread-safe."""

    def __init__(self, shape: Any) -> None:
        self._adapter: TypeAdapter[Any] = TypeAdapter(shape)
        self._answers: OrderedDict[str, _Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def answer(self, page: Page, basis: tuple[object, ...], make: Callable[[], Any]) -> Response:
        """The kept answer to ``page``'s query if made from the same ``basis``; else ``make()``
        (the page's rows, a value of the route's shape) as JSON, kept."""
        query = page.request.url.query
        with self._lock:
            kept = self._answers.get(query)
        if kept is None or not _same(kept.basis, basis):
            rows = make()
            headers = {
                name: page.response.headers[name]
                for name in _PAGING_HEADERS
                if name in page.response.headers
            }
            kept = _Answer(basis, self._adapter.dump_json(rows), headers)
            self._keep(query, kept)
        return Response(kept.body, media_type="application/json", headers=kept.headers)

    def _keep(self, query: str, answer: _Answer) -> None:
        with self._lock:
            replaced = self._answers.pop(query, None)
            if replaced is not None:
                self._bytes -= len(replaced.body)
            if len(answer.body) > MOST_BYTES:
                return
            self._answers[query] = answer
            self._bytes += len(answer.body)
            while len(self._answers) > MOST_ANSWERS or self._bytes > MOST_BYTES:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped.body)


def kept_answers(request: Request, route: str, shape: Any) -> KeptAnswers:
    """The kept answers of ``route`` (answers of ``shape``) in the request's application."""
    state = request.app.state
    routes: dict[str, KeptAnswers] | None = getattr(state, "kept_answers", None)
    if routes is None:
        routes = state.kept_answers = {}
    found = routes.get(route)
    if found is None:
        found = routes.setdefault(route, KeptAnswers(shape))
    return found
