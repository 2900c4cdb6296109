"""The action desk: where people and rules propose, approve, reject, roll back and complete orders.

Every face (API, CLI, the rules job) goes through it, so the same policy holds everywhere:

- a set-point change is checked against its type's limits (range, ``max_step`` from the current
  value, ``min_interval`` since the last change; :mod:`valueloop.act.limits`) before it is booked;
- inside the set-point's ``auto`` band, under an ``auto`` policy, the site's policy approves it;
  so it does a maintenance task inside the policy's ``auto_maintenance`` rule (its planned cost
  at most ``max_cost``, its task one of ``tasks`` if any are named), when it is proposed here or,
  for the tasks rules and planners book, at the act job's next step
  (:meth:`ActionDesk.approve_tasks_by_policy`); each audited as the policy's approval;
- otherwise approvers decide: each approval is audited with its approver, who must hold the
  approver role and may not be the proposer; the order is approved once the policy's number of
  distinct approvers is reached, and a single rejection rejects it;
- a rollback is a set-point change of its own, back to the value the field held before the
  executed change (read before writing, and audited), under the same policy;
- a dispatched maintenance task is completed with its actual cost, duration and findings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from valueloop.act.limits import check_change, inside_auto_band, inside_auto_maintenance
from valueloop.act.trail import POLICY_ACTOR, approvers
from valueloop.act.workorders import OrderStatus, Proposal, WorkOrders
from valueloop.config import PolicySpec, SetpointSpec
from valueloop.errors import ActionError, ForbiddenError, LimitError
from valueloop.model.site import SiteModel

CurrentValue = Callable[[str, str], float | None]
"""``(asset, set-point) -> the value it holds now`` (None when unknown)."""

APPROVER_ROLES = ("approver", "admin")
"""Roles that may approve, reject and roll back work orders."""

MANUAL_SOURCE = "person:"
"""The source prefix of orders proposed by a person."""


def _wall() -> datetime:
    return datetime.now(UTC)


class ActionDesk:
    """Propose and decide work orders under the site's policy.

    ``current`` tells a set-point's current value (the field's, else the last stored reading);
    ``now`` is the clock (the wall clock for people, the engine's for rules).
    """

    def __init__(
        self,
        orders: WorkOrders,
        model: SiteModel,
        policy: PolicySpec,
        current: CurrentValue,
        *,
        now: Callable[[], datetime] = _wall,
    ) -> None:
        self.orders = orders
        self.model = model
        self.policy = policy
        self.current = current
        self.now = now

    # Proposing --------------------------------------------------------------------------------

    def setpoint(self, asset: str, name: str) -> SetpointSpec:
        """The spec of set-point ``name`` of ``asset``; an unknown one is a :class:`LimitError`."""
        found = self.model.assets.get(asset)
        if found is None:
            raise LimitError(f"no asset {asset!r} in site {self.model.name}")
        spec = found.type.setpoints.get(name)
        if spec is None:
            known = ", ".join(sorted(found.type.setpoints)) or "none"
            raise LimitError(
                f"asset {asset} ({found.type_name}) has no set-point {name!r}; it has: {known}"
            )
        return spec

    def propose_setpoint(
        self,
        asset: str,
        setpoint: str,
        *,
        target: float | None = None,
        change: float | None = None,
        reason: str = "",
        expected_value: float = 0.0,
        actor: str,
        source: str = "",
        due_at: datetime | None = None,
        rollback_of: str | None = None,
    ) -> dict[str, Any]:
        """Propose a change of ``setpoint`` on ``asset`` to ``target`` (or by ``change``).

        Refused with a :class:`LimitError` naming the limit it breaks; approved at once when the
        policy is ``auto`` and the change lies inside the set-point's ``auto`` band.
        """
        spec = self.setpoint(asset, setpoint)
        if (target is None) == (change is None):
            raise LimitError(f"{asset}/{setpoint}: give one of target or change")
        now = self.now()
        current = self.current(asset, setpoint)
        if target is None:
            if current is None:
                raise LimitError(
                    f"{asset}/{setpoint}: its current value is unknown, so a change by "
                    f"{change} cannot be turned into a target"
                )
            assert change is not None
            target = current + change
        check_change(
            f"{asset}/{setpoint}",
            spec,
            target,
            current,
            last_change=None if rollback_of else self.orders.last_setpoint_change(asset, setpoint),
            now=now,
        )
        proposal = Proposal(
            asset=asset,
            action=setpoint,
            due_at=due_at or now,
            kind="setpoint",
            setpoint=target,
            previous=current,
            reason=reason,
            task=f"{setpoint} {current if current is not None else '?'} -> {target} {spec.unit}",
            source=source or f"{MANUAL_SOURCE}{actor}:{now.isoformat()}",
            expected_value=expected_value,
            rollback_of=rollback_of,
        )
        (order_id,) = self.orders.propose("", [proposal], actor=actor, model_version="", at=now)
        policy = self.policy.of("setpoint")
        if policy.approval == "auto" and inside_auto_band(spec, target, current):
            band = spec.auto
            assert band is not None
            approved = self._by_policy(
                order_id, "inside the set-point's automatic band", {"band": band.model_dump()}, now
            )
            return approved or self.orders.get(order_id)
        return self.orders.get(order_id)

    def propose_task(
        self,
        asset: str,
        task: str,
        *,
        window_start: datetime,
        window_end: datetime | None = None,
        crew: str = "",
        expected_value: float = 0.0,
        actor: str,
        source: str = "",
    ) -> dict[str, Any]:
        """Propose a maintenance task on ``asset`` within a window, for a crew.

        Its planned cost is the asset type's planned maintenance with planned downtime
        (``costs``); the policy approves it at once when it lies inside ``auto_maintenance``.
        """
        found = self.model.assets.get(asset)
        if found is None:
            raise LimitError(f"no asset {asset!r} in site {self.model.name}")
        if not task.strip():
            raise LimitError("a maintenance task needs a description")
        if window_end is not None and window_end <= window_start:
            raise LimitError("the task's window must end after it starts")
        now = self.now()
        proposal = Proposal(
            asset=asset,
            action="maintenance",
            due_at=window_start,
            task=task.strip(),
            window_end=window_end,
            crew=crew,
            expected_cost=found.type.costs.planned(),
            expected_value=expected_value,
            source=source or f"{MANUAL_SOURCE}{actor}:{now.isoformat()}",
        )
        (order_id,) = self.orders.propose("", [proposal], actor=actor, model_version="", at=now)
        order = self.orders.get(order_id)
        return self._task_by_policy(order, now) or order

    def approve_tasks_by_policy(self, at: datetime) -> list[str]:
        """Approve, as the site's policy, the proposed maintenance tasks inside its
        ``auto_maintenance`` rule (rules and planners book theirs straight into the book);
        return their order ids."""
        if self.policy.auto_maintenance is None:
            return []
        approved = []
        for order in self.orders.in_states([OrderStatus.PROPOSED]):
            if order["kind"] == "maintenance" and self._task_by_policy(order, at) is not None:
                approved.append(str(order["order_id"]))
        return approved

    def _task_by_policy(self, order: dict[str, Any], at: datetime) -> dict[str, Any] | None:
        """The task approved by the policy when it lies inside ``auto_maintenance``, else None."""
        rule = self.policy.auto_maintenance
        if rule is None or self.policy.of("maintenance").approval != "auto":
            return None
        cost = float(order["expected_cost"] or 0.0)
        if not inside_auto_maintenance(rule, str(order["task"]), cost):
            return None
        return self._by_policy(
            str(order["order_id"]),
            f"planned to cost {cost:g}, inside the policy's automatic maintenance limit",
            {"auto_maintenance": rule.model_dump(), "planned_cost": cost},
            at,
        )

    def _by_policy(
        self, order_id: str, why: str, detail: dict[str, Any], at: datetime
    ) -> dict[str, Any] | None:
        """Approve a proposed order as the site's policy, audited with ``why`` and ``detail``;
        None if the order was decided meanwhile."""
        with self.orders.lock:
            if self.orders.get(order_id)["status"] != OrderStatus.PROPOSED.value:
                return None
            self.orders.record(
                order_id, "approve", actor=POLICY_ACTOR, detail={"auto": True, **detail}
            )
            return self.orders.transition(
                order_id, OrderStatus.APPROVED, actor=POLICY_ACTOR, comment=why, at=at
            )

    # Deciding ---------------------------------------------------------------------------------

    def _decidable(self, order_id: str, actor: str, role: str) -> tuple[dict[str, Any], str]:
        if role not in APPROVER_ROLES:
            raise ForbiddenError(
                f"{actor} holds the role {role}; deciding work orders needs approver or admin"
            )
        order = self.orders.get(order_id)
        if order["status"] != OrderStatus.PROPOSED.value:
            raise ActionError(f"work order {order_id} is {order['status']}; only a proposed order")
        proposer = str(order["created_by"])
        if actor == proposer:
            raise ForbiddenError(
                f"{actor} proposed work order {order_id} and may not decide it: another "
                "approver must"
            )
        return order, proposer

    def approve(self, order_id: str, *, actor: str, role: str, comment: str = "") -> dict[str, Any]:
        """Add ``actor``'s approval; the order is approved once the policy's count is reached."""
        with self.orders.lock:
            order, proposer = self._decidable(order_id, actor, role)
            entries = self.orders.audit_trail(order_id).to_pylist()
            already = approvers(entries, proposer)
            if actor in already:
                raise ActionError(f"{actor} has approved work order {order_id} already")
            needed = self.policy.of(str(order["kind"])).approvals
            self.orders.record(
                order_id,
                "approve",
                actor=actor,
                detail={"comment": comment, "approval": len(already) + 1, "of": needed},
            )
            if len(already) + 1 < needed:
                return self.orders.get(order_id)
            return self.orders.transition(
                order_id,
                OrderStatus.APPROVED,
                actor=actor,
                comment=comment,
                detail={"approvers": [*already, actor]},
                at=self.now(),
            )

    def reject(self, order_id: str, *, actor: str, role: str, comment: str = "") -> dict[str, Any]:
        """Reject a proposed order."""
        with self.orders.lock:
            self._decidable(order_id, actor, role)
            return self.orders.transition(
                order_id, OrderStatus.REJECTED, actor=actor, comment=comment, at=self.now()
            )

    def before_execution(self, order_id: str) -> float:
        """The value the field held before an executed set-point change (from its audit)."""
        for entry in self.orders.audit_trail(order_id).to_pylist():
            if entry["action"] == OrderStatus.EXECUTING.value:
                before = json.loads(entry["detail"]).get("before")
                if before is not None:
                    return float(before)
        raise ActionError(f"work order {order_id} has no audited value from before its execution")

    def rollback(
        self, order_id: str, *, actor: str, reason: str = "", source: str = ""
    ) -> dict[str, Any]:
        """Propose to put an executed set-point change back to the value audited before it.

        The rollback is an order of its own, decided under the same policy (it is exempt from
        the rate limit, not from the range and step limits).
        """
        order = self.orders.get(order_id)
        if order["kind"] != "setpoint" or order["status"] != OrderStatus.EXECUTED.value:
            raise ActionError(
                f"work order {order_id} is a {order['kind']} order in state {order['status']}; "
                "only an executed set-point change can be rolled back"
            )
        rollbacks = self.orders.rollbacks_of(order_id)
        if rollbacks:
            raise ActionError(f"work order {order_id} has a rollback already: {rollbacks[0]}")
        return self.propose_setpoint(
            order["asset"],
            order["action"],
            target=self.before_execution(order_id),
            reason=reason or f"rollback of {order_id}",
            actor=actor,
            source=source or f"rollback:{order_id}",
            rollback_of=order_id,
        )

    def complete(
        self,
        order_id: str,
        *,
        actor: str,
        actual_cost: float,
        duration_h: float,
        findings: str = "",
    ) -> dict[str, Any]:
        """Close a dispatched maintenance task with what it actually cost and found."""
        return self.orders.transition(
            order_id,
            OrderStatus.COMPLETED,
            actor=actor,
            detail={"actual_cost": actual_cost, "duration_h": duration_h, "findings": findings},
            columns={"actual_cost": actual_cost, "duration_h": duration_h, "findings": findings},
            at=self.now(),
        )
