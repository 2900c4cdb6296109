"""A small fleet written through the real books, as one run of the loop would leave the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from valueloop.act.workorders import Proposal
from valueloop.analytics.records import GroundTruth
from valueloop.optimize.base import Plan
from valueloop.schema import POINT_SCHEMA, dead_letters
from valueloop.site import Site
from valueloop.value.ledger import LedgerEntry

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MODEL = "rul-gbm-test"
RUL = [6.0, 20.0, 60.0, 110.0, 180.0, 240.0]
TRUE_RUL = [8.0, 17.0, 66.0, 100.0, 190.0, 230.0]
DAYS: list[int | None] = [0, 2, 20, None, None, None]


@dataclass(frozen=True)
class Fleet:
    """What :func:`populate` wrote."""

    assets: list[str]
    series_id: int
    plan_id: str
    order_ids: list[str]
    run_id: str


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


def _points(series_id: int) -> pa.Table:
    """Two days of 30-minute points: value i at the i-th half hour."""
    stamps = [NOW - timedelta(days=2) + timedelta(minutes=30 * i) for i in range(96)]
    return pa.table(
        {
            "series_id": pa.array([series_id] * len(stamps), pa.int32()),
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "value": pa.array([float(i) for i in range(len(stamps))], pa.float64()),
            "quality": pa.array([0] * len(stamps), pa.uint8()),
        },
        schema=POINT_SCHEMA,
    )


def _predictions(run_id: str, assets: list[str]) -> pa.Table:
    n = len(assets)
    return pa.table(
        {
            "run_id": [run_id] * n,
            "as_of": pa.array([NOW] * n, pa.timestamp("us", tz="UTC")),
            "asset": assets,
            "cycle": pa.array([100 + i for i in range(n)], pa.int32()),
            "rul": RUL,
            "lower": [r * 0.7 for r in RUL],
            "upper": [r * 1.3 for r in RUL],
            "interval": [0.9] * n,
            "model_version": [MODEL] * n,
        }
    )


def _plan(assets: list[str]) -> Plan:
    assignments = pa.table(
        {
            "asset": assets,
            "day": pa.array(DAYS, pa.int32()),
            "failure_probability": [0.3, 0.12, 0.02, 0.01, 0.0, 0.0],
            "expected_cost": [2.1e6, 2.05e6, 2.0e6, 1.0e4, 0.0, 0.0],
        }
    )
    return Plan(
        status="OPTIMAL",
        objective=6.16e6,
        best_bound=6.16e6,
        gap=0.0,
        solve_seconds=0.4,
        assignments=assignments,
        solver="CP-SAT test",
    )


def _summary(run_id: str, plan_id: str) -> dict[str, object]:
    policy = {"failures": 0, "overhauls": 3, "availability": 0.99, "downtime_days": 6.0}
    return {
        "run_id": run_id,
        "currency": "USD",
        "model_version": MODEL,
        "rul_rmse": 7.25,
        "rul_phm_score": 42.0,
        "rul_interval_coverage": 0.833,
        "rul_interval_nominal": 0.9,
        "plan_id": plan_id,
        "plan_status": "OPTIMAL",
        "points_ingested": 96,
        "dead_letters": 2,
        "policies": {
            "run_to_failure": {**policy, "cost": 1.6e7, "failures": 3, "overhauls": 0},
            "fixed_interval": {**policy, "cost": 9.0e6, "overhauls": 5},
            "predictive": {**policy, "cost": 6.2e6},
        },
        "savings": {
            "run_to_failure": {"money": 9.8e6, "percent": 61.25},
            "fixed_interval": {"money": 2.8e6, "percent": 31.1},
        },
        "stage_seconds": {"collect": 1.5, "analyse": 2.0},
    }


def populate(site: Site) -> Fleet:
    """Write series, points, predictions, a plan, work orders, truth, ledger and a run summary."""
    run_id = "RUN-test"
    assets = list(site.model.assets)[: len(RUL)]
    first = site.model.assets[assets[0]]
    path = site.model.path(assets[0], next(iter(first.type.signals)))
    series_id = int(site.registry.lookup([path]).column("series_id")[0].as_py())
    site.points.write(_points(series_id))
    site.predictions.add(_predictions(run_id, assets))
    plan = _plan(assets)
    plan_id = site.plans.add(plan, kind="maintenance", starts_at=NOW, model_version=MODEL)
    proposals = [
        Proposal(
            row["asset"],
            "overhaul",
            row["starts_at"],
            row["expected_cost"],
            row["failure_probability"],
        )
        for row in site.plans.assignments(plan_id).to_pylist()
        if row["day"] is not None
    ]
    order_ids = site.work_orders.propose(
        plan_id, proposals, actor="planner:cp-sat", model_version=MODEL
    )
    GroundTruth(site.store).replace(assets, NOW, TRUE_RUL)
    site.ledger.record(
        [
            LedgerEntry("policy", "predictive", "cost", 6.2e6, "USD"),
            LedgerEntry("savings", "predictive_vs_run_to_failure", "money", 9.8e6, "USD"),
        ],
        run_id=run_id,
        plan_id=plan_id,
        model_version=MODEL,
        assumptions={"horizon_days": 75, "crew_per_day": 2},
    )
    site.pipeline.dead_letters.add(
        dead_letters("fleet-replay", pa.array(["bad row", "nan row"]), pa.array(["unparsable"] * 2))
    )
    site.record_run(run_id, _summary(run_id, plan_id))
    return Fleet(assets, series_id, plan_id, order_ids, run_id)
