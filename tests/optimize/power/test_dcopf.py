"""DC optimal power flow on pandapower's MATPOWER cases against the published optima."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from valueloop.errors import ConfigError, OptimizeError
from valueloop.optimize.base import Plan, check_optimizer
from valueloop.optimize.power import (
    DcOpf,
    DcOpfProblem,
    load_case,
    solve_dcopf_file,
    validate_dcopf_plan,
)
from valueloop.optimize.power.network import (
    pandapower_dcopf,
    published_dcopf_optima,
    save_case,
)

PUBLISHED = published_dcopf_optima()
TESTED = ("case9", "case14")


@pytest.fixture(scope="module")
def case9() -> DcOpfProblem:
    return load_case("case9")


@pytest.fixture(scope="module")
def case9_plan(case9: DcOpfProblem) -> Plan:
    return DcOpf().solve(case9)


@pytest.mark.parametrize("case", TESTED)
def test_dcopf_meets_the_contract_and_the_published_optimum(case: str) -> None:
    problem = load_case(case)
    assert check_optimizer(DcOpf(time_limit=10), problem, validate_dcopf_plan) == []
    plan = DcOpf().solve(problem)
    assert plan.status == "OPTIMAL"
    published = PUBLISHED[case].published
    assert abs(plan.objective - published) / published < 1e-4


def test_dcopf_matches_pandapower_rundcopp(case9: DcOpfProblem, case9_plan: Plan) -> None:
    theirs = pandapower_dcopf("case9")
    assert case9_plan.objective == pytest.approx(theirs["objective"], rel=1e-6)
    rows = case9_plan.assignments.to_pylist()
    output = {row["name"]: row["mw"] for row in rows if row["element"] == "generator"}
    assert output["gen 0"] == pytest.approx(theirs["gen_mw"][0], abs=1e-3)
    assert output["gen 0"] == pytest.approx(134.377585, abs=1e-3)  # published, MATPOWER gen 2
    assert output["ext_grid 0"] == pytest.approx(theirs["ext_grid_mw"][0], abs=1e-3)


def test_prices_equal_the_marginal_cost_of_unconstrained_generators(
    case9: DcOpfProblem, case9_plan: Plan
) -> None:
    rows = case9_plan.assignments.to_pylist()
    price = {row["bus"]: row["price"] for row in rows if row["element"] == "bus"}
    output = {row["name"]: row["mw"] for row in rows if row["element"] == "generator"}
    checked = 0
    for generator in case9.generators:
        mw = output[generator.name]
        if generator.min_mw + 1e-3 < mw < generator.max_mw - 1e-3:
            assert generator.poly_cost is not None
            c2, c1, _ = generator.poly_cost
            assert price[generator.bus] == pytest.approx(2 * c2 * mw + c1, rel=1e-6)
            checked += 1
    assert checked > 0


def test_validator_catches_an_unbalanced_plan(case9: DcOpfProblem, case9_plan: Plan) -> None:
    table = case9_plan.assignments
    mw = table["mw"].to_numpy().copy()
    generator_row = table["element"].to_pylist().index("generator")
    mw[generator_row] += 10.0
    broken = dataclasses.replace(
        case9_plan, assignments=table.set_column(4, "mw", pa.array(mw, pa.float64()))
    )
    found = validate_dcopf_plan(case9, broken)
    assert any("out of balance by 10.0" in v for v in found)
    assert any("recomputed cost" in v for v in found)


def test_validator_catches_an_overloaded_branch(case9: DcOpfProblem) -> None:
    tight = case9.model_copy(
        update={
            "branches": [b.model_copy(update={"rate_mw": 40.0}) for b in case9.branches[:1]]
            + case9.branches[1:]
        }
    )
    plan = DcOpf().solve(case9)
    assert any("over its 40.0 MW rating" in v for v in validate_dcopf_plan(tight, plan))
    constrained = DcOpf().solve(tight)
    assert validate_dcopf_plan(tight, constrained) == []
    assert constrained.objective > plan.objective


def test_load_beyond_the_generators_is_refused(case9: DcOpfProblem) -> None:
    heavy = case9.model_copy(
        update={"buses": [b.model_copy(update={"load_mw": 400.0}) for b in case9.buses]}
    )
    with pytest.raises(OptimizeError, match=r"load 3600\.00 MW exceeds the generators' 820\.00 MW"):
        DcOpf().solve(heavy)


def test_network_file_round_trip_and_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "case14.json"
    save_case("case14", path)
    problem, plan = solve_dcopf_file(path, time_limit=10, workers=1, seed=0, on_progress=None)
    assert problem.name == "case14"
    assert plan.objective == pytest.approx(PUBLISHED["case14"].published, rel=1e-4)
    assert np.isfinite(plan.best_bound)
    bad = tmp_path / "bad.json"
    bad.write_text('{"net": [1, 2,\n')
    with pytest.raises(ConfigError, match=r"bad\.json"):
        solve_dcopf_file(bad, time_limit=10, workers=1, seed=0, on_progress=None)
