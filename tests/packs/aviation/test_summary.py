"""The demo table's rows from a review's summary."""

from __future__ import annotations

from valueloop.packs.aviation.summary import summary_rows


def test_policy_rows_name_the_failures_waiting_for_the_crew() -> None:
    summary = {
        "currency": "USD",
        "points_ingested": 24,
        "engines": 1,
        "dead_letters": 0,
        "rul_rmse": 12.5,
        "rul_phm_score": 240.0,
        "rul_interval_nominal": 0.8,
        "rul_interval_coverage": 0.84,
        "plan_status": "OPTIMAL",
        "plan_overhauls": 1,
        "plan_objective": 2.0e6,
        "plan_gap": 0.0,
        "work_orders": {"proposed": 1},
        "policies": {
            "fixed_interval": {
                "cost": 3.0e6,
                "failures": 2,
                "failures_waiting": 1,
                "availability": 0.95,
            },
            "predictive": {"cost": 2.0e6, "failures": 0, "failures_waiting": 0, "availability": 1},
        },
        "savings": {"fixed_interval": {"money": 1.0e6, "percent": 33.3}},
    }
    rows = dict(summary_rows(summary))
    assert rows["account: fixed interval"] == (
        "3,000,000 USD, 2 failures (1 waiting for the crew), availability 95.00%"
    )
    assert rows["account: predictive"] == "2,000,000 USD, 0 failures, availability 100.00%"
    assert "1,000,000 USD (33.3 %)" in rows["saving vs fixed interval"]
