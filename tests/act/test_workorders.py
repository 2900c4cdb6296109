"""Work orders: allowed transitions only, each audited with who and when, and bound to it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from valueloop.act.workorders import OrderStatus, Proposal, WorkOrders
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


def test_every_move_is_bound_to_its_audit_entry() -> None:
    orders, ids = _book()
    proposed = orders.get(ids[0])
    (entry,) = orders.audit.rows("seq = ?", [proposed["audit_seq"]]).to_pylist()
    assert (entry["action"], entry["subject"]) == ("propose", ids[0])
    approved = orders.approve(ids[0], actor="maria")
    (entry,) = orders.audit.rows("seq = ?", [approved["audit_seq"]]).to_pylist()
    assert (entry["action"], entry["actor"]) == ("approved", "maria")
    dispatched = orders.transition(ids[0], OrderStatus.DISPATCHED, actor="policy")
    done = orders.transition(
        ids[0],
        OrderStatus.COMPLETED,
        actor="cmms",
        detail={"actual_cost": 1.5e6},
        columns={"actual_cost": 1.5e6, "duration_h": 96.0, "findings": "blade wear"},
    )
    assert dispatched["audit_seq"] < done["audit_seq"]
    assert (done["status"], done["actual_cost"], done["findings"]) == (
        "completed",
        1.5e6,
        "blade wear",
    )
    with pytest.raises(ActionError, match="completed; it cannot become executing"):
        orders.transition(ids[0], OrderStatus.EXECUTING, actor="executor")


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


def test_the_newest_orders_of_one_asset() -> None:
    orders, ids = _book()
    (other,) = orders.propose(
        "PL-2",
        [Proposal("engine-002", "overhaul", NOW + timedelta(days=2), 1e6, 0.02)],
        actor="planner:cp-sat",
        model_version="rul-test",
    )
    newest = orders.newest_of("engine-001", 2)
    expected = sorted(
        orders.list().to_pylist(), key=lambda o: (o["created_at"], o["order_id"]), reverse=True
    )
    assert [o["order_id"] for o in newest] == [
        o["order_id"] for o in expected if o["asset"] == "engine-001"
    ][:2]
    assert {o["order_id"] for o in orders.newest_of("engine-001", 10)} == set(ids)
    assert [o["order_id"] for o in orders.newest_of("engine-002", 10)] == [other]
