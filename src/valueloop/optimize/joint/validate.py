"""An independent check of a line plan against the line's rules."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Any

from valueloop.optimize.base import SOLVED_STATUSES, Plan
from valueloop.optimize.joint.costs import evaluate_line_plan
from valueloop.optimize.joint.model import ASSIGNMENTS_SCHEMA
from valueloop.optimize.joint.problem import LineProblem


def _operation_violations(
    problem: LineProblem, operations: dict[tuple[str, int], list[dict[str, Any]]]
) -> list[str]:
    violations = []
    expected = set()
    for order in problem.orders:
        previous_end = order.release
        for step, op in enumerate(order.operations):
            expected.add((order.name, step))
            rows = operations.get((order.name, step), [])
            if len(rows) != 1:
                violations.append(f"order {order.name}, step {step} has {len(rows)} rows, not 1")
                break
            row = rows[0]
            where = f"order {order.name}, step {step}"
            if row["machine"] != op.machine:
                violations.append(f"{where} runs on {row['machine']}, not {op.machine}")
            if row["end"] - row["start"] != op.duration:
                violations.append(f"{where} lasts {row['end'] - row['start']}, not {op.duration}")
            if row["start"] < previous_end:
                rule = "its release" if step == 0 else "the previous step's end"
                violations.append(f"{where} starts at {row['start']}, before {rule} {previous_end}")
            previous_end = row["end"]
    violations.extend(
        f"row for unknown operation {name}, step {step}"
        for name, step in sorted(set(operations) - expected)
    )
    return violations


def _window_violations(problem: LineProblem, windows: dict[str, list[dict[str, Any]]]) -> list[str]:
    violations = []
    for machine in problem.machines:
        rows = windows.get(machine.name, [])
        if len(rows) != 1:
            violations.append(f"machine {machine.name} has {len(rows)} maintenance rows, not 1")
            continue
        row = rows[0]
        if (row["start"] is None) != (row["end"] is None):
            violations.append(f"machine {machine.name}: window start and end must both be set")
        elif row["start"] is not None and row["end"] - row["start"] != machine.maintenance_duration:
            violations.append(
                f"machine {machine.name}: window lasts {row['end'] - row['start']}, not "
                f"{machine.maintenance_duration}"
            )
    known = {machine.name for machine in problem.machines}
    violations.extend(f"window for unknown machine {name}" for name in sorted(set(windows) - known))
    return violations


def _overlaps(rows: list[dict[str, Any]], horizon: int) -> list[str]:
    violations = []
    busy: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for row in rows:
        if row["start"] is None or row["end"] is None:
            continue
        label = row["order"] if row["kind"] == "operation" else "maintenance"
        if row["start"] < 0 or row["end"] > horizon:
            violations.append(
                f"{label} on {row['machine']} at [{row['start']}, {row['end']}) is outside the "
                f"horizon [0, {horizon})"
            )
        busy[row["machine"]].append((row["start"], row["end"], label))
    for machine, spans in busy.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                violations.append(f"machine {machine}: {first} and {second} overlap at {start}")
    return violations


def validate_line_plan(problem: LineProblem, plan: Plan) -> list[str]:
    """Check a line plan against the problem's rules, independently of the schedulers.

    Checks the status and columns, that every operation has one row on its machine with its
    duration, after its order's release and its previous step, that each machine has one
    maintenance row of the right length, that everything lies within the horizon without overlap
    on any machine, and that the objective is the plan's evaluated cost. An empty list means the
    plan is feasible.
    """
    violations: list[str] = []
    if plan.status not in SOLVED_STATUSES:
        violations.append(f"status {plan.status!r} is not a solved status")
    table = plan.assignments
    if not table.schema.equals(ASSIGNMENTS_SCHEMA):
        return [*violations, f"assignments have schema {table.schema}, not {ASSIGNMENTS_SCHEMA}"]
    rows = table.to_pylist()
    operations: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    windows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["kind"] == "operation" and None not in (row["order"], row["step"], row["start"]):
            operations[row["order"], row["step"]].append(row)
        elif row["kind"] == "maintenance":
            windows[row["machine"]].append(row)
        else:
            violations.append(f"row {row} is neither a complete operation nor a window")
    violations += _operation_violations(problem, operations)
    violations += _window_violations(problem, windows)
    violations += _overlaps(rows, problem.horizon)
    if violations:
        return violations
    total = evaluate_line_plan(problem, table).total
    if not math.isclose(plan.objective, total, rel_tol=1e-6, abs_tol=1e-6):
        violations.append(f"objective {plan.objective} differs from the evaluated cost {total}")
    return violations
