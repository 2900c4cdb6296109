"""Inputs the platform could not store, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.models import DeadLetterCount, DeadLetterOut, DeadLettersOut

router = APIRouter(prefix="/deadletters", tags=["dead letters"])


@router.get("")
def list_dead_letters(
    site: SiteDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> DeadLettersOut:
    """The newest ``limit`` dead letters, the total count and the counts by source and reason."""
    table = site.pipeline.dead_letters
    return DeadLettersOut(
        count=table.count(),
        items=rows_as(DeadLetterOut, table.list(limit)),
        counts=rows_as(DeadLetterCount, table.counts()),
    )
