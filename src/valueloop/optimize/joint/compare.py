"""Maintenance first, or planned with production: the two plans of a line side by side.

:func:`compare_line_plans` plans the line both ways and scores both schedules with
:func:`~valueloop.optimize.joint.costs.evaluate_line_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from valueloop.optimize.base import Plan
from valueloop.optimize.joint.costs import LineCosts, evaluate_line_plan
from valueloop.optimize.joint.problem import LineProblem
from valueloop.optimize.joint.schedulers import JointScheduler, SequentialScheduler

POLICIES = ("sequential", "joint")
"""(a) maintenance planned first, then production; (b) both in one model."""


@dataclass(frozen=True)
class LineComparison:
    """The sequential and joint plans of one line and their evaluated costs.

    Attributes:
        currency: money unit of the costs.
        plans: the plan of each policy of :data:`POLICIES`.
        costs: the evaluated (expected) cost of each policy's plan.
        search_seconds: each policy's whole search time, the joint plan's starting plan included.
    """

    currency: str
    plans: dict[str, Plan]
    costs: dict[str, LineCosts]
    search_seconds: dict[str, float]

    @property
    def saving(self) -> float:
        """Expected cost the joint plan saves over the sequential one (money)."""
        return self.costs["sequential"].total - self.costs["joint"].total

    @property
    def saving_percent(self) -> float:
        """:attr:`saving` as a percentage of the sequential plan's cost (0 if that is 0)."""
        baseline = self.costs["sequential"].total
        return 100.0 * self.saving / baseline if baseline > 0 else 0.0

    def table(self) -> pa.Table:
        """One row per policy: its evaluated figures and its solver's status, gap and time."""
        rows = [
            {
                "policy": policy,
                **self.costs[policy].as_dict(),
                "status": self.plans[policy].status,
                "gap": self.plans[policy].gap,
                "solve_seconds": self.plans[policy].solve_seconds,
                "search_seconds": self.search_seconds[policy],
            }
            for policy in POLICIES
        ]
        return pa.Table.from_pylist(rows)

    def as_dict(self) -> dict[str, Any]:
        """The comparison as plain data: each policy's figures, the saving and its percentage."""
        figures = {row["policy"]: row for row in self.table().to_pylist()}
        return {
            "currency": self.currency,
            **{
                policy: {k: v for k, v in row.items() if k != "policy"}
                for policy, row in figures.items()
            },
            "saving": self.saving,
            "saving_pct": self.saving_percent,
        }


def compare_line_plans(
    problem: LineProblem, *, time_limit: float = 10.0, workers: int = 2, seed: int = 0
) -> LineComparison:
    """Plan ``problem`` both ways, each with ``time_limit`` seconds of search in all.

    Maintenance first searches for the whole ``time_limit``. The joint model starts from a
    sequential plan found in the first half and searches the second half; where that starting
    plan is proven optimal it is the sequential policy's plan too (more time cannot improve it).
    Raises :class:`~valueloop.errors.OptimizeError` if either finds no plan.
    """
    settings: dict[str, Any] = {"workers": workers, "seed": seed}
    start = SequentialScheduler(time_limit=time_limit / 2, **settings).solve(problem)
    joint = JointScheduler(time_limit=time_limit / 2, **settings).solve(problem, hint=start)
    sequential = (
        start
        if start.status == "OPTIMAL"
        else SequentialScheduler(time_limit=time_limit, **settings).solve(problem)
    )
    plans = {"sequential": sequential, "joint": joint}
    return LineComparison(
        currency=problem.currency,
        plans=plans,
        costs={
            policy: evaluate_line_plan(problem, plan.assignments) for policy, plan in plans.items()
        },
        search_seconds={
            "sequential": sequential.solve_seconds,
            "joint": start.solve_seconds + joint.solve_seconds,
        },
    )


def line_assumptions(problem: LineProblem) -> dict[str, Any]:
    """What a line's figures rest on, for the ledger: horizon, machines' health and economics,
    and the order book's size and weights."""
    return {
        "line": problem.name,
        "horizon_periods": problem.horizon,
        "machines": [machine.model_dump() for machine in problem.machines],
        "orders": len(problem.orders),
        "operations": sum(len(order.operations) for order in problem.orders),
        "tardiness_weight_total": sum(order.weight for order in problem.orders),
        "failure_model": "split-normal failure times from the RUL interval, truncated at 0",
        "failure_repair": "a failed machine is repaired as new; its window is then not charged",
        "cost": "expected cost (model): both plans scored by the model the joint plan minimises",
        "search": "the same search time for both plans, the joint plan's starting plan included",
    }
