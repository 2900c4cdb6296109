"""HTTP ingest: batches of readings from the edge and from other systems, exactly once per key.

Only a token with the ``ingest`` role (or ``admin``) may send. The body is JSON, CSV or an Arrow IPC
stream (see :mod:`valueloop.ingest.wire`) of at most ``MAX_BODY_BYTES`` (256 MiB): a larger one is
answered 413 from its ``Content-Length``, or as soon as the bytes read pass the limit. A malformed
body, or one over a limit of its format, is refused whole with a 422 naming the row and field or the
limit, and readings of unknown series go to the dead-letter table. A batch sent again by the same
sender under the same ``Idempotency-Key`` header is answered as a duplicate and not stored twice;
the key used again for other readings is answered 409 (see :mod:`valueloop.ingest.batches`).

A declaration of series holds at most :data:`MAX_DECLARED` of them (422 beyond), and a sender may
declare at most :data:`NEW_SERIES_PER_HOUR` series new to the site within an hour: past that it is
answered 429 with ``Retry-After``, counted in the server's memory from its start.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import pyarrow as pa
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from valueloop.api.answers import conflict
from valueloop.api.auth import Principal
from valueloop.api.deps import SiteDep
from valueloop.api.errors import BodyTooLargeError
from valueloop.api.models import (
    DeclaredOut,
    ForwardedDeadLetters,
    IngestOut,
    SeriesDeclarations,
)
from valueloop.api.signin import require
from valueloop.errors import DataError
from valueloop.ingest.batches import MAX_KEY_LENGTH, BatchOutcome
from valueloop.ingest.wire import (
    ARROW_TYPE,
    CSV_TYPE,
    JSON_TYPE,
    MAX_BODY_BYTES,
    MAX_FIELD_CHARS,
    MAX_READINGS,
    parse_readings,
)
from valueloop.schema import DEAD_LETTER_SCHEMA

router = APIRouter(prefix="/ingest", tags=["ingest"])

IngestPrincipal = Annotated[Principal, Depends(require("ingest"))]
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=MAX_KEY_LENGTH)]
"""The ``Idempotency-Key`` header: a batch sent again under it is stored once."""

MAX_DECLARED = 1_000
"""The most series one declaration may hold."""
NEW_SERIES_PER_HOUR = 10_000
"""The most series new to the site one sender may declare within :data:`QUOTA_WINDOW`."""
QUOTA_WINDOW = 3600.0
"""The window new series are counted over, in seconds."""


class DeclarationQuota:
    """The series new to the site each sender declared within the last ``window`` seconds.

    ``clock`` gives monotonic seconds. One declaration is counted at a time, so that two at once
    neither pass the quota together nor register the same series twice.
    """

    def __init__(
        self,
        *,
        per_window: int = NEW_SERIES_PER_HOUR,
        window: float = QUOTA_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._spent: defaultdict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._lock = threading.Lock()

    @contextmanager
    def spending(self, sender: str, count: Callable[[], int]) -> Iterator[None]:
        """Let ``sender`` declare ``count()`` new series, counted once the block succeeds; a
        429 with ``Retry-After`` when they would pass the quota."""
        with self._lock:
            now = self.clock()
            spent = self._spent[sender]
            while spent and spent[0][0] <= now - self.window:
                spent.popleft()
            new = count()
            used = sum(number for _, number in spent)
            if used + new > self.per_window:
                wait = self._retry_after(spent, used + new - self.per_window, now)
                raise HTTPException(
                    status_code=429,
                    detail=f"{sender} declared {used} new series within the last hour; at most "
                    f"{self.per_window} an hour (this declaration adds {new})",
                    headers={"Retry-After": str(wait)},
                )
            yield
            if new:
                spent.append((now, new))

    def _retry_after(self, spent: deque[tuple[float, int]], over: int, now: float) -> int:
        """Whole seconds until the oldest of ``spent`` that leave the window free ``over``."""
        freed = 0
        for moment, number in spent:
            freed += number
            if freed >= over:
                return max(1, math.ceil(moment + self.window - now))
        return math.ceil(self.window)


def declaration_quota(request: Request) -> DeclarationQuota:
    """The application's quota of new series per sender, made on first use."""
    quota: DeclarationQuota | None = getattr(request.app.state, "declaration_quota", None)
    if quota is None:
        quota = request.app.state.declaration_quota = DeclarationQuota()
    return quota


async def _body(request: Request) -> bytes:
    """The request's body, refused (413) once it is known to pass ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLargeError(
            f"the body has {declared} bytes; send at most {MAX_BODY_BYTES} (split the batch)"
        )
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLargeError(
                f"the body has more than {MAX_BODY_BYTES} bytes; split the batch"
            )
        chunks.append(chunk)
    return b"".join(chunks)


_READING = {
    "type": "object",
    "required": ["series", "ts", "value"],
    "additionalProperties": False,
    "properties": {
        "series": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_FIELD_CHARS,
            "description": "The series' full path, site/area/line/asset/signal.",
        },
        "ts": {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number"},
            ],
            "description": "ISO 8601 with a zone, or epoch milliseconds; within 1970-2200.",
        },
        "value": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "quality": {
            "type": "integer",
            "enum": [0, 1, 2],
            "default": 0,
            "description": "0 good, 1 uncertain, 2 bad.",
        },
    },
}
_READINGS = {"type": "array", "maxItems": MAX_READINGS, "items": _READING}
_EXAMPLE = {"series": "station-7/compression/train-a/compressor-1/power", "value": 231.5}
READINGS_BODY = {
    "required": True,
    "description": "A batch of readings in one of three formats (see valueloop.ingest.wire).",
    "content": {
        JSON_TYPE: {
            "schema": {
                "anyOf": [
                    _READINGS,
                    {
                        "type": "object",
                        "required": ["readings"],
                        "properties": {"readings": _READINGS},
                    },
                ]
            },
            "example": [{**_EXAMPLE, "ts": "2026-03-01T12:00:00Z"}],
        },
        CSV_TYPE: {
            "schema": {
                "type": "string",
                "description": "A header line naming series, ts, value and optionally quality, "
                "then one reading per line.",
            },
            "example": f"series,ts,value\n{_EXAMPLE['series']},2026-03-01T12:00:00Z,231.5\n",
        },
        ARROW_TYPE: {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "An Arrow IPC stream of a table with the columns series (utf8), "
                "ts (timestamp[us, UTC]), value (float64) and quality (uint8), as the edge "
                "sends it; compressed batches are allowed.",
            }
        },
    },
}
"""The body of ``POST /api/ingest``, as the OpenAPI description shows it."""


@router.post(
    "",
    openapi_extra={"requestBody": READINGS_BODY},
    responses=conflict(
        "The Idempotency-Key was used for another batch, or its batch is still being stored."
    ),
)
async def ingest(
    request: Request,
    site: SiteDep,
    principal: IngestPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> IngestOut:
    """Store a batch of readings (JSON, CSV or Arrow IPC stream); once per ``Idempotency-Key``."""
    body = await _body(request)
    content_type = request.headers.get("content-type", JSON_TYPE)
    readings = await run_in_threadpool(parse_readings, body, content_type)
    outcome = await run_in_threadpool(
        site.batches.ingest, readings, source=principal.name, key=idempotency_key
    )
    return _answer(outcome)


def _answer(outcome: BatchOutcome) -> IngestOut:
    return IngestOut(
        key=outcome.key,
        duplicate=outcome.duplicate,
        readings=outcome.readings,
        stored=outcome.stored,
        dead_letters=outcome.dead_letters,
    )


@router.post(
    "/deadletters",
    responses=conflict("The Idempotency-Key was used for other dead letters."),
)
def forward_dead_letters(
    body: ForwardedDeadLetters,
    site: SiteDep,
    principal: IngestPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> IngestOut:
    """Keep dead letters a sender (an edge agent) could not turn into readings."""
    rows = pa.Table.from_pylist(
        [item.model_dump() for item in body.items], schema=DEAD_LETTER_SCHEMA
    )
    return _answer(site.batches.add_dead_letters(rows, source=principal.name, key=idempotency_key))


@router.post("/series")
def declare_series(
    body: SeriesDeclarations,
    site: SiteDep,
    principal: IngestPrincipal,
    quota: Annotated[DeclarationQuota, Depends(declaration_quota)],
) -> DeclaredOut:
    """Register the series a sender will deliver (known ones are left unchanged): at most
    :data:`MAX_DECLARED` a call, and :data:`NEW_SERIES_PER_HOUR` new ones a sender an hour."""
    if len(body.series) > MAX_DECLARED:
        raise DataError(
            f"series: {len(body.series)} declared; at most {MAX_DECLARED} a call (split them)"
        )
    paths = pa.array(sorted({item.path for item in body.series}), pa.string())
    with quota.spending(principal.name, lambda: site.registry.resolve(paths).null_count):
        declared = site.batches.register(
            [(item.path, item.unit, item.description) for item in body.series]
        )
    return DeclaredOut(declared=declared)
