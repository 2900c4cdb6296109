"""Unit commitment and economic dispatch: the example fleet, hand-checked fleets, bad input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from tests.optimize.power.fleets import two_units, unit

from valueloop.datasets import data_dir
from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import Plan, check_optimizer
from valueloop.optimize.power import (
    DispatchProblem,
    EconomicDispatch,
    UnitCommitment,
    load_dispatch_problem,
    solve_dispatch_file,
    validate_dispatch_plan,
)

FLEET_FILE = data_dir() / "power" / "fleet.yaml"


@pytest.fixture(scope="module")
def fleet() -> DispatchProblem:
    return load_dispatch_problem(FLEET_FILE)


@pytest.fixture(scope="module")
def fleet_plan(fleet: DispatchProblem) -> Plan:
    return UnitCommitment(time_limit=30).solve(fleet)


def _grid(plan: Plan, column: str, problem: DispatchProblem) -> np.ndarray:
    values = plan.assignments[column].to_numpy(zero_copy_only=False)
    return values.reshape(len(problem.units), problem.hours)


def test_unit_commitment_meets_the_optimizer_contract(fleet: DispatchProblem) -> None:
    assert check_optimizer(UnitCommitment(time_limit=30), fleet, validate_dispatch_plan) == []


def test_example_fleet_plan_is_proven_optimal(fleet: DispatchProblem, fleet_plan: Plan) -> None:
    assert fleet_plan.status == "OPTIMAL"
    assert fleet_plan.gap <= 1e-6
    assert fleet_plan.assignments.num_rows == len(fleet.units) * fleet.hours


def test_economic_dispatch_of_the_committed_fleet_costs_the_same(
    fleet: DispatchProblem, fleet_plan: Plan
) -> None:
    committed = fleet.with_commitment(_grid(fleet_plan, "on", fleet))
    dispatch = EconomicDispatch(time_limit=10)
    assert check_optimizer(dispatch, committed, validate_dispatch_plan) == []
    assert dispatch.solve(committed).objective == pytest.approx(fleet_plan.objective, rel=1e-7)


def test_economic_dispatch_refuses_free_units(fleet: DispatchProblem) -> None:
    with pytest.raises(OptimizeError, match="free: coal_1, ccgt_1"):
        EconomicDispatch().solve(fleet)


def test_hot_hours_lower_the_gas_turbines_capacity(fleet: DispatchProblem) -> None:
    available = fleet.available_mw()
    temperature = np.asarray(fleet.ambient_temperature_c)
    ccgt = next(g for g, u in enumerate(fleet.units) if u.name == "ccgt_1")
    hottest, coolest = int(np.argmax(temperature)), int(np.argmin(temperature))
    assert available[ccgt, hottest] < available[ccgt, coolest] < fleet.units[ccgt].max_mw * 1.02
    coal = next(g for g, u in enumerate(fleet.units) if u.name == "coal_1")
    assert np.all(available[coal] == fleet.units[coal].max_mw)


def test_cheap_unit_first_then_the_peaker_for_three_hours() -> None:
    # Hour 0 needs 150 MW: base gives 100, the peaker 50 and, held on 3 h by its minimum up time,
    # its minimum 10 MW in hours 1 and 2. Cost by hand:
    # (100*10 + 50*20 + 100) + 2 * (40*10 + 10*20) + 2 * 50*10 = 4300.
    problem = two_units([150.0, 50.0, 50.0, 50.0, 50.0])
    plan = UnitCommitment(time_limit=10).solve(problem)
    assert validate_dispatch_plan(problem, plan) == []
    assert plan.objective == pytest.approx(4300.0, abs=1e-6)
    assert _grid(plan, "on", problem)[1].tolist() == [True, True, True, False, False]
    assert _grid(plan, "mw", problem)[1] == pytest.approx([50, 10, 10, 0, 0], abs=1e-6)


def test_ramp_limit_brings_the_peaker_in_early() -> None:
    # The base unit rises at most 20 MW/h from 50 MW: 70, 90 in hours 0 and 1; demand 100 in
    # hour 1 needs 10 MW from the peaker (its minimum), which then stays on for 3 hours.
    problem = two_units([70.0, 100.0, 100.0, 100.0], ramp_up_mw=20.0)
    plan = UnitCommitment(time_limit=10).solve(problem)
    assert validate_dispatch_plan(problem, plan) == []
    assert _grid(plan, "mw", problem)[0] == pytest.approx([70, 90, 90, 90], abs=1e-6)


def test_validator_catches_broken_plans() -> None:
    problem = two_units([150.0, 50.0, 50.0, 50.0, 50.0])
    plan = UnitCommitment(time_limit=10).solve(problem)
    table = plan.assignments
    mw = table["mw"].to_numpy().copy()
    mw[3] += 5.0  # base unit, hour 3
    unbalanced = dataclasses.replace(plan, assignments=table.set_column(4, "mw", pa.array(mw)))
    found = validate_dispatch_plan(problem, unbalanced)
    assert any("hour 3: output 55.000 MW" in v for v in found)
    assert any("recomputed cost" in v for v in found)

    on = table["on"].to_numpy(zero_copy_only=False).copy()
    on[7] = False  # peaker, hour 2: off after 2 hours on
    short_run = dataclasses.replace(plan, assignments=table.set_column(2, "on", pa.array(on)))
    assert any("unit peak: on for 2 h" in v for v in validate_dispatch_plan(problem, short_run))


def test_demand_above_capacity_names_the_hour() -> None:
    problem = two_units([50.0, 150.0, 250.0, 50.0])
    with pytest.raises(OptimizeError, match=r"hour 2: demand 250 MW exceeds the 200 MW"):
        UnitCommitment(time_limit=10).solve(problem)


def test_ramp_infeasibility_names_the_hours() -> None:
    problem = DispatchProblem.model_validate(
        {
            "demand_mw": [50.0, 100.0, 100.0],
            "units": [
                unit(
                    "only",
                    10.0,
                    ramp_up_mw=20.0,
                    initial={"committed": True, "hours": 5, "mw": 50.0},
                )
            ],
        }
    )
    with pytest.raises(OptimizeError) as caught:
        UnitCommitment(time_limit=10).solve(problem)
    # From 50 MW at 20 MW/h the unit cannot reach 100 MW by hour 1, whatever it does in hour 0.
    assert re.search(r"hour 1: [\d.]+ MW of demand cannot be served", str(caught.value))


def test_malformed_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "demand_mw: [100, 120]\n"
        "units:\n"
        "  - name: a\n"
        "    min_mw: 10\n"
        "    max_mw: 200\n"
        "    fuel_price: 5\n"
        "    heat_rate: [[10, 9], [200, 8]]\n"
        "    min_up_hours: two\n"
    )
    with pytest.raises(ConfigError, match=r"bad\.yaml, line 8: units\.0\.min_up_hours"):
        load_dispatch_problem(path)


def test_non_convex_heat_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(
        '{"demand_mw": [100],\n "units": [\n'
        '  {"name": "a", "min_mw": 100, "max_mw": 300, "fuel_price": 5,\n'
        '   "heat_rate": [[100, 8.0], [200, 7.5], [300, 6.0]]}]}\n'
    )
    with pytest.raises(ConfigError, match=r"fleet\.json, line 3: units\.0: .*not convex"):
        load_dispatch_problem(path)


def test_solve_dispatch_file_reports_progress() -> None:
    seen: list[tuple[float, float, float]] = []
    problem, plan = solve_dispatch_file(
        FLEET_FILE, time_limit=30, workers=1, seed=0, on_progress=lambda *p: seen.append(p)
    )
    assert validate_dispatch_plan(problem, plan) == []
    assert seen
    incumbents = [objective for _, objective, _ in seen]
    assert incumbents == sorted(incumbents, reverse=True)
    assert incumbents[-1] == pytest.approx(plan.objective, rel=1e-9)


def test_commitment_against_the_minimum_up_time_is_reported() -> None:
    problem = two_units([150.0, 50.0, 50.0], ramp_up_mw=None)
    peak_on_one_hour = problem.units[1].model_copy(update={"commitment": [True, False, False]})
    fixed = problem.model_copy(update={"units": [problem.units[0], peak_on_one_hour]})
    with pytest.raises(OptimizeError, match="fixed commitments contradict the minimum up/down"):
        UnitCommitment(time_limit=10).solve(fixed)
