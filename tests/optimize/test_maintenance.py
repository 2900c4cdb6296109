"""Maintenance planning on the C-MAPSS FD001 test fleet and on instances checked by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError
from tests.optimize.outlooks import FLEET_COSTS, noisy_outlooks

from valueloop.datasets.cmapss import load_cmapss, load_true_rul
from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import Plan, check_optimizer
from valueloop.optimize.maintenance import (
    ASSIGNMENTS_SCHEMA,
    EngineOutlook,
    FailureTimes,
    MaintenanceCosts,
    MaintenancePlanner,
    MaintenanceProblem,
    validate_maintenance_plan,
)


@pytest.fixture(scope="module")
def fd001_problem() -> MaintenanceProblem:
    train = load_cmapss("FD001", "train").group_by("unit").aggregate([("cycle", "max")])
    true_rul = load_true_rul("FD001")["rul"].to_numpy().astype(np.float64)
    return MaintenanceProblem(
        engines=noisy_outlooks(true_rul),
        cycles_per_day=2,
        horizon_days=75,
        crew_per_day=2,
        costs=FLEET_COSTS,
        mean_life_cycles=float(np.mean(train["cycle_max"].to_numpy())),
    )


@pytest.fixture(scope="module")
def fd001_plan(fd001_problem: MaintenanceProblem) -> Plan:
    return MaintenancePlanner().solve(fd001_problem)


def test_fd001_plan_is_solved_feasible_and_fast(
    fd001_problem: MaintenanceProblem, fd001_plan: Plan
) -> None:
    plan = fd001_plan
    print(
        f"\nFD001 plan: {plan.status}, objective {plan.objective:,.0f}, bound "
        f"{plan.best_bound:,.0f}, gap {plan.gap:.2%}, {plan.solve_seconds:.2f} s, {plan.solver}"
    )
    assert plan.status in ("OPTIMAL", "FEASIBLE")
    assert plan.solve_seconds < 10.0
    assert 0.0 <= plan.gap <= 1.0
    assert plan.best_bound <= plan.objective + 1e-6 * plan.objective
    assert plan.assignments.schema.equals(ASSIGNMENTS_SCHEMA)
    assert plan.assignments["asset"].to_pylist() == [e.asset for e in fd001_problem.engines]
    assert validate_maintenance_plan(fd001_problem, plan) == []
    assert plan.objective == pytest.approx(float(np.sum(plan.assignments["expected_cost"])))


def test_fd001_crew_capacity_is_respected_when_it_binds(fd001_problem: MaintenanceProblem) -> None:
    problem = fd001_problem.model_copy(update={"crew_per_day": 1})
    plan = MaintenancePlanner().solve(problem)
    days = plan.assignments["day"].drop_null().to_numpy()
    assert np.bincount(days).max() <= 1
    assert plan.assignments["day"].null_count > 0  # 100 engines, 75 slots
    assert validate_maintenance_plan(problem, plan) == []


def test_check_optimizer_passes_on_fd001(fd001_problem: MaintenanceProblem) -> None:
    assert check_optimizer(MaintenancePlanner(), fd001_problem, validate_maintenance_plan) == []


def certain(asset: str, rul: float) -> EngineOutlook:
    """An engine whose remaining life is known exactly."""
    return EngineOutlook(asset=asset, rul=rul, lower=rul, upper=rul, interval=0.8)


# Hand-checkable economics: overhaul 100 + 1 day x 10 = 110, failure 1000 + 5 days x 10 = 1050,
# forfeited life 100 / 10 = 10 a cycle; 1 cycle a day, so an engine with T cycles left fails on
# day floor(T), and an overhaul on day d < floor(T) costs 110 + 10 * (T - d).
HAND_COSTS = MaintenanceCosts(
    planned_overhaul=100,
    unplanned_failure=1000,
    downtime_per_day=10,
    planned_downtime_days=1,
    unplanned_downtime_days=5,
)


@pytest.mark.parametrize(
    ("lives", "horizon", "days", "costs"),
    [
        # Both fail on day 1, only one slot on day 0: overhauling A (110 + 14 = 124) and letting
        # B fail (1050) beats overhauling B (110 + 17 = 127) and letting A fail.
        ((1.4, 1.7), 3, (0, None), (124.0, 1050.0)),
        # No conflict: A must go on day 0; B fails on day 3, so its last safe day 2 forfeits the
        # least, 3.5 - 2 = 1.5 cycles: 110 + 15 = 125 (day 1: 135, day 0: 145, not at all: 1050).
        ((1.4, 3.5), 5, (0, 2), (124.0, 125.0)),
    ],
)
def test_two_engines_one_crew_by_hand(
    lives: tuple[float, float],
    horizon: int,
    days: tuple[int | None, int | None],
    costs: tuple[float, float],
) -> None:
    problem = MaintenanceProblem(
        engines=[certain("A", lives[0]), certain("B", lives[1])],
        cycles_per_day=1,
        horizon_days=horizon,
        crew_per_day=1,
        costs=HAND_COSTS,
        mean_life_cycles=10,
    )
    plan = MaintenancePlanner(workers=1).solve(problem)
    assert plan.status == "OPTIMAL"
    assert tuple(plan.assignments["day"].to_pylist()) == days
    assert plan.assignments["expected_cost"].to_pylist() == pytest.approx(costs)
    assert plan.objective == pytest.approx(sum(costs))
    expected_failure = [0.0 if day is not None else 1.0 for day in days]
    assert plan.assignments["failure_probability"].to_pylist() == pytest.approx(expected_failure)


def test_failure_times_match_the_prediction() -> None:
    engines = [
        EngineOutlook(asset="sym", rul=100, lower=80, upper=120, interval=0.8),
        EngineOutlook(asset="skew", rul=100, lower=95, upper=150, interval=0.9),
        EngineOutlook(asset="near", rul=5, lower=-10, upper=30, interval=0.8),
    ]
    life = FailureTimes.from_outlooks(engines)
    quantiles = life.cdf(np.array([80.0, 95.0, 100.0, 120.0, 150.0]))
    assert quantiles[0, [0, 2, 3]] == pytest.approx([0.1, 0.5, 0.9], abs=1e-9)
    assert quantiles[1, [1, 2, 4]] == pytest.approx([0.05, 0.5, 0.95], abs=1e-9)
    # Truncated at 0: no mass below 0, and the expectation is that of the truncated law,
    # E[T 1{T >= a}] = a S(a) + integral of S from a, here computed numerically.
    grid = np.linspace(0.0, 400.0, 400_001)
    survival = 1.0 - life.cdf(grid)
    assert life.cdf(np.array([0.0]))[:, 0] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    for a in (0.0, 5.0, 110.0):
        beyond = grid >= a
        numeric = a * (1.0 - life.cdf(np.array([a])))[:, 0] + np.trapezoid(
            survival[:, beyond], grid[beyond], axis=1
        )
        assert life.partial_expectation(np.array([a]))[:, 0] == pytest.approx(numeric, rel=1e-6)


def test_validator_reports_violations(fd001_problem: MaintenanceProblem, fd001_plan: Plan) -> None:
    table = fd001_plan.assignments
    days = pa.array([0, 0, 0, 75, *table["day"].to_pylist()[4:-1]], pa.int32())
    broken = dataclasses.replace(
        fd001_plan, assignments=table.slice(0, table.num_rows - 1).set_column(1, "day", days)
    )
    violations = validate_maintenance_plan(fd001_problem, broken)
    assert any("FD001-100 has no row" in v for v in violations)
    assert any("outside 0..74" in v for v in violations)
    assert any("day 0:" in v and "over the crew's 2 a day" in v for v in violations)
    assert any("differs from the summed costs" in v for v in violations)


def test_invalid_problems_raise_clear_errors(fd001_problem: MaintenanceProblem) -> None:
    with pytest.raises(ValidationError, match="expected lower <= rul <= upper"):
        EngineOutlook(asset="x", rul=10, lower=20, upper=30, interval=0.8)
    with pytest.raises(ValidationError, match="interval"):
        EngineOutlook(asset="x", rul=10, lower=5, upper=30, interval=1.0)
    with pytest.raises(ValidationError, match="extra"):
        MaintenanceCosts(**HAND_COSTS.model_dump(), spares=1.0)
    with pytest.raises(ValidationError, match="planned_overhaul"):
        MaintenanceCosts(**{**HAND_COSTS.model_dump(), "planned_overhaul": -1.0})
    with pytest.raises(ValidationError, match="repeated: A"):
        fd001_problem.model_validate(
            {**fd001_problem.model_dump(), "engines": [certain("A", 3), certain("A", 4)]}
        )
    plain = fd001_problem.model_dump()
    with pytest.raises(OptimizeError, match="crew_per_day"):
        MaintenancePlanner().solve({**plain, "crew_per_day": 0})
    with pytest.raises(OptimizeError, match="engines"):
        MaintenancePlanner().solve({**plain, "engines": []})
    with pytest.raises(ConfigError, match="time_limit"):
        MaintenancePlanner(time_limit=0)
    with pytest.raises(ConfigError, match="workers"):
        MaintenancePlanner(workers=0)


def test_no_plan_within_the_time_limit_raises(fd001_problem: MaintenanceProblem) -> None:
    with pytest.raises(OptimizeError, match="raise time_limit"):
        MaintenancePlanner(time_limit=1e-6).solve(fd001_problem)
