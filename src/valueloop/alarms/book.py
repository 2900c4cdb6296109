"""The alarm book of a site: each alarm's life (ISA-18.2 states) and each alarm point's flags.

Every activation of an alarm point raises one alarm, a row of the ``alarms`` table with an id
derived from the point's key and the activation time, so applying the same transitions twice (a
rerun of a period) raises it once. An alarm moves through the ISA-18.2 states::

    unack --clear--> rtn_unack --acknowledge--> normal
      |                                           ^
      +--acknowledge--> acked ------clear---------+

An activation of a point whose alarm is still active is ignored: one alarm per episode; so is an
activation when the point has an alarm raised after it and before the activation's episode is
seen to clear (late readings that show an episode began earlier than first seen). The
``alarm_points`` table holds each point's flags: shelved (by an operator, until a time) and out of
service. A flagged point keeps its states, but its new alarms are recorded as ``suppressed``.
Every acknowledgement, shelving, unshelving and service change is appended, with who, when and
why, to the site's hash-chained ``audit`` table. Times are always passed in, never read here.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pyarrow as pa

from valueloop.act.workorders import AUDIT_COLUMNS
from valueloop.alarms.definitions import (
    LIMIT_LEVELS,
    STALE,
    EventAlarm,
    Priority,
    Transition,
)
from valueloop.alarms.evaluate import to_micros
from valueloop.errors import ActionError
from valueloop.events import announce
from valueloop.store.appendonly import AppendOnlyLog
from valueloop.store.duckdb import DuckDBStore

_ALARMS_DDL = """
CREATE TABLE IF NOT EXISTS alarms (
    alarm_id VARCHAR PRIMARY KEY,
    key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    asset VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    signal VARCHAR NOT NULL,
    priority VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    value_at_raise DOUBLE,
    cleared_at TIMESTAMPTZ,
    value_at_clear DOUBLE,
    acked_at TIMESTAMPTZ,
    acked_by VARCHAR,
    ack_comment VARCHAR,
    suppressed BOOLEAN NOT NULL,
    description VARCHAR NOT NULL
)
"""

_POINTS_DDL = """
CREATE TABLE IF NOT EXISTS alarm_points (
    key VARCHAR PRIMARY KEY,
    shelved_until TIMESTAMPTZ,
    shelved_by VARCHAR,
    shelved_alarm_id VARCHAR,
    out_of_service BOOLEAN NOT NULL DEFAULT false
)
"""

_RAISE = """
INSERT INTO alarms (alarm_id, key, name, asset, level, signal, priority, state, raised_at,
                    value_at_raise, suppressed, description)
SELECT ?, ?, ?, ?, ?, ?, ?, 'unack', ?, ?,
       coalesce((SELECT out_of_service OR coalesce(shelved_until > ?, false)
                 FROM alarm_points WHERE key = ?), false),
       ?
WHERE NOT EXISTS (SELECT 1 FROM alarms WHERE key = ? AND state IN ('unack', 'acked'))
  AND NOT EXISTS (SELECT 1 FROM alarms WHERE key = ? AND raised_at > ?
                  AND (raised_at <= ? OR ? IS NULL))
ON CONFLICT DO NOTHING
"""

_CLEAR = """
UPDATE alarms SET state = CASE state WHEN 'unack' THEN 'rtn_unack' ELSE 'normal' END,
                  cleared_at = ?, value_at_clear = ?
WHERE key = ? AND state IN ('unack', 'acked') AND raised_at < ?
RETURNING alarm_id
"""

_WITH_FLAGS = """
SELECT a.*, p.shelved_until IS NOT NULL AS shelved, p.shelved_until, p.shelved_by,
       coalesce(p.out_of_service, false) AS out_of_service
FROM alarms a LEFT JOIN alarm_points p ON p.key = a.key
"""

_SET_SHELF = """
INSERT INTO alarm_points (key, shelved_until, shelved_by, shelved_alarm_id) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET shelved_until = excluded.shelved_until,
    shelved_by = excluded.shelved_by, shelved_alarm_id = excluded.shelved_alarm_id
"""

_SET_SERVICE = """
INSERT INTO alarm_points (key, out_of_service) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET out_of_service = excluded.out_of_service
"""

_KEY = re.compile(rf"^[^:@\s]+:({'|'.join((*LIMIT_LEVELS, STALE))})@\S+$")

DEFAULT_MAX_SHELVE = timedelta(days=7)
SYSTEM = "system"
"""The actor of what the book does by itself (a shelf expiring)."""

_decisions = threading.RLock()
"""State changes are made one at a time (the engine's transitions and the operators' actions), so
that a state read and the audit row written with it always agree."""


class AlarmState(StrEnum):
    """ISA-18.2 alarm states."""

    UNACK = "unack"
    """Active and not acknowledged."""
    ACKED = "acked"
    """Active and acknowledged."""
    RTN_UNACK = "rtn_unack"
    """Returned to normal, not acknowledged."""
    NORMAL = "normal"
    """Returned to normal and acknowledged: closed."""


ACTIVE = (AlarmState.UNACK, AlarmState.ACKED)
_ACKNOWLEDGED = {AlarmState.UNACK: AlarmState.ACKED, AlarmState.RTN_UNACK: AlarmState.NORMAL}


def alarm_id(key: str, raised_at: datetime) -> str:
    """The id of the alarm raised by point ``key`` at ``raised_at``: ``AL-`` and 12 hex digits."""
    digest = hashlib.sha1(f"{key}|{to_micros(raised_at)}".encode(), usedforsecurity=False)
    return f"AL-{digest.hexdigest()[:12]}"


def _episode_ends(transitions: Sequence[Transition]) -> list[datetime | None]:
    """When the episode each activation of ``transitions`` begins is seen to end: the time of
    its point's next clear among them (None when none follows, and for a clear)."""
    ends: list[datetime | None] = [None] * len(transitions)
    following: dict[str, datetime] = {}
    for index in reversed(range(len(transitions))):
        transition = transitions[index]
        if transition.kind == "clear":
            following[transition.alarm.key] = transition.ts
        else:
            ends[index] = following.get(transition.alarm.key)
    return ends


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None:
        raise ActionError(f"{what} {moment.isoformat()} has no time zone; give an aware time")


class AlarmBook:
    """The ``alarms`` and ``alarm_points`` tables of a site's database, with the audit trail.

    ``max_shelve`` is the longest an operator may shelve an alarm point for.
    """

    def __init__(self, store: DuckDBStore, *, max_shelve: timedelta = DEFAULT_MAX_SHELVE) -> None:
        self._store = store
        self.max_shelve = max_shelve
        store.execute(_ALARMS_DDL)
        store.execute(_POINTS_DDL)
        self.audit = AppendOnlyLog(store, "audit", AUDIT_COLUMNS)

    # What the engine does ---------------------------------------------------------------------

    def apply(self, transitions: Sequence[Transition]) -> int:
        """Raise and clear alarms as ``transitions`` say, in their order; return how many changed.

        An activation raises an alarm in state ``unack`` unless the point's alarm is still active,
        this very alarm was raised before, or the point has an alarm raised during the
        activation's episode: after it and up to the point's next clear in ``transitions`` (any
        time after it when none follows). A clear moves the point's active alarm raised before it
        from ``unack`` to ``rtn_unack`` or from ``acked`` to ``normal``.
        """
        changed: list[str] = []
        ends = _episode_ends(transitions)
        with _decisions:
            for transition, episode_end in zip(transitions, ends, strict=True):
                _aware(transition.ts, "transition time")
                alarm = transition.alarm
                if transition.kind == "activate":
                    raised = alarm_id(alarm.key, transition.ts)
                    if self._store.execute(
                        _RAISE,
                        [
                            raised,
                            alarm.key,
                            alarm.name,
                            alarm.asset,
                            alarm.level,
                            transition.signal,
                            Priority(alarm.priority).value,
                            transition.ts,
                            _number(transition.value),
                            transition.ts,
                            alarm.key,
                            alarm.description,
                            alarm.key,
                            alarm.key,
                            transition.ts,
                            episode_end,
                            episode_end,
                        ],
                    ):
                        changed.append(raised)
                else:
                    cleared = self._store.query(
                        _CLEAR,
                        [transition.ts, _number(transition.value), alarm.key, transition.ts],
                    )
                    changed += cleared.column("alarm_id").to_pylist()
            self._announce(changed)
        return len(changed)

    def last_move(self, key: str, before: datetime) -> tuple[datetime, bool] | None:
        """The point's latest raise or clear before ``before``: its time and whether it was a
        raise (the point was active from then on); None if the point never moved before it."""
        _aware(before, "before")
        rows = self._store.query(
            "SELECT raised_at AS moved_at, true AS raised FROM alarms "
            "WHERE key = ? AND raised_at < ? "
            "UNION ALL SELECT cleared_at, false FROM alarms WHERE key = ? AND cleared_at < ? "
            "ORDER BY moved_at DESC, raised LIMIT 1",
            [key, before, key, before],
        ).to_pylist()
        return (rows[0]["moved_at"], bool(rows[0]["raised"])) if rows else None

    def raise_event(self, alarm: EventAlarm, at: datetime, value: float | None = None) -> str:
        """Raise an event alarm at ``at`` (returned to normal at once); return its id."""
        self.apply(
            [
                Transition(alarm, "activate", at, value, alarm.name),
                Transition(alarm, "clear", at + timedelta(microseconds=1), value, alarm.name),
            ]
        )
        return alarm_id(alarm.key, at)

    def expire_shelves(self, now: datetime) -> int:
        """Unshelve every point whose shelf ended at or before ``now`` (actor ``system``)."""
        _aware(now, "now")
        with _decisions:
            ended = self._store.query(
                "SELECT key, shelved_until, shelved_alarm_id FROM alarm_points "
                "WHERE shelved_until <= ? ORDER BY key",
                [now],
            ).to_pylist()
            for point in ended:
                self._unshelve_point(point["key"])
            self._announce([point["shelved_alarm_id"] for point in ended])
            self.audit.append(
                [
                    {
                        "actor": SYSTEM,
                        "action": "unshelve",
                        "subject": point["shelved_alarm_id"],
                        "detail": json.dumps(
                            {
                                "key": point["key"],
                                "reason": "shelf expired",
                                "until": point["shelved_until"].isoformat(),
                                "at": now.isoformat(),
                            }
                        ),
                    }
                    for point in ended
                ]
            )
        return len(ended)

    # What operators do ------------------------------------------------------------------------

    def acknowledge(
        self, alarm_id: str, *, actor: str, at: datetime, comment: str = ""
    ) -> dict[str, Any]:
        """Acknowledge an alarm: ``unack`` becomes ``acked``, ``rtn_unack`` becomes ``normal``.

        Any other state is refused (:class:`ActionError` naming it). Returns the updated alarm.
        """
        self._check(actor, at)
        with _decisions:
            current = AlarmState(self.get(alarm_id)["state"])
            to = _ACKNOWLEDGED.get(current)
            if to is None:
                raise ActionError(
                    f"alarm {alarm_id} is {current.value}; only an unacknowledged alarm "
                    "(unack or rtn_unack) can be acknowledged"
                )
            self._store.execute(
                "UPDATE alarms SET state = ?, acked_at = ?, acked_by = ?, ack_comment = ? "
                "WHERE alarm_id = ? AND state = ?",
                [to.value, at, actor, comment, alarm_id, current.value],
            )
            self._record(
                actor, "acknowledge", alarm_id, {"from": current.value, "to": to.value}, at, comment
            )
            return self._changed(alarm_id)

    def shelve(
        self, alarm_id: str, *, actor: str, until: datetime, at: datetime, comment: str = ""
    ) -> dict[str, Any]:
        """Shelve the point of an alarm until ``until`` (at most :attr:`max_shelve` after ``at``).

        A shelved point keeps its states; its new alarms are recorded as suppressed. Shelving a
        shelved point replaces its shelf. Returns the updated alarm.
        """
        self._check(actor, at)
        _aware(until, "shelf end")
        if until <= at:
            raise ActionError(f"a shelf must end after now ({at.isoformat()})")
        if until - at > self.max_shelve:
            raise ActionError(
                f"alarms may be shelved for at most {self.max_shelve}, "
                f"not {until - at} (until {until.isoformat()})"
            )
        with _decisions:
            key = self.get(alarm_id)["key"]
            self._store.execute(_SET_SHELF, [key, until, actor, alarm_id])
            detail = {"key": key, "until": until.isoformat()}
            self._record(actor, "shelve", alarm_id, detail, at, comment)
            return self._changed(alarm_id)

    def unshelve(
        self, alarm_id: str, *, actor: str, at: datetime, comment: str = ""
    ) -> dict[str, Any]:
        """Take the point of an alarm off its shelf; a point not shelved is refused."""
        self._check(actor, at)
        with _decisions:
            alarm = self.get(alarm_id)
            if not alarm["shelved"]:
                raise ActionError(f"alarm {alarm_id} is not shelved (point {alarm['key']})")
            self._unshelve_point(alarm["key"])
            detail = {"key": alarm["key"], "until": alarm["shelved_until"].isoformat()}
            self._record(actor, "unshelve", alarm_id, detail, at, comment)
            return self._changed(alarm_id)

    def set_out_of_service(
        self, key: str, *, actor: str, flag: bool, at: datetime, comment: str = ""
    ) -> None:
        """Take an alarm point out of service (``flag`` True) or return it to service.

        An out-of-service point keeps its states; its new alarms are recorded as suppressed.
        Asking for the state the point is already in is refused.
        """
        self._check(actor, at)
        if not _KEY.match(key):
            raise ActionError(f"{key!r} is not an alarm point key such as vibration:hi@pump-1")
        with _decisions:
            rows = self._store.query(
                "SELECT out_of_service FROM alarm_points WHERE key = ?", [key]
            ).to_pylist()
            if bool(rows and rows[0]["out_of_service"]) == flag:
                raise ActionError(
                    f"alarm point {key} is already {'out of' if flag else 'in'} service"
                )
            self._store.execute(_SET_SERVICE, [key, flag])
            action = "out_of_service" if flag else "return_to_service"
            self._record(actor, action, key, {"key": key}, at, comment)
            shown = self._store.query(
                "SELECT alarm_id FROM alarms WHERE key = ? AND state <> ?",
                [key, AlarmState.NORMAL.value],
            )
            self._announce(shown.column("alarm_id").to_pylist())

    # Reading ----------------------------------------------------------------------------------

    def get(self, alarm_id: str) -> dict[str, Any]:
        """One alarm with its point's flags (``shelved``, ``out_of_service``); unknown: error."""
        rows = self._store.query(f"{_WITH_FLAGS} WHERE a.alarm_id = ?", [alarm_id]).to_pylist()
        if not rows:
            raise ActionError(f"no alarm {alarm_id!r}")
        return dict(rows[0])

    def list(
        self,
        state: AlarmState | None = None,
        priority: Priority | None = None,
        asset: str | None = None,
        *,
        include_normal: bool = False,
        limit: int = 200,
    ) -> pa.Table:
        """Alarms, newest first, with their point's flags.

        Closed (``normal``) alarms are left out unless ``include_normal`` or ``state`` asks for
        them. At most ``limit`` rows.
        """
        if limit < 1:
            raise ActionError(f"limit must be at least 1, got {limit}")
        clauses, params = [], []
        if state is not None:
            clauses.append("a.state = ?")
            params.append(AlarmState(state).value)
        elif not include_normal:
            clauses.append("a.state <> 'normal'")
        if priority is not None:
            clauses.append("a.priority = ?")
            params.append(Priority(priority).value)
        if asset is not None:
            clauses.append("a.asset = ?")
            params.append(asset)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._store.query(
            f"{_WITH_FLAGS}{where} ORDER BY a.raised_at DESC, a.alarm_id LIMIT ?", [*params, limit]
        )

    def active_since(self, asset: str | None = None) -> pa.Table:
        """The active alarms (``unack``, ``acked``), all or of one asset, oldest first.

        ``raised_at`` says since when each is active; for rules such as "an alarm active for more
        than an hour asks for a work order".
        """
        where = "a.state IN ('unack', 'acked')"
        params: list[Any] = []
        if asset is not None:
            where += " AND a.asset = ?"
            params.append(asset)
        return self._store.query(f"{_WITH_FLAGS} WHERE {where} ORDER BY a.raised_at, a.key", params)

    def raised_between(self, after: datetime | None, until: datetime) -> pa.Table:
        """Alarms raised in ``(after, until]`` (all raised by ``until`` if ``after`` is None),
        oldest first, with their point's flags; for rules that fire on alarms as they are raised.
        """
        return self._raised(after, until, "a.raised_at > ?")

    def raised_or_open(self, after: datetime | None, until: datetime) -> pa.Table:
        """What rules read: the alarms :meth:`raised_between` gives, and those raised by
        ``until`` but at or before ``after`` that are still open (active or unacknowledged).

        The alarm job judges late readings at their own times, so an alarm can be recorded
        after the rules' window has passed its ``raised_at``: an edge's backlog after an outage,
        a pack's daily figures, an import. While it is open a rule still sees it; a proposal's
        source keeps it from being proposed twice.
        """
        return self._raised(
            after, until, f"(a.raised_at > ? OR a.state <> '{AlarmState.NORMAL.value}')"
        )

    def _raised(self, after: datetime | None, until: datetime, since: str) -> pa.Table:
        """Alarms raised by ``until`` and, when ``after`` is given, meeting ``since`` (one
        parameter: ``after``), oldest first, with their point's flags."""
        _aware(until, "until")
        where, params = "a.raised_at <= ?", [until]
        if after is not None:
            _aware(after, "after")
            where += f" AND {since}"
            params.append(after)
        return self._store.query(f"{_WITH_FLAGS} WHERE {where} ORDER BY a.raised_at, a.key", params)

    def audit_trail(self, subject: str) -> pa.Table:
        """The audit rows of one alarm (by id) or alarm point (by key), oldest first."""
        return self.audit.rows("subject = ?", [subject])

    # Helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _check(actor: str, at: datetime) -> None:
        if not actor.strip():
            raise ActionError("an actor is required to act on an alarm")
        _aware(at, "action time")

    def _announce(self, alarm_ids: Sequence[str]) -> None:
        """Announce the alarms ``alarm_ids`` as changed (see :mod:`valueloop.events`)."""
        announce(self._store, "alarm", lambda: map(self.get, dict.fromkeys(alarm_ids)))

    def _changed(self, alarm_id: str) -> dict[str, Any]:
        """An alarm an operator just changed, as it is now, announced."""
        alarm = self.get(alarm_id)
        announce(self._store, "alarm", lambda: [alarm])
        return alarm

    def _unshelve_point(self, key: str) -> None:
        self._store.execute(
            "UPDATE alarm_points SET shelved_until = NULL, shelved_by = NULL, "
            "shelved_alarm_id = NULL WHERE key = ?",
            [key],
        )

    def _record(
        self,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any],
        at: datetime,
        comment: str,
    ) -> None:
        self.audit.append(
            [
                {
                    "actor": actor,
                    "action": action,
                    "subject": subject,
                    "detail": json.dumps({**detail, "comment": comment, "at": at.isoformat()}),
                }
            ]
        )
