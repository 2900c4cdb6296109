"""What can be told about a routing problem before searching: why it is infeasible, and a bound.

:func:`infeasibility_reasons` finds the conflicts a plan could never resolve (a customer's demand
above a vehicle's capacity, a window that closes before a vehicle can get there, a fleet too
small for the total demand). :func:`distance_lower_bound` is the degree bound: every customer is
entered and left once and the depot is left and re-entered once per route, so half the sum,
over places, of the cheapest edges each place must use is a valid lower bound on any plan's
total distance. It is cheap and loose (the gap it gives is not the distance to the optimum).
"""

from __future__ import annotations

import math

import numpy as np

from valueloop.optimize.routing.problem import RoutingProblem

_TIME_TOLERANCE = 1e-9  # time units: slack for floating-point sums of travel times


def min_routes(problem: RoutingProblem) -> int:
    """Fewest routes any plan needs: total demand over capacity, or the fixed fleet."""
    by_load = max(1, math.ceil(int(problem.demands().sum()) / problem.capacity))
    if problem.fleet == "exactly" and problem.vehicles is not None:
        return problem.vehicles
    return by_load


def infeasibility_reasons(problem: RoutingProblem) -> list[str]:
    """Conflicts that make ``problem`` infeasible whatever the plan; empty if none is found.

    An empty list does not prove feasibility (e.g. a bin-packing or time-window conflict among
    several customers is not detected).
    """
    reasons: list[str] = []
    demand = problem.demands()[1:]
    names = [c.name for c in problem.customers]
    for k in np.flatnonzero(demand > problem.capacity).tolist():
        reasons.append(
            f"customer {names[k]} needs {demand[k]} units, a vehicle carries {problem.capacity}"
        )
    total = int(demand.sum())
    if problem.vehicles is not None and total > problem.vehicles * problem.capacity:
        reasons.append(
            f"the customers need {total} units, the {problem.vehicles} vehicles carry "
            f"{problem.vehicles * problem.capacity}"
        )
    if problem.fleet == "exactly" and (problem.vehicles or 0) > len(names):
        reasons.append(
            f"{problem.vehicles} routes must each visit a customer, there are only {len(names)}"
        )
    travel = problem.travel_times()
    ready, due, service = problem.windows()
    arrival = ready[0] + travel[0, 1:]
    late = np.flatnonzero(arrival > due[1:] + _TIME_TOLERANCE).tolist()
    for k in late:
        reasons.append(
            f"customer {names[k]} closes at {due[k + 1]:g}, but a vehicle leaving the depot at "
            f"{ready[0]:g} arrives at {arrival[k]:.2f} at the earliest"
        )
    back = np.maximum(arrival, ready[1:]) + service[1:] + travel[1:, 0]
    for k in np.flatnonzero(back > due[0] + _TIME_TOLERANCE).tolist():
        if k not in late:
            reasons.append(
                f"customer {names[k]} cannot be served with the vehicle back at the depot by "
                f"{due[0]:g} (earliest return {back[k]:.2f})"
            )
    return reasons


def distance_lower_bound(problem: RoutingProblem) -> float:
    """Degree lower bound on the total distance of any plan, in distance units.

    Each customer uses two edge ends: its two cheapest distinct edges, or its depot edge twice
    (a route serving it alone). The depot uses two ends per route, at least :func:`min_routes`
    routes, each customer's depot edge at most twice. Every edge is counted at both its ends.
    """
    distance = problem.distance_matrix()
    to_depot = distance[0, 1:]
    between = distance[1:, :].copy()
    n = len(to_depot)
    between[np.arange(n), np.arange(1, n + 1)] = np.inf  # no edge from a customer to itself
    two_cheapest = np.partition(between, 1, axis=1)[:, :2].sum(axis=1)
    customers = np.minimum(two_cheapest, 2.0 * to_depot).sum()
    ends = min(2 * min_routes(problem), 2 * n)
    depot = np.sort(np.repeat(to_depot, 2))[:ends].sum()
    return float((customers + depot) / 2.0)
