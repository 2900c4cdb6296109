"""Execution of approved work orders through a field Sink.

An approved work order due before ``until`` becomes a :class:`SetpointWrite` to the sink (its
``setpoint`` value, or 1.0 for a maintenance action such as an overhaul); when the
field confirms it, the order moves to ``executed`` with the field's answer in the audit trail. An
order the field refuses stays approved, with the refusal audited, so nothing is silently dropped.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from valueloop.act.workorders import OrderStatus, WorkOrders
from valueloop.connectors.base import SetpointWrite, Sink


async def execute_due(
    orders: WorkOrders, sink: Sink, *, until: datetime, actor: str
) -> list[dict[str, Any]]:
    """Send approved orders due before ``until`` to ``sink``; return the orders executed."""
    due = [
        order for order in orders.list(OrderStatus.APPROVED).to_pylist() if order["due_at"] < until
    ]
    if not due:
        return []
    writes = [
        SetpointWrite(
            asset=order["asset"],
            signal=order["action"],
            value=1.0 if order["setpoint"] is None else order["setpoint"],
            at=order["due_at"],
            reference=order["order_id"],
        )
        for order in due
    ]
    results = {result.reference: result for result in await sink.write(writes)}
    executed = []
    for order in due:
        result = results.get(order["order_id"])
        if result is not None and result.ok:
            executed.append(
                orders.transition(
                    order["order_id"], OrderStatus.EXECUTED, actor=actor, comment=result.detail
                )
            )
        else:
            detail = result.detail if result is not None else "no answer from the field"
            orders.audit.append(
                [
                    {
                        "actor": actor,
                        "action": "execution_failed",
                        "subject": order["order_id"],
                        "detail": json.dumps({"detail": detail}),
                    }
                ]
            )
    return executed
