"""How the scheduler spends its time: a complete search, then large-neighbourhood search only.

With few workers, CP-SAT's default portfolio gives one worker to the complete search (which proves
bounds) and shares the other among a dozen neighbourhood searches, several of them built for
linear relaxations a disjunctive model does not have. The scheduler therefore searches in two
phases: the complete search for :data:`PROOF_SHARE` of the time limit, which closes the small
shops; then, when a schedule is in hand but not proven optimal, every worker on large-neighbourhood
search (``use_lns_only``) from that schedule for the rest of the time, keeping the proven bound of
the first phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

PROOF_SHARE = 0.1
"""Share of the time limit given to the complete search before the neighbourhood-only phase."""

SEARCH_PARAMETERS: dict[str, object] = {"use_dynamic_precedence_in_disjunctive": True}
"""CP-SAT parameters of the scheduler's two phases, beyond the time limit, workers and seed: the
no-overlap propagator also reasons on the precedences learnt during the search."""

Progress = Callable[[float, float, float], None]
"""Called with elapsed seconds, incumbent objective and best bound at each better schedule."""


class _ProgressCallback(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: Progress, *, elapsed: float, floor: float) -> None:
        super().__init__()
        self._report, self._elapsed, self._floor = report, elapsed, floor

    def on_solution_callback(self) -> None:
        bound = max(self.best_objective_bound, self._floor)
        self._report(self._elapsed + self.wall_time, self.objective_value, bound)


@dataclass(frozen=True)
class PhaseSettings:
    """Workers, seed and progress reporting shared by the phases of one search."""

    workers: int
    seed: int
    report: Progress | None


@dataclass(frozen=True)
class Outcome:
    """The result of a search: ``solver`` holds the values of the best schedule found.

    Attributes:
        status: CP-SAT status name of the search as a whole.
        objective: objective of the best schedule (nan if none).
        bound: best proven bound.
        seconds: wall-clock seconds spent searching.
        solver: the solver whose last solve found the best schedule.
    """

    status: str
    objective: float
    bound: float
    seconds: float
    solver: cp_model.CpSolver


def _run(
    model: cp_model.CpModel,
    settings: PhaseSettings,
    *,
    seconds: float,
    parameters: Mapping[str, object],
    elapsed: float = 0.0,
    floor: float = -math.inf,
) -> Outcome:
    solver = cp_model.CpSolver()
    for name, value in parameters.items():
        setattr(solver.parameters, name, value)
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    callback = (
        None
        if settings.report is None
        else _ProgressCallback(settings.report, elapsed=elapsed, floor=floor)
    )
    status = solver.status_name(solver.solve(model, callback))
    found = status in ("OPTIMAL", "FEASIBLE")
    return Outcome(
        status=status,
        objective=solver.objective_value if found else math.nan,
        bound=max(solver.best_objective_bound, floor) if found else floor,
        seconds=solver.wall_time,
        solver=solver,
    )


def _hint_everything(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    model.clear_hints()  # type: ignore[no-untyped-call]
    for index in range(len(model.proto.variables)):
        variable = model.get_int_var_from_proto_index(index)
        model.add_hint(variable, solver.value(variable))


def default_search(model: cp_model.CpModel, settings: PhaseSettings, seconds: float) -> Outcome:
    """One solve with CP-SAT's default parameters (the textbook comparison)."""
    return _run(model, settings, seconds=seconds, parameters={})


def two_phase_search(model: cp_model.CpModel, settings: PhaseSettings, seconds: float) -> Outcome:
    """The complete search, then neighbourhood search only (see the module documentation)."""
    first = _run(model, settings, seconds=seconds * PROOF_SHARE, parameters=SEARCH_PARAMETERS)
    remaining = seconds - first.seconds
    if first.status not in ("FEASIBLE", "UNKNOWN") or remaining <= 0.05 * seconds:
        return first
    if first.status == "UNKNOWN":  # no schedule yet: go on with the complete search
        rest = _run(model, settings, seconds=remaining, parameters=SEARCH_PARAMETERS)
        return Outcome(
            rest.status, rest.objective, rest.bound, first.seconds + rest.seconds, rest.solver
        )
    _hint_everything(model, first.solver)
    second = _run(
        model,
        settings,
        seconds=remaining,
        parameters={**SEARCH_PARAMETERS, "use_lns_only": True},
        elapsed=first.seconds,
        floor=first.bound,
    )
    best = second if second.objective <= first.objective else first
    bound = max(first.bound, second.bound)
    status = "OPTIMAL" if bound >= best.objective else "FEASIBLE"
    return Outcome(
        status,
        best.objective,
        min(bound, best.objective),
        first.seconds + second.seconds,
        best.solver,
    )
