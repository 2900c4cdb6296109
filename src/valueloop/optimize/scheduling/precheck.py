"""Reasons a shop cannot be scheduled that can be told before searching.

Each reason names the job, the operation and the constraints in conflict, so that a planner can
fix the data (add an eligible machine, move a maintenance window, extend the horizon) rather than
read an empty plan.
"""

from __future__ import annotations

from valueloop.optimize.scheduling.dispatch import earliest_fit
from valueloop.optimize.scheduling.flat import FlatShop
from valueloop.optimize.scheduling.problem import ShopProblem


def _downtime_of(problem: ShopProblem) -> dict[int, list[tuple[int, int]]]:
    windows: dict[int, list[tuple[int, int]]] = {}
    for window in sorted(problem.downtime, key=lambda w: w.start):
        windows.setdefault(window.machine, []).append((window.start, window.end))
    return windows


def infeasibility_reasons(problem: ShopProblem, flat: FlatShop) -> list[str]:
    """Conflicts that make ``problem`` infeasible whatever the sequence; empty if none is found.

    Checks that every operation has an eligible machine; that each job's shortest total processing
    time from its release fits before the horizon; and that each operation fits, on at least one of
    its machines, between the downtime windows in the time its job leaves it (from its release plus
    the shortest work before it, to the horizon minus the shortest work after it); and that each
    machine is up long enough before the horizon for the operations that can run nowhere else.
    """
    reasons: list[str] = []
    windows = _downtime_of(problem)
    horizon = problem.horizon
    for j, last in enumerate(flat.last):
        if horizon is not None and flat.head[last] + flat.shortest(last) > horizon:
            job = problem.jobs[j]
            reasons.append(
                f"job {j}: released at {job.release}, its operations need at least "
                f"{flat.head[last] + flat.shortest(last) - job.release} time units, past the "
                f"horizon {horizon}"
            )
    for o, options in enumerate(flat.options):
        where = f"job {flat.job[o]} operation {flat.position[o]}"
        if not options:
            reasons.append(f"{where} has no eligible machine: give it a (machine, duration) option")
            continue
        if horizon is None:
            continue  # without a horizon, every operation fits after the last downtime window
        earliest, latest_end = flat.head[o], horizon - flat.tail[o]
        if not any(
            earliest_fit(earliest, d, windows.get(m, [])) + d <= latest_end for m, d in options
        ):
            detail = "; ".join(
                f"machine {m} needs {d} free time units, down during "
                + (", ".join(f"[{a}, {b})" for a, b in windows.get(m, [])) or "no window")
                for m, d in options
            )
            reasons.append(
                f"{where} must run between {earliest} and {latest_end} (release, horizon and its "
                f"job's other operations) but fits on none of its machines: {detail}"
            )
    return reasons + _capacity_reasons(problem, flat, windows)


def _covered(windows: list[tuple[int, int]], horizon: int) -> int:
    """Time units of ``[0, horizon)`` inside the union of windows sorted by start."""
    covered, reach = 0, 0
    for start, end in windows:
        start, end = max(start, reach), min(end, horizon)
        if end > start:
            covered += end - start
            reach = end
    return covered


def _capacity_reasons(
    problem: ShopProblem, flat: FlatShop, windows: dict[int, list[tuple[int, int]]]
) -> list[str]:
    """Machines whose dedicated work (operations with no other machine) exceeds their up-time."""
    if problem.horizon is None:
        return []
    horizon = problem.horizon
    dedicated: dict[int, int] = {}
    for options in flat.options:
        if len(options) == 1:
            dedicated[options[0][0]] = dedicated.get(options[0][0], 0) + options[0][1]
    reasons = []
    for machine, work in sorted(dedicated.items()):
        down = _covered(windows.get(machine, []), horizon)
        if work > horizon - down:
            reasons.append(
                f"machine {machine} must process {work} time units of operations that can run "
                f"nowhere else, but is up for only {horizon - down} before the horizon {horizon}"
            )
    return reasons
