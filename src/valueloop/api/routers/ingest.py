"""HTTP ingest: batches of readings from the edge and from other systems, exactly once per key.

Only a token with the ``ingest`` role (or ``admin``) may send. The body is JSON, CSV or an Arrow IPC
stream (see :mod:`valueloop.ingest.wire`) of at most ``MAX_BODY_BYTES`` (256 MiB): a larger one is
answered 413 from its ``Content-Length``, or as soon as the bytes read pass the limit. A malformed
body, or one over a limit of its format, is refused whole with a 422 naming the row and field or the
limit, and readings of unknown series go to the dead-letter table. A batch sent again by the same
sender under the same ``Idempotency-Key`` header is answered as a duplicate and not stored twice;
the key used again for other readings is answered 409 (see :mod:`valueloop.ingest.batches`).
"""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from valueloop.api.auth import Principal, require
from valueloop.api.deps import SiteDep
from valueloop.api.errors import BodyTooLargeError
from valueloop.api.models import (
    DeclaredOut,
    ForwardedDeadLetters,
    IngestOut,
    SeriesDeclarations,
)
from valueloop.ingest.batches import BatchOutcome
from valueloop.ingest.wire import JSON_TYPE, MAX_BODY_BYTES, parse_readings
from valueloop.schema import DEAD_LETTER_SCHEMA

router = APIRouter(prefix="/ingest", tags=["ingest"])

IngestPrincipal = Annotated[Principal, Depends(require("ingest"))]


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


@router.post("")
async def ingest(
    request: Request,
    site: SiteDep,
    principal: IngestPrincipal,
    idempotency_key: Annotated[str | None, Header()] = None,
    content_type: Annotated[str, Header()] = JSON_TYPE,
) -> IngestOut:
    """Store a batch of readings (JSON, CSV or Arrow IPC stream); once per ``Idempotency-Key``."""
    body = await _body(request)
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


@router.post("/deadletters")
def forward_dead_letters(
    body: ForwardedDeadLetters,
    site: SiteDep,
    principal: IngestPrincipal,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> IngestOut:
    """Keep dead letters a sender (an edge agent) could not turn into readings."""
    rows = pa.Table.from_pylist(
        [item.model_dump() for item in body.items], schema=DEAD_LETTER_SCHEMA
    )
    return _answer(site.batches.add_dead_letters(rows, source=principal.name, key=idempotency_key))


@router.post("/series")
def declare_series(
    body: SeriesDeclarations, site: SiteDep, principal: IngestPrincipal
) -> DeclaredOut:
    """Register the series a sender will deliver (known ones are left unchanged)."""
    declared = site.batches.register(
        [(item.path, item.unit, item.description) for item in body.series]
    )
    return DeclaredOut(declared=declared)
