"""What every optimiser returns, its search settings, and the contract every optimiser must meet.

An optimiser turns a problem into a :class:`Plan`: the solver status, the objective and the best
bound found (in the problem's money unit), the relative gap between them, the solve time and one
row per decision in an Arrow table; :func:`solved_plan` builds it the same way for every solver.
Every optimiser is a frozen dataclass deriving from :class:`SearchSettings` (time limit, workers,
seed). :func:`check_optimizer` is the shared contract check that a new optimiser is held to: a
feasible plan as judged by an independent validator, the time limit honoured, and the same plan
twice from a single-worker search with the same seed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Protocol, Self, TypeVar

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from valueloop.errors import ConfigError, OptimizeError

SOLVED_STATUSES = ("OPTIMAL", "FEASIBLE")
"""Statuses of a plan that can be carried out: proven optimal, or feasible within the gap."""

TIME_SLACK_SECONDS = 1.0
"""Time an optimiser may overrun its ``time_limit`` by (model building, solver shutdown)."""

ProblemT_contra = TypeVar("ProblemT_contra", contravariant=True)
ProblemT = TypeVar("ProblemT")
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Plan:
    """The outcome of an optimisation.

    Attributes:
        status: solver status, ``"OPTIMAL"`` (proven) or ``"FEASIBLE"`` (time limit reached with a
            plan in hand); optimisers raise rather than return a plan without a solution.
        objective: cost of the plan, in the problem's money unit.
        best_bound: proven lower bound on the cost of any plan, same unit (minimisation).
        gap: relative gap ``(objective - best_bound) / |objective|``, from 0 (optimal) to 1.
        solve_seconds: wall-clock time spent by the solver, in seconds.
        assignments: one row per decision; the columns are defined by each optimiser.
        solver: name and version of the solver that produced the plan.
        log: the solver's summary of the search, if it gives one.
    """

    status: str
    objective: float
    best_bound: float
    gap: float
    solve_seconds: float
    assignments: pa.Table
    solver: str
    log: str | None = None


def solved_plan(
    *,
    status: str,
    objective: float,
    bound: float,
    solve_seconds: float,
    assignments: pa.Table,
    solver: str,
    log: str | None = None,
    scale: float = 1e-9,
) -> Plan:
    """The plan of a search that found a solution.

    The bound is capped at the objective (a bound above it is within the solver's tolerance), and
    the gap is ``(objective - bound) / max(|objective|, scale)`` clipped to ``[0, 1]``, or 0 for an
    ``"OPTIMAL"`` status. ``scale`` is the least objective the gap is relative to, e.g. the money
    of one step of a model scaled to integers.
    """
    bound = min(bound, objective)
    gap = 0.0 if status == "OPTIMAL" else (objective - bound) / max(abs(objective), scale)
    return Plan(
        status=status,
        objective=objective,
        best_bound=bound,
        gap=min(max(gap, 0.0), 1.0),
        solve_seconds=solve_seconds,
        assignments=assignments,
        solver=solver,
        log=log,
    )


def as_problem(kind: type[ModelT], problem: ModelT | Mapping[str, Any], what: str) -> ModelT:
    """``problem`` as a ``kind``: itself, or its fields as plain data validated into one.

    Raises :class:`~valueloop.errors.OptimizeError` naming the ``what`` problem if invalid.
    """
    if isinstance(problem, kind):
        return problem
    try:
        return kind.model_validate(problem)
    except ValidationError as err:
        raise OptimizeError(f"invalid {what} problem: {err}") from err


def cp_sat_name() -> str:
    """Name and version of CP-SAT, for :attr:`Plan.solver`."""
    return f"CP-SAT {version('ortools')}"


def check_search(time_limit: float, workers: int, seed: int) -> None:
    """Refuse search settings no solver can use: a time limit that is not a positive number of
    seconds, fewer than one worker, or a seed outside ``[0, 2**31)``."""
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise ConfigError(f"time_limit must be a positive number of seconds, not {time_limit}")
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    if not 0 <= seed < 2**31:
        raise ConfigError(f"seed must be in [0, 2**31), not {seed}")


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """The search settings every optimiser has, checked when it is built.

    An optimiser is a frozen dataclass deriving from this one, which may change a default (HiGHS
    and PyVRP search on one worker unless told otherwise) and says in its own documentation what
    a worker is for its solver.

    Attributes:
        time_limit: longest time ``solve`` may take, in seconds (model building included).
        workers: parallel search workers (CP-SAT workers, HiGHS threads, PyVRP searches).
        seed: random seed of the search; with one worker the plan is reproducible.
    """

    time_limit: float = 10.0
    workers: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        check_search(self.time_limit, self.workers, self.seed)

    def single_worker(self) -> Self:
        """The same optimiser searching on one worker, whose plans are reproducible."""
        return dataclasses.replace(self, workers=1)


class Optimizer(Protocol[ProblemT_contra]):
    """An optimiser of one kind of problem, with a time limit and a seeded search."""

    @property
    def time_limit(self) -> float:
        """Longest time :meth:`solve` may take, in seconds."""
        ...

    @property
    def workers(self) -> int:
        """Number of parallel search workers."""
        ...

    @property
    def seed(self) -> int:
        """Random seed of the search."""
        ...

    def single_worker(self) -> Self:
        """The same optimiser searching on one worker, whose plans are reproducible."""
        ...

    def solve(self, problem: ProblemT_contra) -> Plan:
        """Find a plan for ``problem``; raise :class:`~valueloop.errors.OptimizeError` if none."""
        ...


def check_optimizer(
    optimizer: Optimizer[ProblemT],
    problem: ProblemT,
    validate: Callable[[ProblemT, Plan], list[str]],
) -> list[str]:
    """Check the contract every optimiser must meet on one problem; return the breaches.

    The optimiser must return a plan that ``validate`` (an independent feasibility check written
    from the problem's definition, not from the optimiser's model) finds no violation in, with a
    solved status, a consistent objective, bound and gap, within ``time_limit`` plus
    :data:`TIME_SLACK_SECONDS`; and its single-worker twin (same seed) must return the same plan
    twice. An empty list means the contract holds.
    """
    breaches: list[str] = []
    limit = optimizer.time_limit + TIME_SLACK_SECONDS
    started = time.perf_counter()
    plan = optimizer.solve(problem)
    elapsed = time.perf_counter() - started
    if elapsed > limit:
        breaches.append(f"solve took {elapsed:.2f} s, over the {optimizer.time_limit} s limit")
    if plan.solve_seconds > limit:
        breaches.append(f"plan reports {plan.solve_seconds:.2f} s of solving, over the limit")
    if plan.status not in SOLVED_STATUSES:
        breaches.append(f"status {plan.status!r} is not one of {', '.join(SOLVED_STATUSES)}")
    if not (math.isfinite(plan.objective) and math.isfinite(plan.best_bound)):
        breaches.append(f"objective {plan.objective} or bound {plan.best_bound} is not finite")
    tolerance = 1e-6 * max(1.0, abs(plan.objective))
    if plan.best_bound > plan.objective + tolerance:
        breaches.append(f"best bound {plan.best_bound} exceeds the objective {plan.objective}")
    if not 0.0 <= plan.gap <= 1.0:
        breaches.append(f"gap {plan.gap} is outside [0, 1]")
    if plan.status == "OPTIMAL" and plan.gap > 1e-6:
        breaches.append(f"status OPTIMAL with a gap of {plan.gap}")
    breaches.extend(f"infeasible plan: {violation}" for violation in validate(problem, plan))
    twin = optimizer.single_worker()
    first, second = twin.solve(problem), twin.solve(problem)
    if not first.assignments.equals(second.assignments) or first.objective != second.objective:
        breaches.append(f"two single-worker solves with seed {twin.seed} gave different plans")
    return breaches
