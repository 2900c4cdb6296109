"""Execution of approved set-point changes in the field, exactly once, verified by read-back.

An approved change due by now is executed as a state machine whose every step is an audit entry
carrying the execution id, written *before* the step's effect:

1. ``executing``: the order moves to executing, with the value the field holds now (``before``,
   what a rollback restores);
2. ``write``: the intent to write (attempt n);
3. the write through the set-point's connector (:class:`~valueloop.act.field.Field`);
4. ``written``: the field's answer;
5. read-back until the target is observed within the set-point's tolerance, before
   ``verify_within``: ``executed`` (verified), or ``failed``, which raises an alarm.

After a crash an order found ``executing`` is reconciled from its last step: with a write intent
but no recorded answer, the field is read back first, and written again only when it does not
show the target by the end of ``verify_within``; so a write that reached the device before the
crash is never repeated. Before the first step the audit chain must verify and vouch for the
order (:mod:`valueloop.act.trail`); an order it does not vouch for is refused, with an alarm.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from valueloop.act.faults import crash_point
from valueloop.act.field import Field
from valueloop.act.trail import problems
from valueloop.act.workorders import OrderStatus, WorkOrders
from valueloop.config import PolicySpec, SetpointSpec
from valueloop.connectors.base import SetpointWrite
from valueloop.model.site import SiteModel

ACTOR = "executor"

RaiseAlarm = Callable[[str, str, str, datetime], None]
"""``(asset, alarm name, description, at)``: raise an event alarm."""


@dataclass
class ExecutionReport:
    """What one pass of the executor did, by order id."""

    executed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.executed or self.failed or self.refused)


def chain_problem(orders: WorkOrders) -> str | None:
    """Why the audit chain does not verify, or None when it does.

    The check is incremental (the rows appended since the last one, the head and the anchors);
    the entries an order rests on are each checked against their HMAC by :meth:`vouched`.
    """
    report = orders.audit.verify(full=False)
    if report.ok:
        return None
    return f"the audit trail does not verify at entry {report.first_broken}: {report.reason}"


class Executor:
    """Write approved set-point changes through the site's connectors."""

    def __init__(
        self,
        orders: WorkOrders,
        model: SiteModel,
        policy: PolicySpec,
        field: Field,
        raise_alarm: RaiseAlarm,
    ) -> None:
        self.orders = orders
        self.model = model
        self.policy = policy
        self.field = field
        self.raise_alarm = raise_alarm
        self._refused: set[str] = set()
        self._chain: tuple[datetime, str | None] | None = None

    def chain_problem(self, now: datetime) -> str | None:
        """Why the audit chain does not verify (checked once per ``now``), or None."""
        if self._chain is None or self._chain[0] != now:
            self._chain = (now, chain_problem(self.orders))
        return self._chain[1]

    def _spec(self, order: dict[str, Any]) -> SetpointSpec:
        return self.model.assets[order["asset"]].type.setpoints[order["action"]]

    def _series(self, order: dict[str, Any]) -> str:
        return self.model.path(order["asset"], order["action"])

    def _refuse(self, order: dict[str, Any], reasons: list[str], now: datetime) -> None:
        """Audit and alarm an order the executor will not act on (once per order and reason)."""
        key = f"{order['order_id']}|{'|'.join(reasons)}"
        if key in self._refused:
            return
        self._refused.add(key)
        self.orders.record(order["order_id"], "refused", actor=ACTOR, detail={"reasons": reasons})
        self.raise_alarm(order["asset"], "work_order_refused", "; ".join(reasons)[:500], now)

    def vouched(self, order: dict[str, Any], now: datetime) -> bool:
        """Whether the audit chain verifies and vouches for acting on ``order``."""
        broken = self.chain_problem(now)
        if broken is not None:
            self._refuse(order, [broken], now)
            return False
        entries = self.orders.audit_trail(order["order_id"]).to_pylist()
        found = [
            f"audit entry {entry['seq']} of {order['order_id']} does not carry the HMAC of its "
            "content: it was edited"
            for entry in entries
            if not self.orders.audit.sealed(entry)
        ]
        found += problems(order, entries, self.policy.of(str(order["kind"])))
        if found:
            self._refuse(order, found, now)
            return False
        return True

    async def step(self, now: datetime) -> ExecutionReport:
        """Reconcile executions a crash interrupted, then execute the approved changes due."""
        report = ExecutionReport()
        for order in self.orders.in_states([OrderStatus.EXECUTING]):
            if order["kind"] == "setpoint":
                await self._resume(order, now, report)
        for order in self.orders.in_states([OrderStatus.APPROVED]):
            if order["kind"] != "setpoint" or order["due_at"] > now:
                continue
            if not self.field.knows(self._series(order)):
                self._refuse(order, [f"no connector maps the set-point {self._series(order)}"], now)
                report.refused.append(order["order_id"])
                continue
            if not self.vouched(order, now):
                report.refused.append(order["order_id"])
                continue
            await self._start(order, now, report)
        return report

    async def _start(self, order: dict[str, Any], now: datetime, report: ExecutionReport) -> None:
        series = self._series(order)
        before = await self.field.read(series)
        execution_id = f"EX-{order['order_id'][3:]}"
        self.orders.transition(
            order["order_id"],
            OrderStatus.EXECUTING,
            actor=ACTOR,
            detail={
                "execution_id": execution_id,
                "series": series,
                "target": order["setpoint"],
                "before": before.value if before.value is not None else order["previous"],
                "before_read": before.value,
                "before_detail": before.detail,
            },
            at=now,
        )
        crash_point("executing")
        await self._write(order, execution_id, 1, now, report)

    async def _write(
        self,
        order: dict[str, Any],
        execution_id: str,
        attempt: int,
        now: datetime,
        report: ExecutionReport,
    ) -> None:
        order_id = order["order_id"]
        target = float(order["setpoint"])
        self.orders.record(
            order_id,
            "write",
            actor=ACTOR,
            detail={"execution_id": execution_id, "attempt": attempt, "target": target},
        )
        crash_point("write_intent")
        result = await self.field.write(SetpointWrite(self._series(order), target, execution_id))
        crash_point("write_sent")
        self.orders.record(
            order_id,
            "written",
            actor=ACTOR,
            detail={
                "execution_id": execution_id,
                "attempt": attempt,
                "ok": result.ok,
                "answer": result.detail,
            },
        )
        crash_point("written")
        if not result.ok:
            self._fail(order, f"the field refused the write: {result.detail}", None, now, report)
            return
        await self._verify(order, execution_id, now, report)

    async def _verify(
        self, order: dict[str, Any], execution_id: str, now: datetime, report: ExecutionReport
    ) -> None:
        observed, reached = await self._read_back(order)
        if reached:
            assert observed is not None
            self._done(order, execution_id, observed, now, report)
            return
        spec = self._spec(order)
        target = float(order["setpoint"])
        self._fail(
            order,
            f"read back {observed} within {spec.verify_within}, not the target {target} "
            f"(tolerance {spec.read_tolerance()})",
            observed,
            now,
            report,
        )

    async def _read_back(self, order: dict[str, Any]) -> tuple[float | None, bool]:
        """Read the set-point back until it shows the target (or ``verify_within`` passes):
        the last value read, and whether it is the target within the tolerance."""
        spec = self._spec(order)
        target = float(order["setpoint"])
        observed = await self.field.read_until(
            self._series(order),
            target,
            tolerance=spec.read_tolerance(),
            timeout=spec.verify_within.total_seconds(),
        )
        return observed, observed is not None and abs(observed - target) <= spec.read_tolerance()

    def _done(
        self,
        order: dict[str, Any],
        execution_id: str,
        observed: float,
        now: datetime,
        report: ExecutionReport,
    ) -> None:
        self.orders.transition(
            order["order_id"],
            OrderStatus.EXECUTED,
            actor=ACTOR,
            detail={"execution_id": execution_id, "observed": observed},
            at=now,
        )
        report.executed.append(order["order_id"])
        if order["rollback_of"]:
            self.orders.transition(
                order["rollback_of"],
                OrderStatus.ROLLED_BACK,
                actor=ACTOR,
                detail={"rollback": order["order_id"], "observed": observed},
                at=now,
            )

    def _fail(
        self,
        order: dict[str, Any],
        reason: str,
        observed: float | None,
        now: datetime,
        report: ExecutionReport,
    ) -> None:
        self.orders.transition(
            order["order_id"],
            OrderStatus.FAILED,
            actor=ACTOR,
            detail={"reason": reason, "observed": observed},
            at=now,
        )
        report.failed.append(order["order_id"])
        self.raise_alarm(
            order["asset"],
            "setpoint_change_failed",
            f"{order['order_id']} {order['action']} -> {order['setpoint']}: {reason}"[:500],
            now,
        )

    async def _resume(self, order: dict[str, Any], now: datetime, report: ExecutionReport) -> None:
        """Carry on an execution a crash interrupted, reading back before any new write."""
        broken = self.chain_problem(now)
        if broken is not None:
            self._refuse(order, [broken], now)
            report.refused.append(order["order_id"])
            return
        steps = self.orders.audit_trail(order["order_id"]).to_pylist()
        started = [entry for entry in steps if entry["action"] == OrderStatus.EXECUTING.value]
        execution_id = str(json.loads(started[-1]["detail"])["execution_id"])
        writes = [entry for entry in steps if entry["action"] == "write"]
        answers = [entry for entry in steps if entry["action"] == "written"]
        if not writes:
            await self._write(order, execution_id, 1, now, report)
            return
        if len(answers) < len(writes):
            observed, reached = await self._read_back(order)
            if reached:
                assert observed is not None
                self.orders.record(
                    order["order_id"],
                    "written",
                    actor=ACTOR,
                    detail={
                        "execution_id": execution_id,
                        "attempt": len(writes),
                        "ok": True,
                        "answer": "reconciled after a restart: the field shows the target",
                    },
                )
                self._done(order, execution_id, observed, now, report)
                return
            await self._write(order, execution_id, len(writes) + 1, now, report)
            return
        if not json.loads(answers[-1]["detail"]).get("ok"):
            self._fail(order, "the field refused the write", None, now, report)
            return
        await self._verify(order, execution_id, now, report)
