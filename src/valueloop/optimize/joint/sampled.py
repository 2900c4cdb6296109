"""Line plans played against sampled failure times: a check on the expected-cost model.

:func:`~valueloop.optimize.joint.costs.evaluate_line_plan` prices a plan by expectations over each
machine's failure-time distribution, the very model the joint scheduler minimises. Here failure
times are drawn (seeded) from the same distributions
(:meth:`~valueloop.optimize.joint.problem.LineProblem.failure_times`: split normals truncated at
0) and each plan is carried out against every draw:

- a machine whose failure time ``T`` comes before its window's start (or within the horizon, if
  it has none) fails at ``T``: the failure costs ``failure_total`` as in the model, the planned
  window is dropped (the repair renews the machine), and the machine is stopped over
  ``[floor(T), floor(T) + repair_duration)``;
- otherwise the window is carried out as planned, costing ``maintenance_cost`` and the life it
  throws away, ``(T - start) * forfeited_period_cost``;
- the operations keep their planned sequence on each machine and are only ever delayed: each
  starts at its planned period or, if later, once its order's previous step and its machine's
  previous operation have ended, and after any stop or window it would overlap. The orders'
  tardiness is scored on these realised ends.

So the realised cost differs from the model's in the lateness a failure's stop causes to the
orders, which the expected-cost model does not see, and by sampling noise. Both plans meet the
same draws (common random numbers), so their difference is measured sample by sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from valueloop.errors import OptimizeError
from valueloop.optimize.joint.costs import maintenance_starts
from valueloop.optimize.joint.problem import LineProblem

Z_95 = 1.959963984540054
"""Standard normal quantile of a two-sided 95 % interval."""


def sample_failure_times(problem: LineProblem, samples: int, seed: int) -> NDArray[np.float64]:
    """``(samples, machines)`` failure times in periods from now, drawn from the line's model.

    Each half of a machine's split normal holds half the mass; draws at or below 0 are drawn
    again, which is the truncation at 0 (the machine is running now).
    """
    if samples < 1:
        raise OptimizeError(f"samples must be at least 1, not {samples}")
    life = problem.failure_times()
    rng = np.random.default_rng(seed)
    shape = (samples, len(problem.machines))
    times = np.full(shape, np.nan)
    pending = np.ones(shape, dtype=bool)
    while pending.any():
        size = int(pending.sum())
        columns = np.nonzero(pending)[1]
        spread = np.abs(rng.standard_normal(size))
        below = rng.random(size) < 0.5
        drawn = (
            life.median[columns]
            + np.where(below, -life.scale_below[columns], life.scale_above[columns]) * spread
        )
        times[pending] = drawn
        pending[pending] = drawn <= 0
    return times


@dataclass(frozen=True)
class _Schedule:
    """A plan's operations in planned-start order, as arrays, and its windows."""

    start: NDArray[np.int64]
    duration: NDArray[np.int64]
    machine: NDArray[np.int64]
    order: NDArray[np.int64]
    windows: NDArray[np.float64]

    @classmethod
    def of(cls, problem: LineProblem, assignments: pa.Table) -> _Schedule:
        rows = assignments.filter(pc.equal(assignments["kind"], "operation"))
        rows = rows.sort_by([("start", "ascending"), ("order", "ascending"), ("step", "ascending")])
        machine_of = problem.machine_index()
        order_of = {order.name: index for index, order in enumerate(problem.orders)}
        start = np.asarray(rows["start"].to_numpy(), dtype=np.int64)
        return cls(
            start=start,
            duration=np.asarray(rows["end"].to_numpy(), dtype=np.int64) - start,
            machine=np.array([machine_of[m] for m in rows["machine"].to_pylist()], np.int64),
            order=np.array([order_of[o] for o in rows["order"].to_pylist()], np.int64),
            windows=maintenance_starts(problem, assignments),
        )

    def completions(self, orders: int, blocked: list[list[tuple[int, int]]]) -> NDArray[np.int64]:
        """Each order's end when every operation is delayed past ``blocked`` periods per machine."""
        machine_free = [0] * len(blocked)
        order_ready = [0] * orders
        for start, duration, machine, order in zip(
            self.start.tolist(),
            self.duration.tolist(),
            self.machine.tolist(),
            self.order.tolist(),
            strict=True,
        ):
            at = max(start, order_ready[order], machine_free[machine])
            for first, end in blocked[machine]:
                if at < end and at + duration > first:
                    at = end
            machine_free[machine] = order_ready[order] = at + duration
        return np.array(order_ready, dtype=np.int64)


@dataclass(frozen=True)
class RealisedCosts:
    """What a plan cost against each sampled draw of failure times (one entry per draw).

    Attributes:
        total: tardiness plus maintenance, failure and forfeited-life cost (money).
        knock_on: tardiness cost added by failures' stops over the plan's own (money).
        failures: machines that failed.
    """

    total: NDArray[np.float64]
    knock_on: NDArray[np.float64]
    failures: NDArray[np.int64]


def realised_costs(
    problem: LineProblem, assignments: pa.Table, failure_times: NDArray[np.float64]
) -> RealisedCosts:
    """Carry out a plan against each row of ``failure_times`` (periods, one column per machine)."""
    schedule = _Schedule.of(problem, assignments)
    machines = problem.machines
    horizon = float(problem.horizon)
    due = np.array([order.due for order in problem.orders], dtype=np.int64)
    weight = np.array([order.weight for order in problem.orders])
    windows = schedule.windows[None, :]
    failed = failure_times < np.where(np.isnan(windows), horizon, windows)
    kept = ~failed & ~np.isnan(windows)
    failure_total = np.array([m.failure_total() for m in machines])
    maintenance = np.array([m.maintenance_cost for m in machines])
    forfeit = np.array([m.forfeited_period_cost() for m in machines])
    life_left = np.where(kept, failure_times - np.nan_to_num(windows), 0.0)
    machine_cost = (
        failed @ failure_total + kept @ maintenance + (life_left * forfeit[None, :]).sum(axis=1)
    )

    def tardiness(blocked: list[list[tuple[int, int]]]) -> float:
        late = np.maximum(schedule.completions(len(due), blocked) - due, 0)
        return float(np.dot(weight, late))

    planned_windows = [
        [] if math.isnan(s) else [(int(s), int(s) + m.maintenance_duration)]
        for s, m in zip(schedule.windows.tolist(), machines, strict=True)
    ]
    planned = tardiness(planned_windows)
    knock_on = np.zeros(failure_times.shape[0])
    for draw in np.flatnonzero(failed.any(axis=1)):
        blocked = [
            [(math.floor(t), math.floor(t) + m.repair_duration)] if fails else window
            for t, fails, m, window in zip(
                failure_times[draw].tolist(),
                failed[draw].tolist(),
                machines,
                planned_windows,
                strict=True,
            )
        ]
        knock_on[draw] = tardiness(blocked) - planned
    return RealisedCosts(
        total=planned + knock_on + machine_cost,
        knock_on=knock_on,
        failures=failed.sum(axis=1).astype(np.int64),
    )


@dataclass(frozen=True)
class SampledSaving:
    """A plan's saving over a baseline plan, measured on sampled failure times.

    Attributes:
        samples: draws of every machine's failure time.
        seed: seed of the draws.
        baseline_cost: mean realised cost of the baseline plan (money).
        plan_cost: mean realised cost of the plan (money).
        saving: mean of the baseline's cost minus the plan's, draw by draw (money).
        saving_interval: 95 % interval of :attr:`saving` (money).
        saving_percent: :attr:`saving` as a percentage of :attr:`baseline_cost`.
        saving_percent_interval: its 95 % interval (delta method for a ratio of means).
        baseline_failures: mean failures per draw under the baseline plan.
        plan_failures: mean failures per draw under the plan.
        baseline_knock_on: mean tardiness cost failures add to the baseline plan (money).
        plan_knock_on: mean tardiness cost failures add to the plan (money).
    """

    samples: int
    seed: int
    baseline_cost: float
    plan_cost: float
    saving: float
    saving_interval: tuple[float, float]
    saving_percent: float
    saving_percent_interval: tuple[float, float]
    baseline_failures: float
    plan_failures: float
    baseline_knock_on: float
    plan_knock_on: float


def sampled_saving(
    problem: LineProblem,
    baseline: pa.Table,
    plan: pa.Table,
    *,
    samples: int = 10_000,
    seed: int = 0,
) -> SampledSaving:
    """The saving of ``plan`` over ``baseline`` (assignments of two line plans) on the same
    ``samples`` seeded draws of failure times, with 95 % intervals."""
    times = sample_failure_times(problem, samples, seed)
    before, after = realised_costs(problem, baseline, times), realised_costs(problem, plan, times)
    difference = before.total - after.total
    mean_before, mean_difference = float(before.total.mean()), float(difference.mean())
    spread = Z_95 / math.sqrt(samples)
    half = spread * float(difference.std(ddof=1)) if samples > 1 else math.nan
    ratio = mean_difference / mean_before if mean_before > 0 else math.nan
    residual = difference - ratio * before.total
    ratio_half = spread * float(residual.std(ddof=1)) / mean_before if samples > 1 else math.nan
    return SampledSaving(
        samples=samples,
        seed=seed,
        baseline_cost=mean_before,
        plan_cost=float(after.total.mean()),
        saving=mean_difference,
        saving_interval=(mean_difference - half, mean_difference + half),
        saving_percent=100.0 * ratio,
        saving_percent_interval=(100.0 * (ratio - ratio_half), 100.0 * (ratio + ratio_half)),
        baseline_failures=float(before.failures.mean()),
        plan_failures=float(after.failures.mean()),
        baseline_knock_on=float(before.knock_on.mean()),
        plan_knock_on=float(after.knock_on.mean()),
    )
