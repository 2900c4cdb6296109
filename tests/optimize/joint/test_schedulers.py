"""The joint and sequential line schedulers: contract, validity, the joint model's advantage."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.optimize.joint.lines import machine, small_line

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import check_optimizer
from valueloop.optimize.joint import (
    JointScheduler,
    LineProblem,
    Operation,
    Order,
    SequentialScheduler,
    compare_line_plans,
    evaluate_line_plan,
    validate_line_plan,
)


@pytest.fixture(scope="module")
def line() -> LineProblem:
    return small_line(seed=0)


@pytest.mark.parametrize(
    "scheduler", [JointScheduler(time_limit=5), SequentialScheduler(time_limit=5)]
)
def test_schedulers_meet_the_optimizer_contract(
    scheduler: JointScheduler | SequentialScheduler, line: LineProblem
) -> None:
    assert check_optimizer(scheduler, line, validate_line_plan) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_joint_plan_costs_no_more_than_the_sequential_one(seed: int) -> None:
    problem = small_line(seed)
    comparison = compare_line_plans(problem, time_limit=5)
    for plan in comparison.plans.values():
        assert validate_line_plan(problem, plan) == []
    joint, sequential = comparison.costs["joint"], comparison.costs["sequential"]
    assert joint.total <= sequential.total * (1 + 1e-6)
    assert comparison.saving == pytest.approx(sequential.total - joint.total)
    # The sequential plan places each window where the machine's own expected cost is least, so
    # the joint plan can only gain on tardiness.
    machine_cost = sequential.total - sequential.tardiness_cost
    assert joint.total - joint.tardiness_cost >= machine_cost * (1 - 1e-6)


def one_machine_line() -> LineProblem:
    """A machine failing for sure at 10.5 periods and an urgent order released at 10."""
    return LineProblem(
        horizon=30,
        machines=[machine("M", 10.5, 10.5, 10.5)],
        orders=[
            Order(
                name="A",
                release=10,
                due=15,
                weight=100,
                operations=[Operation(machine="M", duration=5)],
            )
        ],
    )


def test_joint_model_moves_the_window_ahead_of_an_urgent_order() -> None:
    # Maintenance first: the window goes at 10, forfeiting 0.5 periods (100 + 5); the order then
    # runs 14..19, 4 periods late (400). Jointly: the window at 6 forfeits 4.5 periods (100 + 45)
    # and the order runs on time: 145 against 505.
    problem = one_machine_line()
    sequential = SequentialScheduler(workers=1).solve(problem)
    joint = JointScheduler(workers=1).solve(problem)
    assert joint.status == "OPTIMAL"
    assert sequential.objective == pytest.approx(505)
    assert joint.objective == pytest.approx(145)
    windows = joint.assignments.filter(pc.equal(joint.assignments["kind"], "maintenance"))
    assert windows["start"].to_pylist() == [6]


def test_validator_reports_violations(line: LineProblem) -> None:
    plan = JointScheduler(time_limit=5).solve(line)
    rows = plan.assignments.to_pylist()
    first = next(i for i, row in enumerate(rows) if row["kind"] == "operation")
    second = first + 1  # step 1 of the same order (every route has at least two steps)
    rows[second] = {**rows[second], "start": rows[first]["start"], "end": rows[first]["start"] + 1}
    window = next(i for i, row in enumerate(rows) if row["kind"] == "maintenance")
    rows[window] = {**rows[window], "start": line.horizon - 1, "end": line.horizon + 7}
    broken = dataclasses.replace(
        plan,
        assignments=pa.Table.from_pylist(rows[1:], schema=plan.assignments.schema),
        objective=plan.objective + 1,
    )
    violations = validate_line_plan(line, broken)
    order = rows[first]["order"]
    assert any(f"order {order}, step 0 has 0 rows" in v for v in violations)
    assert any("outside the horizon" in v for v in violations)
    assert validate_line_plan(line, dataclasses.replace(plan, objective=plan.objective + 1)) == [
        f"objective {plan.objective + 1} differs from the evaluated cost "
        f"{evaluate_line_plan(line, plan.assignments).total}"
    ]
    overlapping = [dict(row) for row in plan.assignments.to_pylist()]
    on_machine = [row for row in overlapping if row["machine"] == overlapping[0]["machine"]]
    on_machine[1]["start"], on_machine[1]["end"] = (
        on_machine[0]["start"],
        on_machine[0]["start"] + on_machine[1]["end"] - on_machine[1]["start"],
    )
    clash = dataclasses.replace(
        plan, assignments=pa.Table.from_pylist(overlapping, schema=plan.assignments.schema)
    )
    assert any("overlap" in v for v in validate_line_plan(line, clash))


def test_an_operation_longer_than_the_horizon_is_reported() -> None:
    problem = one_machine_line()
    too_long = problem.model_copy(
        update={
            "orders": [
                *problem.orders,
                Order(
                    name="B",
                    release=0,
                    due=40,
                    weight=1,
                    operations=[Operation(machine="M", duration=31)],
                ),
            ]
        }
    )
    message = "order B, operation 0 on machine M takes 31 periods, longer than the horizon of 30"
    for scheduler in (JointScheduler(), SequentialScheduler()):
        with pytest.raises(OptimizeError, match=message):
            scheduler.solve(too_long)


def test_no_room_around_a_fixed_window_is_reported() -> None:
    # Released at 10, due by the horizon of 18, the order fits before the failure only if the
    # window moves: maintenance first leaves it no room.
    problem = one_machine_line().model_copy(update={"horizon": 18})
    with pytest.raises(
        OptimizeError, match="around the maintenance windows fixed for M at 10"
    ) as err:
        SequentialScheduler().solve(problem)
    assert "these cannot all hold: order A ends by period 18; window of M fixed at 10" in str(
        err.value
    )
    assert validate_line_plan(problem, JointScheduler().solve(problem)) == []


def test_bad_settings_and_time_limits_raise(line: LineProblem) -> None:
    with pytest.raises(ConfigError, match="time_limit"):
        JointScheduler(time_limit=0)
    with pytest.raises(ConfigError, match="workers"):
        SequentialScheduler(workers=0)
    with pytest.raises(OptimizeError, match="raise time_limit"):
        JointScheduler(time_limit=1e-9).solve(line)


def test_an_incomplete_hint_is_refused(line: LineProblem) -> None:
    plan = SequentialScheduler(time_limit=5).solve(line)
    partial = dataclasses.replace(plan, assignments=plan.assignments.slice(1))
    with pytest.raises(OptimizeError, match=r"not a complete plan of line .*: it lacks order O001"):
        JointScheduler(time_limit=5).solve(line, hint=partial)


def test_orders_that_cannot_all_end_in_time_are_named() -> None:
    # Each order needs M1 over [0, 5) then M2 over [5, 10) to end by the horizon of 10: each
    # fits alone, not both, though no machine is loaded beyond the horizon.
    def order(name: str, release: int, route: tuple[str, str]) -> Order:
        operations = [Operation(machine=m, duration=5) for m in route]
        return Order(name=name, release=release, due=10, weight=1, operations=operations)

    problem = LineProblem(
        horizon=10,
        machines=[machine("M1", 50, 40, 60), machine("M2", 50, 40, 60)],
        orders=[order("A", 0, ("M1", "M2")), order("B", 0, ("M1", "M2"))],
    )
    message = r"these cannot all hold: order A ends by period 10; order B ends by period 10"
    with pytest.raises(OptimizeError, match=message):
        JointScheduler(workers=1).solve(problem)
