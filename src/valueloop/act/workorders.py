"""Work orders: proposals of maintenance tasks and set-point changes, decided, acted on, closed.

A work order moves through these states; any other move is refused::

    proposed -> approved | rejected | expired
    approved -> executing (a set-point change) | dispatched (a maintenance task) | expired
    executing -> executed (read back and verified) | failed
    executed -> rolled_back          (its rollback order was executed)
    dispatched -> completed          (the maintenance system reported it done)

Every move is first recorded with who, when and why in the append-only, keyed and chained
``audit`` table, and the order's row then names that entry (``audit_seq``), so a state written to
the table without its audit entry is found out (see :mod:`valueloop.act.trail`). Other facts of an
order's life (each approval, each step of an execution) are audit entries too (:meth:`record`).
"""

from __future__ import annotations

import builtins
import json
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

from valueloop.errors import ActionError
from valueloop.events import announce
from valueloop.store.appendonly import AppendOnlyLog
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS work_orders (
    order_id VARCHAR PRIMARY KEY,
    plan_id VARCHAR NOT NULL,
    asset VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    expected_cost DOUBLE NOT NULL,
    failure_probability DOUBLE NOT NULL,
    model_version VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by VARCHAR NOT NULL,
    setpoint DOUBLE
)
"""

_COLUMNS_ADDED = (
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'maintenance'",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS task VARCHAR DEFAULT ''",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS source VARCHAR DEFAULT ''",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS expected_value DOUBLE DEFAULT 0",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS previous DOUBLE",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS reason VARCHAR DEFAULT ''",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS window_end TIMESTAMPTZ",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS crew VARCHAR DEFAULT ''",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS created_by VARCHAR DEFAULT ''",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS rollback_of VARCHAR",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS audit_seq BIGINT",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS actual_cost DOUBLE",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS duration_h DOUBLE",
    "ALTER TABLE work_orders ADD COLUMN IF NOT EXISTS findings VARCHAR",
)

AUDIT_COLUMNS = (
    ("actor", "VARCHAR NOT NULL"),
    ("action", "VARCHAR NOT NULL"),
    ("subject", "VARCHAR NOT NULL"),
    ("detail", "VARCHAR NOT NULL"),
)


class OrderStatus(StrEnum):
    """The states of a work order."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    DISPATCHED = "dispatched"
    COMPLETED = "completed"


OPEN = (OrderStatus.PROPOSED, OrderStatus.APPROVED, OrderStatus.EXECUTING, OrderStatus.DISPATCHED)
"""States of an order not yet done with."""

_ALLOWED = {
    (OrderStatus.PROPOSED, OrderStatus.APPROVED),
    (OrderStatus.PROPOSED, OrderStatus.REJECTED),
    (OrderStatus.PROPOSED, OrderStatus.EXPIRED),
    (OrderStatus.APPROVED, OrderStatus.EXECUTING),
    (OrderStatus.APPROVED, OrderStatus.DISPATCHED),
    (OrderStatus.APPROVED, OrderStatus.EXPIRED),
    (OrderStatus.EXECUTING, OrderStatus.EXECUTED),
    (OrderStatus.EXECUTING, OrderStatus.FAILED),
    (OrderStatus.EXECUTED, OrderStatus.ROLLED_BACK),
    (OrderStatus.DISPATCHED, OrderStatus.COMPLETED),
}


@dataclass(frozen=True)
class Proposal:
    """A proposed action on an asset, with its expected cost in the site's currency.

    ``action`` is what the field is asked to do: a maintenance action (``overhaul``, ``inspect``)
    or the set-point to change, in which case ``setpoint`` is its target, in its unit, and
    ``previous`` the value it held when the change was proposed. ``kind`` is ``maintenance`` or
    ``setpoint``; ``task`` describes a maintenance task in words, ``reason`` why a change is
    proposed; ``due_at`` is when it should happen (a task's window opens then and closes at
    ``window_end``, for ``crew``); ``source`` names what proposed it (a rule and the alarm it
    fired on, a planner's plan, a person), and one source proposes at most one order;
    ``expected_value`` is the money the order is expected to save, in the site's currency;
    ``rollback_of`` is the executed set-point change this one reverses.
    """

    asset: str
    action: str
    due_at: datetime
    expected_cost: float = 0.0
    failure_probability: float = 0.0
    setpoint: float | None = None
    kind: str = "maintenance"
    task: str = ""
    source: str = ""
    expected_value: float = 0.0
    previous: float | None = None
    reason: str = ""
    window_end: datetime | None = None
    crew: str = ""
    rollback_of: str | None = None

    def facts(self) -> dict[str, Any]:
        """What the audit keeps of the proposal, to check the order's row against later."""
        return {
            "kind": self.kind,
            "asset": self.asset,
            "action": self.action,
            "setpoint": self.setpoint,
            "previous": self.previous,
            "due_at": self.due_at.isoformat(),
            "window_end": None if self.window_end is None else self.window_end.isoformat(),
            "task": self.task,
            "reason": self.reason,
            "crew": self.crew,
            "expected_cost": self.expected_cost,
            "failure_probability": self.failure_probability,
            "expected_value": self.expected_value,
            "source": self.source,
            "rollback_of": self.rollback_of,
        }


FACTS = tuple(Proposal.__dataclass_fields__)
"""The columns of an order that its ``propose`` audit entry vouches for."""

_TIMES = pa.timestamp("us", tz="UTC")

_BOOK_LOCKS: dict[int, threading.RLock] = {}
_BOOK_LOCKS_GUARD = threading.Lock()


def _book_lock(store: DuckDBStore) -> threading.RLock:
    """One lock per store for every move of its work orders, in this process."""
    with _BOOK_LOCKS_GUARD:
        return _BOOK_LOCKS.setdefault(id(store), threading.RLock())


class WorkOrders:
    """The work-order book of a site, with its audit trail."""

    def __init__(self, store: DuckDBStore, audit: AppendOnlyLog | None = None) -> None:
        self._store = store
        store.execute(_DDL)
        for statement in _COLUMNS_ADDED:
            store.execute(statement)
        self.audit = audit if audit is not None else AppendOnlyLog(store, "audit", AUDIT_COLUMNS)
        self.lock = _book_lock(store)
        """Held while an order is read, checked and moved, so that no two moves interleave."""

    def propose(
        self,
        plan_id: str,
        proposals: Sequence[Proposal],
        *,
        actor: str,
        model_version: str,
        at: datetime | None = None,
    ) -> list[str]:
        """Record proposals as work orders in state ``proposed``; return their ids.

        Each proposal is audited first (``propose``, with every fact of it), then booked with
        its audit entry's sequence number.
        """
        if not proposals:
            return []
        now = at or datetime.now().astimezone()
        ids = [f"WO-{uuid.uuid4().hex[:10]}" for _ in proposals]
        with self.lock:
            seqs = self.audit.append(
                [
                    {
                        "actor": actor,
                        "action": "propose",
                        "subject": order_id,
                        "detail": json.dumps({"plan_id": plan_id, **p.facts()}),
                    }
                    for order_id, p in zip(ids, proposals, strict=True)
                ]
            )
            rows = pa.table(
                {
                    "order_id": ids,
                    "plan_id": [plan_id] * len(ids),
                    "asset": [p.asset for p in proposals],
                    "action": [p.action for p in proposals],
                    "due_at": pa.array([p.due_at for p in proposals], _TIMES),
                    "expected_cost": pa.array([p.expected_cost for p in proposals], pa.float64()),
                    "failure_probability": pa.array(
                        [p.failure_probability for p in proposals], pa.float64()
                    ),
                    "model_version": [model_version] * len(ids),
                    "status": [OrderStatus.PROPOSED.value] * len(ids),
                    "created_at": pa.array([now] * len(ids), _TIMES),
                    "updated_at": pa.array([now] * len(ids), _TIMES),
                    "updated_by": [actor] * len(ids),
                    "setpoint": pa.array([p.setpoint for p in proposals], pa.float64()),
                    "kind": [p.kind for p in proposals],
                    "task": [p.task for p in proposals],
                    "source": [p.source for p in proposals],
                    "expected_value": pa.array([p.expected_value for p in proposals], pa.float64()),
                    "previous": pa.array([p.previous for p in proposals], pa.float64()),
                    "reason": [p.reason for p in proposals],
                    "window_end": pa.array([p.window_end for p in proposals], _TIMES),
                    "crew": [p.crew for p in proposals],
                    "created_by": [actor] * len(ids),
                    "rollback_of": pa.array([p.rollback_of for p in proposals], pa.string()),
                    "audit_seq": pa.array(seqs, pa.int64()),
                }
            )
            self._store.append("work_orders", rows)
            announce(self._store, "workorder", lambda: map(self.get, ids))
        return ids

    def sources(self, prefix: str) -> set[str]:
        """The sources, starting with ``prefix``, that have proposed an order already."""
        rows = self._store.query(
            "SELECT DISTINCT source FROM work_orders WHERE starts_with(source, ?)", [prefix]
        )
        return set(rows.column("source").to_pylist())

    def get(self, order_id: str) -> dict[str, Any]:
        """One work order as a mapping; unknown ids are an error."""
        rows = self._store.query("SELECT * FROM work_orders WHERE order_id = ?", [order_id])
        if rows.num_rows == 0:
            raise ActionError(f"no work order {order_id!r}")
        return dict(rows.to_pylist()[0])

    def list(self, status: OrderStatus | None = None) -> pa.Table:
        """Work orders by due time, optionally only those in ``status``."""
        if status is None:
            return self._store.query("SELECT * FROM work_orders ORDER BY due_at, asset")
        return self._store.query(
            "SELECT * FROM work_orders WHERE status = ? ORDER BY due_at, asset", [status.value]
        )

    def newest_of(self, asset: str, limit: int) -> builtins.list[dict[str, Any]]:
        """The ``limit`` newest orders of ``asset``, newest first (by creation, then id)."""
        rows: builtins.list[dict[str, Any]] = self._store.query(
            "SELECT * FROM work_orders WHERE asset = ? "
            "ORDER BY created_at DESC, order_id DESC LIMIT ?",
            [asset, limit],
        ).to_pylist()
        return rows

    def in_states(self, states: Sequence[OrderStatus]) -> builtins.list[dict[str, Any]]:
        """Orders in any of ``states``, by due time."""
        rows: builtins.list[dict[str, Any]] = self._store.query(
            "SELECT * FROM work_orders WHERE list_contains(?, status) ORDER BY due_at, order_id",
            [[state.value for state in states]],
        ).to_pylist()
        return rows

    def approvals(self, order_ids: Sequence[str]) -> dict[str, builtins.list[dict[str, Any]]]:
        """The ``approve`` audit entries of each of ``order_ids``, oldest first, in one query."""
        rows = self.audit.rows(
            "action = 'approve' AND list_contains(?, subject)", [list(order_ids)]
        )
        found: dict[str, builtins.list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
        for row in rows.to_pylist():
            found[row["subject"]].append(row)
        return found

    def last_setpoint_change(self, asset: str, setpoint: str) -> datetime | None:
        """When a change of ``setpoint`` on ``asset`` was last proposed (not rejected, expired)."""
        rows = self._store.query(
            "SELECT max(created_at) AS at FROM work_orders WHERE kind = 'setpoint' AND asset = ? "
            "AND action = ? AND status NOT IN ('rejected', 'expired')",
            [asset, setpoint],
        )
        latest: datetime | None = rows.column("at")[0].as_py()
        return latest

    def rollbacks_of(self, order_id: str) -> builtins.list[str]:
        """Rollback orders of ``order_id`` still under way or done (not refused or failed)."""
        rows = self._store.query(
            "SELECT order_id FROM work_orders WHERE rollback_of = ? "
            "AND status NOT IN ('rejected', 'expired', 'failed') ORDER BY created_at",
            [order_id],
        )
        return [str(value) for value in rows.column("order_id").to_pylist()]

    def record(
        self, order_id: str, action: str, *, actor: str, detail: dict[str, Any] | None = None
    ) -> int:
        """Audit a fact of an order's life that is not a move (an approval, an execution step).

        Returns the entry's sequence number.
        """
        if not actor.strip():
            raise ActionError("an actor is required to record an action on a work order")
        (seq,) = self.audit.append(
            [
                {
                    "actor": actor,
                    "action": action,
                    "subject": order_id,
                    "detail": json.dumps(detail or {}, default=str),
                }
            ]
        )
        return seq

    def transition(
        self,
        order_id: str,
        to: OrderStatus,
        *,
        actor: str,
        comment: str = "",
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
        columns: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Move a work order to ``to``, audited first; return the updated order.

        ``detail`` adds facts to the audit entry; ``columns`` sets other columns of the order in
        the same update (a completion's actual cost, say).
        """
        if not actor.strip():
            raise ActionError("an actor is required to change a work order")
        with self.lock:
            order = self.get(order_id)
            current = OrderStatus(order["status"])
            if (current, to) not in _ALLOWED:
                raise ActionError(
                    f"work order {order_id} is {current.value}; it cannot become {to.value}"
                )
            now = at or datetime.now().astimezone()
            seq = self.record(
                order_id,
                to.value,
                actor=actor,
                detail={"from": current.value, "comment": comment, **(detail or {})},
            )
            extra = dict(columns or {})
            assignments = "".join(f", {name} = ?" for name in extra)
            changed = self._store.execute(
                "UPDATE work_orders SET status = ?, updated_at = ?, updated_by = ?, "
                f"audit_seq = ?{assignments} WHERE order_id = ? AND status = ?",
                [to.value, now, actor, seq, *extra.values(), order_id, current.value],
            )
            if changed != 1:
                raise ActionError(
                    f"work order {order_id} changed while being decided; it is no longer "
                    f"{current.value}"
                )
            moved = self.get(order_id)
            announce(self._store, "workorder", lambda: [moved])
            return moved

    def approve(self, order_id: str, *, actor: str, comment: str = "") -> dict[str, Any]:
        """Approve a proposed work order (no policy: :class:`~valueloop.act.desk.ActionDesk`)."""
        return self.transition(order_id, OrderStatus.APPROVED, actor=actor, comment=comment)

    def reject(self, order_id: str, *, actor: str, comment: str = "") -> dict[str, Any]:
        """Reject a proposed work order."""
        return self.transition(order_id, OrderStatus.REJECTED, actor=actor, comment=comment)

    def audit_trail(self, subject: str | None = None) -> pa.Table:
        """The audit rows, all or of one work order."""
        if subject is None:
            return self.audit.rows()
        return self.audit.rows("subject = ?", [subject])
