"""The independent validator, on published solutions and on their breakages."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.optimize.routing.instances import (
    CVRP,
    VRPTW,
    cvrp_file,
    published,
    solomon_file,
)

from valueloop.optimize.base import Plan
from valueloop.optimize.routing import (
    RoutingProblem,
    read_instance,
    read_solution,
    routes_distance,
    routes_table,
    validate_routes,
)


def _plan(problem: RoutingProblem, routes: list[list[int]]) -> Plan:
    objective = routes_distance(problem, routes)
    return Plan(
        status="FEASIBLE",
        objective=objective,
        best_bound=0.0,
        gap=1.0,
        solve_seconds=0.0,
        assignments=routes_table(problem, routes),
        solver="published solution",
    )


@pytest.mark.parametrize("name", ["A-n32-k5", "P-n55-k8", "X-n101-k25"])
def test_published_cvrp_solutions_are_valid_at_their_published_cost(name: str) -> None:
    problem = read_instance(cvrp_file(name))
    routes = read_solution(cvrp_file(name, ".sol"))
    plan = _plan(problem, routes)
    assert plan.objective == float(published(CVRP)[name]["bks_cost"])
    assert validate_routes(problem, plan) == []


@pytest.mark.parametrize("name", ["C101", "R101", "RC208"])
def test_published_solomon_solutions_are_valid_at_their_published_cost(name: str) -> None:
    problem = read_instance(solomon_file(name))
    routes = read_solution(VRPTW / "solutions" / "hierarchical" / f"{name}.sol")
    row = published(VRPTW)[name]
    plan = _plan(problem, routes)
    assert len(routes) == int(row["bks_vehicles"])
    assert plan.objective == pytest.approx(float(row["bks_distance"]), abs=0.005)
    assert validate_routes(problem, plan) == []


@pytest.fixture(scope="module")
def a32() -> tuple[RoutingProblem, list[list[int]]]:
    problem = read_instance(cvrp_file("A-n32-k5"))
    return problem, read_solution(cvrp_file("A-n32-k5", ".sol"))


def test_overloaded_vehicle_is_reported(a32: tuple[RoutingProblem, list[list[int]]]) -> None:
    problem, routes = a32
    moved = [routes[0] + routes[1][:2], routes[1][2:], *routes[2:]]
    violations = validate_routes(problem, _plan(problem, moved))
    assert any("over the capacity 100" in v for v in violations)


def test_missed_and_repeated_customers_are_reported(
    a32: tuple[RoutingProblem, list[list[int]]],
) -> None:
    problem, routes = a32
    missed = validate_routes(problem, _plan(problem, [routes[0][1:], *routes[1:]]))
    assert missed == [f"customer {problem.customers[routes[0][0] - 1].name} is not visited"]
    twice = validate_routes(problem, _plan(problem, [*routes, routes[0][:1]]))
    assert any("is visited 2 times" in v for v in twice)


def test_wrong_objective_and_loads_are_reported(
    a32: tuple[RoutingProblem, list[list[int]]],
) -> None:
    problem, routes = a32
    plan = _plan(problem, routes)
    cheaper = dataclasses.replace(plan, objective=plan.objective - 1)
    assert any("differs from the route distance" in v for v in validate_routes(problem, cheaper))
    table = plan.assignments
    lighter = table.set_column(4, "load", pc.subtract(table["load"], pa.scalar(1, pa.int64())))
    violations = validate_routes(problem, dataclasses.replace(plan, assignments=lighter))
    assert len(violations) == problem.demands().size - 1  # one per customer


def test_fleet_size_is_enforced(a32: tuple[RoutingProblem, list[list[int]]]) -> None:
    problem, routes = a32
    plan = _plan(problem, routes)
    four = problem.model_copy(update={"vehicles": 4})
    assert validate_routes(four, plan) == ["5 routes, more than the 4 vehicles"]
    six = problem.model_copy(update={"vehicles": 6, "fleet": "exactly"})
    assert validate_routes(six, plan) == ["5 routes, but all 6 vehicles must drive"]


def test_late_service_and_early_arrival_are_reported() -> None:
    problem = read_instance(solomon_file("C101"))
    routes = read_solution(VRPTW / "solutions" / "hierarchical" / "C101.sol")
    reversed_first = [routes[0][::-1], *routes[1:]]
    late = validate_routes(problem, _plan(problem, reversed_first))
    assert any("after its due time" in v for v in late)
    plan = _plan(problem, routes)
    table = plan.assignments
    early = table.set_column(3, "arrival", pc.subtract(table["arrival"], 1.0))
    violations = validate_routes(problem, dataclasses.replace(plan, assignments=early))
    assert any("before it can get there" in v for v in violations)
