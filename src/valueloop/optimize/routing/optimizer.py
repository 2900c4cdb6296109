"""Vehicle routing with PyVRP's iterated local search (CVRP and VRPTW).

PyVRP proves nothing: a plan is ``FEASIBLE``, never ``OPTIMAL``, and its ``best_bound`` is the
better of the degree bound (:func:`~valueloop.optimize.routing.bounds.distance_lower_bound`) and
the LP bound with capacity cuts (:func:`~valueloop.optimize.routing.lp_bound.lp_lower_bound`),
computed in a share of the time limit before the search. Both are valid but not tight (the LP
bound is typically 5-40 % below the optimum), so how close a plan comes to the optimum is
measured against published best-known values by the routing benchmark, not by the plan's gap.

Under ``vehicles_then_distance`` each search first minimises the fleet (PyVRP's
``minimise_fleet``, :data:`FLEET_SHARE` of the time), then the distance with that fleet, a
fixed cost per route (the distance of serving every customer on a route of its own) keeping
fewer routes ahead.

With ``workers`` above 1 the search runs that many times in parallel from different seeds
(``seed``, ``seed + 1``, ...; all but the first in worker processes) and keeps the best plan.
One search from a given seed is deterministic in its iterations; its plan is the same from run
to run when it stops on ``patience`` rather than on the time limit, or when it found its best
plan early enough for every run to reach it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from pyvrp import (
    CostEvaluator,
    IteratedLocalSearchCallbacks,
    IteratedLocalSearchParams,
    ProblemData,
    Solution,
    SolveParams,
    minimise_fleet,
    solve,
)
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement, StoppingCriterion

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import Plan, SearchSettings, as_problem, solved_plan
from valueloop.optimize.routing.bounds import distance_lower_bound, infeasibility_reasons
from valueloop.optimize.routing.lp_bound import lp_lower_bound
from valueloop.optimize.routing.problem import RoutingProblem
from valueloop.optimize.routing.pyvrp_data import integer_scale, solution_routes, to_problem_data
from valueloop.optimize.routing.schedule import routes_distance, routes_table

ProgressCallback = Callable[[float, float, float], None]
"""Called with the elapsed seconds, the incumbent's total distance and the lower bound."""

_SHUTDOWN_SECONDS = 0.2  # kept back from the time limit for building the plan's table

BOUND_SECONDS = 5.0
"""Longest time spent on the LP lower bound, in seconds."""

FLEET_SHARE = 0.5
"""Share of the time limit spent minimising the fleet under ``vehicles_then_distance``."""


_INFEASIBLE_COST = 2**63 - 1  # what PyVRP's cost evaluator gives an infeasible solution


class _Patience:
    """Stops after ``iterations`` without a better feasible solution, once one is found."""

    def __init__(self, iterations: int) -> None:
        self._no_improvement = NoImprovement(iterations)

    def __call__(self, best_cost: int) -> bool:
        return best_cost < _INFEASIBLE_COST and self._no_improvement(best_cost)


def _stop(seconds: float, patience: int | None) -> StoppingCriterion:
    runtime = MaxRuntime(max(seconds, 0.0))
    return runtime if patience is None else MultipleCriteria([runtime, _Patience(patience)])


def _search(
    data: ProblemData,
    seed: int,
    seconds: float,
    patience: int | None,
    fleet_share: float,
    callbacks: IteratedLocalSearchCallbacks | None = None,
) -> Solution:
    """One PyVRP search from ``seed``; the best solution found (possibly infeasible).

    With a ``fleet_share`` above 0, that share of ``seconds`` first goes to PyVRP's fleet
    minimisation (fewer vehicles until no feasible plan is found), and the rest to the least
    distance with the smallest fleet found.
    """
    started = time.perf_counter()
    observer = callbacks or IteratedLocalSearchCallbacks()
    params = SolveParams(ils=IteratedLocalSearchParams(callbacks=observer))
    with warnings.catch_warnings():
        # PyVRP warns when its penalties saturate on a tight fleet; the outcome is judged below.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        if fleet_share > 0:
            fleet = minimise_fleet(data, MaxRuntime(seconds * fleet_share), seed=seed)
            data = data.replace(vehicle_types=[fleet])
        remaining = seconds - (time.perf_counter() - started)
        result = solve(
            data, stop=_stop(remaining, patience), seed=seed, collect_stats=False, params=params
        )
    return result.best


class _Progress(IteratedLocalSearchCallbacks):
    """Reports each new best feasible solution of the search to a progress callback."""

    def __init__(
        self, problem: RoutingProblem, started: float, bound: float, report: ProgressCallback
    ) -> None:
        self._problem, self._started, self._bound, self._report = problem, started, bound, report

    def on_best(self, best: Solution) -> None:
        if best.is_feasible():
            distance = routes_distance(self._problem, solution_routes(best))
            self._report(time.perf_counter() - self._started, distance, self._bound)


@dataclass(frozen=True, kw_only=True)
class RouteOptimizer(SearchSettings):
    """Plans delivery routes with PyVRP (capacitated, optionally with time windows).

    Attributes:
        workers: independent searches run in parallel (processes), each from its own seed, one
            by default; ``seed`` is the first search's (see
            :class:`~valueloop.optimize.base.SearchSettings`).
        patience: iterations without a better plan after which a search stops before the time
            limit; ``None`` searches until the time limit.
        bound_share: share of the time limit (at most :data:`BOUND_SECONDS`) given to the LP
            lower bound before the search; 0 keeps the cheap degree bound alone.
    """

    workers: int = 1
    patience: int | None = None
    bound_share: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.bound_share < 1.0:
            raise ConfigError(f"bound_share must be in [0, 1), not {self.bound_share}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be at least 1 iteration, not {self.patience}")

    def solve(
        self,
        problem: RoutingProblem | Mapping[str, Any],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> Plan:
        """Plan routes for ``problem`` (a model, or its fields as plain data).

        The plan's objective is the total distance (in the problem's distance unit) and its
        assignments follow :data:`~valueloop.optimize.routing.schedule.ASSIGNMENTS_SCHEMA`.
        ``on_progress`` is called whenever the first search finds a better plan. Raises
        :class:`~valueloop.errors.OptimizeError` naming the conflicts if the problem is
        infeasible, or if no feasible plan is found within ``time_limit``.
        """
        started = time.perf_counter()
        problem = as_problem(RoutingProblem, problem, "routing")
        reasons = infeasibility_reasons(problem)
        if reasons:
            raise OptimizeError(
                f"routing problem {problem.name} is infeasible: {'; '.join(reasons)}"
            )
        bound = distance_lower_bound(problem)
        if self.bound_share > 0:
            seconds = min(self.bound_share * self.time_limit, BOUND_SECONDS)
            bound = max(bound, lp_lower_bound(problem, seconds=seconds) or 0.0)
        try:
            data = to_problem_data(problem)
        except ValueError as err:
            raise OptimizeError(f"PyVRP refused routing problem {problem.name}: {err}") from err
        seconds = self.time_limit - (time.perf_counter() - started) - _SHUTDOWN_SECONDS
        callbacks = None if on_progress is None else _Progress(problem, started, bound, on_progress)
        share = FLEET_SHARE if problem.objective == "vehicles_then_distance" else 0.0
        if self.workers == 1:
            solutions = [_search(data, self.seed, seconds, self.patience, share, callbacks)]
        else:
            with ProcessPoolExecutor(max_workers=self.workers - 1) as pool:
                others = [
                    pool.submit(_search, data, self.seed + k, seconds, self.patience, share)
                    for k in range(1, self.workers)
                ]
                first = _search(data, self.seed, seconds, self.patience, share, callbacks)
                solutions = [first, *(future.result() for future in others)]
        best = _best(data, solutions)
        if not best.is_feasible():
            raise OptimizeError(_no_plan_message(problem, best, self.time_limit))

        routes = solution_routes(best)
        objective = routes_distance(problem, routes)
        bound = min(bound, objective)
        return solved_plan(
            status="FEASIBLE",
            objective=objective,
            bound=bound,
            solve_seconds=time.perf_counter() - started,
            assignments=routes_table(problem, routes),
            solver=f"PyVRP {version('pyvrp')}",
            log=(
                f"{len(routes)} routes, distance {objective:.2f}, lower bound {bound:.2f}; "
                f"best of {self.workers} search(es) from seed {self.seed}"
            ),
        )


def _best(data: ProblemData, solutions: list[Solution]) -> Solution:
    """The feasible solution of least cost (fixed costs included), the first one on ties."""
    evaluator = CostEvaluator([0] * data.num_load_dimensions, 0, 0)
    return min(solutions, key=lambda s: (not s.is_feasible(), evaluator.cost(s)))


def _no_plan_message(problem: RoutingProblem, best: Solution, time_limit: float) -> str:
    scale = integer_scale(problem)
    found = []
    if best.has_excess_load():
        found.append(f"{sum(best.excess_load()) / scale:g} units over capacity")
    if best.has_time_warp():
        found.append(f"{best.time_warp() / scale:.2f} time units late")
    if not best.is_complete():
        found.append(f"{best.num_missing_clients()} customers unserved")
    return (
        f"no feasible routes for {problem.name} within {time_limit} s (the best attempt is "
        f"{', '.join(found) or 'infeasible'}): add vehicles, widen the time windows or raise "
        "time_limit"
    )
