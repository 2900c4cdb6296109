"""Work orders: allowed transitions only, each audited with who and when; execution via a sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from valueloop.act.execute import execute_due
from valueloop.act.workorders import OrderStatus, Proposal, WorkOrders
from valueloop.connectors.base import SetpointWrite, WriteResult
from valueloop.errors import ActionError
from valueloop.store.duckdb import DuckDBStore

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _book() -> tuple[WorkOrders, list[str]]:
    orders = WorkOrders(DuckDBStore(":memory:"))
    ids = orders.propose(
        "PL-1",
        [
            Proposal("engine-001", "overhaul", NOW + timedelta(days=d), 2e6 + d, 0.01 * d)
            for d in (1, 3, 30)
        ],
        actor="planner:cp-sat",
        model_version="rul-test",
    )
    return orders, ids


def test_propose_approve_reject_are_audited_with_actor_and_time() -> None:
    orders, ids = _book()
    assert orders.list(OrderStatus.PROPOSED).num_rows == 3
    approved = orders.approve(ids[0], actor="maria", comment="slot booked")
    assert approved["status"] == "approved" and approved["updated_by"] == "maria"
    orders.reject(ids[1], actor="tom")
    trail = orders.audit_trail(ids[0]).to_pylist()
    assert [(row["action"], row["actor"]) for row in trail] == [
        ("propose", "planner:cp-sat"),
        ("approved", "maria"),
    ]
    assert json.loads(trail[1]["detail"]) == {"from": "proposed", "comment": "slot booked"}
    assert trail[1]["recorded_at"] >= trail[0]["recorded_at"]
    assert orders.audit.verify().ok


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_a_decided_order_cannot_be_decided_again(first: str) -> None:
    orders, ids = _book()
    getattr(orders, first)(ids[0], actor="maria")
    with pytest.raises(ActionError, match="cannot become"):
        orders.approve(ids[0], actor="maria")
    with pytest.raises(ActionError, match="cannot become"):
        orders.transition(ids[1], OrderStatus.EXECUTED, actor="robot")


def test_unknown_order_and_missing_actor() -> None:
    orders, ids = _book()
    with pytest.raises(ActionError, match="no work order"):
        orders.approve("WO-nope", actor="maria")
    with pytest.raises(ActionError, match="actor is required"):
        orders.approve(ids[0], actor=" ")


class RecordingSink:
    """A field that confirms every write except those on ``refuse``."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.writes: list[SetpointWrite] = []

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        self.writes.extend(writes)
        return [WriteResult(w.reference, w.reference != self.refuse, "done") for w in writes]


def test_only_approved_due_orders_are_executed_and_refusals_audited() -> None:
    orders, ids = _book()
    for order_id in ids:
        orders.approve(order_id, actor="maria")
    sink = RecordingSink(refuse=ids[1])
    executed = asyncio.run(
        execute_due(orders, sink, until=NOW + timedelta(days=7), actor="executor")
    )
    assert [order["order_id"] for order in executed] == [ids[0]]
    assert [w.reference for w in sink.writes] == ids[:2]
    assert orders.get(ids[1])["status"] == "approved"
    assert orders.audit_trail(ids[1]).column("action").to_pylist()[-1] == "execution_failed"
    assert orders.get(ids[2])["status"] == "approved"


def test_concurrent_decisions_let_exactly_one_through() -> None:
    from concurrent.futures import ThreadPoolExecutor

    orders, ids = _book()

    def decide(actor: str) -> str:
        try:
            orders.approve(ids[0], actor=actor)
        except ActionError:
            return "refused"
        return "approved"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(decide, [f"planner-{i}" for i in range(8)]))
    assert outcomes.count("approved") == 1
    approvals = [r for r in orders.audit_trail(ids[0]).to_pylist() if r["action"] == "approved"]
    assert len(approvals) == 1
