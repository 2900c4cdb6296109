"""Work orders: proposals from a plan, approved or rejected by a person, executed in the field.

A work order moves ``proposed -> approved -> executed`` or ``proposed -> rejected``; any other move
is refused. Every move is recorded with who and when in the append-only, hash-chained ``audit``
table; the ``work_orders`` table holds each order's current state.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

from valueloop.errors import ActionError
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
    EXECUTED = "executed"


_ALLOWED = {
    (OrderStatus.PROPOSED, OrderStatus.APPROVED),
    (OrderStatus.PROPOSED, OrderStatus.REJECTED),
    (OrderStatus.APPROVED, OrderStatus.EXECUTED),
}


@dataclass(frozen=True)
class Proposal:
    """A proposed action on an asset, with its expected cost in the site's currency.

    ``action`` is what the field is asked to do: a maintenance action (``overhaul``) or the signal
    whose set-point is written, in which case ``setpoint`` is the value to write, in its unit.
    ``kind`` is ``maintenance`` or ``setpoint``; ``task`` describes a maintenance task in words;
    ``source`` names what proposed it (a rule and the alarm it fired on, a planner's plan), and
    one source proposes at most one order; ``expected_value`` is the money the order is expected
    to save, in the site's currency.
    """

    asset: str
    action: str
    due_at: datetime
    expected_cost: float
    failure_probability: float
    setpoint: float | None = None
    kind: str = "maintenance"
    task: str = ""
    source: str = ""
    expected_value: float = 0.0


class WorkOrders:
    """The work-order book of a site, with its audit trail."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)
        for statement in _COLUMNS_ADDED:
            store.execute(statement)
        self.audit = AppendOnlyLog(store, "audit", AUDIT_COLUMNS)

    def propose(
        self, plan_id: str, proposals: Sequence[Proposal], *, actor: str, model_version: str
    ) -> list[str]:
        """Record proposals as work orders in state ``proposed``; return their ids."""
        now = datetime.now().astimezone()
        ids = [f"WO-{uuid.uuid4().hex[:10]}" for _ in proposals]
        rows = pa.table(
            {
                "order_id": ids,
                "plan_id": [plan_id] * len(ids),
                "asset": [p.asset for p in proposals],
                "action": [p.action for p in proposals],
                "due_at": pa.array([p.due_at for p in proposals], pa.timestamp("us", tz="UTC")),
                "expected_cost": pa.array([p.expected_cost for p in proposals], pa.float64()),
                "failure_probability": pa.array(
                    [p.failure_probability for p in proposals], pa.float64()
                ),
                "model_version": [model_version] * len(ids),
                "status": [OrderStatus.PROPOSED.value] * len(ids),
                "created_at": pa.array([now] * len(ids), pa.timestamp("us", tz="UTC")),
                "updated_at": pa.array([now] * len(ids), pa.timestamp("us", tz="UTC")),
                "updated_by": [actor] * len(ids),
                "setpoint": pa.array([p.setpoint for p in proposals], pa.float64()),
                "kind": [p.kind for p in proposals],
                "task": [p.task for p in proposals],
                "source": [p.source for p in proposals],
                "expected_value": pa.array([p.expected_value for p in proposals], pa.float64()),
            }
        )
        self._store.append("work_orders", rows)
        self.audit.append(
            [
                {
                    "actor": actor,
                    "action": "propose",
                    "subject": order_id,
                    "detail": json.dumps(
                        {
                            "plan_id": plan_id,
                            "asset": p.asset,
                            "action": p.action,
                            "due_at": p.due_at.isoformat(),
                            "expected_cost": p.expected_cost,
                            "setpoint": p.setpoint,
                            "kind": p.kind,
                            "task": p.task,
                            "source": p.source,
                            "expected_value": p.expected_value,
                        }
                    ),
                }
                for order_id, p in zip(ids, proposals, strict=True)
            ]
        )
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

    def transition(
        self, order_id: str, to: OrderStatus, *, actor: str, comment: str = ""
    ) -> dict[str, Any]:
        """Move a work order to ``to``, recording who and when; return the updated order."""
        if not actor.strip():
            raise ActionError("an actor is required to change a work order")
        order = self.get(order_id)
        current = OrderStatus(order["status"])
        if (current, to) not in _ALLOWED:
            raise ActionError(
                f"work order {order_id} is {current.value}; it cannot become {to.value}"
            )
        now = datetime.now().astimezone()
        changed = self._store.execute(
            "UPDATE work_orders SET status = ?, updated_at = ?, updated_by = ? "
            "WHERE order_id = ? AND status = ?",
            [to.value, now, actor, order_id, current.value],
        )
        if changed != 1:
            raise ActionError(
                f"work order {order_id} changed while being decided; it is no longer "
                f"{current.value}"
            )
        self.audit.append(
            [
                {
                    "actor": actor,
                    "action": to.value,
                    "subject": order_id,
                    "detail": json.dumps({"from": current.value, "comment": comment}),
                }
            ]
        )
        return self.get(order_id)

    def approve(self, order_id: str, *, actor: str, comment: str = "") -> dict[str, Any]:
        """Approve a proposed work order."""
        return self.transition(order_id, OrderStatus.APPROVED, actor=actor, comment=comment)

    def reject(self, order_id: str, *, actor: str, comment: str = "") -> dict[str, Any]:
        """Reject a proposed work order."""
        return self.transition(order_id, OrderStatus.REJECTED, actor=actor, comment=comment)

    def audit_trail(self, subject: str | None = None) -> pa.Table:
        """The audit rows, all or of one work order."""
        if subject is None:
            return self.audit.rows()
        return self.audit.rows("subject = ?", [subject])
