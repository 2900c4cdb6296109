"""RouteOptimizer: the optimiser contract, published optima, infeasible problems, real sites."""

from __future__ import annotations

import pyarrow as pa
import pytest
from tests.optimize.routing.instances import VRPTW, cvrp_file, published, solomon_file

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import check_optimizer
from valueloop.optimize.routing import (
    Customer,
    Depot,
    RouteOptimizer,
    RoutingProblem,
    read_instance,
    solve_routing_file,
    validate_routes,
)


def test_contract_holds_and_a_n32_k5_reaches_its_optimum() -> None:
    problem = read_instance(cvrp_file("A-n32-k5"))
    optimizer = RouteOptimizer(time_limit=5.0, seed=3, patience=5_000)
    assert check_optimizer(optimizer, problem, validate_routes) == []
    plan = optimizer.solve(problem)
    print(f"\nA-n32-k5: {plan.objective} in {plan.solve_seconds:.2f} s, bound {plan.best_bound}")
    assert plan.objective == 784  # proven optimum (Augerat et al. 1995, CVRPLIB)
    assert plan.status == "FEASIBLE" and plan.best_bound <= 784
    assert plan.assignments["vehicle"].unique().to_pylist() == [0, 1, 2, 3, 4]


def test_fixed_fleet_uses_every_vehicle() -> None:
    problem = read_instance(cvrp_file("P-n55-k8")).model_copy(
        update={"vehicles": 8, "fleet": "exactly"}
    )
    plan = RouteOptimizer(time_limit=3.0, patience=3_000).solve(problem)
    assert validate_routes(problem, plan) == []
    assert len(plan.assignments["vehicle"].unique()) == 8
    assert plan.objective >= 588  # CVRPLIB best-known with exactly 8 routes


def test_solomon_c101_plan_is_valid_and_near_the_best_known() -> None:
    problem = read_instance(solomon_file("C101"))
    progress: list[tuple[float, float, float]] = []
    plan = RouteOptimizer(time_limit=20.0, patience=5_000).solve(
        problem, on_progress=lambda *report: progress.append(report)
    )
    row = published(VRPTW)["C101"]
    vehicles = len(plan.assignments["vehicle"].unique())
    print(f"\nC101: {vehicles} vehicles, {plan.objective:.2f} in {plan.solve_seconds:.2f} s")
    assert validate_routes(problem, plan) == []
    assert plan.solve_seconds <= 20.0 + 1.0
    assert vehicles <= int(row["bks_vehicles"]) + 1
    assert plan.objective <= 1.03 * float(row["bks_distance"])
    assert progress and progress[-1][1] == pytest.approx(plan.objective)
    assert all(bound <= distance for _, distance, bound in progress)
    assert [t for t, _, _ in progress] == sorted(t for t, _, _ in progress)


def _tiny(**changes: object) -> RoutingProblem:
    base = RoutingProblem(
        name="tiny",
        depot=Depot(name="depot", x=0, y=0, due=100),
        customers=[
            Customer(name="a", x=3, y=4, demand=10, ready=0, due=50, service=5),
            Customer(name="b", x=6, y=8, demand=20, ready=10, due=60, service=5),
        ],
        capacity=30,
        vehicles=2,
    )
    return base.model_copy(update=changes)


def test_demand_above_capacity_is_reported_as_infeasible() -> None:
    problem = _tiny(capacity=15)
    with pytest.raises(OptimizeError, match="customer b needs 20 units, a vehicle carries 15"):
        RouteOptimizer(time_limit=2.0).solve(problem)


def test_unreachable_time_window_is_reported_as_infeasible() -> None:
    late = Customer(name="c", x=60, y=80, demand=1, ready=0, due=50, service=0)
    problem = _tiny(customers=[*_tiny().customers, late])
    with pytest.raises(OptimizeError, match=r"customer c closes at 50, .* arrives at 100\.00"):
        RouteOptimizer(time_limit=2.0).solve(problem)


def test_too_small_a_fleet_is_reported_as_infeasible() -> None:
    with pytest.raises(OptimizeError, match="the customers need 30 units, the 1 vehicles carry 20"):
        RouteOptimizer(time_limit=2.0).solve(_tiny(vehicles=1, capacity=20))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="time_limit"):
        RouteOptimizer(time_limit=0)
    with pytest.raises(ConfigError, match="workers"):
        RouteOptimizer(workers=0)


def test_spare_part_run_over_real_sites_with_two_workers() -> None:
    # Depot in Lyon and eight French cities (longitude, latitude in degrees), parts per site.
    sites = pa.table(
        {
            "site": [
                "Lyon",
                "Grenoble",
                "Saint-Etienne",
                "Valence",
                "Chambery",
                "Annecy",
                "Macon",
                "Bourg-en-Bresse",
                "Vienne",
            ],
            "x": [4.8357, 5.7245, 4.3872, 4.8924, 5.9178, 6.1294, 4.8286, 5.2258, 4.8744],
            "y": [45.7640, 45.1885, 45.4397, 44.9334, 45.5646, 45.8992, 46.3069, 46.2052, 45.5253],
            "demand": [0, 4, 3, 2, 3, 2, 4, 3, 1],
        }
    )
    problem = RoutingProblem.from_sites(sites, depot="Lyon", capacity=10, vehicles=3)
    plan = RouteOptimizer(time_limit=3.0, workers=2, patience=2_000).solve(problem)
    assert validate_routes(problem, plan) == []
    assert plan.best_bound <= plan.objective
    # Each site is at least as far as its return trip from Lyon allows: a sanity floor, in km.
    assert plan.objective >= 2 * float(problem.distance_matrix()[0, 1:].max())


def test_solve_routing_file_reads_and_plans() -> None:
    problem, plan = solve_routing_file(
        cvrp_file("P-n16-k8"), time_limit=2.0, workers=1, seed=0, on_progress=None
    )
    assert problem.name == "P-n16-k8"
    assert validate_routes(problem, plan) == []
    assert plan.objective >= 450  # proven optimum (CVRPLIB)
