"""Live events of a site: alarms and work orders as they change, for the faces that stream them.

The books announce each change where it is made (:func:`announce`): the alarm book when an alarm
is raised, cleared, acknowledged, shelved or unshelved, the work-order book when an order is
proposed or moves. An announcement reaches the :class:`EventHub` of the book's database in this
process, if a face has opened one with :func:`listen` (the API's event stream does); with none
open it costs nothing, so a batch run announces to no one.

A hub numbers its events 1, 2, 3, ... and keeps the last :data:`HISTORY` of them, so that a
client that lost its connection asks for what followed the last id it saw
(:meth:`EventHub.after`). Ids restart with the process; an id the hub never gave (from a
process before) or one older than its history gets the whole history.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from valueloop.per_owner import PerOwner

EventKind = Literal["alarm", "workorder"]

HISTORY = 1_000
"""Events a hub keeps for clients that resume."""


@dataclass(frozen=True)
class SiteEvent:
    """One change: its number in the hub, what changed and the row as it is after the change."""

    event_id: int
    kind: EventKind
    row: dict[str, Any]


class EventHub:
    """The recent events of one site's books, numbered, thread-safe."""

    def __init__(self, history: int = HISTORY) -> None:
        self._events: deque[SiteEvent] = deque(maxlen=history)
        self._last = 0
        self._lock = threading.Lock()

    @property
    def last_id(self) -> int:
        """The id of the newest event (0 before the first)."""
        return self._last

    def publish(self, kind: EventKind, row: dict[str, Any]) -> SiteEvent:
        """Number and keep an event; return it."""
        with self._lock:
            self._last += 1
            event = SiteEvent(self._last, kind, row)
            self._events.append(event)
        return event

    def after(self, event_id: int | None) -> list[SiteEvent]:
        """The kept events after ``event_id``, oldest first: none for ``None`` (a new client
        wants only what comes next), all of them for an id the hub cannot resume from."""
        with self._lock:
            if event_id is None:
                return []
            oldest = self._events[0].event_id if self._events else self._last + 1
            if event_id > self._last or event_id < oldest - 1:
                return list(self._events)
            return [event for event in self._events if event.event_id > event_id]


_hubs = PerOwner(EventHub)


def listen(database: object) -> EventHub:
    """The hub of the books kept in ``database`` (opened at the first call)."""
    return _hubs(database)


def announce(
    database: object, kind: EventKind, rows: Callable[[], Iterable[dict[str, Any]]]
) -> None:
    """Publish ``rows()`` (the changed rows, as they are now) to ``database``'s hub, if one is
    open; ``rows`` is not called otherwise."""
    hub = _hubs.get(database)
    if hub is not None:
        for row in rows():
            hub.publish(kind, row)
