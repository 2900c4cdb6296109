"""Visits on a shared crew: the extension agrees with the maintenance optimiser where both apply."""

from __future__ import annotations

import numpy as np
import pytest

from valueloop.decide.visits import plan_visits
from valueloop.errors import OptimizeError
from valueloop.optimize.maintenance import (
    EngineOutlook,
    MaintenanceCosts,
    MaintenancePlanner,
    MaintenanceProblem,
    validate_maintenance_plan,
)

COSTS = MaintenanceCosts(
    planned_overhaul=1200,
    unplanned_failure=45000,
    downtime_per_day=21600,
    planned_downtime_days=4 / 24,
    unplanned_downtime_days=2,
)
PLANNER = MaintenancePlanner(time_limit=5, workers=1)


def _problem(medians: list[float], *, first: int = 0, days: int = 10) -> MaintenanceProblem:
    return MaintenanceProblem(
        engines=[
            EngineOutlook(asset=f"pump-{first + n}", rul=m, lower=m / 2, upper=m * 2, interval=0.8)
            for n, m in enumerate(medians)
        ],
        cycles_per_day=24,
        horizon_days=days,
        crew_per_day=1,
        costs=COSTS,
        mean_life_cycles=8760,
    )


MEDIANS = [24.0, 60.0, 100.0, 168.0, 300.0, 720.0]


def test_split_into_two_groups_the_plan_costs_what_the_optimiser_finds() -> None:
    whole = _problem(MEDIANS)
    split = [_problem(MEDIANS[:3]), _problem(MEDIANS[3:], first=3)]

    shared = plan_visits(PLANNER, split, [1] * 10)
    own = PLANNER.solve(whole)

    assert validate_maintenance_plan(whole, shared) == []
    assert shared.objective == pytest.approx(own.objective, rel=1e-6)


def test_no_visit_on_a_day_without_crew() -> None:
    capacity = [1, 0, 0, 2, 1, 0, 1, 1, 1, 1]
    plan = plan_visits(PLANNER, [_problem(MEDIANS)], capacity)

    days = plan.assignments.column("day").drop_null().to_numpy()
    counts = np.bincount(days, minlength=10)
    assert np.all(counts <= np.array(capacity))
    assert counts[3] == 2, "the two-crew day takes two of the urgent pumps"


def test_problems_of_different_horizons_are_refused() -> None:
    with pytest.raises(OptimizeError, match="same 10 days"):
        plan_visits(PLANNER, [_problem(MEDIANS), _problem(MEDIANS, days=5)], [1] * 10)
