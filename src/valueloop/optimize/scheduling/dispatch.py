"""Dispatching-rule schedules: fast, feasible starting points for the CP-SAT search.

A list scheduler in the manner of Giffler and Thompson: at each step, among the next operations
of the jobs, the one that can complete first on its best machine sets a conflict window; the
operations that can start before it completes compete, and a priority rule picks one, which is
placed at its earliest start on the machine where it completes first (after the machine's last
operation and set-up, past any downtime window it would overlap). Rules: most work remaining
(MWKR), most operations remaining (MOPNR), shortest processing time (SPT), earliest due date
(EDD), and MWKR with random tie-breaking noise. The best schedule over the rules seeds the search.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from valueloop.optimize.scheduling.flat import FlatShop
from valueloop.optimize.scheduling.problem import ShopProblem

Priority = Callable[[int, int], float]
"""Key of a candidate (operation, duration on its best machine); the smallest is dispatched."""


@dataclass(frozen=True)
class ListSchedule:
    """A complete schedule: per flat operation, its machine, start and end (time units)."""

    machine: list[int]
    start: list[int]
    end: list[int]

    def job_completions(self, flat: FlatShop) -> list[int]:
        """Completion time of each job."""
        return [self.end[o] for o in flat.last]

    def sequences(self) -> dict[int, list[int]]:
        """Operations on each machine in processing order."""
        order = sorted(range(len(self.start)), key=lambda o: (self.start[o], self.end[o]))
        sequences: dict[int, list[int]] = {}
        for o in order:
            sequences.setdefault(self.machine[o], []).append(o)
        return sequences


def objective_of(problem: ShopProblem, completions: list[int]) -> int:
    """Makespan or weighted tardiness of job completion times, as ``problem`` asks."""
    if problem.objective == "makespan":
        return max(completions)
    return sum(
        job.weight * max(0, end - job.due)
        for job, end in zip(problem.jobs, completions, strict=True)
        if job.due is not None
    )


def earliest_fit(start: int, duration: int, windows: list[tuple[int, int]]) -> int:
    """Earliest time from ``start`` at which ``duration`` fits between sorted downtime windows."""
    for down_start, down_end in windows:
        if start < down_end and start + duration > down_start:
            start = down_end
    return start


def list_schedule(problem: ShopProblem, flat: FlatShop, priority: Priority) -> ListSchedule:
    """Build one schedule by dispatching with ``priority`` (see the module documentation)."""
    windows: dict[int, list[tuple[int, int]]] = {}
    for window in sorted(problem.downtime, key=lambda w: w.start):
        windows.setdefault(window.machine, []).append((window.start, window.end))
    setups = problem.setup_matrices()
    n = len(flat)
    machine, start, end = [0] * n, [0] * n, [0] * n
    next_op = [flat.first(j) for j in range(len(flat.last))]
    job_ready = [job.release for job in problem.jobs]
    machine_free = [0] * problem.machines
    machine_job = [-1] * problem.machines
    pending = set(range(len(flat.last)))
    while pending:
        best: dict[int, tuple[int, int, int]] = {}  # job -> (start, end, machine)
        for j in pending:
            o = next_op[j]
            for m, d in flat.options[o]:
                previous = machine_job[m]
                changeover = int(setups[m][previous, j]) if m in setups and previous >= 0 else 0
                ready = max(job_ready[j], machine_free[m] + changeover)
                s = earliest_fit(ready, d, windows.get(m, []))
                if j not in best or (s + d, s) < (best[j][1], best[j][0]):
                    best[j] = (s, s + d, m)
        window_end = min(e for _, e, _ in best.values())
        conflict = [j for j, (s, _, _) in best.items() if s < window_end] or [
            j for j, (_, e, _) in best.items() if e == window_end
        ]
        chosen = min(
            conflict,
            key=lambda j: (priority(next_op[j], best[j][1] - best[j][0]), best[j][0], j),
        )
        s, e, m = best[chosen]
        o = next_op[chosen]
        machine[o], start[o], end[o] = m, s, e
        machine_free[m], machine_job[m], job_ready[chosen] = e, chosen, e
        if o == flat.last[chosen]:
            pending.remove(chosen)
        else:
            next_op[chosen] = o + 1
    return ListSchedule(machine=machine, start=start, end=end)


def _noisy(work_left: list[int], noise: list[float]) -> Priority:
    return lambda o, d: -work_left[o] * noise[o]


def _rules(problem: ShopProblem, flat: FlatShop, restarts: int, seed: int) -> list[Priority]:
    work_left = [flat.tail[o] + flat.shortest(o) for o in range(len(flat))]
    ops_left = [flat.last[flat.job[o]] - o for o in range(len(flat))]
    horizon = problem.time_bound()
    due = [problem.jobs[j].due for j in flat.job]
    slack = [(horizon if d is None else d) - w for d, w in zip(due, work_left, strict=True)]
    rules: list[Priority] = [
        lambda o, d: -work_left[o],
        lambda o, d: -ops_left[o],
        lambda o, d: d,
    ]
    if problem.objective == "weighted_tardiness":
        rules.append(lambda o, d: slack[o])
    rng = random.Random(seed)
    for _ in range(restarts):
        rules.append(_noisy(work_left, [rng.uniform(0.8, 1.2) for _ in range(len(flat))]))
    return rules


def best_dispatch(
    problem: ShopProblem, flat: FlatShop, *, restarts: int, seed: int
) -> ListSchedule:
    """The best schedule by ``problem``'s objective over the rules and ``restarts`` noisy MWKRs."""
    schedules = [
        list_schedule(problem, flat, rule) for rule in _rules(problem, flat, restarts, seed)
    ]
    return min(schedules, key=lambda s: objective_of(problem, s.job_completions(flat)))
