"""The shared search settings and plan builder every optimiser uses."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import SearchSettings, as_problem, solved_plan
from valueloop.optimize.maintenance import MaintenanceCosts

EMPTY = pa.table({"x": pa.array([], pa.int32())})


def _plan(status: str, objective: float, bound: float, scale: float = 1e-9) -> tuple[float, float]:
    plan = solved_plan(
        status=status,
        objective=objective,
        bound=bound,
        scale=scale,
        solve_seconds=0.1,
        assignments=EMPTY,
        solver="test",
    )
    return plan.best_bound, plan.gap


def test_the_gap_is_relative_clipped_and_zero_when_optimal() -> None:
    assert _plan("FEASIBLE", 200.0, 150.0) == (150.0, 0.25)
    assert _plan("FEASIBLE", 100.0, -50.0) == (-50.0, 1.0)
    assert _plan("OPTIMAL", 100.0, 99.0) == (99.0, 0.0)
    assert _plan("FEASIBLE", 100.0, 100.5) == (100.0, 0.0)  # a bound above is capped
    assert _plan("FEASIBLE", 0.5, 0.0, scale=10.0) == (0.0, 0.05)


def test_search_settings_are_checked_and_single_worker_keeps_the_rest() -> None:
    settings = SearchSettings(time_limit=3.0, workers=4, seed=7)
    assert dataclasses.asdict(settings.single_worker()) == {
        "time_limit": 3.0,
        "workers": 1,
        "seed": 7,
    }
    for bad in ({"time_limit": 0.0}, {"time_limit": float("nan")}, {"workers": 0}, {"seed": -1}):
        with pytest.raises(ConfigError):
            SearchSettings(**bad)


def test_a_problem_given_as_plain_data_is_validated_into_its_model() -> None:
    fields = {
        "planned_overhaul": 1.0,
        "unplanned_failure": 5.0,
        "downtime_per_day": 0.5,
        "planned_downtime_days": 2.0,
        "unplanned_downtime_days": 10.0,
    }
    costs = as_problem(MaintenanceCosts, fields, "maintenance")
    assert costs.failure_total() == 10.0
    assert as_problem(MaintenanceCosts, costs, "maintenance") is costs
    with pytest.raises(OptimizeError, match="invalid maintenance problem"):
        as_problem(MaintenanceCosts, {**fields, "planned_overhaul": -1.0}, "maintenance")
