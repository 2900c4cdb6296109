"""The act job: approval by policy, expiry, dispatch of maintenance tasks, execution, guards.

Each step, on the engine's clock:

1. proposed maintenance tasks inside the policy's ``auto_maintenance`` rule are approved by the
   policy (:meth:`~valueloop.act.desk.ActionDesk.approve_tasks_by_policy`);
2. set-point changes still undecided ``approve_within`` after they fell due, or approved and not
   executed within ``execute_within`` of their approval, expire (the field has moved on since;
   a maintenance task waits for its decision, as a planner's next plan re-proposes anyway);
3. approved maintenance tasks the audit trail vouches for are dispatched: to the site's
   maintenance system through its webhook (retried with backoff until it answers), or, without
   one, handed to the crew (completed later through the API or CLI);
4. approved set-point changes due are executed (:mod:`valueloop.act.execute`), and executions a
   crash interrupted are reconciled;
5. guards of executed changes are watched (:mod:`valueloop.act.guards`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from valueloop.act.desk import ActionDesk
from valueloop.act.dispatch import Dispatcher
from valueloop.act.execute import Executor, RaiseAlarm
from valueloop.act.guards import Readings, watch_guards
from valueloop.act.trail import POLICY_ACTOR, approvers
from valueloop.act.workorders import OrderStatus
from valueloop.engine.job import JobResult

CREW = "crew"
"""Where a maintenance task goes when the site has no maintenance system."""


class ActJob:
    """Act on approved work orders, once a second on the engine's clock."""

    def __init__(
        self,
        desk: ActionDesk,
        executor: Executor,
        readings: Readings,
        raise_alarm: RaiseAlarm,
        dispatcher: Dispatcher | None = None,
        *,
        every: timedelta = timedelta(seconds=1),
    ) -> None:
        self.name = "act"
        self.every = every
        self.desk = desk
        self.executor = executor
        self.readings = readings
        self.raise_alarm = raise_alarm
        self.dispatcher = dispatcher

    def _expire(self, now: datetime) -> list[str]:
        orders = self.desk.orders
        policy = self.desk.policy
        expired = []
        for order in orders.in_states([OrderStatus.PROPOSED, OrderStatus.APPROVED]):
            if order["kind"] != "setpoint":
                continue
            if order["status"] == OrderStatus.PROPOSED.value:
                deadline: datetime = order["due_at"] + policy.approve_within
                why = f"not decided within {policy.approve_within} of falling due"
            else:
                deadline = max(order["updated_at"], order["due_at"]) + policy.execute_within
                why = f"approved but not executed within {policy.execute_within}"
            if now > deadline:
                orders.transition(
                    order["order_id"], OrderStatus.EXPIRED, actor=POLICY_ACTOR, comment=why, at=now
                )
                expired.append(order["order_id"])
        return expired

    def _dispatch(self, now: datetime) -> list[str]:
        orders = self.desk.orders
        ready: list[dict[str, Any]] = [
            order
            for order in orders.in_states([OrderStatus.APPROVED])
            if order["kind"] == "maintenance" and self.executor.vouched(order, now)
        ]
        if not ready:
            return []
        dispatched = []
        if self.dispatcher is None:
            for order in ready:
                orders.transition(
                    order["order_id"],
                    OrderStatus.DISPATCHED,
                    actor=POLICY_ACTOR,
                    comment="handed to the crew; complete it through the API or CLI",
                    detail={"to": CREW},
                    at=now,
                )
                dispatched.append(order["order_id"])
            return dispatched
        delivered = {
            order["order_id"]
            for order in ready
            if (record := self.dispatcher.book.get(order["order_id"])) is not None
            and record.delivered_at is not None
        }
        waiting = [
            {**order, "approved_by": self._approvers(order)}
            for order in ready
            if order["order_id"] not in delivered
        ]
        for outcome in self.dispatcher.deliver_due(waiting, now):
            if outcome.delivered:
                delivered.add(outcome.order_id)
            else:
                orders.record(
                    outcome.order_id,
                    "dispatch_failed",
                    actor=POLICY_ACTOR,
                    detail={"status": outcome.status, "detail": outcome.detail},
                )
        for order_id in sorted(delivered):
            orders.transition(
                order_id,
                OrderStatus.DISPATCHED,
                actor=POLICY_ACTOR,
                comment="delivered to the maintenance system",
                detail={"to": self.dispatcher.spec.url},
                at=now,
            )
            dispatched.append(order_id)
        return dispatched

    def _approvers(self, order: dict[str, Any]) -> list[str]:
        entries = self.desk.orders.audit_trail(order["order_id"]).to_pylist()
        return approvers(entries, str(order["created_by"]))

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Approve by policy, expire, dispatch, execute and guard what is due at ``now``."""
        by_policy = self.desk.approve_tasks_by_policy(now)
        expired = self._expire(now)
        dispatched = self._dispatch(now)
        report = asyncio.run(self.executor.step(now))
        rollbacks = watch_guards(self.desk, self.readings, now, self.raise_alarm)
        parts = [
            f"{len(names)} {what}"
            for names, what in (
                (by_policy, "approved by the policy"),
                (expired, "expired"),
                (dispatched, "dispatched"),
                (report.executed, "executed"),
                (report.failed, "failed"),
                (report.refused, "refused"),
                (rollbacks, "rolled back by a guard"),
            )
            if names
        ]
        return JobResult(
            watermark=now,
            message=", ".join(parts) or "nothing to act on",
            rows=len(by_policy)
            + len(expired)
            + len(dispatched)
            + len(report.executed)
            + len(report.failed),
        )
