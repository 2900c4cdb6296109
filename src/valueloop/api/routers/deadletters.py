"""Inputs the platform could not store, with the reason."""

from __future__ import annotations

from fastapi import APIRouter

from valueloop.api.convert import rows_as
from valueloop.api.deps import SiteDep
from valueloop.api.models import DeadLetterCount, DeadLetterOut, DeadLettersOut
from valueloop.api.paging import ListPage

router = APIRouter(prefix="/deadletters", tags=["dead letters"])


@router.get("")
def list_dead_letters(site: SiteDep, page: ListPage) -> DeadLettersOut:
    """A page of the dead letters, newest first, with the total count and the counts by source
    and reason."""
    table = site.pipeline.dead_letters
    items = rows_as(DeadLetterOut, table.list(page.reach))
    return DeadLettersOut(
        count=table.count(),
        items=page.rows(items, lambda letter: (letter.letter_id,), descending=True, capped=True),
        counts=rows_as(DeadLetterCount, table.counts()),
    )
