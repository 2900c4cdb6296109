"""Alarms: list and read them; acknowledge, shelve and unshelve them (operator role)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from valueloop.alarms import AlarmBook, AlarmState, Priority
from valueloop.api.alarm_models import AlarmCommentIn, AlarmOut, ShelveIn
from valueloop.api.answers import conflict
from valueloop.api.auth import Principal
from valueloop.api.convert import rows_as
from valueloop.api.errors import NotFoundError
from valueloop.api.kept import kept_answers
from valueloop.api.models import AuditOut
from valueloop.api.paging import ListPage
from valueloop.api.signin import require
from valueloop.errors import ActionError
from valueloop.events import listen

router = APIRouter(prefix="/alarms", tags=["alarms"])

Operator = Annotated[Principal, Depends(require("operator"))]


def alarm_book(request: Request) -> AlarmBook:
    """The site's alarm book: ``site.alarms`` if the site has one, else one on its database."""
    book: AlarmBook | None = getattr(request.app.state.site, "alarms", None)
    if book is None:
        book = getattr(request.app.state, "alarm_book", None)
    if book is None:
        book = request.app.state.alarm_book = AlarmBook(request.app.state.site.store)
    return book


Book = Annotated[AlarmBook, Depends(alarm_book)]


def _alarm(book: AlarmBook, alarm_id: str) -> AlarmOut:
    try:
        return AlarmOut.model_validate(book.get(alarm_id))
    except ActionError as err:
        raise NotFoundError(str(err)) from err


def _commented(
    change: Callable[..., dict[str, Any]],
    alarm_id: str,
    book: AlarmBook,
    principal: Principal,
    body: AlarmCommentIn | None,
) -> AlarmOut:
    """``change`` (the book's ``acknowledge`` or ``unshelve``) made now to an existing alarm (404
    if none) on behalf of the token's owner, with the body's comment; the alarm as it is after."""
    _alarm(book, alarm_id)
    comment = body.comment if body is not None else ""
    alarm = change(alarm_id, actor=principal.name, at=datetime.now(UTC), comment=comment)
    return AlarmOut.model_validate(alarm)


@router.get("", response_model=list[AlarmOut])
def list_alarms(
    request: Request,
    book: Book,
    page: ListPage,
    state: AlarmState | None = None,
    priority: Priority | None = None,
    asset: str | None = None,
    include_normal: bool = False,
) -> Response:
    """Alarms, newest first, a page at a time; closed (``normal``) ones only with
    ``include_normal`` or ``state``.

    An answer is made once per change of the site's alarms or work orders (each one announced
    on ``/api/events``) and given to every client asking the same until the next change.
    """

    def make() -> list[AlarmOut]:
        table = book.list(state, priority, asset, include_normal=include_normal, limit=page.reach)
        return page.rows(
            rows_as(AlarmOut, table),
            lambda alarm: (alarm.raised_at, alarm.alarm_id),
            descending=True,
            capped=True,
        )

    changes = listen(request.app.state.site.store).last_id
    return kept_answers(request, "alarms", list[AlarmOut]).answer(page, (changes,), make)


@router.get("/{alarm_id}")
def get_alarm(alarm_id: str, book: Book) -> AlarmOut:
    """One alarm."""
    return _alarm(book, alarm_id)


@router.get("/{alarm_id}/audit")
def alarm_audit(alarm_id: str, book: Book) -> list[AuditOut]:
    """Every acknowledgement and shelving of one alarm, with who and when, oldest first."""
    _alarm(book, alarm_id)
    return rows_as(AuditOut, book.audit_trail(alarm_id))


@router.post("/{alarm_id}/acknowledge", responses=conflict("The alarm is acknowledged already."))
def acknowledge_alarm(
    alarm_id: str, book: Book, principal: Operator, body: AlarmCommentIn | None = None
) -> AlarmOut:
    """Acknowledge an alarm on behalf of the token's owner (409 if already acknowledged)."""
    return _commented(book.acknowledge, alarm_id, book, principal, body)


@router.post(
    "/{alarm_id}/shelve",
    responses=conflict("The shelf ends before now or after the site's longest shelf."),
)
def shelve_alarm(alarm_id: str, book: Book, principal: Operator, body: ShelveIn) -> AlarmOut:
    """Shelve an alarm's point for a while (409 beyond the site's longest shelf)."""
    _alarm(book, alarm_id)
    now = datetime.now(UTC)
    alarm = book.shelve(
        alarm_id, actor=principal.name, until=body.ends(now), at=now, comment=body.comment
    )
    return AlarmOut.model_validate(alarm)


@router.post("/{alarm_id}/unshelve", responses=conflict("The alarm is not shelved."))
def unshelve_alarm(
    alarm_id: str, book: Book, principal: Operator, body: AlarmCommentIn | None = None
) -> AlarmOut:
    """Take an alarm's point off its shelf (409 if it is not shelved)."""
    return _commented(book.unshelve, alarm_id, book, principal, body)
