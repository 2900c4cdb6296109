"""Why a shop has no schedule: the calendar constraints CP-SAT finds cannot hold together.

The shop is modelled again with its release dates, its horizon and each machine's downtime
switched on by one assumption literal each; CP-SAT, asked for a schedule under all assumptions,
returns a subset of them that is already infeasible (its sufficient assumptions), which names the
constraints a planner must relax: a later horizon, an earlier release, a moved maintenance window.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from valueloop.optimize.scheduling.flat import FlatShop
from valueloop.optimize.scheduling.model import build_shop_model
from valueloop.optimize.scheduling.problem import ShopProblem


def conflicting_constraints(
    problem: ShopProblem, flat: FlatShop, *, time_limit: float
) -> list[str]:
    """Release dates, horizon and downtime that together leave no schedule, as phrases.

    Empty when CP-SAT cannot tell within ``time_limit`` seconds, or when the shop has no schedule
    even without any of them (which a set-up table alone cannot cause, so it does not happen).
    """
    shop = build_shop_model(
        problem, flat, horizon=problem.time_bound(), strengthen=False, calendar=False
    )
    model = shop.model
    assumed: dict[int, str] = {}

    def assume(description: str) -> cp_model.IntVar:
        literal = model.new_bool_var(description)
        assumed[literal.index] = description
        return literal

    for j, job in enumerate(problem.jobs):
        if job.release > 0:
            released = assume(f"job {j} released at {job.release}")
            model.add(shop.starts[flat.first(j)] >= job.release).only_enforce_if(released)
        if problem.horizon is not None:
            on_time = assume(f"job {j} ending by the horizon {problem.horizon}")
            model.add(shop.ends[flat.last[j]] <= problem.horizon).only_enforce_if(on_time)
    windows: dict[int, list[tuple[int, int]]] = {}
    for window in problem.downtime:
        windows.setdefault(window.machine, []).append((window.start, window.end))
    for machine, spans in sorted(windows.items()):
        text = ", ".join(f"[{a}, {b})" for a, b in spans)
        down = assume(f"machine {machine} down during {text}")
        calendar = [
            model.new_optional_fixed_size_interval_var(a, b - a, down, f"down[{machine}]")
            for a, b in spans
        ]
        model.add_no_overlap([*shop.intervals.get(machine, []), *calendar])
    model.add_assumptions([model.get_bool_var_from_proto_index(i) for i in assumed])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 1
    if solver.solve(model) != cp_model.INFEASIBLE:
        return []
    return [assumed[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in assumed]
