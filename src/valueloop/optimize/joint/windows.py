"""The maintenance windows each machine may get, and what each costs.

The two schedulers differ only here: the joint model offers every start whose expected cost is
below leaving the machine alone (:func:`worthwhile_windows`); the sequential baseline fixes each
window where the machine's expected cost alone is least (:func:`failure_optimal_starts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from valueloop.optimize.joint.costs import machine_risk, start_grid
from valueloop.optimize.joint.problem import LineProblem


@dataclass(frozen=True)
class WindowChoices:
    """Candidate maintenance starts of each machine, in problem order.

    Attributes:
        starts: periods the window may start at, per machine.
        optional: per machine, whether leaving it without a window is allowed.
    """

    starts: tuple[tuple[int, ...], ...]
    optional: tuple[bool, ...]


@dataclass(frozen=True)
class WindowCosts:
    """Expected cost of each machine's options, in money.

    Attributes:
        start: ``(machines, horizon)``, of a window starting at each period (NaN: does not fit).
        idle: ``(machines,)``, of no window within the horizon.
    """

    start: NDArray[np.float64]
    idle: NDArray[np.float64]


def window_costs(problem: LineProblem) -> WindowCosts:
    """Expected cost of every start of every machine's window, and of no window."""
    grid = start_grid(problem)
    idle = np.full((len(problem.machines), 1), np.nan)
    start = np.where(np.isnan(grid), np.nan, machine_risk(problem, grid).total())
    return WindowCosts(start=start, idle=machine_risk(problem, idle).total()[:, 0])


def plan_windows(starts: Sequence[float]) -> WindowChoices:
    """Window choices fixing each machine's window at ``starts`` (NaN: no window)."""
    fixed = [() if np.isnan(s) else (int(s),) for s in starts]
    return WindowChoices(starts=tuple(fixed), optional=tuple(not s for s in fixed))


def failure_optimal_starts(problem: LineProblem) -> NDArray[np.float64]:
    """Each machine's cheapest window start by its expected cost alone (NaN: no window pays)."""
    costs = window_costs(problem)
    priced = np.where(np.isnan(costs.start), np.inf, costs.start)
    best = np.argmin(priced, axis=1)
    cheaper = priced[np.arange(best.size), best] < costs.idle
    return np.where(cheaper, best.astype(np.float64), np.nan)


def worthwhile_windows(problem: LineProblem) -> WindowChoices:
    """Every start whose expected cost is below leaving the machine alone, plus no window.

    A dearer start could only take capacity from production, so it is not offered.
    """
    costs = window_costs(problem)
    cheaper = ~np.isnan(costs.start) & (costs.start < costs.idle[:, None])
    return WindowChoices(
        starts=tuple(tuple(np.flatnonzero(row).tolist()) for row in cheaper),
        optional=(True,) * len(problem.machines),
    )
