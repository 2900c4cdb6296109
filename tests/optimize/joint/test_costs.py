"""The expected cost of a line plan, against a Monte Carlo simulation and hand calculations."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from tests.optimize.joint.lines import machine

from valueloop.optimize.joint import (
    ASSIGNMENTS_SCHEMA,
    LineProblem,
    Operation,
    Order,
    evaluate_line_plan,
    machine_risk,
)


def simulated_cost(
    rul: float, lower: float, upper: float, start: float, horizon: float, samples: int
) -> tuple[float, float]:
    """Mean cost and failure rate of one machine maintained at ``start`` (NaN: never), by
    sampling failure times from the split normal of the prediction, truncated at 0."""
    rng = np.random.default_rng(1)
    z = 1.2815515655446004  # standard normal quantile at 0.9, for an 80 % interval
    draws = np.abs(rng.normal(size=4 * samples))
    below = rng.random(4 * samples) < 0.5
    life = np.where(below, rul - draws * (rul - lower) / z, rul + draws * (upper - rul) / z)
    life = life[life > 0][:samples]
    failure_total = 1_000 + 5 * 20
    if np.isnan(start):
        failed = life < horizon
        return float(np.mean(failed) * failure_total), float(np.mean(failed))
    failed = life < start
    cost = np.where(failed, failure_total, 100 + 100 / 10 * (life - start))
    return float(np.mean(cost)), float(np.mean(failed))


@pytest.mark.parametrize(
    ("rul", "lower", "upper", "start"),
    [(20.0, 12.0, 35.0, 10.0), (20.0, 12.0, 35.0, 24.0), (3.0, -6.0, 9.0, 2.0), (8, 2, 30, np.nan)],
)
def test_machine_risk_matches_a_simulation(
    rul: float, lower: float, upper: float, start: float
) -> None:
    problem = LineProblem(
        horizon=30,
        machines=[machine("M", rul, lower, upper)],
        orders=[
            Order(
                name="O",
                release=0,
                due=5,
                weight=1,
                operations=[Operation(machine="M", duration=1)],
            )
        ],
    )
    risk = machine_risk(problem, np.array([[start]]))
    cost, failures = simulated_cost(rul, lower, upper, start, 30, 400_000)
    assert risk.total()[0, 0] == pytest.approx(cost, rel=0.01)
    assert risk.failures[0, 0] == pytest.approx(failures, abs=0.005)


def test_evaluation_by_hand() -> None:
    # A certain failure at 10.5 periods. Window at 6: no failure, 4.5 periods forfeited at
    # 100 / 10 a period: 100 + 45 = 145. Window-less machine N fails by the horizon of 30:
    # 1,000 + 5 x 20 = 1,100. Order A ends at 19, due 15, weight 100: 400; order B is on time.
    problem = LineProblem(
        horizon=30,
        machines=[machine("M", 10.5, 10.5, 10.5), machine("N", 12.0, 12.0, 12.0)],
        orders=[
            Order(
                name="A",
                release=0,
                due=15,
                weight=100,
                operations=[Operation(machine="M", duration=5)],
            ),
            Order(
                name="B",
                release=0,
                due=30,
                weight=7,
                operations=[Operation(machine="N", duration=3)],
            ),
        ],
    )
    assignments = pa.Table.from_pylist(
        [
            {"kind": "operation", "machine": "M", "order": "A", "step": 0, "start": 14, "end": 19},
            {"kind": "operation", "machine": "N", "order": "B", "step": 0, "start": 0, "end": 3},
            {
                "kind": "maintenance",
                "machine": "M",
                "order": None,
                "step": None,
                "start": 6,
                "end": 10,
            },
            {
                "kind": "maintenance",
                "machine": "N",
                "order": None,
                "step": None,
                "start": None,
                "end": None,
            },
        ],
        schema=ASSIGNMENTS_SCHEMA,
    )
    costs = evaluate_line_plan(problem, assignments)
    assert costs.tardiness_cost == pytest.approx(400)
    assert (costs.tardiness, costs.tardy_orders, costs.windows) == (4, 1, 1)
    assert costs.maintenance_cost == pytest.approx(100)
    assert costs.forfeited_cost == pytest.approx(45)
    assert costs.failure_cost == pytest.approx(1_100)
    assert costs.expected_failures == pytest.approx(1.0)
    assert costs.total == pytest.approx(400 + 145 + 1_100)
