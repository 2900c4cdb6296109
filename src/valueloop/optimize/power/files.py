"""Solve a power problem stated in a file: the entry points of ``valueloop solve``."""

from __future__ import annotations

from pathlib import Path

from valueloop.optimize.base import Plan
from valueloop.optimize.power.commitment import UnitCommitment
from valueloop.optimize.power.dcopf import DcOpf
from valueloop.optimize.power.fleet import DispatchProblem, load_dispatch_problem
from valueloop.optimize.power.highs import ProgressCallback
from valueloop.optimize.power.network import DcOpfProblem, load_network_file


def solve_dispatch_file(
    path: Path,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    on_progress: ProgressCallback | None,
) -> tuple[DispatchProblem, Plan]:
    """Commit and dispatch the fleet of a YAML/JSON fleet file (format in :mod:`.fleet`).

    ``on_progress`` is called with elapsed seconds, incumbent cost and best bound (money) each
    time HiGHS finds a better plan. Raises :class:`~valueloop.errors.ConfigError` for a malformed
    file (naming its line) and :class:`~valueloop.errors.OptimizeError` when no plan exists.
    """
    problem = load_dispatch_problem(path)
    optimizer = UnitCommitment(
        time_limit=time_limit, workers=workers, seed=seed, on_progress=on_progress
    )
    return problem, optimizer.solve(problem)


def solve_dcopf_file(
    path: Path,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    on_progress: ProgressCallback | None,
) -> tuple[DcOpfProblem, Plan]:
    """Solve the DC OPF of a pandapower JSON network file, or of a case name such as ``case9``.

    ``on_progress`` is called once, with the solve time, the cost (money per hour) and its bound.
    """
    problem = load_network_file(path)
    optimizer = DcOpf(time_limit=time_limit, workers=workers, seed=seed, on_progress=on_progress)
    return problem, optimizer.solve(problem)
