"""Shared helpers of the scheduling tests: the vendored instances, their published values, and a
brute-force optimum for tiny shops."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from valueloop.datasets import data_dir
from valueloop.optimize.scheduling import ShopProblem


def instance(name: str) -> Path:
    """Path of a vendored job-shop (``ft06``, ``la01``, ...) or Brandimarte (``mk01``) instance."""
    if name.startswith("mk"):
        return data_dir() / "opt" / "fjsp" / "brandimarte" / f"{name}.fjs"
    return data_dir() / "opt" / "jsp" / "instances" / f"{name}.txt"


def published(name: str, column: str = "upper_bound") -> int:
    """A published value of an instance from its folder's bounds table."""
    folder = "fjsp" if name.startswith("mk") else "jsp"
    with (data_dir() / "opt" / folder / "bounds.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["instance"] == name:
                return int(row[column])
    raise KeyError(name)


def _cost(problem: ShopProblem, completions: list[int]) -> int:
    if problem.objective == "makespan":
        return max(completions)
    return sum(
        job.weight * max(0, end - job.due)
        for job, end in zip(problem.jobs, completions, strict=True)
        if job.due is not None
    )


def _semi_active(
    problem: ShopProblem, machine_of: dict[tuple[int, int], int], orders: dict[int, list[int]]
) -> int | None:
    """Cost of the earliest schedule with the given machines and job orders per machine, or None
    if the orders deadlock (each machine's order lists jobs, each job visiting a machine once)."""
    end: dict[tuple[int, int], int] = {}
    position = {m: 0 for m in orders}
    previous_job: dict[int, int] = {}
    machine_free = {m: 0 for m in orders}
    total = sum(len(job.operations) for job in problem.jobs)
    setups = {m: s.tolist() for m, s in problem.setup_matrices().items()}
    while len(end) < total:
        progressed = False
        for m, order in orders.items():
            if position[m] == len(order):
                continue
            j = order[position[m]]
            k = next(k for k in range(len(problem.jobs[j].operations)) if (j, k) not in end)
            if machine_of[j, k] != m:
                continue
            duration = next(
                o.duration for o in problem.jobs[j].operations[k].options if o.machine == m
            )
            gap = setups[m][previous_job[m]][j] if m in setups and m in previous_job else 0
            start = max(problem.jobs[j].release if k == 0 else end[j, k - 1], machine_free[m] + gap)
            moved = True
            while moved:
                moved = False
                for w in problem.downtime:
                    if w.machine == m and start < w.end and w.start < start + duration:
                        start, moved = w.end, True
            end[j, k] = start + duration
            machine_free[m], previous_job[m] = start + duration, j
            position[m] += 1
            progressed = True
        if not progressed:
            return None
    if problem.horizon is not None and max(end.values()) > problem.horizon:
        return None
    return _cost(problem, [end[j, len(job.operations) - 1] for j, job in enumerate(problem.jobs)])


def brute_force_optimum(problem: ShopProblem) -> int:
    """The optimal cost of a tiny shop whose jobs visit each machine at most once, by trying every
    machine choice and every job order on every machine."""
    keys = [(j, k) for j, job in enumerate(problem.jobs) for k in range(len(job.operations))]
    choices = [[o.machine for o in problem.jobs[j].operations[k].options] for j, k in keys]
    best: int | None = None
    for chosen in itertools.product(*choices):
        machine_of = dict(zip(keys, chosen, strict=True))
        visitors = {m: [j for (j, _), c in machine_of.items() if c == m] for m in set(chosen)}
        machines = sorted(visitors)
        for orders in itertools.product(*(itertools.permutations(visitors[m]) for m in machines)):
            cost = _semi_active(
                problem, machine_of, {m: list(o) for m, o in zip(machines, orders, strict=True)}
            )
            if cost is not None and (best is None or cost < best):
                best = cost
    if best is None:
        raise ValueError("the shop has no schedule")
    return best
