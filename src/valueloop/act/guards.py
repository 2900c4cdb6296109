"""Guards after a set-point change: a limit broken soon after it rolls the change back.

A set-point may declare guards (``guards: [{signal: bearing_temperature, above: 80, within:
10m}]``). For ``within`` after an executed change of it, the guard's signal on the same asset is
watched; the first reading past the limit proposes the change's rollback (to the value audited
before it), approved by the site's policy at once since the site declared the guard, and raises
an alarm. A change is rolled back at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from valueloop.act.desk import ActionDesk
from valueloop.act.trail import GUARD_ACTOR, POLICY_ACTOR
from valueloop.act.workorders import OrderStatus
from valueloop.config import GuardSpec

GRACE = timedelta(minutes=1)
"""How long after a guard's window readings that arrive late are still judged."""

Readings = Callable[[str, str, datetime, datetime], pa.Table]
"""``(asset, signal, after, until) -> rows (ts, value)`` of the signal's stored readings."""


def breach(guard: GuardSpec, rows: pa.Table) -> tuple[datetime, float] | None:
    """The first reading of ``rows`` past the guard's limit, if any."""
    for row in rows.to_pylist():
        value = row["value"]
        if value is None:
            continue
        if (guard.above is not None and value > guard.above) or (
            guard.below is not None and value < guard.below
        ):
            return row["ts"], float(value)
    return None


def _describe(guard: GuardSpec) -> str:
    side = f"above {guard.above}" if guard.above is not None else f"below {guard.below}"
    return f"{guard.signal} {side} within {guard.within}"


def executed_at(order: dict[str, Any]) -> datetime:
    """When an executed order was verified (its last move)."""
    moment: datetime = order["updated_at"]
    return moment


def watch_guards(
    desk: ActionDesk, readings: Readings, now: datetime, raise_alarm: Callable[..., None]
) -> list[str]:
    """Roll back executed changes whose guards broke by ``now``; return the rollback orders."""
    rollbacks = []
    for order in desk.orders.in_states([OrderStatus.EXECUTED]):
        if order["kind"] != "setpoint":
            continue
        spec = desk.setpoint(order["asset"], order["action"])
        start = executed_at(order)
        for guard in spec.guards:
            if now <= start or now > start + guard.within + GRACE:
                continue
            until = min(now, start + guard.within)
            found = breach(guard, readings(order["asset"], guard.signal, start, until))
            if found is None:
                continue
            source = f"guard:{order['order_id']}"
            if desk.orders.sources(source):
                break
            at, value = found
            reason = f"guard {_describe(guard)} broken at {at.isoformat()} ({value})"
            rollback = desk.rollback(
                order["order_id"], actor=GUARD_ACTOR, reason=reason, source=source
            )
            desk.orders.record(
                rollback["order_id"],
                "approve",
                actor=POLICY_ACTOR,
                detail={"guard": guard.model_dump(mode="json"), "breach": value},
            )
            desk.orders.transition(
                rollback["order_id"],
                OrderStatus.APPROVED,
                actor=POLICY_ACTOR,
                comment=f"the site's guard calls for it: {reason}",
                at=now,
            )
            raise_alarm(
                order["asset"], "setpoint_guard_broken", f"{order['order_id']}: {reason}", now
            )
            rollbacks.append(rollback["order_id"])
            break
    return rollbacks
