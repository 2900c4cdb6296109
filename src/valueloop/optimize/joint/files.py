"""Line problems as files: JSON (or YAML) holding the fields of a :class:`LineProblem`.

The benchmark lines of :mod:`valueloop.datasets` are such problems; ``problem.
model_dump_json(indent=2)`` writes one. A malformed file raises
:class:`~valueloop.errors.ConfigError` naming the file, line and field.
"""

from __future__ import annotations

from pathlib import Path

from valueloop.config import read_yaml
from valueloop.optimize.base import Plan
from valueloop.optimize.joint.model import ProgressCallback
from valueloop.optimize.joint.problem import LineProblem
from valueloop.optimize.joint.schedulers import JointScheduler


def load_line_problem(path: Path) -> LineProblem:
    """Read and validate a line problem file (JSON or YAML)."""
    return read_yaml(path, LineProblem, what="line problem")


def solve_joint_file(
    path: Path,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    on_progress: ProgressCallback | None,
) -> tuple[LineProblem, Plan]:
    """Plan the line of ``path`` with :class:`JointScheduler`; ``on_progress`` receives the
    elapsed seconds, the incumbent's cost and the best bound (money) on each better plan."""
    problem = load_line_problem(path)
    scheduler = JointScheduler(time_limit=time_limit, workers=workers, seed=seed)
    return problem, scheduler.solve(problem, on_progress=on_progress)
