"""What the audit trail must vouch for before an order reaches the field.

A work order's row can be edited by anyone who can write the database file; its audit entries
cannot, unnoticed, since they are chained under the site's key. So before a set-point is written
or a task dispatched, the executor asks :func:`problems`: the chain must verify, the order's
``propose`` entry must state the very facts the row holds (asset, set-point, target, ...), the
row's state must be the one its bound entry (``audit_seq``) records, and the approvals the
policy asks for must be entries of the chain, by approvers other than the proposer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from valueloop.act.workorders import FACTS
from valueloop.config import KindPolicy

POLICY_ACTOR = "policy"
"""The approver of a change inside its set-point's automatic band."""
GUARD_ACTOR = "guard"
"""The approver of a rollback that a broken guard calls for."""
SYSTEM_APPROVERS = (POLICY_ACTOR, GUARD_ACTOR)


def _same(column: str, held: Any, vouched: Any) -> bool:
    if isinstance(held, datetime):
        return vouched is not None and datetime.fromisoformat(vouched) == held
    if isinstance(held, float) and isinstance(vouched, int | float):
        return math.isclose(held, vouched, rel_tol=0, abs_tol=1e-12)
    if held is None or vouched is None:
        return held is None and vouched is None
    return bool(held == vouched)


def approvers(entries: Sequence[Mapping[str, Any]], proposer: str) -> list[str]:
    """The distinct approvers of an order in its audit ``entries``, the proposer excluded."""
    seen: list[str] = []
    for entry in entries:
        actor = entry["actor"]
        if entry["action"] == "approve" and actor != proposer and actor not in seen:
            seen.append(actor)
    return seen


def problems(
    order: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], policy: KindPolicy
) -> list[str]:
    """Why the audit ``entries`` of ``order`` (oldest first) do not vouch for acting on it.

    ``entries`` must come from a chain already verified; an empty list means the order may go.
    """
    order_id = order["order_id"]
    found: list[str] = []
    proposed = [entry for entry in entries if entry["action"] == "propose"]
    if len(proposed) != 1:
        return [f"{order_id}: the audit trail holds {len(proposed)} proposals of it, not one"]
    facts = json.loads(proposed[0]["detail"])
    for column in FACTS:
        if not _same(column, order.get(column), facts.get(column)):
            found.append(
                f"{order_id}: its {column} is {order.get(column)!r} but was proposed as "
                f"{facts.get(column)!r}"
            )
    bound = [entry for entry in entries if entry["seq"] == order.get("audit_seq")]
    if not bound or bound[0]["action"] != order["status"]:
        recorded = bound[0]["action"] if bound else "nothing"
        found.append(
            f"{order_id}: its state is {order['status']} but its audit entry records {recorded}"
        )
    proposer = str(proposed[0]["actor"])
    people = approvers(entries, proposer)
    if any(name in SYSTEM_APPROVERS for name in people):
        return found
    if len(people) < policy.approvals:
        found.append(
            f"{order_id}: the audit trail holds {len(people)} approval(s) by others than the "
            f"proposer {proposer}; the policy asks for {policy.approvals}"
        )
    return found
