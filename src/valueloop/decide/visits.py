"""Visits of assets of several types by one crew whose capacity varies from day to day.

The maintenance optimiser (:class:`~valueloop.optimize.maintenance.MaintenancePlanner`) plans the
assets of one :class:`~valueloop.optimize.maintenance.MaintenanceProblem`: one set of costs, the
same crew capacity every day. A site's planner may send one crew to assets of several types (each
type with its own costs), on the weekdays the crew works, with slots already taken by visits
ordered before. :func:`plan_visits` extends the problem without changing the optimiser: one
problem per asset type, all on the same horizon, and the crew's capacity for each day of it.

When there is one type and every day has the problem's own ``crew_per_day``, this is the
optimiser's own problem, and the optimiser solves it (as it solves the aviation pack's fleets).
Otherwise the same assignment (each asset left alone, or visited on one day; on each day at most
its capacity; the least total expected cost) is solved with CP-SAT on the option costs of each type,
from the optimiser's own :func:`~valueloop.optimize.maintenance.option_costs`, with the optimiser's
search settings (time limit, workers, seed). As there, a visit that costs at least as much as
leaving the asset alone is not offered to the solver, and costs are scaled to integers
(:data:`~valueloop.optimize.maintenance.COST_STEPS`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib.metadata import version
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

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
    from ortools.sat.python import cp_model

    from valueloop.optimize.maintenance import ASSIGNMENTS_SCHEMA, COST_STEPS, option_costs

    started = time.perf_counter()
    options = [option_costs(problem) for problem in problems]
    service = np.vstack([option.service for option in options])
    service_failure = np.vstack([option.service_failure for option in options])
    idle = np.concatenate([option.idle for option in options])
    idle_failure = np.concatenate([option.idle_failure for option in options])
    n_assets = idle.size
    unit = max(float(service.max()), float(idle.max()), 1.0) / COST_STEPS
    service_steps = np.rint(service / unit).astype(np.int64)
    idle_steps = np.rint(idle / unit).astype(np.int64)
    crew = np.asarray(capacity, dtype=np.int64)
    worth = (service_steps < idle_steps[:, None]) & (crew > 0)[None, :]

    model = cp_model.CpModel()
    left = [model.new_bool_var(f"idle[{a}]") for a in range(n_assets)]
    booked: dict[tuple[int, int], cp_model.IntVar] = {}
    per_asset: list[list[cp_model.IntVar]] = [[var] for var in left]
    per_day: dict[int, list[cp_model.IntVar]] = {}
    for a, d in np.argwhere(worth).tolist():
        booked[a, d] = model.new_bool_var(f"x[{a},{d}]")
        per_asset[a].append(booked[a, d])
        per_day.setdefault(d, []).append(booked[a, d])
    for choices in per_asset:
        model.add_exactly_one(choices)
    for day, on_day in per_day.items():
        model.add(cp_model.LinearExpr.sum(on_day) <= int(crew[day]))
    model.minimize(
        cp_model.LinearExpr.weighted_sum(
            [*left, *booked.values()],
            [*idle_steps.tolist(), *(int(service_steps[key]) for key in booked)],
        )
    )

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(
        optimizer.time_limit - (time.perf_counter() - started), 1e-3
    )
    solver.parameters.num_workers = optimizer.workers
    solver.parameters.random_seed = optimizer.seed
    status = solver.status_name(solver.solve(model))
    if status not in SOLVED_STATUSES:
        raise OptimizeError(
            f"CP-SAT found no visit plan (status {status}) within {optimizer.time_limit} s: "
            "raise the planner's time_limit_s or shorten its horizon"
        )

    chosen = np.zeros(n_assets, dtype=np.int64)
    visited = np.zeros(n_assets, dtype=bool)
    for (a, d), var in booked.items():
        if solver.boolean_value(var):
            chosen[a], visited[a] = d, True
    rows = np.arange(n_assets)
    objective = solver.objective_value * unit
    bound = solver.best_objective_bound * unit
    gap = 0.0 if status == "OPTIMAL" else (objective - bound) / max(abs(objective), unit)
    assignments = pa.table(
        {
            "asset": [engine.asset for problem in problems for engine in problem.engines],
            "day": pa.array(chosen, pa.int32(), mask=~visited),
            "failure_probability": np.where(visited, service_failure[rows, chosen], idle_failure),
            "expected_cost": np.where(visited, service[rows, chosen], idle),
        },
        schema=ASSIGNMENTS_SCHEMA,
    )
    return Plan(
        status=status,
        objective=objective,
        best_bound=bound,
        gap=min(max(gap, 0.0), 1.0),
        solve_seconds=solver.wall_time,
        assignments=assignments,
        solver=f"CP-SAT {version('ortools')}",
        log=solver.response_stats(),
    )
