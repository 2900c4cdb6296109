"""Scheduling a shop straight from an instance file (the command line's entry point)."""

from __future__ import annotations

from pathlib import Path

from valueloop.optimize.base import Plan
from valueloop.optimize.scheduling.formats import load_shop_problem
from valueloop.optimize.scheduling.problem import ShopProblem
from valueloop.optimize.scheduling.scheduler import ShopScheduler
from valueloop.optimize.scheduling.search import Progress


def solve_shop_file(
    path: Path,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    on_progress: Progress | None,
) -> tuple[ShopProblem, Plan]:
    """Read a shop from ``path`` (``.txt`` job-shop, ``.fjs`` flexible job-shop or ``.json``) and
    schedule it within ``time_limit`` seconds; ``on_progress`` gets (elapsed seconds, makespan or
    weighted tardiness, best bound) at each better schedule.

    Raises :class:`~valueloop.errors.ConfigError` for a malformed file (naming the line) and
    :class:`~valueloop.errors.OptimizeError` when the shop cannot be scheduled.
    """
    problem = load_shop_problem(path)
    scheduler = ShopScheduler(
        time_limit=time_limit, workers=workers, seed=seed, on_progress=on_progress
    )
    return problem, scheduler.solve(problem)
