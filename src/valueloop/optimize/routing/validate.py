"""An independent check of a routing plan against the problem's rules.

Written from the problem's definition only (coordinates, demands, windows, fleet), not from the
optimiser's model: it reads the plan's assignments, replays every route in time and load, and
recomputes the total distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from valueloop.optimize.base import SOLVED_STATUSES, Plan
from valueloop.optimize.routing.problem import RoutingProblem
from valueloop.optimize.routing.schedule import ASSIGNMENTS_SCHEMA

TIME_TOLERANCE = 1e-6
"""Time units a reported arrival may be early or a service late by (floating-point sums)."""


def _schema_violations(table: pa.Table) -> list[str]:
    missing = [f.name for f in ASSIGNMENTS_SCHEMA if f.name not in table.column_names]
    if missing:
        return [f"assignments lack column(s) {', '.join(missing)}"]
    return [
        f"column {f.name} is {table.schema.field(f.name).type}, not {f.type}"
        for f in ASSIGNMENTS_SCHEMA
        if table.schema.field(f.name).type != f.type or table[f.name].null_count > 0
    ]


@dataclass(frozen=True)
class _Places:
    """The problem's data per place (depot first), computed once for all routes."""

    names: list[str]
    distance: NDArray[np.float64]
    travel: NDArray[np.float64]
    ready: NDArray[np.float64]
    due: NDArray[np.float64]
    service: NDArray[np.float64]
    demand: NDArray[np.int64]

    @classmethod
    def of(cls, problem: RoutingProblem) -> _Places:
        return cls(
            [problem.depot.name, *(c.name for c in problem.customers)],
            problem.distance_matrix(),
            problem.travel_times(),
            *problem.windows(),
            problem.demands(),
        )


def _route_violations(
    problem: RoutingProblem,
    at: _Places,
    vehicle: int,
    places: list[int],
    arrival: list[float],
    load: list[int],
) -> tuple[list[str], float]:
    """Violations of one route (places numbered from 1) and its distance, depot to depot."""
    violations: list[str] = []
    names, distance, travel = at.names, at.distance, at.travel
    ready, due, service, demand = at.ready, at.due, at.service, at.demand
    on_board = int(demand[places].sum())
    if on_board > problem.capacity:
        violations.append(
            f"vehicle {vehicle} carries {on_board} units, over the capacity {problem.capacity}"
        )
    here, leaves = 0, float(ready[0])
    for place, arrives, carried in zip(places, arrival, load, strict=True):
        earliest = leaves + float(travel[here, place])
        if arrives < earliest - TIME_TOLERANCE:
            violations.append(
                f"vehicle {vehicle} reports arriving at customer {names[place]} at {arrives:.4f}, "
                f"before it can get there ({earliest:.4f})"
            )
        starts = max(arrives, float(ready[place]))
        if starts > due[place] + TIME_TOLERANCE:
            violations.append(
                f"vehicle {vehicle} serves customer {names[place]} at {starts:.4f}, after its due "
                f"time {due[place]:g}"
            )
        if carried != on_board:
            violations.append(
                f"vehicle {vehicle} reports {carried} units on board at customer {names[place]}, "
                f"not {on_board}"
            )
        on_board -= int(demand[place])
        here, leaves = place, starts + float(service[place])
    back = leaves + float(travel[here, 0])
    if back > due[0] + TIME_TOLERANCE:
        violations.append(
            f"vehicle {vehicle} is back at the depot at {back:.4f}, after it closes at {due[0]:g}"
        )
    path = [0, *places, 0]
    return violations, float(distance[path[:-1], path[1:]].sum())


def validate_routes(problem: RoutingProblem, plan: Plan) -> list[str]:
    """Check a routing plan against ``problem``'s rules; list the violations (none: feasible).

    Checks the status and the columns of the assignments, that every customer is visited exactly
    once, that stops are numbered 1, 2, ... along each route, the capacity of each vehicle, the
    time windows with service times and the depot's closing, the load on board reported at each
    stop, the number of routes against the fleet, and that the objective equals the recomputed
    total distance.
    """
    violations = [] if plan.status in SOLVED_STATUSES else [f"status {plan.status!r} is unsolved"]
    table = plan.assignments
    schema = _schema_violations(table)
    if schema:
        return violations + schema

    places = _Places.of(problem)
    number = {name: k for k, name in enumerate(places.names) if k > 0}
    visited = table["customer"].to_pylist()
    for name in sorted(set(visited) - set(number)):
        violations.append(f"row for unknown customer {name}")
    for name in sorted({v for v in visited if visited.count(v) > 1}):
        violations.append(f"customer {name} is visited {visited.count(name)} times")
    for name in sorted(set(number) - set(visited)):
        violations.append(f"customer {name} is not visited")
    if violations:
        return violations

    order = np.lexsort((table["stop"].to_numpy(), table["vehicle"].to_numpy()))
    rows = table.take(order).to_pydict()
    vehicles = sorted(set(rows["vehicle"]))
    total = 0.0
    for vehicle in vehicles:
        route = [i for i, v in enumerate(rows["vehicle"]) if v == vehicle]
        stops = [rows["stop"][i] for i in route]
        if stops != list(range(1, len(route) + 1)):
            violations.append(f"vehicle {vehicle} has stops numbered {stops}, not 1..{len(route)}")
        found, distance = _route_violations(
            problem,
            places,
            vehicle,
            [number[rows["customer"][i]] for i in route],
            [rows["arrival"][i] for i in route],
            [rows["load"][i] for i in route],
        )
        violations.extend(found)
        total += distance

    if problem.vehicles is not None and len(vehicles) > problem.vehicles:
        violations.append(f"{len(vehicles)} routes, more than the {problem.vehicles} vehicles")
    if problem.fleet == "exactly" and len(vehicles) != problem.vehicles:
        violations.append(f"{len(vehicles)} routes, but all {problem.vehicles} vehicles must drive")
    if not math.isclose(plan.objective, total, rel_tol=1e-9, abs_tol=1e-6):
        violations.append(f"objective {plan.objective} differs from the route distance {total}")
    return violations
