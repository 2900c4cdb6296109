"""The CP-SAT model of a shop: interval variables, one no-overlap per machine, set-up circuits.

Each operation has a start and an end variable. An operation with one eligible machine has one
interval on that machine; one with several has an optional interval per eligible machine, sharing
the operation's start, of which exactly one is present. Each machine gets a no-overlap constraint
over its intervals and its downtime windows (fixed intervals). Where a machine has set-ups, a
circuit over its operations (a depot node closes the tour, and an operation run elsewhere loops on
itself) orders them, and each arc chosen imposes the set-up gap between its two ends.

The strengthened model (``strengthen=True``) adds what the textbook model leaves to the solver:
start windows from each job's release, heads and tails; a makespan lower bound from the machine
loads; and the ordering of identical jobs (symmetry breaking). Both models have the same
solutions up to the symmetry broken.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from valueloop.optimize.scheduling.dispatch import ListSchedule
from valueloop.optimize.scheduling.flat import FlatShop
from valueloop.optimize.scheduling.problem import ShopProblem


@dataclass
class ShopModel:
    """A built CP-SAT model and the variables a schedule is read from.

    Attributes:
        model: the CP-SAT model.
        starts, ends: start and end of each flat operation (time units).
        choices: per operation with several machines, machine -> presence literal.
        intervals: per machine, the intervals of its no-overlap constraint.
        arcs: per machine with set-ups, (from node, to node) -> literal; node 0 is the depot and
            node ``o + 1`` is operation ``o``.
        makespan: end of the last operation (makespan objective only).
        tardiness: tardiness of each job with a due date (weighted-tardiness objective only).
    """

    model: cp_model.CpModel
    starts: list[cp_model.IntVar]
    ends: list[cp_model.IntVar]
    choices: dict[int, dict[int, cp_model.IntVar]] = field(default_factory=dict)
    intervals: dict[int, list[cp_model.IntervalVar]] = field(default_factory=dict)
    arcs: dict[int, dict[tuple[int, int], cp_model.IntVar]] = field(default_factory=dict)
    makespan: cp_model.IntVar | None = None
    tardiness: dict[int, cp_model.IntVar] = field(default_factory=dict)

    def add_hints(self, problem: ShopProblem, flat: FlatShop, schedule: ListSchedule) -> None:
        """Hint every decision variable with the values of a complete schedule."""
        model = self.model
        for o, (start, end) in enumerate(zip(schedule.start, schedule.end, strict=True)):
            model.add_hint(self.starts[o], start)
            model.add_hint(self.ends[o], end)
        for o, literals in self.choices.items():
            for machine, literal in literals.items():
                model.add_hint(literal, schedule.machine[o] == machine)
        sequences = schedule.sequences()
        for machine, arcs in self.arcs.items():
            order = [o + 1 for o in sequences.get(machine, [])]
            chosen = set(zip([0, *order], [*order, 0], strict=True)) if order else {(0, 0)}
            for arc, arc_literal in arcs.items():
                model.add_hint(arc_literal, arc in chosen)
        completions = schedule.job_completions(flat)
        if self.makespan is not None:
            model.add_hint(self.makespan, max(completions))
        for j, variable in self.tardiness.items():
            model.add_hint(variable, max(0, completions[j] - (problem.jobs[j].due or 0)))


def _machine_load_bound(problem: ShopProblem, flat: FlatShop) -> int:
    """A makespan lower bound: the busiest machine's fixed load, or the average shortest load."""
    fixed: dict[int, int] = defaultdict(int)
    for options in flat.options:
        if len(options) == 1:
            fixed[options[0][0]] += options[0][1]
    total = sum(flat.shortest(o) for o in range(len(flat)))
    average = -(-total // problem.machines)
    jobs = max(flat.head[last] + flat.shortest(last) for last in flat.last)
    return max(max(fixed.values(), default=0), average, jobs)


def _identical_jobs(problem: ShopProblem) -> list[tuple[int, int]]:
    """Pairs (a, b), a < b, of consecutive jobs that no constraint tells apart."""
    setups = problem.setup_matrices()
    groups: dict[str, list[int]] = defaultdict(list)
    for j, job in enumerate(problem.jobs):
        setup_key = [(m, matrix[j].tolist(), matrix[:, j].tolist()) for m, matrix in setups.items()]
        key = job.model_dump_json(exclude={"name"}) + repr(setup_key)
        groups[key].append(j)
    return [(a, b) for members in groups.values() for a, b in itertools.pairwise(members)]


def build_shop_model(
    problem: ShopProblem, flat: FlatShop, *, horizon: int, strengthen: bool, calendar: bool = True
) -> ShopModel:
    """Build the CP-SAT model of ``problem`` with every end at most ``horizon`` (time units).

    ``calendar=False`` leaves out the release dates and downtime windows, for a caller that adds
    them itself (see :mod:`.diagnose`).
    """
    model = cp_model.CpModel()
    starts: list[cp_model.IntVar] = []
    ends: list[cp_model.IntVar] = []
    per_machine: dict[int, list[cp_model.IntervalVar]] = defaultdict(list)
    choices: dict[int, dict[int, cp_model.IntVar]] = {}
    for o, options in enumerate(flat.options):
        first = flat.position[o] == 0 and calendar
        release = problem.jobs[flat.job[o]].release if first else 0
        low = flat.head[o] if strengthen else release
        high = horizon - flat.tail[o] if strengthen else horizon
        start = model.new_int_var(low, max(low, high - flat.shortest(o)), f"start[{o}]")
        end = model.new_int_var(low, max(low, high), f"end[{o}]")
        if len(options) == 1:
            machine, duration = options[0]
            per_machine[machine].append(model.new_interval_var(start, duration, end, f"op[{o}]"))
        else:
            literals: dict[int, cp_model.IntVar] = {}
            for machine, duration in options:
                literal = model.new_bool_var(f"on[{o},{machine}]")
                literals[machine] = literal
                per_machine[machine].append(
                    model.new_optional_fixed_size_interval_var(start, duration, literal, f"op[{o}]")
                )
            model.add_exactly_one(literals.values())
            model.add(end == start + sum(d * literals[m] for m, d in options))
            choices[o] = literals
        starts.append(start)
        ends.append(end)
        if flat.position[o] > 0:
            model.add(start >= ends[o - 1])
    for window in problem.downtime if calendar else []:
        if window.start < horizon:
            per_machine[window.machine].append(
                model.new_fixed_size_interval_var(window.start, window.end - window.start, "down")
            )
    shop = ShopModel(model=model, starts=starts, ends=ends, choices=choices, intervals=per_machine)
    for intervals in per_machine.values():
        model.add_no_overlap(intervals)
    _add_setups(problem, flat, shop)
    _add_objective(problem, flat, shop, horizon=horizon, strengthen=strengthen)
    if strengthen:
        for a, b in _identical_jobs(problem):
            model.add(starts[flat.first(a)] <= starts[flat.first(b)])
    return shop


def _add_setups(problem: ShopProblem, flat: FlatShop, shop: ShopModel) -> None:
    model = shop.model
    for machine, matrix in problem.setup_matrices().items():
        operations = [o for o in range(len(flat)) if any(m == machine for m, _ in flat.options[o])]
        if not operations or not matrix.any():
            continue
        arcs: dict[tuple[int, int], cp_model.IntVar] = {}
        skipped: list[tuple[int, int, cp_model.LiteralT]] = []  # run on another machine
        for o in operations:
            arcs[0, o + 1] = model.new_bool_var(f"first[{machine},{o}]")
            arcs[o + 1, 0] = model.new_bool_var(f"last[{machine},{o}]")
            if o in shop.choices:
                skipped.append((o + 1, o + 1, shop.choices[o][machine].negated()))
            for p in operations:
                if p == o:
                    continue
                literal = model.new_bool_var(f"next[{machine},{o},{p}]")
                gap = int(matrix[flat.job[o], flat.job[p]])
                model.add(shop.starts[p] >= shop.ends[o] + gap).only_enforce_if(literal)
                arcs[o + 1, p + 1] = literal
        if skipped:
            arcs[0, 0] = model.new_bool_var(f"idle[{machine}]")
        model.add_circuit([*((a, b, lit) for (a, b), lit in arcs.items()), *skipped])
        shop.arcs[machine] = arcs


def _add_objective(
    problem: ShopProblem, flat: FlatShop, shop: ShopModel, *, horizon: int, strengthen: bool
) -> None:
    model = shop.model
    completions = [shop.ends[last] for last in flat.last]
    if problem.objective == "makespan":
        low = min(_machine_load_bound(problem, flat), horizon) if strengthen else 0
        shop.makespan = model.new_int_var(low, horizon, "makespan")
        model.add_max_equality(shop.makespan, completions)
        model.minimize(shop.makespan)
        return
    terms = []
    for j, job in enumerate(problem.jobs):
        if job.due is None:
            continue
        tardiness = model.new_int_var(0, max(0, horizon - job.due), f"tardiness[{j}]")
        model.add_max_equality(tardiness, [0, completions[j] - job.due])
        shop.tardiness[j] = tardiness
        terms.append(job.weight * tardiness)
    model.minimize(sum(terms))
