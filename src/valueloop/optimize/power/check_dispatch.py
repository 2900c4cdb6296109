"""An independent check of a dispatch plan against the fleet's rules (see :mod:`.fleet`).

Written from the rules, not from the optimiser's model: it reads the plan's table, recomputes each
unit's state changes, ramps and run lengths hour by hour, the cost from the cost curve's
breakpoints, and compares. An empty list means the plan is feasible.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from valueloop.optimize.base import SOLVED_STATUSES, Plan
from valueloop.optimize.power.commitment import DISPATCH_SCHEMA
from valueloop.optimize.power.fleet import DispatchProblem, Unit

MW_TOLERANCE = 1e-4
"""Largest breach of a limit, in MW, that counts as numerical noise."""


def _grid(table: pa.Table, column: str, units: list[str], hours: int) -> NDArray[np.float64]:
    """A column of the plan as a (units, hours) array in problem order."""
    grid = np.full((len(units), hours), np.nan)
    position = {name: g for g, name in enumerate(units)}
    rows = np.array([position.get(name, -1) for name in table["unit"].to_pylist()])
    hour = table["hour"].to_numpy()
    keep = (rows >= 0) & (hour >= 0) & (hour < hours)
    grid[rows[keep], hour[keep]] = table[column].to_numpy(zero_copy_only=False)[keep]
    return grid


def _run_lengths(unit: Unit, on: NDArray[np.bool_]) -> list[str]:
    """Breaches of the minimum up and down times, the initial state's run included."""
    violations = []
    state, length = unit.initial.committed, unit.initial.hours
    runs: list[tuple[bool, int, int]] = []  # (state, length, last hour)
    for hour, now in enumerate(on.tolist()):
        if now == state:
            length += 1
            continue
        runs.append((state, length, hour - 1))
        state, length = now, 1
    for was_on, length, last in runs:
        needed = unit.min_up_hours if was_on else unit.min_down_hours
        if length < needed:
            kind = "on" if was_on else "off"
            violations.append(
                f"unit {unit.name}: {kind} for {length} h up to hour {last}, "
                f"less than its minimum of {needed} h"
            )
    return violations


def _ramps(unit: Unit, on: NDArray[np.bool_], mw: NDArray[np.float64]) -> list[str]:
    """Breaches of the ramp limits between consecutive hours, the hour before included."""
    before_on = np.concatenate([[unit.initial.committed], on[:-1]])
    before_mw = np.concatenate([[unit.initial.mw], mw[:-1]])
    violations = []
    for hour in range(on.size):
        if on[hour] and before_on[hour]:
            rise, fall = mw[hour] - before_mw[hour], before_mw[hour] - mw[hour]
            if rise > unit.ramp_up() + MW_TOLERANCE:
                violations.append(f"unit {unit.name}, hour {hour}: rises {rise:.3f} MW in an hour")
            if fall > unit.ramp_down() + MW_TOLERANCE:
                violations.append(f"unit {unit.name}, hour {hour}: falls {fall:.3f} MW in an hour")
        elif on[hour] and mw[hour] > max(unit.min_mw, unit.ramp_up()) + MW_TOLERANCE:
            violations.append(f"unit {unit.name}, hour {hour}: starts at {mw[hour]:.3f} MW")
        elif before_on[hour] and not on[hour]:
            limit = max(unit.min_mw, unit.ramp_down())
            if before_mw[hour] > limit + MW_TOLERANCE:
                violations.append(
                    f"unit {unit.name}, hour {hour}: stops from {before_mw[hour]:.3f} MW, "
                    f"above {limit} MW"
                )
    return violations


def validate_dispatch_plan(problem: DispatchProblem, plan: Plan) -> list[str]:
    """Check a dispatch plan against the problem's rules; list the violations.

    Checks the status and columns, one row per unit and hour, the demand balance and the reserve
    in every hour, each unit's output within its limits (ambient derating included) and zero when
    off, fixed commitments, starts consistent with the on/off sequence, minimum up and down times,
    ramps, and that the objective equals the cost recomputed from the cost curves and starts.
    """
    violations: list[str] = []
    if plan.status not in SOLVED_STATUSES:
        violations.append(f"status {plan.status!r} is not a solved status")
    table = plan.assignments
    missing = [f.name for f in DISPATCH_SCHEMA if f.name not in table.column_names]
    if missing:
        return [*violations, f"assignments lack column(s) {', '.join(missing)}"]
    names = [unit.name for unit in problem.units]
    hours = problem.hours
    if table.num_rows != len(names) * hours:
        violations.append(f"{table.num_rows} rows, expected {len(names)} units x {hours} hours")
    mw, reserve = (_grid(table, column, names, hours) for column in ("mw", "reserve_mw"))
    on_grid, start_grid = (_grid(table, column, names, hours) for column in ("on", "start"))
    if np.isnan(mw).any() or np.isnan(on_grid).any():
        return [*violations, "some unit-hours have no row"]
    on, start = on_grid > 0.5, start_grid > 0.5

    demand, required = problem.demand(), problem.reserve()
    produced = mw.sum(axis=0)
    for hour in np.flatnonzero(np.abs(produced - demand) > MW_TOLERANCE * len(names)):
        violations.append(f"hour {hour}: output {produced[hour]:.3f} MW, demand {demand[hour]} MW")
    available = problem.available_mw()
    headroom = np.where(on, np.minimum(available - mw, reserve), 0.0)
    for hour in np.flatnonzero(headroom.sum(axis=0) < required - MW_TOLERANCE * len(names)):
        violations.append(
            f"hour {hour}: reserve {headroom[:, hour].sum():.3f} MW, required {required[hour]} MW"
        )
    cost = 0.0
    for g, unit in enumerate(problem.units):
        low = np.where(on[g], unit.min_mw, 0.0) - MW_TOLERANCE
        high = np.where(on[g], available[g], 0.0) + MW_TOLERANCE
        for hour in np.flatnonzero((mw[g] < low) | (mw[g] > high)):
            violations.append(
                f"unit {unit.name}, hour {hour}: {mw[g, hour]:.3f} MW outside "
                f"{max(low[hour], 0):.3f}..{high[hour]:.3f} MW"
            )
        over_ramp = reserve[g] > unit.ramp_up() + MW_TOLERANCE
        for hour in np.flatnonzero(over_ramp | (reserve[g] < -MW_TOLERANCE)):
            violations.append(f"unit {unit.name}, hour {hour}: reserve {reserve[g, hour]:.3f} MW")
        if unit.commitment is not None:
            for hour in np.flatnonzero(on[g] != np.asarray(unit.commitment)):
                violations.append(f"unit {unit.name}, hour {hour}: commitment not as fixed")
        started = on[g] & ~np.concatenate([[unit.initial.committed], on[g, :-1]])
        for hour in np.flatnonzero(started != start[g]):
            violations.append(f"unit {unit.name}, hour {hour}: start flag disagrees with on/off")
        violations.extend(_run_lengths(unit, on[g]))
        violations.extend(_ramps(unit, on[g], mw[g]))
        points_mw, points_cost = unit.cost_points()
        running = np.interp(mw[g], points_mw, points_cost)
        cost += float(np.where(on[g], running, 0.0).sum() + started.sum() * unit.start_cost)
    if not math.isclose(plan.objective, cost, rel_tol=1e-6, abs_tol=1e-3):
        violations.append(f"objective {plan.objective} differs from the recomputed cost {cost}")
    return violations
