"""An independent check of a schedule against the shop's rules, written from the problem alone."""

from __future__ import annotations

import itertools

from valueloop.optimize.base import SOLVED_STATUSES, Plan
from valueloop.optimize.scheduling.problem import ShopProblem

_COLUMNS = ("job", "operation", "machine", "start", "end")


def _rows(
    problem: ShopProblem, plan: Plan, violations: list[str]
) -> dict[tuple[int, int], dict[str, int]]:
    """The plan's rows by (job, operation), recording missing, unknown and repeated ones."""
    table = plan.assignments
    missing = [name for name in _COLUMNS if name not in table.column_names]
    if missing:
        violations.append(f"assignments lack column(s) {', '.join(missing)}")
        return {}
    rows: dict[tuple[int, int], dict[str, int]] = {}
    for row in table.select(list(_COLUMNS)).to_pylist():
        if any(not isinstance(row[name], int) for name in _COLUMNS):
            violations.append(f"row {row} has a missing or non-integer value")
            continue
        key = (row["job"], row["operation"])
        if key in rows:
            violations.append(f"job {key[0]} operation {key[1]} is scheduled twice")
        rows[key] = row
    for j, job in enumerate(problem.jobs):
        for k in range(len(job.operations)):
            if (j, k) not in rows:
                violations.append(f"job {j} operation {k} is not scheduled")
    known = {(j, k) for j, job in enumerate(problem.jobs) for k in range(len(job.operations))}
    for key in sorted(set(rows) - known):
        violations.append(f"row for unknown job {key[0]} operation {key[1]}")
        del rows[key]
    return rows


def validate_shop_plan(problem: ShopProblem, plan: Plan) -> list[str]:
    """List the rules a schedule breaks; an empty list means it is feasible and correctly costed.

    Checks: every operation scheduled once, on an eligible machine for that machine's processing
    time; no start before the job's release; the job's operations in order; on each machine, no
    two operations overlapping, with the set-up time between consecutive ones; no operation
    overlapping its machine's downtime; every end within the horizon; and the plan's objective
    equal to the makespan or weighted tardiness recomputed from the rows.
    """
    violations: list[str] = []
    if plan.status not in SOLVED_STATUSES:
        violations.append(f"status {plan.status!r} is not a solved status")
    rows = _rows(problem, plan, violations)
    if not rows or len(rows) < sum(len(job.operations) for job in problem.jobs):
        return violations
    for (j, k), row in sorted(rows.items()):
        job = problem.jobs[j]
        durations = {o.machine: o.duration for o in job.operations[k].options}
        where = f"job {j} operation {k}"
        if row["machine"] not in durations:
            violations.append(
                f"{where} runs on machine {row['machine']}, not an eligible one "
                f"({sorted(durations)})"
            )
        elif row["end"] - row["start"] != durations[row["machine"]]:
            violations.append(
                f"{where} lasts {row['end'] - row['start']} on machine "
                f"{row['machine']}, which takes {durations[row['machine']]}"
            )
        if k == 0 and row["start"] < job.release:
            violations.append(f"{where} starts at {row['start']}, before the release {job.release}")
        if k > 0 and row["start"] < rows[j, k - 1]["end"]:
            violations.append(
                f"{where} starts at {row['start']}, before operation {k - 1} ends at "
                f"{rows[j, k - 1]['end']}"
            )
        if problem.horizon is not None and row["end"] > problem.horizon:
            violations.append(f"{where} ends at {row['end']}, after the horizon {problem.horizon}")
        for window in problem.downtime:
            if (
                window.machine == row["machine"]
                and row["start"] < window.end
                and window.start < row["end"]
            ):
                violations.append(
                    f"{where} runs [{row['start']}, {row['end']}) on machine "
                    f"{row['machine']} during its downtime "
                    f"[{window.start}, {window.end})"
                )
    violations.extend(_machine_violations(problem, list(rows.values())))
    completions = [rows[j, len(job.operations) - 1]["end"] for j, job in enumerate(problem.jobs)]
    if problem.objective == "makespan":
        cost = max(completions)
    else:
        cost = sum(
            job.weight * max(0, end - job.due)
            for job, end in zip(problem.jobs, completions, strict=True)
            if job.due is not None
        )
    if abs(plan.objective - cost) > 1e-6 * max(1.0, abs(cost)):
        violations.append(
            f"objective {plan.objective} differs from the {problem.objective} "
            f"{cost} of the schedule"
        )
    return violations


def _machine_violations(problem: ShopProblem, rows: list[dict[str, int]]) -> list[str]:
    """Overlaps and short set-ups between consecutive operations on each machine."""
    setups = problem.setup_matrices()
    violations: list[str] = []
    by_machine: dict[int, list[dict[str, int]]] = {}
    for row in sorted(rows, key=lambda r: (r["start"], r["end"])):
        by_machine.setdefault(row["machine"], []).append(row)
    for machine, sequence in sorted(by_machine.items()):
        for before, after in itertools.pairwise(sequence):
            gap = int(setups[machine][before["job"], after["job"]]) if machine in setups else 0
            if after["start"] < before["end"] + gap:
                violations.append(
                    f"machine {machine}: job {after['job']} operation {after['operation']} starts "
                    f"at {after['start']}, before job {before['job']} operation "
                    f"{before['operation']} ends at {before['end']} plus set-up {gap}"
                )
    return violations
