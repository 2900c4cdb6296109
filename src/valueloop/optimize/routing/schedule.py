"""Routes as a table: the order of the stops with each arrival time and the load on board.

A route is a list of customer numbers (1 for the first customer of the problem, as in the
CVRPLIB and Solomon solution files). Its schedule is the earliest one: the vehicle leaves the
depot when it opens, drives each leg at the problem's speed, waits at a customer until the
window opens and leaves once the service is done.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from valueloop.optimize.routing.problem import RoutingProblem

ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("vehicle", pa.int32(), nullable=False),
        pa.field("stop", pa.int32(), nullable=False),
        pa.field("customer", pa.string(), nullable=False),
        pa.field("arrival", pa.float64(), nullable=False),
        pa.field("load", pa.int64(), nullable=False),
    ]
)
"""Columns of :attr:`Plan.assignments` for a routing plan, one row per customer visit, ordered by
``vehicle`` (from 0) and ``stop`` (from 1 along the route): the ``customer``'s name, the
``arrival`` time there (time units; service starts at the later of arrival and the window's
opening) and the ``load`` on board on arrival (units of demand still to deliver)."""


def routes_table(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> pa.Table:
    """Assignments of ``routes`` (customer numbers from 1) with their earliest schedule."""
    travel = problem.travel_times()
    ready, _, service = problem.windows()
    demand = problem.demands()
    names = np.array([problem.depot.name, *(c.name for c in problem.customers)], dtype=object)
    vehicles: list[np.ndarray] = []
    stops: list[np.ndarray] = []
    arrivals: list[float] = []
    loads: list[np.ndarray] = []
    visits = [np.asarray(route, dtype=np.int64) for route in routes if len(route) > 0]
    for vehicle, visit in enumerate(visits):
        clock, here = ready[0], 0
        for customer in visit.tolist():
            clock += travel[here, customer]
            arrivals.append(clock)
            clock = max(clock, ready[customer]) + service[customer]
            here = customer
        delivered = np.cumsum(demand[visit])
        loads.append(delivered[-1] - delivered + demand[visit])
        vehicles.append(np.full(len(visit), vehicle, dtype=np.int32))
        stops.append(np.arange(1, len(visit) + 1, dtype=np.int32))
    order = np.concatenate(visits) if visits else np.zeros(0, dtype=np.int64)
    return pa.table(
        {
            "vehicle": np.concatenate(vehicles) if vehicles else np.zeros(0, np.int32),
            "stop": np.concatenate(stops) if stops else np.zeros(0, np.int32),
            "customer": pa.array(names[order].tolist(), pa.string()),
            "arrival": np.array(arrivals, dtype=np.float64),
            "load": np.concatenate(loads) if loads else np.zeros(0, np.int64),
        },
        schema=ASSIGNMENTS_SCHEMA,
    )


def routes_distance(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> float:
    """Total distance of ``routes`` (customer numbers from 1), depot to depot."""
    distance = problem.distance_matrix()
    total = 0.0
    for route in routes:
        if len(route) > 0:
            path = np.concatenate(([0], np.asarray(route, dtype=np.int64), [0]))
            total += float(distance[path[:-1], path[1:]].sum())
    return total
