"""Expected cost of a line plan: tardiness of the orders and risk of each machine.

Failure convention (that of :mod:`valueloop.optimize.maintenance`, in periods): a machine whose
remaining life is ``T`` periods fails at ``T``. A maintenance window starting at period ``s``
prevents the failure if ``T >= s``, renews the machine and throws away the ``T - s`` periods of life
left; if ``T < s`` the machine fails, is repaired as new, and the window is not charged (it was the
repair's slot). So, with ``F`` the failure-time CDF, the expected cost of machine ``i`` maintained
at ``s`` is::

    F(s) * failure_total + (1 - F(s)) * maintenance_cost
    + forfeited_period_cost * E[(T - s) * 1{T >= s}]

and, without maintenance within the horizon ``H``, ``F(H) * failure_total``; what happens after the
horizon is not costed. The expected number of failures is ``F(s)`` or ``F(H)``. An order whose last
operation ends at period ``C`` is ``max(0, C - due)`` periods late, each costing its ``weight``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from valueloop.optimize.joint.problem import LineProblem

Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class MachineRisk:
    """Expected money and failures of each machine for each maintenance start, same shape.

    Attributes:
        maintenance: expected planned-maintenance cost (charged when no failure came first).
        failure: expected failure cost, repair and unplanned stop included.
        forfeited: expected cost of the life thrown away by maintaining early.
        failures: probability of failing before the window (the expected number of failures).
    """

    maintenance: Matrix
    failure: Matrix
    forfeited: Matrix
    failures: Matrix

    def total(self) -> Matrix:
        """Expected cost of each machine and start, money."""
        return self.maintenance + self.failure + self.forfeited


def machine_risk(problem: LineProblem, starts: NDArray[np.float64]) -> MachineRisk:
    """Expected costs of maintaining each machine at ``starts`` (periods; NaN = not maintained).

    ``starts`` has one row per machine (shape ``(machines, k)``); a NaN start means no maintenance
    within the horizon.
    """
    life = problem.failure_times()
    machines = problem.machines
    failure_total = np.array([m.failure_total() for m in machines])[:, None]
    maintenance_cost = np.array([m.maintenance_cost for m in machines])[:, None]
    forfeit_rate = np.array([m.forfeited_period_cost() for m in machines])[:, None]
    idle = np.isnan(starts)
    at = np.where(idle, float(problem.horizon), starts)
    failed = np.clip(life.cdf(at), 0.0, 1.0)
    survived = 1.0 - failed
    left = np.maximum(life.partial_expectation(at) - at * survived, 0.0)
    return MachineRisk(
        maintenance=np.where(idle, 0.0, survived * maintenance_cost),
        failure=failed * failure_total,
        forfeited=np.where(idle, 0.0, left * forfeit_rate),
        failures=failed,
    )


def start_grid(problem: LineProblem) -> Matrix:
    """Every period a window could start at, per machine: ``(machines, horizon)``, NaN if too late.

    A window of machine ``i`` may start at ``0 .. horizon - maintenance_duration``.
    """
    periods = np.arange(problem.horizon, dtype=np.float64)
    last = np.array([problem.horizon - m.maintenance_duration for m in problem.machines])
    return np.where(periods[None, :] <= last[:, None], periods[None, :], np.nan)


@dataclass(frozen=True)
class LineCosts:
    """The expected cost of a line plan and its parts, in money, periods and failures.

    Attributes:
        total: tardiness plus expected maintenance, failure and forfeited-life cost.
        tardiness_cost: weighted tardiness of the orders.
        tardiness: periods late, summed over orders.
        tardy_orders: orders finishing after their due period.
        maintenance_cost: expected cost of the planned maintenance windows.
        failure_cost: expected cost of failures (repair and unplanned stop).
        forfeited_cost: expected cost of life thrown away by early maintenance.
        expected_failures: sum over machines of the probability of failing before maintenance.
        windows: number of maintenance windows planned.
    """

    total: float
    tardiness_cost: float
    tardiness: int
    tardy_orders: int
    maintenance_cost: float
    failure_cost: float
    forfeited_cost: float
    expected_failures: float
    windows: int

    def as_dict(self) -> dict[str, float]:
        """The figures by name."""
        return {name: float(value) for name, value in asdict(self).items()}


def maintenance_starts(problem: LineProblem, assignments: pa.Table) -> NDArray[np.float64]:
    """Start of each machine's maintenance window in a plan, in problem order; NaN where none."""
    rows = assignments.filter(pc.equal(assignments["kind"], "maintenance"))
    starts = np.full(len(problem.machines), np.nan)
    index = problem.machine_index()
    for machine, start in zip(rows["machine"].to_pylist(), rows["start"].to_pylist(), strict=True):
        if start is not None and machine in index:
            starts[index[machine]] = float(start)
    return starts


def order_completions(problem: LineProblem, assignments: pa.Table) -> NDArray[np.int64]:
    """Period at which each order's last operation ends, in problem order (-1 if unscheduled)."""
    rows = assignments.filter(pc.equal(assignments["kind"], "operation"))
    grouped = rows.group_by("order").aggregate([("end", "max")])
    end_of = dict(zip(grouped["order"].to_pylist(), grouped["end_max"].to_pylist(), strict=True))
    return np.array([end_of.get(order.name, -1) for order in problem.orders], dtype=np.int64)


def evaluate_line_plan(problem: LineProblem, assignments: pa.Table) -> LineCosts:
    """Score a schedule (the assignments of a line plan) by the formulas of this module.

    Both the joint and the sequential plans are scored by this one function, from the schedule
    alone: the solvers' own objectives are not used.
    """
    starts = maintenance_starts(problem, assignments)
    risk = machine_risk(problem, starts[:, None])
    due = np.array([order.due for order in problem.orders], dtype=np.int64)
    weight = np.array([order.weight for order in problem.orders])
    late = np.maximum(order_completions(problem, assignments) - due, 0)
    tardiness_cost = float(np.dot(weight, late))
    return LineCosts(
        total=tardiness_cost + float(risk.total().sum()),
        tardiness_cost=tardiness_cost,
        tardiness=int(late.sum()),
        tardy_orders=int(np.count_nonzero(late)),
        maintenance_cost=float(risk.maintenance.sum()),
        failure_cost=float(risk.failure.sum()),
        forfeited_cost=float(risk.forfeited.sum()),
        expected_failures=float(risk.failures.sum()),
        windows=int(np.count_nonzero(~np.isnan(starts))),
    )
