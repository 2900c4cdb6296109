"""The CP-SAT model of a line: operations and maintenance windows on shared machines.

Each operation is a fixed-size interval between its order's release and the horizon, after the
previous operation of its route; each machine may get one maintenance window, an interval whose
start is chosen among candidate periods by one Boolean per candidate (plus one for "no window"
where allowed). The operations and the window of a machine share one NoOverlap. The objective is
the weighted tardiness of the orders plus, for each machine, the expected cost of its chosen option
(precomputed per candidate start by :func:`~valueloop.optimize.joint.costs.machine_risk`), all
scaled to integer steps (see :data:`COST_STEPS`).

Which candidates a machine gets is the difference between the two schedulers: every worthwhile
start for the joint model, the single failure-cost-optimal choice for the sequential baseline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from ortools.sat.python import cp_model

from valueloop.errors import OptimizeError
from valueloop.optimize.base import SOLVED_STATUSES, Plan, cp_sat_name, solved_plan
from valueloop.optimize.joint.costs import evaluate_line_plan
from valueloop.optimize.joint.problem import LineProblem
from valueloop.optimize.joint.windows import WindowChoices, WindowCosts, window_costs

ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string(), nullable=False),
        pa.field("machine", pa.string(), nullable=False),
        pa.field("order", pa.string()),
        pa.field("step", pa.int32()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
    ]
)
"""Columns of :attr:`Plan.assignments` for a line plan: one ``operation`` row per step of each
order (``order``, ``step`` from 0 along the route, ``machine``, ``start`` and ``end`` periods), then
one ``maintenance`` row per machine, whose ``start`` and ``end`` are null without a window."""

COST_STEPS = 10**6
"""Integer steps the costliest machine option is scaled to for CP-SAT; tardiness weights use the
same step. A plan's objective is recomputed exactly by the evaluator."""

ProgressCallback = Callable[[float, float, float], None]
"""Called with elapsed seconds, the incumbent's cost and the best bound (money) on each better
solution."""


def infeasibility_reasons(problem: LineProblem) -> list[str]:
    """Reasons no schedule can exist, found without search: too long for the horizon."""
    reasons = []
    horizon = problem.horizon
    load = dict.fromkeys((m.name for m in problem.machines), 0)
    for order in problem.orders:
        route = 0
        for step, op in enumerate(order.operations):
            route += op.duration
            load[op.machine] += op.duration
            if op.duration > horizon:
                reasons.append(
                    f"order {order.name}, operation {step} on machine {op.machine} takes "
                    f"{op.duration} periods, longer than the horizon of {horizon}"
                )
        if order.release + route > horizon:
            reasons.append(
                f"order {order.name} is released at period {order.release} and its route takes "
                f"{route} periods: it cannot end by the horizon of {horizon}"
            )
    reasons.extend(
        f"machine {name} has {periods} periods of operations, more than the horizon of {horizon}"
        for name, periods in load.items()
        if periods > horizon
    )
    return reasons


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: ProgressCallback, unit: float) -> None:
        super().__init__()
        self._report = report
        self._unit = unit

    def on_solution_callback(self) -> None:
        self._report(
            self.wall_time,
            self.objective_value * self._unit,
            self.best_objective_bound * self._unit,
        )


@dataclass
class _LineModel:
    """The CP-SAT model of a line and the variables a plan is read from.

    ``assumptions`` (only in a relaxed model, built to explain infeasibility) holds one literal
    per rule that may be dropped: an order ending by the horizon, a window fixed in advance.
    """

    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    op_starts: list[list[cp_model.IntVar]] = field(default_factory=list)
    tardiness: list[cp_model.IntVar] = field(default_factory=list)
    window_start: list[cp_model.IntVar | None] = field(default_factory=list)
    chosen: list[dict[int, cp_model.IntVar]] = field(default_factory=list)
    idle: list[cp_model.IntVar | None] = field(default_factory=list)
    assumptions: dict[str, cp_model.IntVar] = field(default_factory=dict)


Busy = dict[str, list[cp_model.IntervalVar]]


def _add_order(line: _LineModel, busy: Busy, problem: LineProblem, j: int, relaxed: bool) -> None:
    """An order's operations in route order, from its release, and its tardiness."""
    model, order, horizon = line.model, problem.orders[j], problem.horizon
    durations = [op.duration for op in order.operations]
    # A relaxed order may overrun the horizon unless its assumption holds.
    stretch = sum(op.duration for job in problem.orders for op in job.operations) if relaxed else 0
    earliest = order.release + np.concatenate([[0], np.cumsum(durations)[:-1]])
    latest = horizon + stretch - np.cumsum(durations[::-1])[::-1]
    starts: list[cp_model.IntVar] = []
    for k, op in enumerate(order.operations):
        start = model.new_int_var(int(earliest[k]), int(latest[k]), f"s[{j},{k}]")
        busy[op.machine].append(
            model.new_fixed_size_interval_var(start, op.duration, f"op[{j},{k}]")
        )
        if starts:
            model.add(start >= starts[-1] + durations[k - 1])
        starts.append(start)
    end = starts[-1] + durations[-1]
    if relaxed:
        fits = model.new_bool_var(f"fits[{j}]")
        model.add(end <= horizon).only_enforce_if(fits)
        line.assumptions[f"order {order.name} ends by period {horizon}"] = fits
    late = model.new_int_var(0, horizon + stretch, f"late[{j}]")
    model.add(late >= end - order.due)
    line.op_starts.append(starts)
    line.tardiness.append(late)


def _add_window(
    line: _LineModel,
    busy: Busy,
    problem: LineProblem,
    i: int,
    windows: WindowChoices,
    relaxed: bool,
) -> None:
    """A machine's maintenance window: one literal per candidate start, and one for none."""
    model, machine, candidates = line.model, problem.machines[i], windows.starts[i]
    options = {s: model.new_bool_var(f"w[{i},{s}]") for s in candidates}
    none = model.new_bool_var(f"idle[{i}]") if windows.optional[i] or relaxed else None
    model.add_exactly_one([*options.values(), *([none] if none is not None else [])])
    if none is not None and not windows.optional[i]:
        kept = model.new_bool_var(f"kept[{i}]")
        model.add(none == 0).only_enforce_if(kept)
        line.assumptions[f"window of {machine.name} fixed at {candidates[0]}"] = kept
    window: cp_model.IntVar | None = None
    if candidates:
        window = model.new_int_var_from_domain(
            cp_model.Domain.from_values(list(candidates)), f"ws[{i}]"
        )
        for s, literal in options.items():
            model.add(window == s).only_enforce_if(literal)
        duration = machine.maintenance_duration
        busy[machine.name].append(
            model.new_fixed_size_interval_var(window, duration, f"mw[{i}]")
            if none is None
            else model.new_optional_fixed_size_interval_var(window, duration, ~none, f"mw[{i}]")
        )
    line.window_start.append(window)
    line.chosen.append(options)
    line.idle.append(none)


def _build(problem: LineProblem, windows: WindowChoices, *, relaxed: bool = False) -> _LineModel:
    """The line's constraints; ``relaxed`` turns the horizon and fixed windows into assumptions."""
    line = _LineModel()
    busy: Busy = {machine.name: [] for machine in problem.machines}
    for j in range(len(problem.orders)):
        _add_order(line, busy, problem, j, relaxed)
    for i in range(len(problem.machines)):
        _add_window(line, busy, problem, i, windows, relaxed)
    for intervals in busy.values():
        line.model.add_no_overlap(intervals)
    return line


def _minimise(line: _LineModel, problem: LineProblem, costs: WindowCosts, unit: float) -> None:
    """Weighted tardiness plus each machine's expected cost, in integer steps of ``unit``."""
    terms: list[cp_model.LinearExprT] = [
        round(order.weight / unit) * late
        for order, late in zip(problem.orders, line.tardiness, strict=True)
    ]
    for i, (options, none) in enumerate(zip(line.chosen, line.idle, strict=True)):
        terms.extend(round(costs.start[i, s] / unit) * literal for s, literal in options.items())
        if none is not None:
            terms.append(round(costs.idle[i] / unit) * none)
    line.model.minimize(cp_model.LinearExpr.sum(terms))


def _conflict(problem: LineProblem, windows: WindowChoices, seconds: float) -> str:
    """Rules that cannot all hold together, from CP-SAT's sufficient assumptions; or ``""``."""
    line = _build(problem, windows, relaxed=True)
    line.model.add_assumptions(list(line.assumptions.values()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 1
    if solver.solve(line.model) != cp_model.INFEASIBLE:
        return ""
    core = set(solver.sufficient_assumptions_for_infeasibility())
    rules = [rule for rule, literal in line.assumptions.items() if literal.index in core]
    return f" (these cannot all hold: {'; '.join(rules)})" if rules else ""


def _add_hint(problem: LineProblem, line: _LineModel, hint: pa.Table) -> None:
    """Hint a complete schedule (assignments of an earlier line plan) to the solver."""
    rows = hint.to_pylist()
    operations = {(r["order"], r["step"]): r["start"] for r in rows if r["kind"] == "operation"}
    windows = {r["machine"]: r["start"] for r in rows if r["kind"] == "maintenance"}
    missing = [
        f"{order.name}, step {step}"
        for order in problem.orders
        for step in range(len(order.operations))
        if operations.get((order.name, step)) is None
    ]
    if missing:
        raise OptimizeError(
            f"the hint is not a complete plan of line {problem.name}: it lacks order "
            + "; ".join(missing[:5])
        )
    model = line.model
    for order, starts, late in zip(problem.orders, line.op_starts, line.tardiness, strict=True):
        for step, var in enumerate(starts):
            model.add_hint(var, operations[order.name, step])
        end = operations[order.name, len(starts) - 1] + order.operations[-1].duration
        model.add_hint(late, max(0, end - order.due))
    for machine, start, options, none in zip(
        problem.machines, line.window_start, line.chosen, line.idle, strict=True
    ):
        planned = windows.get(machine.name)
        for s, literal in options.items():
            model.add_hint(literal, s == planned)
        if none is not None:
            model.add_hint(none, planned is None)
        if start is not None and planned is not None:
            model.add_hint(start, planned)


def _assignments(problem: LineProblem, line: _LineModel, solver: cp_model.CpSolver) -> pa.Table:
    rows: list[dict[str, object]] = []
    for job, starts in zip(problem.orders, line.op_starts, strict=True):
        for k, (op, var) in enumerate(zip(job.operations, starts, strict=True)):
            start = int(solver.value(var))
            rows.append(
                {"kind": "operation", "machine": op.machine, "order": job.name, "step": k}
                | {"start": start, "end": start + op.duration}
            )
    for unit, window, none in zip(problem.machines, line.window_start, line.idle, strict=True):
        planned = window is not None and not (none is not None and solver.boolean_value(none))
        begin = int(solver.value(window)) if planned and window is not None else None
        rows.append(
            {"kind": "maintenance", "machine": unit.name, "order": None, "step": None}
            | {"start": begin, "end": None if begin is None else begin + unit.maintenance_duration}
        )
    return pa.Table.from_pylist(rows, schema=ASSIGNMENTS_SCHEMA)


def _describe(windows: WindowChoices, problem: LineProblem) -> str:
    fixed = [
        f"{machine.name} at {starts[0]}"
        for machine, starts, optional in zip(
            problem.machines, windows.starts, windows.optional, strict=True
        )
        if len(starts) == 1 and not optional
    ]
    return f" around the maintenance windows fixed for {', '.join(fixed)}" if fixed else ""


def schedule_line(
    problem: LineProblem,
    windows: WindowChoices,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    started: float,
    hint: pa.Table | None = None,
    on_progress: ProgressCallback | None = None,
) -> Plan:
    """Solve the line model with the given window candidates; raise if no schedule is found.

    ``started`` is the :func:`time.perf_counter` reading the ``time_limit`` (seconds) counts from;
    ``hint`` is the assignments table of a complete plan to start the search from.
    """
    reasons = infeasibility_reasons(problem)
    if reasons:
        raise OptimizeError(f"line {problem.name} cannot be scheduled: " + "; ".join(reasons))
    costs = window_costs(problem)
    offered = [costs.start[i, list(s)] for i, s in enumerate(windows.starts) if s]
    largest = max([float(np.max(c)) for c in offered] + [float(np.max(costs.idle)), 1.0])
    unit = largest / COST_STEPS
    line = _build(problem, windows)
    _minimise(line, problem, costs, unit)
    if hint is not None:
        _add_hint(problem, line, hint)
    remaining = time_limit - (time.perf_counter() - started)
    if remaining <= 0:
        raise OptimizeError(
            f"building the model of line {problem.name} took longer than time_limit="
            f"{time_limit} s: raise time_limit"
        )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = remaining
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    callback = None if on_progress is None else _Progress(on_progress, unit)
    status = solver.status_name(solver.solve(line.model, callback))
    if status == "INFEASIBLE":
        seconds = max(1.0, time_limit - (time.perf_counter() - started))
        raise OptimizeError(
            f"line {problem.name}: no schedule fits every operation within the horizon of "
            f"{problem.horizon} periods{_describe(windows, problem)}"
            f"{_conflict(problem, windows, seconds)}: lengthen the horizon, release orders "
            "earlier or move the windows"
        )
    if status not in SOLVED_STATUSES:
        raise OptimizeError(
            f"CP-SAT found no schedule of line {problem.name} (status {status}) within "
            f"{time_limit} s: raise time_limit or workers"
        )
    assignments = _assignments(problem, line, solver)
    objective = evaluate_line_plan(problem, assignments).total
    return solved_plan(
        status=status,
        objective=objective,
        bound=solver.best_objective_bound * unit,
        scale=unit,
        solve_seconds=solver.wall_time,
        assignments=assignments,
        solver=cp_sat_name(),
        log=solver.response_stats(),
    )
