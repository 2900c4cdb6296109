"""The joint model's saving goes into the value ledger with its assumptions."""

from __future__ import annotations

import json

import pytest
from tests.optimize.joint.lines import small_line

from valueloop.optimize.joint import compare_line_plans
from valueloop.optimize.joint.sampled import sampled_saving
from valueloop.store.duckdb import DuckDBStore
from valueloop.value.ledger import Ledger
from valueloop.value.line_savings import record_line_saving


def test_the_saving_is_recorded_with_both_plans_figures() -> None:
    problem = small_line(seed=0)
    comparison = compare_line_plans(problem, time_limit=5)
    ledger = Ledger(DuckDBStore(":memory:"))
    sequence = record_line_saving(
        ledger, problem, comparison, run_id="RUN-L1", plan_id="PL-L1", model_version="rul-test"
    )
    rows = ledger.entries("RUN-L1").to_pylist()
    assert len(sequence) == len(rows) == 12
    figures = {(row["kind"], row["subject"], row["metric"]): row for row in rows}
    saving = figures["savings", "joint_vs_sequential", "money"]
    sequential = figures["line_policy", "sequential", "cost"]["value"]
    joint = figures["line_policy", "joint", "cost"]["value"]
    assert saving["value"] == pytest.approx(sequential - joint)
    assert saving["unit"] == "USD"
    assert figures["savings", "joint_vs_sequential", "percent"]["value"] == pytest.approx(
        100 * (sequential - joint) / sequential
    )
    assert figures["line_policy", "joint", "expected_failures"]["unit"] == "count"
    assumptions = json.loads(saving["assumptions"])
    assert assumptions["horizon_periods"] == problem.horizon
    assert [m["name"] for m in assumptions["machines"]] == [m.name for m in problem.machines]
    assert ledger.verify().ok
    summary = comparison.as_dict()
    assert summary["saving"] == comparison.saving
    assert summary["joint"]["total"] == joint
    assert comparison.table()["policy"].to_pylist() == ["sequential", "joint"]
    assert "expected cost" in assumptions["cost"]


def test_the_sampled_saving_is_recorded_with_its_interval() -> None:
    problem = small_line(seed=1)
    comparison = compare_line_plans(problem, time_limit=4)
    plans = comparison.plans
    sampled = sampled_saving(
        problem, plans["sequential"].assignments, plans["joint"].assignments, samples=500, seed=3
    )
    ledger = Ledger(DuckDBStore(":memory:"))
    record_line_saving(
        ledger,
        problem,
        comparison,
        run_id="RUN-L2",
        plan_id="PL-L2",
        model_version="rul-test",
        sampled=sampled,
    )
    rows = ledger.entries("RUN-L2").to_pylist()
    assert len(rows) == 12 + 6
    figures = {row["metric"]: row for row in rows if row["kind"] == "savings"}
    assert figures["sampled_percent"]["value"] == pytest.approx(sampled.saving_percent)
    low, high = figures["sampled_percent_low"]["value"], figures["sampled_percent_high"]["value"]
    assert (low, high) == pytest.approx(sampled.saving_percent_interval)
    assert figures["sampled_money"]["unit"] == "USD"
    assert json.loads(rows[0]["assumptions"])["sampled"] == {"samples": 500, "seed": 3}
