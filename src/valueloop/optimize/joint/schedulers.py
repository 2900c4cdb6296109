"""Two ways to plan a line: maintenance and production together, or maintenance first.

:class:`JointScheduler` lets CP-SAT place every machine's maintenance window and every operation in
one model, trading the orders' tardiness against the machines' expected failure cost.
:class:`SequentialScheduler` is the usual practice it is compared with: each window is put where
the machine's expected cost alone is least (or left out if no window pays), ignoring production;
production is then scheduled around those fixed windows. The sequential plan is feasible for the
joint model: given as a hint, CP-SAT takes it as its first solution, so the joint plan costs no
more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from valueloop.optimize.base import Plan, SearchSettings
from valueloop.optimize.joint.model import ProgressCallback, schedule_line
from valueloop.optimize.joint.problem import LineProblem
from valueloop.optimize.joint.windows import (
    failure_optimal_starts,
    plan_windows,
    worthwhile_windows,
)


@dataclass(frozen=True, kw_only=True)
class JointScheduler(SearchSettings):
    """Places maintenance windows and production operations in one CP-SAT model.

    The objective, in the line's currency, is the orders' weighted tardiness plus each machine's
    expected maintenance, failure and forfeited-life cost as a function of its window's start (see
    :mod:`valueloop.optimize.joint.costs`).
    """

    def solve(
        self,
        problem: LineProblem,
        *,
        hint: Plan | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Plan:
        """Plan ``problem``; ``hint`` is a complete line plan (e.g. the sequential one) to start
        from. Raises :class:`~valueloop.errors.OptimizeError` if no plan is found."""
        started = time.perf_counter()
        return schedule_line(
            problem,
            worthwhile_windows(problem),
            time_limit=self.time_limit,
            workers=self.workers,
            seed=self.seed,
            started=started,
            hint=None if hint is None else hint.assignments,
            on_progress=on_progress,
        )


@dataclass(frozen=True, kw_only=True)
class SequentialScheduler(SearchSettings):
    """Maintenance first, by expected cost alone; then production around the fixed windows.

    The plan's objective is scored by the same function as the joint plan's.
    """

    def solve(self, problem: LineProblem, *, on_progress: ProgressCallback | None = None) -> Plan:
        """Plan ``problem``; raises :class:`~valueloop.errors.OptimizeError` if no plan is found,
        e.g. when a fixed window leaves production no room within the horizon."""
        started = time.perf_counter()
        return schedule_line(
            problem,
            plan_windows(failure_optimal_starts(problem).tolist()),
            time_limit=self.time_limit,
            workers=self.workers,
            seed=self.seed,
            started=started,
            on_progress=on_progress,
        )
