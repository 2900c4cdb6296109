"""Live events as server-sent events: alarms and work orders as they change, and a ping.

Each ``alarm`` or ``workorder`` event carries its id (``id:``) and, as ``data:``, the alarm or
order as the alarm and work-order lists give it, after the change. A client that lost the stream
sends the last id it saw as ``Last-Event-ID`` (or ``since``) and receives what followed, as far
as the server's history of recent events reaches (see :mod:`valueloop.events`). A ``ping`` event
every 15 seconds keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from valueloop.api.alarm_models import AlarmOut
from valueloop.api.deps import SiteDep
from valueloop.api.routers.workorders import order_out
from valueloop.events import EventHub, SiteEvent, listen
from valueloop.site import Site

router = APIRouter(prefix="/events", tags=["events"])

PING_EVERY = 15.0
"""Seconds between two pings."""
POLL_EVERY = 0.1
"""Seconds between two looks at the hub for new events."""
MAX_SECONDS = 3600
"""The longest ``max_seconds`` a client may ask for."""
RETRY_MS = 2_000
"""How long a browser's EventSource waits before reconnecting, in ms."""

EVENT_STREAM = "text/event-stream"

_DESCRIPTION = (
    "A stream of server-sent events: `alarm` and `workorder` events, each with an `id:` and as "
    "`data:` the alarm or work order as the alarm and work-order lists give it, after the change; "
    "a `ping` event every 15 s."
)


class EventStream(StreamingResponse):
    """A ``text/event-stream`` answer."""

    media_type = EVENT_STREAM


def _frame(event: str, data: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


def _render(site: Site, event: SiteEvent) -> str:
    """An event as the stream sends it, its row given the shape of the list it belongs to."""
    if event.kind == "alarm":
        body = AlarmOut.model_validate(event.row).model_dump_json()
    else:
        body = order_out(site, event.row).model_dump_json()
    return _frame(event.kind, body, event.event_id)


async def _stream(
    site: Site, hub: EventHub, after: int | None, max_seconds: float | None
) -> AsyncIterator[str]:
    started = last_ping = time.monotonic()
    seen = hub.last_id if after is None else after
    yield f"retry: {RETRY_MS}\n\n"
    pending = hub.after(after)
    while True:
        for event in pending:
            yield await run_in_threadpool(_render, site, event)
            seen = event.event_id
        now = time.monotonic()
        if max_seconds is not None and now - started >= max_seconds:
            return
        if now - last_ping >= PING_EVERY:
            last_ping = now
            yield _frame("ping", json.dumps({"at": datetime.now(UTC).isoformat()}))
        await asyncio.sleep(POLL_EVERY)
        pending = hub.after(seen)


_STREAM_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": _DESCRIPTION, "content": {EVENT_STREAM: {"schema": {"type": "string"}}}}
}


@router.get("", response_class=EventStream, responses=_STREAM_ANSWER)
def events(
    site: SiteDep,
    since: Annotated[int | None, Query(ge=0, description="resume after this event id")] = None,
    last_event_id: Annotated[
        int | None, Header(ge=0, description="resume after this event id (as EventSource does)")
    ] = None,
    max_seconds: Annotated[
        float | None,
        Query(ge=0, le=MAX_SECONDS, description="end the stream after this many seconds"),
    ] = None,
) -> EventStream:
    """Alarms and work orders as they change, as server-sent events, until the client leaves
    or ``max_seconds`` have passed (0: only what ``since`` or ``Last-Event-ID`` resumes)."""
    after = since if since is not None else last_event_id
    hub = listen(site.store)
    return EventStream(_stream(site, hub, after, max_seconds))
