"""A linear-programming lower bound on the total distance of a routing plan (HiGHS via SciPy).

The two-index relaxation of the CVRP: one variable per edge (at most 1 between two customers, at
most 2 between the depot and a customer, for a route serving it alone), every customer of
degree 2, the depot of degree twice the number of routes, and rounded capacity cuts
``x(delta(S)) >= 2 * ceil(demand(S) / capacity)`` added for the customer sets ``S`` that the
connected components of the current solution reveal, for a few rounds. Every LP optimum along
the way is a valid bound (time windows only remove plans, so the bound holds for VRPTW too).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from valueloop.optimize.routing.bounds import min_routes
from valueloop.optimize.routing.problem import RoutingProblem

MAX_CUSTOMERS = 400
"""Largest problem the LP is built for (it has one column per pair of places)."""

MAX_ROUNDS = 12
"""Rounds of capacity cuts at most."""

_SUPPORT = 1e-6  # an edge with a smaller LP value is treated as unused
_VIOLATION = 1e-4  # a cut violated by less is not added
_RELATIVE_SAFETY = 1e-7  # the LP optimum is trusted to this relative tolerance


def lp_lower_bound(problem: RoutingProblem, *, seconds: float) -> float | None:
    """LP bound on the total distance within about ``seconds``; None if too big or unsolved."""
    n = len(problem.customers)
    if n > MAX_CUSTOMERS or n < 2:
        return None
    started = time.perf_counter()
    distance = problem.distance_matrix()
    tail, head = np.triu_indices(n + 1, k=1)
    cost = distance[tail, head]
    upper = np.where(tail == 0, 2.0, 1.0)
    columns = np.arange(tail.size)
    customer_edges = tail > 0
    degree = sp.csr_matrix(
        (
            np.ones(tail.size + customer_edges.sum()),
            (
                np.concatenate([head - 1, tail[customer_edges] - 1]),
                np.concatenate([columns, columns[customer_edges]]),
            ),
        ),
        shape=(n, tail.size),
    )
    at_depot = (tail == 0).astype(np.float64)[None, :]
    fewest = 2 * min_routes(problem)
    most = 2 * (problem.vehicles if problem.vehicles is not None else n)
    most = fewest if problem.fleet == "exactly" else max(most, fewest)
    demand = problem.demands()
    cuts: list[NDArray[np.float64]] = []
    cut_sides: list[float] = []
    bound: float | None = None
    for _ in range(MAX_ROUNDS):
        remaining = seconds - (time.perf_counter() - started)
        if remaining <= 0:
            break
        rows = sp.vstack([sp.csr_matrix(at_depot), -sp.csr_matrix(at_depot), *cuts])
        sides = np.array([most, -fewest, *cut_sides], dtype=np.float64)
        result = linprog(
            cost,
            A_ub=rows,
            b_ub=sides,
            A_eq=degree,
            b_eq=np.full(n, 2.0),
            bounds=np.column_stack([np.zeros(tail.size), upper]),
            method="highs",
            options={"time_limit": remaining},
        )
        if result.status != 0:
            break
        bound = float(result.fun) * (1.0 - _RELATIVE_SAFETY)
        new = _capacity_cuts(result.x, tail, head, n, demand, problem.capacity)
        if not new:
            break
        for crossing, routes in new:
            cuts.append(-crossing[None, :])
            cut_sides.append(-2.0 * routes)
    if bound is not None and problem.distance == "nint":
        bound = float(math.ceil(bound - 1e-6))  # integer edge costs make any plan's cost whole
    return bound


def _capacity_cuts(
    x: NDArray[np.float64],
    tail: NDArray[np.int64],
    head: NDArray[np.int64],
    n: int,
    demand: NDArray[np.int64],
    capacity: int,
) -> list[tuple[NDArray[np.float64], int]]:
    """Violated capacity cuts over the customer components of the support graph."""
    used = (x > _SUPPORT) & (tail > 0)
    graph = sp.csr_matrix(
        (np.ones(int(used.sum())), (tail[used] - 1, head[used] - 1)), shape=(n, n)
    )
    count, label = connected_components(graph, directed=False)
    cuts = []
    for component in range(count):
        inside = np.concatenate([[False], label == component])
        routes = math.ceil(int(demand[inside].sum()) / capacity)
        crossing = (inside[tail] != inside[head]).astype(np.float64)
        if float(crossing @ x) < 2.0 * routes - _VIOLATION:
            cuts.append((crossing, routes))
    return cuts
