"""Predictive maintenance planning of a fleet from remaining-useful-life predictions.

Each engine is overhauled at most once within a horizon of ``horizon_days`` days, by a crew doing at
most ``crew_per_day`` overhauls a day. The plan minimises the total expected cost, in the money unit
of :class:`MaintenanceCosts`, under the uncertainty of each engine's failure time.

Time and failure convention (shared with the simulators of the packs): an engine flies
``cycles_per_day`` cycles a day and whose remaining life is ``T`` cycles fails on day
``floor(T / cycles_per_day)``. An overhaul booked on day ``d`` prevents the failure only if the
failure day is later than ``d``, i.e. ``T >= (d + 1) * cycles_per_day``; it then throws away the
``T - d * cycles_per_day`` cycles the engine would still have flown from the start of day ``d``.
A failed engine is repaired as new and is assumed to run to the end of the horizon.

Forfeited life: overhauling before failure is not free, since the life left is lost. Each forfeited
cycle is charged ``planned_overhaul / mean_life_cycles``, the overhaul amortised over the mean
run-to-failure life of the fleet (e.g. the training engines' lifetimes), so that an overhaul made
``x`` cycles early costs the share ``x / mean_life_cycles`` of a further overhaul.

Failure-time distribution: each prediction (median ``rul``, interval ``[lower, upper]`` at coverage
``interval``) becomes a split normal: below the median a normal of scale
``(rul - lower) / z``, above it one of scale ``(upper - rul) / z``, each holding half the mass, with
``z`` the standard normal quantile at ``(1 + interval) / 2``. It reproduces the median and both
interval ends exactly, including skewed intervals, and allows a lower end at or below 0. As the
engine is running now, the distribution is truncated at 0 cycles (conditioned on ``T > 0``).

Expected cost of overhauling engine ``e`` on day ``d``, with ``F`` the failure-time CDF and
``a = (d + 1) * cycles_per_day``::

    F(a) * (unplanned_failure + unplanned_downtime_days * downtime_per_day)
    + (1 - F(a)) * (planned_overhaul + planned_downtime_days * downtime_per_day)
    + planned_overhaul / mean_life_cycles * E[(T - d * cycles_per_day) * 1{T >= a}]

and of not overhauling it within the horizon, the expected failure cost within the horizon,
``F(horizon_days * cycles_per_day) * (unplanned_failure + unplanned_downtime_days *
downtime_per_day)``; what happens after the horizon is not costed. The choice is an assignment
problem solved with CP-SAT on integer-scaled costs (see :data:`COST_STEPS`). An overhaul whose
expected cost is at least that of leaving the engine alone is not offered to the solver: it could
only take a crew slot.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Self

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray
from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field, model_validator

from valueloop.errors import OptimizeError
from valueloop.optimize.base import (
    SOLVED_STATUSES,
    Plan,
    SearchSettings,
    as_problem,
    cp_sat_name,
    solved_plan,
)

ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("asset", pa.string(), nullable=False),
        pa.field("day", pa.int32()),
        pa.field("failure_probability", pa.float64(), nullable=False),
        pa.field("expected_cost", pa.float64(), nullable=False),
    ]
)
"""Columns of :attr:`Plan.assignments` for a maintenance plan, one row per engine in problem order:
``day`` of the overhaul (null if not overhauled within the horizon), ``failure_probability`` that
the engine fails before it (or within the horizon, if not overhauled) and its ``expected_cost``."""

COST_STEPS = 10**9
"""Integer steps the most expensive option's cost is scaled to for CP-SAT; the objective and bound
are exact to within half a step per engine."""

_SCALE_FLOOR = 1e-9  # cycles: scale of a split-normal half whose interval end equals the median
_STANDARD_NORMAL = NormalDist()
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _normal_cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(0.5 * (1.0 + _erf(z / math.sqrt(2.0))), dtype=np.float64)


def _normal_pdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi), dtype=np.float64)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MaintenanceCosts(_Strict):
    """Economics of maintenance, in one money unit (e.g. USD) and days.

    The cost of a forfeited cycle of life is derived, not set: see
    :meth:`forfeited_cycle_cost`.
    """

    planned_overhaul: float = Field(ge=0, description="cost of one planned overhaul (money)")
    unplanned_failure: float = Field(
        ge=0, description="cost of one in-service failure, repair included (money)"
    )
    downtime_per_day: float = Field(ge=0, description="cost of one engine-day out of service")
    planned_downtime_days: float = Field(ge=0, description="days out of service per overhaul")
    unplanned_downtime_days: float = Field(ge=0, description="days out of service per failure")

    def overhaul_total(self) -> float:
        """Cost of one planned overhaul with its downtime (money)."""
        return self.planned_overhaul + self.planned_downtime_days * self.downtime_per_day

    def failure_total(self) -> float:
        """Cost of one in-service failure with its downtime (money)."""
        return self.unplanned_failure + self.unplanned_downtime_days * self.downtime_per_day

    def forfeited_cycle_cost(self, mean_life_cycles: float) -> float:
        """Cost of one cycle of life thrown away by an early overhaul (money per cycle)."""
        return self.planned_overhaul / mean_life_cycles


class EngineOutlook(_Strict):
    """A remaining-useful-life prediction for one engine, in cycles from now."""

    asset: str = Field(min_length=1, description="engine identifier")
    rul: float = Field(description="point prediction (median) of the remaining life, cycles")
    lower: float = Field(description="lower end of the prediction interval, cycles")
    upper: float = Field(gt=0, description="upper end of the prediction interval, cycles")
    interval: float = Field(gt=0, lt=1, description="nominal coverage of [lower, upper]")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.lower <= self.rul <= self.upper:
            raise ValueError(
                f"engine {self.asset}: expected lower <= rul <= upper, got "
                f"{self.lower} / {self.rul} / {self.upper} cycles"
            )
        return self


class MaintenanceProblem(_Strict):
    """A fleet to plan overhauls for, with the shop's capacity and the economics."""

    engines: list[EngineOutlook] = Field(min_length=1)
    cycles_per_day: float = Field(gt=0, description="cycles each engine flies a day")
    horizon_days: int = Field(ge=1, description="days planned, day 0 being today")
    crew_per_day: int = Field(ge=1, description="overhauls the crew can do in one day")
    costs: MaintenanceCosts
    mean_life_cycles: float = Field(gt=0, description="mean run-to-failure life, cycles")

    @model_validator(mode="after")
    def _unique_assets(self) -> Self:
        assets = [engine.asset for engine in self.engines]
        duplicates = sorted({asset for asset in assets if assets.count(asset) > 1})
        if duplicates:
            raise ValueError(f"each engine must appear once; repeated: {', '.join(duplicates)}")
        return self


@dataclass(frozen=True)
class FailureTimes:
    """Split-normal failure times truncated at 0, one per engine, in cycles from now.

    Arrays have one entry per engine; methods take cycle values that broadcast against a column
    per engine (e.g. a row of thresholds gives one row of results per engine).
    """

    median: NDArray[np.float64]
    scale_below: NDArray[np.float64]
    scale_above: NDArray[np.float64]

    @classmethod
    def from_outlooks(cls, engines: Sequence[EngineOutlook]) -> FailureTimes:
        """Match each engine's median and interval ends (see the module documentation)."""
        rul, lower, upper, interval = (
            np.array([getattr(engine, name) for engine in engines], dtype=np.float64)
            for name in ("rul", "lower", "upper", "interval")
        )
        z = np.array([_STANDARD_NORMAL.inv_cdf((1.0 + c) / 2.0) for c in interval])
        return cls(
            median=rul,
            scale_below=np.maximum((rul - lower) / z, _SCALE_FLOOR),
            scale_above=np.maximum((upper - rul) / z, _SCALE_FLOOR),
        )

    def _standardised(self, cycles: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        t = np.asarray(cycles, dtype=np.float64)
        median = self.median[:, None]
        scale = np.where(t < median, self.scale_below[:, None], self.scale_above[:, None])
        return (t - median) / scale, scale

    def _untruncated_cdf(self, cycles: ArrayLike) -> NDArray[np.float64]:
        return _normal_cdf(self._standardised(cycles)[0])

    def _alive_now(self) -> NDArray[np.float64]:
        return 1.0 - self._untruncated_cdf(np.zeros(1))

    def cdf(self, cycles: ArrayLike) -> NDArray[np.float64]:
        """P(T < cycles) for each engine (cycles >= 0), shape (engines, *cycles.shape)."""
        alive = self._alive_now()
        return np.asarray((self._untruncated_cdf(cycles) - (1.0 - alive)) / alive, dtype=np.float64)

    def partial_expectation(self, cycles: ArrayLike) -> NDArray[np.float64]:
        """E[T * 1{T >= cycles}] for each engine (cycles >= 0), in cycles."""
        z, scale = self._standardised(cycles)
        below_median = np.asarray(cycles, dtype=np.float64) < self.median[:, None]
        step = (self.scale_above - self.scale_below)[:, None] * _normal_pdf(np.zeros(1))
        untruncated = (
            self.median[:, None] * (1.0 - _normal_cdf(z))
            + scale * _normal_pdf(z)
            + np.where(below_median, step, 0.0)
        )
        return np.asarray(untruncated / self._alive_now(), dtype=np.float64)


@dataclass(frozen=True)
class OptionCosts:
    """Expected cost of each option of each engine, in money.

    Attributes:
        service: (engines, horizon_days) expected cost of overhauling on each day.
        service_failure: (engines, horizon_days) probability of failing before that overhaul.
        idle: (engines,) expected cost of not overhauling within the horizon.
        idle_failure: (engines,) probability of failing within the horizon.
    """

    service: NDArray[np.float64]
    service_failure: NDArray[np.float64]
    idle: NDArray[np.float64]
    idle_failure: NDArray[np.float64]


def option_costs(problem: MaintenanceProblem) -> OptionCosts:
    """Expected cost of every option of every engine (formulas in the module documentation)."""
    life = FailureTimes.from_outlooks(problem.engines)
    costs = problem.costs
    days = np.arange(problem.horizon_days, dtype=np.float64)
    flown = days * problem.cycles_per_day
    threshold = flown + problem.cycles_per_day
    failure = np.clip(life.cdf(threshold), 0.0, 1.0)
    survival = 1.0 - failure
    forfeited = np.maximum(life.partial_expectation(threshold) - flown * survival, 0.0)
    service = (
        failure * costs.failure_total()
        + survival * costs.overhaul_total()
        + forfeited * costs.forfeited_cycle_cost(problem.mean_life_cycles)
    )
    horizon_cycles = np.array([problem.horizon_days * problem.cycles_per_day])
    idle_failure = np.clip(life.cdf(horizon_cycles)[:, 0], 0.0, 1.0)
    return OptionCosts(
        service=service,
        service_failure=failure,
        idle=idle_failure * costs.failure_total(),
        idle_failure=idle_failure,
    )


@dataclass(frozen=True, kw_only=True)
class MaintenancePlanner(SearchSettings):
    """Plans overhauls with CP-SAT; ``workers`` are CP-SAT search workers (see
    :class:`~valueloop.optimize.base.SearchSettings`)."""

    def solve(self, problem: MaintenanceProblem | Mapping[str, Any]) -> Plan:
        """Plan the overhauls of ``problem`` (a model, or its fields as plain data).

        Returns a :class:`~valueloop.optimize.base.Plan` whose objective and bound are expected
        costs in money and whose assignments follow :data:`ASSIGNMENTS_SCHEMA`. Raises
        :class:`~valueloop.errors.OptimizeError` if the problem is invalid or no plan is found
        within ``time_limit``.
        """
        started = time.perf_counter()
        problem = as_problem(MaintenanceProblem, problem, "maintenance")
        options = option_costs(problem)
        n_engines, n_days = options.service.shape
        assignment = AssignmentModel.build(options, np.full(n_days, problem.crew_per_day))
        remaining = self.time_limit - (time.perf_counter() - started)
        if remaining <= 0:
            raise OptimizeError(
                f"building the model of {n_engines} engines x {n_days} days took longer than "
                f"time_limit={self.time_limit} s: raise time_limit or shorten the horizon"
            )
        solution = assignment.solve(seconds=remaining, workers=self.workers, seed=self.seed)
        if solution.status not in SOLVED_STATUSES:
            raise OptimizeError(
                f"CP-SAT found no maintenance plan (status {solution.status}) within "
                f"{self.time_limit} s: raise time_limit or workers"
            )
        return solution.plan([engine.asset for engine in problem.engines])


@dataclass(frozen=True)
class AssignmentModel:
    """The CP-SAT model of choosing, for each asset, one day to service it or none.

    Each asset is left alone or serviced on one day; day ``d`` takes at most ``capacity[d]``
    visits; the plan minimises the total expected cost of :class:`OptionCosts`. A visit whose cost
    is at least that of leaving the asset alone, or on a day without capacity, is not offered: it
    could only take a slot. Costs are scaled to integer steps (:data:`COST_STEPS`) of ``unit``
    money. :meth:`MaintenancePlanner.solve` builds it with the same capacity every day; the
    site's visit planner (:mod:`valueloop.decide.visits`) with a capacity per day.
    """

    options: OptionCosts
    unit: float
    model: cp_model.CpModel
    booked: dict[tuple[int, int], cp_model.IntVar]

    @classmethod
    def build(cls, options: OptionCosts, capacity: ArrayLike) -> AssignmentModel:
        """The model of ``options`` with ``capacity[d]`` visits on day ``d`` of the horizon."""
        n_assets = options.idle.size
        unit = max(float(options.service.max()), float(options.idle.max()), 1.0) / COST_STEPS
        service_steps = np.rint(options.service / unit).astype(np.int64)
        idle_steps = np.rint(options.idle / unit).astype(np.int64)
        crew = np.asarray(capacity, dtype=np.int64)
        offered = (service_steps < idle_steps[:, None]) & (crew > 0)[None, :]

        model = cp_model.CpModel()
        idle = [model.new_bool_var(f"idle[{a}]") for a in range(n_assets)]
        booked: dict[tuple[int, int], cp_model.IntVar] = {}
        per_asset: list[list[cp_model.IntVar]] = [[var] for var in idle]
        per_day: dict[int, list[cp_model.IntVar]] = {}
        for a, d in np.argwhere(offered).tolist():
            booked[a, d] = model.new_bool_var(f"x[{a},{d}]")
            per_asset[a].append(booked[a, d])
            per_day.setdefault(d, []).append(booked[a, d])
        for choices in per_asset:
            model.add_exactly_one(choices)
        for day, on_day in per_day.items():
            model.add(cp_model.LinearExpr.sum(on_day) <= int(crew[day]))
        model.minimize(
            cp_model.LinearExpr.weighted_sum(
                [*idle, *booked.values()],
                [*idle_steps.tolist(), *(int(service_steps[key]) for key in booked)],
            )
        )
        return cls(options=options, unit=unit, model=model, booked=booked)

    def solve(self, *, seconds: float, workers: int, seed: int) -> AssignmentSolution:
        """Search for at most ``seconds`` on ``workers`` workers from ``seed``; the solution's
        status says whether a plan was found."""
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        status = solver.status_name(solver.solve(self.model))
        return AssignmentSolution(assignment=self, solver=solver, status=status)


@dataclass(frozen=True)
class AssignmentSolution:
    """The outcome of :meth:`AssignmentModel.solve`: the CP-SAT ``status`` and its solver."""

    assignment: AssignmentModel
    solver: cp_model.CpSolver
    status: str

    def plan(self, assets: Sequence[str]) -> Plan:
        """The plan of a solved status, one row per asset (named by ``assets``, in model order)
        following :data:`ASSIGNMENTS_SCHEMA`, with its objective and bound in money."""
        options, unit, solver = self.assignment.options, self.assignment.unit, self.solver
        n_assets = options.idle.size
        chosen_day = np.zeros(n_assets, dtype=np.int64)
        serviced = np.zeros(n_assets, dtype=bool)
        for (a, d), var in self.assignment.booked.items():
            if solver.boolean_value(var):
                chosen_day[a], serviced[a] = d, True
        rows = np.arange(n_assets)
        objective = solver.objective_value * unit
        bound = solver.best_objective_bound * unit
        assignments = pa.table(
            {
                "asset": list(assets),
                "day": pa.array(chosen_day, pa.int32(), mask=~serviced),
                "failure_probability": np.where(
                    serviced, options.service_failure[rows, chosen_day], options.idle_failure
                ),
                "expected_cost": np.where(
                    serviced, options.service[rows, chosen_day], options.idle
                ),
            },
            schema=ASSIGNMENTS_SCHEMA,
        )
        return solved_plan(
            status=self.status,
            objective=objective,
            bound=bound,
            scale=unit,
            solve_seconds=solver.wall_time,
            assignments=assignments,
            solver=cp_sat_name(),
            log=solver.response_stats(),
        )


def validate_maintenance_plan(problem: MaintenanceProblem, plan: Plan) -> list[str]:
    """Check a plan against the problem's rules, independently of the planner; list violations.

    Checks the plan's status and the assignments' columns, that every engine of the problem has
    exactly one row, that days lie within the horizon, that no day exceeds the crew's capacity,
    that probabilities and costs are in range, and that the objective is the sum of the engines'
    expected costs. An empty list means the plan is feasible.
    """
    violations: list[str] = []
    if plan.status not in SOLVED_STATUSES:
        violations.append(f"status {plan.status!r} is not a solved status")
    table = plan.assignments
    missing = [f.name for f in ASSIGNMENTS_SCHEMA if f.name not in table.column_names]
    if missing:
        return [*violations, f"assignments lack column(s) {', '.join(missing)}"]
    for field in ASSIGNMENTS_SCHEMA:
        if table.schema.field(field.name).type != field.type:
            violations.append(
                f"column {field.name} is {table.schema.field(field.name).type}, not {field.type}"
            )
    if violations:
        return violations

    assets = table["asset"].to_pylist()
    expected = [engine.asset for engine in problem.engines]
    for asset in sorted(set(expected) - set(assets)):
        violations.append(f"engine {asset} has no row")
    for asset in sorted({a for a in assets if a not in expected}):
        violations.append(f"row for unknown engine {asset}")
    for asset in sorted({a for a in assets if assets.count(a) > 1}):
        violations.append(f"engine {asset} has {assets.count(asset)} rows; at most one overhaul")

    days = table["day"].to_numpy(zero_copy_only=False)
    booked = ~np.isnan(days.astype(np.float64))
    outside = booked & ((days < 0) | (days >= problem.horizon_days))
    for asset, day in zip(np.array(assets, dtype=object)[outside], days[outside], strict=True):
        violations.append(
            f"engine {asset} booked on day {int(day)}, outside 0..{problem.horizon_days - 1}"
        )
    counts = np.bincount(days[booked & ~outside].astype(np.int64), minlength=problem.horizon_days)
    for day in np.flatnonzero(counts > problem.crew_per_day):
        violations.append(
            f"day {day}: {counts[day]} overhauls, over the crew's {problem.crew_per_day} a day"
        )

    probability = table["failure_probability"].to_numpy()
    if np.any(~np.isfinite(probability) | (probability < 0) | (probability > 1)):
        violations.append("a failure probability lies outside [0, 1]")
    cost = table["expected_cost"].to_numpy()
    if np.any(~np.isfinite(cost) | (cost < 0)):
        violations.append("an expected cost is negative or not finite")
    total = float(cost.sum())
    if not math.isclose(plan.objective, total, rel_tol=1e-6, abs_tol=1e-6):
        violations.append(f"objective {plan.objective} differs from the summed costs {total}")
    return violations
