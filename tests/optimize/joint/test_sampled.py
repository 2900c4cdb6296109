"""Line plans at equal search time, and played against sampled failure times."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from tests.optimize.joint.lines import machine, small_line

from valueloop.errors import OptimizeError
from valueloop.optimize.joint import (
    ASSIGNMENTS_SCHEMA,
    LineProblem,
    Operation,
    Order,
    compare_line_plans,
    evaluate_line_plan,
)
from valueloop.optimize.joint.sampled import (
    realised_costs,
    sample_failure_times,
    sampled_saving,
)


def one_machine_line() -> LineProblem:
    """A machine failing for sure at 10.5 periods and an order released at 10, due at 15."""
    return LineProblem(
        horizon=30,
        machines=[machine("M", 10.5, 10.5, 10.5)],
        orders=[
            Order(
                name="A",
                release=10,
                due=15,
                weight=100,
                operations=[Operation(machine="M", duration=5)],
            )
        ],
    )


def plan(operation_start: int, window_start: int) -> pa.Table:
    """Order A's one operation and the window of M (4 periods) at the given starts."""
    return pa.Table.from_pylist(
        [
            {
                "kind": "operation",
                "machine": "M",
                "order": "A",
                "step": 0,
                "start": operation_start,
                "end": operation_start + 5,
            },
            {
                "kind": "maintenance",
                "machine": "M",
                "order": None,
                "step": None,
                "start": window_start,
                "end": window_start + 4,
            },
        ],
        schema=ASSIGNMENTS_SCHEMA,
    )


def test_plans_carried_out_against_a_sure_failure_by_hand() -> None:
    problem = one_machine_line()
    times = sample_failure_times(problem, 3, seed=0)
    assert times == pytest.approx(np.full((3, 1), 10.5))
    # Window at 10, before the failure at 10.5: it is carried out (100, and 0.5 periods of life
    # forfeited at 10 a period); the order runs 14..19, 4 periods late: 505, as expected.
    on_time = realised_costs(problem, plan(14, 10), times)
    assert on_time.total == pytest.approx([505.0] * 3)
    assert evaluate_line_plan(problem, plan(14, 10)).total == pytest.approx(505.0)
    assert on_time.failures.tolist() == [0, 0, 0]
    # Window at 15: M fails at 10.5 (1,000 + 5 x 20) and stops over 10..15, so the operation
    # planned at 10..15 runs 15..20, 5 periods late (500): lateness the model does not see.
    late = realised_costs(problem, plan(10, 15), times)
    assert late.total == pytest.approx([1_600.0] * 3)
    assert late.knock_on == pytest.approx([500.0] * 3)
    assert late.failures.tolist() == [1, 1, 1]
    assert evaluate_line_plan(problem, plan(10, 15)).total == pytest.approx(1_100.0)


def test_sampled_costs_match_the_expected_cost_model_but_for_the_lateness_of_failures() -> None:
    problem = small_line(seed=0)
    comparison = compare_line_plans(problem, time_limit=4, workers=1)
    times = sample_failure_times(problem, 20_000, seed=1)
    assert (times > 0).all()
    life = problem.failure_times()
    at = np.array([20.0, 40.0, 60.0])
    assert (times[:, :, None] < at).mean(axis=0) == pytest.approx(life.cdf(at), abs=0.015)
    for scheduled in comparison.plans.values():
        expected = evaluate_line_plan(problem, scheduled.assignments)
        realised = realised_costs(problem, scheduled.assignments, times)
        model_part = realised.total - realised.knock_on
        error = model_part.std(ddof=1) / np.sqrt(model_part.size)
        assert abs(model_part.mean() - expected.total) <= 4 * error + 1e-6
        assert realised.failures.mean() == pytest.approx(expected.expected_failures, abs=0.002)
        assert (realised.knock_on >= 0).all()


def test_equal_search_time_saving_and_its_sampled_interval() -> None:
    problem = small_line(seed=1)
    comparison = compare_line_plans(problem, time_limit=4, workers=1)
    assert {p.status for p in comparison.plans.values()} == {"OPTIMAL"}
    assert max(comparison.search_seconds.values()) <= 4
    # Both plans proven optimal: the saving is the line's, up to the solver's integer cost steps.
    assert comparison.saving == pytest.approx(186.26, abs=0.5)
    assert comparison.saving_percent == pytest.approx(0.504, abs=2e-3)
    sampled = sampled_saving(
        problem,
        comparison.plans["sequential"].assignments,
        comparison.plans["joint"].assignments,
        samples=10_000,
        seed=0,
    )
    assert sampled.samples == 10_000
    low, high = sampled.saving_percent_interval
    assert low < sampled.saving_percent < high
    assert sampled.saving_interval[0] < sampled.saving < sampled.saving_interval[1]
    assert sampled.saving == pytest.approx(sampled.baseline_cost - sampled.plan_cost)
    assert low <= comparison.saving_percent <= high
    with pytest.raises(OptimizeError, match="samples must be at least 1"):
        sample_failure_times(problem, 0, seed=0)
