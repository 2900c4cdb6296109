"""An independent check of a DC OPF plan against the network's physics and limits.

It reads only the plan's bus angles and generator outputs, recomputes every branch flow from the
angles branch by branch (DC model of :mod:`.network`), and checks the flows reported, the branch
ratings, the generator limits, the balance of every bus and the cost. An empty list means the plan
is feasible.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from valueloop.optimize.base import SOLVED_STATUSES, Plan
from valueloop.optimize.power.dcopf import OPF_SCHEMA
from valueloop.optimize.power.network import DcOpfProblem

MW_TOLERANCE = 1e-4
"""Largest breach of a limit or balance, in MW, that counts as numerical noise."""


def validate_dcopf_plan(problem: DcOpfProblem, plan: Plan) -> list[str]:
    """Check a DC OPF plan; list the violations (see the module documentation)."""
    violations: list[str] = []
    if plan.status not in SOLVED_STATUSES:
        violations.append(f"status {plan.status!r} is not a solved status")
    table = plan.assignments
    missing = [f.name for f in OPF_SCHEMA if f.name not in table.column_names]
    if missing:
        return [*violations, f"assignments lack column(s) {', '.join(missing)}"]
    rows = table.to_pylist()
    angle = {row["bus"]: row["angle_deg"] for row in rows if row["element"] == "bus"}
    output = {row["name"]: row["mw"] for row in rows if row["element"] == "generator"}
    reported = {row["name"]: row["mw"] for row in rows if row["element"] == "branch"}
    if set(angle) != {bus.index for bus in problem.buses}:
        return [*violations, "the plan's buses are not the network's"]
    if set(output) != {g.name for g in problem.generators}:
        return [*violations, "the plan's generators are not the network's"]

    net_export: dict[int, float] = defaultdict(float)
    for bus in problem.buses:
        net_export[bus.index] -= bus.load_mw
        if bus.reference and abs(angle[bus.index] - bus.angle_deg) > 1e-6:
            violations.append(f"reference bus {bus.index} moved to {angle[bus.index]} degrees")
    cost = 0.0
    for generator in problem.generators:
        mw = output[generator.name]
        if not generator.min_mw - MW_TOLERANCE <= mw <= generator.max_mw + MW_TOLERANCE:
            violations.append(
                f"generator {generator.name}: {mw:.4f} MW outside "
                f"{generator.min_mw}..{generator.max_mw} MW"
            )
        net_export[generator.bus] += mw
        cost += float(generator.cost(np.array(mw)))
    for branch in problem.branches:
        difference = math.radians(angle[branch.from_bus] - angle[branch.to_bus] - branch.shift_deg)
        flow = problem.base_mva * difference / (branch.x_pu * branch.ratio)
        net_export[branch.from_bus] -= flow
        net_export[branch.to_bus] += flow
        if branch.rate_mw > 0 and abs(flow) > branch.rate_mw + MW_TOLERANCE:
            violations.append(
                f"branch {branch.name}: {flow:.4f} MW over its {branch.rate_mw} MW rating"
            )
        shown = reported.get(branch.name)
        if shown is None or abs(shown - flow) > MW_TOLERANCE:
            violations.append(f"branch {branch.name}: reported {shown} MW, angles give {flow} MW")
    for index, mismatch in net_export.items():
        if abs(mismatch) > MW_TOLERANCE * max(1, len(problem.branches)):
            violations.append(f"bus {index}: out of balance by {mismatch:.6f} MW")
    if not math.isclose(plan.objective, cost, rel_tol=1e-6, abs_tol=1e-3):
        violations.append(f"objective {plan.objective} differs from the recomputed cost {cost}")
    return violations
