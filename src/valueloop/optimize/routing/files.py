"""Solve a routing instance file in one call, for the command line."""

from __future__ import annotations

from pathlib import Path

from valueloop.optimize.base import Plan
from valueloop.optimize.routing.formats import read_instance
from valueloop.optimize.routing.optimizer import ProgressCallback, RouteOptimizer
from valueloop.optimize.routing.problem import RoutingProblem


def solve_routing_file(
    path: Path,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    on_progress: ProgressCallback | None = None,
) -> tuple[RoutingProblem, Plan]:
    """Read a CVRPLIB ``.vrp`` or Solomon ``.txt`` instance and plan its routes.

    ``on_progress`` is called with the elapsed seconds, the incumbent's total distance and the
    lower bound whenever the search finds a better plan. Raises
    :class:`~valueloop.errors.ConfigError` for a malformed file (naming the line) and
    :class:`~valueloop.errors.OptimizeError` when no plan is found.
    """
    problem = read_instance(path)
    optimizer = RouteOptimizer(time_limit=time_limit, workers=workers, seed=seed)
    return problem, optimizer.solve(problem, on_progress=on_progress)
