"""A :class:`RoutingProblem` in PyVRP's terms: integer matrices, windows and a fleet.

PyVRP works in integers. Under the ``nint`` convention without time windows the distances are
integers already and are passed as they are. Otherwise distances and times are scaled by
:data:`TIME_SCALE` and rounded so that PyVRP never accepts a plan that is late in real time:
travel and service times are rounded up, window openings up and closings down. Demands and
capacity are scaled alike, which keeps PyVRP's penalties for excess load and lateness in balance
with the distances. The plan's objective is always recomputed from the problem's own distances.

The objective is encoded in the vehicles' fixed cost: a cost per route equal to the distance of
serving every customer on a route of its own (more than any plan worth keeping drives) ranks
plans by the number of routes first (``vehicles_then_distance``), and the same
amount as a reward forces every vehicle onto the road (``fleet="exactly"``).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from pyvrp import Client, Depot, Location, ProblemData, Solution, VehicleType

from valueloop.optimize.routing.problem import RoutingProblem

TIME_SCALE = 10_000
"""Integer steps per distance or time unit when the problem is not in whole units."""

_ROUNDING_SLACK = 1e-6  # steps: keeps exact products (e.g. 90 * 10_000) from rounding up


def _scaled_up(values: NDArray[np.float64], scale: int) -> NDArray[np.int64]:
    return np.ceil(values * scale - _ROUNDING_SLACK).astype(np.int64)


def _scaled_down(values: NDArray[np.float64], scale: int) -> NDArray[np.int64]:
    return np.floor(values * scale + _ROUNDING_SLACK).astype(np.int64)


def integer_scale(problem: RoutingProblem) -> int:
    """Steps per unit used for ``problem``: 1 for integer CVRPLIB distances, else the scale."""
    return 1 if problem.distance == "nint" and not problem.has_time_windows else TIME_SCALE


def to_problem_data(problem: RoutingProblem) -> ProblemData:
    """PyVRP's model of ``problem`` (see the module documentation for the rounding)."""
    scale = integer_scale(problem)
    distance = problem.distance_matrix()
    distance_steps = np.rint(distance * scale).astype(np.int64)
    ready, due, service = problem.windows()
    horizon = np.iinfo(np.int64).max // 4
    due_steps = np.where(
        np.isinf(due), horizon, _scaled_down(np.where(np.isinf(due), 0.0, due), scale)
    )
    ready_steps = _scaled_up(ready, scale)
    service_steps = _scaled_up(service, scale)
    duration_steps = _scaled_up(problem.travel_times(), scale)
    np.fill_diagonal(duration_steps, 0)

    n = len(problem.customers)
    route_cost = int(2 * distance_steps[0, 1:].sum()) + 1
    fixed_cost = 0
    if problem.fleet == "exactly":
        fixed_cost = -route_cost
    elif problem.objective == "vehicles_then_distance":
        fixed_cost = route_cost
    coordinates = problem.coordinates()
    demand = problem.demands()
    return ProblemData(
        locations=[Location(x=float(x), y=float(y)) for x, y in coordinates],
        clients=[
            Client(
                location=k,
                delivery=[int(demand[k]) * scale],
                service_duration=int(service_steps[k]),
                tw_early=int(ready_steps[k]),
                tw_late=int(due_steps[k]),
            )
            for k in range(1, n + 1)
        ],
        depots=[Depot(location=0, tw_early=int(ready_steps[0]), tw_late=int(due_steps[0]))],
        vehicle_types=[
            VehicleType(
                num_available=problem.vehicles or n,
                capacity=[problem.capacity * scale],
                fixed_cost=fixed_cost,
                tw_early=int(ready_steps[0]),
                tw_late=int(due_steps[0]),
            )
        ],
        # PyVRP's stubs spell a matrix np.ndarray[int]; any int64 2-D array is accepted.
        distance_matrices=[cast(Any, distance_steps)],
        duration_matrices=[cast(Any, duration_steps)],
    )


def solution_routes(solution: Solution) -> list[list[int]]:
    """Routes of a PyVRP solution as customer numbers from 1 (PyVRP's location indices)."""
    return [
        [activity.idx + 1 for activity in route if activity.is_client()]
        for route in solution.routes()
    ]
