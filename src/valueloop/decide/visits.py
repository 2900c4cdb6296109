"""Visits of assets of several types by one crew whose capacity varies from day to day.

The maintenance optimiser (:class:`~valueloop.optimize.maintenance.MaintenancePlanner`) plans the
assets of one :class:`~valueloop.optimize.maintenance.MaintenanceProblem`: one set of costs, the
same crew capacity every day. A site's planner may send one crew to assets of several types (each
type with its own costs), on the weekdays the crew works, with slots already taken by visits
ordered before. :func:`plan_visits` extends the problem without changing the optimiser: one
problem per asset type, all on the same horizon, and the crew's capacity for each day of it.

When there is one type and every day has the problem's own ``crew_per_day``, this is the
optimiser's own problem, and the optimiser solves it (as it solves the aviation pack's fleets).
Otherwise the optimiser's own assignment model
(:class:`~valueloop.optimize.maintenance.AssignmentModel`: each asset left alone, or visited on one
day; on each day at most its capacity; the least total expected cost) is solved on the option costs
of all types together, from :func:`~valueloop.optimize.maintenance.option_costs`, with the
capacity of each day and the optimiser's search settings (time limit, workers, seed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from valueloop.errors import OptimizeError
from valueloop.optimize.base import SOLVED_STATUSES, Plan

if TYPE_CHECKING:
    from valueloop.optimize.maintenance import MaintenancePlanner, MaintenanceProblem


def plan_visits(
    optimizer: MaintenancePlanner,
    problems: Sequence[MaintenanceProblem],
    capacity: Sequence[int],
) -> Plan:
    """Plan the visits of the assets of ``problems`` (one per asset type) on a shared crew.

    ``capacity[d]`` is how many visits the crew can make on day ``d`` (0 on a day it does not
    work); there is one entry per day of the problems' common horizon. The plan's assignments
    follow :data:`~valueloop.optimize.maintenance.ASSIGNMENTS_SCHEMA`, one row per asset in the
    order of the problems and of their engines. Raises :class:`OptimizeError` on problems of
    different horizons or when no plan is found within the optimiser's time limit.
    """
    if not problems:
        raise OptimizeError("no asset to plan visits for")
    days = problems[0].horizon_days
    if any(problem.horizon_days != days for problem in problems) or len(capacity) != days:
        raise OptimizeError(
            f"every problem and the crew's capacity must cover the same {days} days; got "
            f"{[problem.horizon_days for problem in problems]} and {len(capacity)} capacities"
        )
    if len(problems) == 1 and all(slots == problems[0].crew_per_day for slots in capacity):
        return optimizer.solve(problems[0])
    return _solve_shared(optimizer, problems, capacity)


def _solve_shared(
    optimizer: MaintenancePlanner,
    problems: Sequence[MaintenanceProblem],
    capacity: Sequence[int],
) -> Plan:
    from valueloop.optimize.maintenance import AssignmentModel, OptionCosts, option_costs

    started = time.perf_counter()
    options = [option_costs(problem) for problem in problems]
    assignment = AssignmentModel.build(
        OptionCosts(
            service=np.vstack([option.service for option in options]),
            service_failure=np.vstack([option.service_failure for option in options]),
            idle=np.concatenate([option.idle for option in options]),
            idle_failure=np.concatenate([option.idle_failure for option in options]),
        ),
        capacity,
    )
    solution = assignment.solve(
        seconds=max(optimizer.time_limit - (time.perf_counter() - started), 1e-3),
        workers=optimizer.workers,
        seed=optimizer.seed,
    )
    if solution.status not in SOLVED_STATUSES:
        raise OptimizeError(
            f"CP-SAT found no visit plan (status {solution.status}) within "
            f"{optimizer.time_limit} s: raise the planner's time_limit_s or shorten its horizon"
        )
    return solution.plan([engine.asset for problem in problems for engine in problem.engines])
