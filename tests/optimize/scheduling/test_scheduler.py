"""The shop scheduler on published instances, on a plant-like shop checked by brute force, and on
shops that cannot be scheduled."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pyarrow as pa
import pytest
from tests.optimize.scheduling.shops import brute_force_optimum, instance, published

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import TIME_SLACK_SECONDS, Plan, check_optimizer
from valueloop.optimize.scheduling import (
    ASSIGNMENTS_SCHEMA,
    Downtime,
    Job,
    Operation,
    Option,
    SetupTimes,
    ShopProblem,
    ShopScheduler,
    load_shop_problem,
    solve_shop_file,
    validate_shop_plan,
)
from valueloop.optimize.scheduling.dispatch import best_dispatch
from valueloop.optimize.scheduling.flat import FlatShop


def _ops(*options: list[tuple[int, int]]) -> list[Operation]:
    return [Operation(options=[Option(machine=m, duration=d) for m, d in o]) for o in options]


# Three orders on a cutting machine (0) and a paint line (1) with colour changes between
# families; job 1's last step may run on either machine; the cutter is down for service in [5, 8).
PLANT = ShopProblem(
    name="plant",
    machines=2,
    jobs=[
        Job(operations=_ops([(0, 4)], [(1, 3)]), due=10, weight=3, family=0),
        Job(operations=_ops([(1, 5)], [(0, 2), (1, 3)]), release=2, due=12, weight=1, family=1),
        Job(operations=_ops([(0, 3)], [(1, 4)]), due=9, weight=2, family=0),
    ],
    objective="weighted_tardiness",
    downtime=[Downtime(machine=0, start=5, end=8)],
    setups=[SetupTimes(machines=[1], between="families", times=[[0, 3], [2, 0]])],
)


@pytest.mark.parametrize(("name", "limit"), [("ft06", 30.0), ("mk01", 30.0)])
def test_contract_holds_and_the_known_optimum_is_reached(name: str, limit: float) -> None:
    problem = load_shop_problem(instance(name))
    scheduler = ShopScheduler(time_limit=limit, workers=2, seed=3)
    assert check_optimizer(scheduler, problem, validate_shop_plan) == []
    plan = scheduler.solve(problem)
    assert plan.objective == published(name)
    assert plan.status == "OPTIMAL"
    assert plan.solve_seconds < 5.0
    assert plan.assignments.schema.equals(ASSIGNMENTS_SCHEMA)


def test_a_larger_shop_improves_on_its_dispatching_schedule() -> None:
    problem = load_shop_problem(instance("la21"))
    flat = FlatShop.of(problem)
    dispatched = max(best_dispatch(problem, flat, restarts=20, seed=0).end)
    progress: list[tuple[float, float, float]] = []
    scheduler = ShopScheduler(time_limit=4.0, on_progress=lambda *p: progress.append(p))
    plan = scheduler.solve(problem)
    assert validate_shop_plan(problem, plan) == []
    assert published("la21", "lower_bound") <= plan.objective <= dispatched
    assert plan.best_bound <= published("la21", "lower_bound")
    assert plan.solve_seconds <= 4.0 + TIME_SLACK_SECONDS
    assert [objective for _, objective, _ in progress][-1] == plan.objective
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(progress))


@pytest.mark.parametrize("name", ["ft06", "mk01"])
def test_the_textbook_model_reaches_the_same_optimum(name: str) -> None:
    problem = load_shop_problem(instance(name))
    plan = ShopScheduler(time_limit=10.0, textbook=True).solve(problem)
    assert plan.objective == published(name)
    assert plan.status == "OPTIMAL"
    assert "textbook" in plan.solver
    assert validate_shop_plan(problem, plan) == []


@pytest.mark.parametrize("objective", ["weighted_tardiness", "makespan"])
@pytest.mark.parametrize("textbook", [False, True])
def test_plant_extensions_match_the_brute_force_optimum(objective: str, textbook: bool) -> None:
    problem = PLANT.model_copy(update={"objective": objective})
    plan = ShopScheduler(time_limit=10.0, workers=1, textbook=textbook).solve(problem)
    assert validate_shop_plan(problem, plan) == []
    assert plan.status == "OPTIMAL"
    assert plan.objective == brute_force_optimum(problem)


def test_plant_constraints_bind() -> None:
    relaxed = PLANT.model_copy(update={"downtime": [], "setups": []})
    assert brute_force_optimum(PLANT) > brute_force_optimum(relaxed)
    plan = ShopScheduler(time_limit=10.0).solve(relaxed)
    assert validate_shop_plan(PLANT, plan)  # breaks the downtime or a colour change


def test_check_optimizer_passes_on_the_plant() -> None:
    assert check_optimizer(ShopScheduler(time_limit=5.0), PLANT, validate_shop_plan) == []


def _tampered(plan: Plan, row: int, column: str, value: int) -> Plan:
    table = plan.assignments
    values = table[column].to_pylist()
    values[row] = value
    index = table.column_names.index(column)
    changed = table.set_column(index, column, pa.array(values, table.schema.field(column).type))
    return dataclasses.replace(plan, assignments=changed)


def test_validator_catches_broken_schedules() -> None:
    plan = ShopScheduler(time_limit=10.0, workers=1).solve(PLANT)
    assert validate_shop_plan(PLANT, plan) == []
    table = plan.assignments.to_pylist()
    cut = next(i for i, r in enumerate(table) if r["job"] == 0 and r["operation"] == 0)
    # Into the cutter's downtime; and job 0's painting before its cutting ends (at 4 or later).
    shifted = _tampered(_tampered(plan, cut, "start", 5), cut, "end", 9)
    assert any("during its downtime [5, 8)" in v for v in validate_shop_plan(PLANT, shifted))
    early = _tampered(_tampered(plan, cut + 1, "start", 0), cut + 1, "end", 3)
    assert any("before operation 0 ends" in v for v in validate_shop_plan(PLANT, early))
    assert any(
        "not an eligible" in v
        for v in validate_shop_plan(PLANT, _tampered(plan, cut, "machine", 1))
    )
    late = dataclasses.replace(plan, objective=plan.objective + 1)
    assert any("objective" in v for v in validate_shop_plan(PLANT, late))
    dropped = dataclasses.replace(plan, assignments=plan.assignments.slice(1))
    assert any("is not scheduled" in v for v in validate_shop_plan(PLANT, dropped))


def test_an_operation_without_machine_is_reported() -> None:
    problem = ShopProblem(
        machines=2, jobs=[Job(operations=[*_ops([(0, 3)]), Operation(options=[])])]
    )
    with pytest.raises(OptimizeError, match="job 0 operation 1 has no eligible machine"):
        ShopScheduler(time_limit=5.0).solve(problem)


def test_downtime_over_the_horizon_is_reported() -> None:
    problem = ShopProblem(
        machines=2,
        jobs=[Job(operations=_ops([(0, 3)], [(1, 4)]))],
        downtime=[Downtime(machine=1, start=2, end=30)],
        horizon=20,
    )
    with pytest.raises(
        OptimizeError,
        match=r"job 0 operation 1 .*machine 1 needs 4 free time "
        r"units, down during \[2, 30\)",
    ):
        ShopScheduler(time_limit=5.0).solve(problem)


def test_a_machine_without_time_for_its_work_is_reported() -> None:
    problem = ShopProblem(
        machines=1,
        jobs=[Job(operations=_ops([(0, 10)])), Job(operations=_ops([(0, 10)]))],
        downtime=[Downtime(machine=0, start=3, end=6), Downtime(machine=0, start=4, end=8)],
        horizon=24,
    )
    with pytest.raises(OptimizeError, match=r"machine 0 must process 20 .* up for only 19 before"):
        ShopScheduler(time_limit=5.0).solve(problem)


def test_a_horizon_too_short_for_the_jobs_together_is_proven_infeasible() -> None:
    # Each job and each machine fits alone in 14; together the second job ends at 15 at best.
    problem = ShopProblem(
        machines=2,
        jobs=[Job(operations=_ops([(0, 5)], [(1, 5)])), Job(operations=_ops([(0, 5)], [(1, 5)]))],
        horizon=14,
    )
    with pytest.raises(OptimizeError, match=r"CP-SAT proved .* no schedule") as raised:
        ShopScheduler(time_limit=5.0).solve(problem)
    message = str(raised.value)
    assert "job 0 ending by the horizon 14" in message
    assert "job 1 ending by the horizon 14" in message
    assert ShopScheduler(time_limit=5.0).solve(problem.model_copy(update={"horizon": 15}))


def test_downtime_in_the_way_is_named_among_the_conflicting_constraints() -> None:
    # Either job fits before the service window [5, 10), not both; after it, 10 + 4 > 13.
    problem = ShopProblem(
        machines=1,
        jobs=[Job(operations=_ops([(0, 4)])), Job(operations=_ops([(0, 4)]))],
        downtime=[Downtime(machine=0, start=5, end=10)],
        horizon=13,
    )
    with pytest.raises(OptimizeError, match=r"machine 0 down during \[5, 10\)"):
        ShopScheduler(time_limit=5.0).solve(problem)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="time_limit"):
        ShopScheduler(time_limit=0)
    with pytest.raises(ConfigError, match="workers"):
        ShopScheduler(workers=0)


def test_solving_a_file_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "plant.json"
    path.write_text(PLANT.model_dump_json())
    progress: list[tuple[float, float, float]] = []
    problem, plan = solve_shop_file(
        path, time_limit=10.0, workers=1, seed=0, on_progress=lambda *p: progress.append(p)
    )
    assert problem == PLANT
    assert progress
    objectives = [objective for _, objective, _ in progress]
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == plan.objective
    assert all(bound <= objective for _, objective, bound in progress)
