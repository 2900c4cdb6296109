"""The shop scheduler: CP-SAT on the interval model, seeded by dispatching rules.

What the scheduler adds to the textbook CP-SAT model (``textbook=True`` turns all of it off and
solves the plain model with CP-SAT's default parameters, for comparison):

- a starting schedule: the best of several dispatching rules (:mod:`.dispatch`), given to CP-SAT
  as a complete hint, whose makespan also caps the time horizon of the makespan model;
- a tighter model: start windows from releases, heads and tails, a makespan lower bound from the
  machine loads, and identical jobs ordered (:func:`.model.build_shop_model`);
- a search for few workers: the complete search first, then large-neighbourhood search only
  from its best schedule (:mod:`.search`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa
from ortools.sat.python import cp_model

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import SOLVED_STATUSES, Plan, SearchSettings, cp_sat_name, solved_plan
from valueloop.optimize.scheduling.diagnose import conflicting_constraints
from valueloop.optimize.scheduling.dispatch import best_dispatch
from valueloop.optimize.scheduling.flat import FlatShop
from valueloop.optimize.scheduling.model import ShopModel, build_shop_model
from valueloop.optimize.scheduling.precheck import infeasibility_reasons
from valueloop.optimize.scheduling.problem import ShopProblem
from valueloop.optimize.scheduling.search import (
    PhaseSettings,
    Progress,
    default_search,
    two_phase_search,
)

ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("job", pa.int32(), nullable=False),
        pa.field("operation", pa.int32(), nullable=False),
        pa.field("machine", pa.int32(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
    ]
)
"""Columns of :attr:`Plan.assignments` for a schedule: one row per operation, by job then
operation (both 0-based indices of the problem), with its machine (0-based) and its start and end
in time units."""


@dataclass(frozen=True, kw_only=True)
class ShopScheduler(SearchSettings):
    """Schedules job-shops and flexible job-shops with CP-SAT.

    Attributes:
        time_limit: as in :class:`~valueloop.optimize.base.SearchSettings`, 60 s by default;
            ``workers`` are CP-SAT workers and ``seed`` also seeds the dispatching rules.
        textbook: solve the plain model with default parameters and no hint (for comparison).
        dispatch_restarts: randomised dispatching runs tried for the starting schedule.
        on_progress: called at each better schedule (see :data:`Progress`), or None.
    """

    time_limit: float = 60.0
    textbook: bool = False
    dispatch_restarts: int = 20
    on_progress: Progress | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dispatch_restarts < 0:
            raise ConfigError(
                f"dispatch_restarts must not be negative, not {self.dispatch_restarts}"
            )

    def solve(self, problem: ShopProblem) -> Plan:
        """Schedule ``problem``; the plan's assignments follow :data:`ASSIGNMENTS_SCHEMA`.

        The objective and bound are the makespan or the weighted tardiness, in time units (times
        weights). Raises :class:`~valueloop.errors.OptimizeError` naming the conflicting
        constraints when the shop cannot be scheduled, or when no schedule is found in time.
        """
        started = time.perf_counter()
        flat = FlatShop.of(problem)
        reasons = infeasibility_reasons(problem, flat)
        if reasons:
            raise OptimizeError(
                f"shop {problem.name or '(unnamed)'} cannot be scheduled: " + "; ".join(reasons)
            )
        horizon = problem.time_bound()
        if problem.horizon is not None:
            horizon = min(horizon, problem.horizon)
        hint = None
        if not self.textbook:
            hint = best_dispatch(problem, flat, restarts=self.dispatch_restarts, seed=self.seed)
            if problem.objective == "makespan":
                horizon = min(horizon, max(hint.end))
        shop = build_shop_model(problem, flat, horizon=horizon, strengthen=not self.textbook)
        if hint is not None and max(hint.end) <= horizon:
            shop.add_hints(problem, flat, hint)
        spent = time.perf_counter() - started
        if spent >= self.time_limit:
            raise OptimizeError(
                f"building the shop model took longer than time_limit={self.time_limit} s: "
                "raise time_limit"
            )
        settings = PhaseSettings(workers=self.workers, seed=self.seed, report=self.on_progress)
        search = default_search if self.textbook else two_phase_search
        outcome = search(shop.model, settings, self.time_limit - spent)
        status = outcome.status
        if status == "INFEASIBLE":
            remaining = self.time_limit - (time.perf_counter() - started)
            raise OptimizeError(_infeasible_message(problem, flat, remaining))
        if status not in SOLVED_STATUSES:
            raise OptimizeError(
                f"CP-SAT found no schedule for shop {problem.name or '(unnamed)'} "
                f"(status {status}) within {self.time_limit} s: raise time_limit"
            )
        return solved_plan(
            status=status,
            objective=outcome.objective,
            bound=outcome.bound,
            solve_seconds=outcome.seconds,
            assignments=_assignments(outcome.solver, shop, flat),
            solver=cp_sat_name() + (" (textbook model)" if self.textbook else ""),
            log=outcome.solver.response_stats(),
        )


def _infeasible_message(problem: ShopProblem, flat: FlatShop, remaining: float) -> str:
    core = conflicting_constraints(problem, flat, time_limit=remaining) if remaining > 0 else []
    conflict = (
        "these constraints cannot all hold: " + "; ".join(core)
        if core
        else "the jobs' work cannot fit within the horizon, release dates and downtime"
    )
    return (
        f"CP-SAT proved that shop {problem.name or '(unnamed)'} has no schedule: {conflict}; "
        "extend the horizon, move downtime or add eligible machines"
    )


def _assignments(solver: cp_model.CpSolver, shop: ShopModel, flat: FlatShop) -> pa.Table:
    machines = []
    for o, options in enumerate(flat.options):
        if o in shop.choices:
            machines.append(
                next(m for m, lit in shop.choices[o].items() if solver.boolean_value(lit))
            )
        else:
            machines.append(options[0][0])
    return pa.table(
        {
            "job": flat.job,
            "operation": flat.position,
            "machine": machines,
            "start": [solver.value(s) for s in shop.starts],
            "end": [solver.value(e) for e in shop.ends],
        },
        schema=ASSIGNMENTS_SCHEMA,
    )
