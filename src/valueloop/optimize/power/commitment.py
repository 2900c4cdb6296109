"""Unit commitment and economic dispatch of a fleet as a MILP (or LP) solved with HiGHS.

For each unit ``g`` and hour ``t`` the model has binaries ``on``, ``start`` and ``stop``, the output
``mw`` split into the segments of the unit's convex piecewise-linear cost curve, and the unit's
share of spinning reserve. Rows (rules in :mod:`.fleet`):

- output: ``mw = min_mw * on + sum(segment)``, each ``segment <= length * on``;
- capacity: ``mw + reserve <= available * on``, ``reserve <= ramp_up_mw``;
- logic: ``start - stop = on[t] - on[t-1]``, the hour before the horizon from ``initial``;
- minimum up time: ``sum(start over the last min_up_hours) <= on[t]``; minimum down time:
  ``sum(stop over the last min_down_hours) <= 1 - on[t]``; hours still bound by the initial
  state's up or down time are fixed;
- ramps: ``mw[t] - mw[t-1] <= ramp_up * on[t-1] + max(min_mw, ramp_up) * start[t]`` and
  ``mw[t-1] - mw[t] <= ramp_down * on[t] + max(min_mw, ramp_down) * stop[t]``;
- balance: ``sum(mw) = demand`` and ``sum(reserve) >= reserve_mw`` in every hour.

The cost is ``cost(min_mw) * on + sum(slope * segment) + start_cost * start`` (money). Economic
dispatch is the same model with every unit's commitment fixed: an LP.

Infeasibility is reported, not returned as an empty plan: hours whose demand (plus reserve) exceeds
the fleet's available capacity are named before solving; otherwise, when HiGHS proves the model
infeasible, an elastic copy (balance rows with shortfall and surplus columns, minimising their sum)
names the hours that cannot be balanced under the ramps, up/down times and initial states.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from valueloop.errors import OptimizeError
from valueloop.optimize.base import Plan, SearchSettings, solved_plan
from valueloop.optimize.power.fleet import DispatchProblem
from valueloop.optimize.power.highs import LinearProgram, ProgressCallback, Solution, solver_name

DISPATCH_SCHEMA = pa.schema(
    [
        pa.field("unit", pa.string(), nullable=False),
        pa.field("hour", pa.int32(), nullable=False),
        pa.field("on", pa.bool_(), nullable=False),
        pa.field("start", pa.bool_(), nullable=False),
        pa.field("mw", pa.float64(), nullable=False),
        pa.field("reserve_mw", pa.float64(), nullable=False),
        pa.field("cost", pa.float64(), nullable=False),
    ]
)
"""Columns of :attr:`Plan.assignments` of a dispatch plan, one row per unit and hour (unit-major):
whether the unit is ``on`` and ``start``\\ s in that hour, its output ``mw`` and spinning
``reserve_mw`` (MW), and its ``cost`` in that hour, start included (money)."""

_ON_THRESHOLD = 0.5  # a binary's value above which it counts as 1


@dataclass(frozen=True)
class _Columns:
    on: NDArray[np.int64]  # (units, hours)
    start: NDArray[np.int64]
    stop: NDArray[np.int64]
    mw: NDArray[np.int64]
    reserve: NDArray[np.int64]
    segments: list[tuple[NDArray[np.int64], NDArray[np.float64]]]  # per unit: (hours, k), slopes


@dataclass(frozen=True)
class _Model:
    program: LinearProgram
    columns: _Columns
    slack: NDArray[np.int64] | None  # elastic model: (shortfall, surplus, reserve short) x hours


def _fixed_on(problem: DispatchProblem, available: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forced state of each unit-hour: 1 on, 0 off, NaN free (commitment, capacity, initial)."""
    fixed = np.full((len(problem.units), problem.hours), np.nan)
    for g, unit in enumerate(problem.units):
        if unit.commitment is not None:
            fixed[g] = np.asarray(unit.commitment, np.float64)
            continue
        fixed[g, available[g] < unit.min_mw] = 0.0
        state = unit.initial
        held = (unit.min_up_hours if state.committed else unit.min_down_hours) - state.hours
        fixed[g, : max(held, 0)] = 1.0 if state.committed else 0.0
    return fixed


def _build(problem: DispatchProblem, *, elastic: bool) -> _Model:
    """The MILP of the module documentation; ``elastic`` swaps costs for balance slacks."""
    units, hours = len(problem.units), problem.hours
    available = problem.available_mw()
    fixed = _fixed_on(problem, available)
    weight = 0.0 if elastic else 1.0
    # All fixed: the logic and up/down rows then force start and stop to 0 or 1, an LP remains.
    discrete = bool(np.isnan(fixed).any())
    lp = LinearProgram()
    minimum = np.array([u.min_mw for u in problem.units])[:, None]
    noload = np.array([u.cost_points()[1][0] for u in problem.units])[:, None]
    start_cost = np.array([u.start_cost for u in problem.units])[:, None]
    on = lp.add_columns(
        (units, hours),
        lower=np.where(np.isnan(fixed), 0.0, fixed),
        upper=np.where(np.isnan(fixed), 1.0, fixed),
        cost=weight * noload,
        integer=discrete,
    )
    start = lp.add_columns((units, hours), upper=1.0, cost=weight * start_cost, integer=discrete)
    stop = lp.add_columns((units, hours), upper=1.0, integer=discrete)
    mw = lp.add_columns((units, hours))
    ramp_up = np.array([u.ramp_up() for u in problem.units])[:, None]
    ramp_down = np.array([u.ramp_down() for u in problem.units])[:, None]
    reserve = lp.add_columns((units, hours), upper=ramp_up if problem.reserve_mw else 0.0)

    segments = []
    for g, unit in enumerate(problem.units):
        points_mw, points_cost = unit.cost_points()
        lengths, slopes = np.diff(points_mw), np.diff(points_cost) / np.diff(points_mw)
        block = lp.add_columns((hours, lengths.size), upper=lengths, cost=weight * slopes)
        lp.add_rows([(1.0, block), (-lengths, on[g][:, None])], upper=0.0)
        lp.add_rows(
            [
                (1.0, mw[g]),
                (-unit.min_mw, on[g]),
                *((-1.0, block[:, k]) for k in range(lengths.size)),
            ],
            lower=0.0,
            upper=0.0,
        )
        segments.append((block, slopes))

    lp.add_rows([(1.0, mw), (1.0, reserve), (-available, on)], upper=0.0)

    initial_on = np.array([u.initial.committed for u in problem.units], np.float64)
    initial_mw = np.array([u.initial.mw for u in problem.units], np.float64)
    previous_on = np.concatenate([np.full((units, 1), -1), on[:, :-1]], axis=1)
    previous_mw = np.concatenate([np.full((units, 1), -1), mw[:, :-1]], axis=1)
    first = np.zeros((units, hours))
    first[:, 0] = 1.0
    # start - stop - on[t] + on[t-1] = 0, with on[-1] a constant moved to the right-hand side
    lp.add_rows(
        [(1.0, start), (-1.0, stop), (-1.0, on), (1.0, previous_on)],
        lower=-first * initial_on[:, None],
        upper=-first * initial_on[:, None],
    )
    for g, unit in enumerate(problem.units):
        for window, column, sign in (
            (unit.min_up_hours, start, 1.0),
            (unit.min_down_hours, stop, -1.0),
        ):
            lags = [
                (1.0, np.concatenate([np.full(lag, -1), column[g, : hours - lag]]))
                for lag in range(min(window, hours))
            ]
            lp.add_rows([*lags, (-sign, on[g])], upper=0.0 if sign > 0 else 1.0)

    start_ramp = np.maximum(minimum, ramp_up)
    stop_ramp = np.maximum(minimum, ramp_down)
    carried_mw = first * initial_mw[:, None]
    carried_on = first * initial_on[:, None]
    lp.add_rows(
        [(1.0, mw), (-1.0, previous_mw), (-ramp_up, previous_on), (-start_ramp, start)],
        upper=carried_mw + ramp_up * carried_on,
    )
    lp.add_rows(
        [(1.0, previous_mw), (-1.0, mw), (-ramp_down, on), (-stop_ramp, stop)],
        upper=-carried_mw,
    )

    columns = _Columns(on, start, stop, mw, reserve, segments)
    demand, required = problem.demand(), problem.reserve()
    balance = [(1.0, mw[g]) for g in range(units)]
    cover = [(1.0, reserve[g]) for g in range(units)]
    slack = None
    if elastic:
        slack = lp.add_columns((3, hours), cost=1.0)
        balance += [(1.0, slack[0]), (-1.0, slack[1])]
        cover += [(1.0, slack[2])]
    lp.add_rows(balance, lower=demand, upper=demand)
    if problem.reserve_mw is not None:
        lp.add_rows(cover, lower=required)
    return _Model(lp, columns, slack)


def _check_capacity(problem: DispatchProblem) -> None:
    """Raise if some hour's demand, or demand plus reserve, exceeds what the fleet can give."""
    available = problem.available_mw()
    fixed = _fixed_on(problem, available)
    capacity = np.where(fixed == 0.0, 0.0, available).sum(axis=0)
    reserve_capacity = np.where(
        fixed == 0.0, 0.0, np.minimum(available, [[u.ramp_up()] for u in problem.units])
    ).sum(axis=0)
    demand, required = problem.demand(), problem.reserve()
    reasons = []
    for hour in np.flatnonzero(demand > capacity + 1e-9):
        reasons.append(
            f"hour {hour}: demand {demand[hour]:g} MW exceeds the {capacity[hour]:g} MW the "
            "fleet can produce in that hour (ambient derating and fixed commitments included)"
        )
    for hour in np.flatnonzero((demand <= capacity + 1e-9) & (demand + required > capacity + 1e-9)):
        reasons.append(
            f"hour {hour}: demand {demand[hour]:g} MW plus reserve {required[hour]:g} MW exceeds "
            f"the fleet's {capacity[hour]:g} MW"
        )
    for hour in np.flatnonzero(required > reserve_capacity + 1e-9):
        reasons.append(
            f"hour {hour}: reserve {required[hour]:g} MW exceeds the {reserve_capacity[hour]:g} MW "
            "the units can hold within their ramp-up limits"
        )
    if reasons:
        raise OptimizeError(
            f"dispatch problem {problem.name!r} is infeasible:\n  " + "\n  ".join(reasons)
        )


def _diagnose(problem: DispatchProblem, *, time_limit: float, threads: int, seed: int) -> str:
    """Name the hours the elastic model cannot balance, with the missing or surplus MW."""
    model = _build(problem, elastic=True)
    solution = model.program.solve(time_limit=time_limit, threads=threads, seed=seed)
    if solution.status == "INFEASIBLE":
        return (
            "no balancing of the hours helps: fixed commitments contradict the minimum up/down "
            "times, the initial states or the units' capacity"
        )
    if not solution.solved or model.slack is None:
        return "no diagnosis within the time limit"
    slack = solution.values[model.slack]
    labels = (
        "MW of demand cannot be served",
        "MW of output cannot be absorbed",
        "MW of reserve cannot be held",
    )
    found = [
        f"hour {hour}: {slack[kind, hour]:.6g} {labels[kind]}"
        for hour in range(problem.hours)
        for kind in range(3)
        if slack[kind, hour] > 1e-6
    ]
    return "\n  ".join(found) or "the elastic model balances every hour: a numerical difficulty"


@dataclass(frozen=True, kw_only=True)
class UnitCommitment(SearchSettings):
    """Commits and dispatches a fleet at least cost with HiGHS (MILP; LP when all is fixed).

    Attributes:
        workers: HiGHS threads (one by default); the other search settings are
            :class:`~valueloop.optimize.base.SearchSettings`'.
        on_progress: called with elapsed seconds, incumbent cost and bound on each better plan.
    """

    workers: int = 1
    on_progress: ProgressCallback | None = None

    def solve(self, problem: DispatchProblem) -> Plan:
        """Commit and dispatch ``problem``; assignments follow :data:`DISPATCH_SCHEMA`.

        Raises :class:`~valueloop.errors.OptimizeError` naming the hours that cannot be balanced
        when the problem is infeasible, or when no plan is found within ``time_limit``.
        """
        started = time.perf_counter()
        _check_capacity(problem)
        model = _build(problem, elastic=False)
        remaining = self.time_limit - (time.perf_counter() - started)
        if remaining <= 0:
            raise OptimizeError(
                f"building the model of {len(problem.units)} units x {problem.hours} hours took "
                f"longer than time_limit={self.time_limit} s: raise time_limit"
            )
        solution = model.program.solve(
            time_limit=remaining, threads=self.workers, seed=self.seed, on_progress=self.on_progress
        )
        if solution.status == "INFEASIBLE":
            remaining = max(self.time_limit - (time.perf_counter() - started), 1.0)
            reasons = _diagnose(problem, time_limit=remaining, threads=self.workers, seed=self.seed)
            raise OptimizeError(
                f"dispatch problem {problem.name!r} is infeasible under its ramp limits, minimum "
                f"up/down times, initial states and fixed commitments:\n  {reasons}"
            )
        if not solution.solved:
            raise OptimizeError(
                f"HiGHS found no dispatch plan (status {solution.status}) within "
                f"{self.time_limit} s: raise time_limit"
            )
        return _plan(problem, model.columns, solution)


@dataclass(frozen=True, kw_only=True)
class EconomicDispatch(UnitCommitment):
    """Dispatches a fleet whose commitment is fixed for every unit and hour: an LP in HiGHS.

    Fix a commitment with :meth:`DispatchProblem.with_commitment`, e.g. from a unit-commitment
    plan's ``on`` column.
    """

    def solve(self, problem: DispatchProblem) -> Plan:
        """Dispatch ``problem``; raise :class:`~valueloop.errors.OptimizeError` if a unit is free.

        Assignments follow :data:`DISPATCH_SCHEMA`.
        """
        free = [unit.name for unit in problem.units if unit.commitment is None]
        if free:
            raise OptimizeError(
                f"economic dispatch needs every unit's commitment; free: {', '.join(free)}. "
                "Fix them with DispatchProblem.with_commitment or use UnitCommitment"
            )
        return super().solve(problem)


def _plan(problem: DispatchProblem, columns: _Columns, solution: Solution) -> Plan:
    """The plan of a solved model: one row per unit and hour, costs recomputed per hour."""
    values = solution.values
    on = values[columns.on] > _ON_THRESHOLD
    start = values[columns.start] > _ON_THRESHOLD
    mw = np.where(on, values[columns.mw], 0.0)
    reserve = np.where(on, values[columns.reserve], 0.0)
    cost = np.zeros_like(mw)
    for g, unit in enumerate(problem.units):
        block, slopes = columns.segments[g]
        cost[g] = (
            on[g] * unit.cost_points()[1][0] + values[block] @ slopes + start[g] * unit.start_cost
        )
    units, hours = mw.shape
    assignments = pa.table(
        {
            "unit": np.repeat([unit.name for unit in problem.units], hours),
            "hour": np.tile(np.arange(hours, dtype=np.int32), units),
            "on": on.ravel(),
            "start": start.ravel(),
            "mw": mw.ravel(),
            "reserve_mw": reserve.ravel(),
            "cost": cost.ravel(),
        },
        schema=DISPATCH_SCHEMA,
    )
    return solved_plan(
        status=solution.status,
        objective=solution.objective,
        bound=max(solution.bound, 0.0),  # costs are non-negative
        solve_seconds=solution.seconds,
        assignments=assignments,
        solver=solver_name(),
        log=solution.log,
    )
