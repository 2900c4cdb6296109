"""Accounting for a fleet review: the prediction's accuracy and three policies against the truth.

At the instant the fleet is observed until, the true remaining life of every engine is known
(``RUL_FD00x``). :func:`account` scores the predictions against it and plays run to failure, the
fixed overhaul age tuned on the training engines, and the predictive plan through
:func:`~valueloop.packs.aviation.policies.simulate`; it returns the ledger entries, their
assumptions and the figures of the review's summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike

from valueloop.analytics.evaluate import interval_coverage, phm08_score, rmse
from valueloop.optimize.maintenance import MaintenanceCosts
from valueloop.packs.aviation.fleet import Fleet
from valueloop.packs.aviation.policies import (
    PolicyOutcome,
    compare_policies,
    fixed_interval_schedule,
    run_to_failure_schedule,
    simulate,
    tune_fixed_interval,
)
from valueloop.packs.aviation.rul import training_lifetimes
from valueloop.value.ledger import LedgerEntry

POLICY_METRICS = (
    ("cost", None),
    ("failures", "count"),
    ("failures_waiting", "count"),
    ("overhauls", "count"),
    ("downtime_days", "d"),
    ("availability", "ratio"),
    ("forfeited_cycles", "cycles"),
)
"""What the ledger keeps of each policy, with its unit (None: the site's currency)."""


@dataclass(frozen=True)
class Accounts:
    """What a review books: ledger entries, their assumptions and the summary's figures."""

    entries: list[LedgerEntry]
    assumptions: dict[str, Any]
    figures: dict[str, Any]


def play_policies(
    ages_cycles: ArrayLike,
    true_rul_cycles: ArrayLike,
    plan_days: Sequence[int | None],
    *,
    train_lifetimes_cycles: ArrayLike,
    costs: MaintenanceCosts,
    cycles_per_day: float,
    horizon_days: int,
    crew_per_day: int,
) -> dict[str, PolicyOutcome]:
    """Run to failure, the fixed overhaul age and the predictive plan against the truth.

    ``ages_cycles`` are the cycles each engine has flown (today), ``true_rul_cycles`` its true
    remaining life and ``plan_days`` its overhaul day in the predictive plan (None: none); the
    fixed age is tuned on ``train_lifetimes_cycles``, which also price forfeited life. Every
    policy has the same crew, which serves the engines most past their interval first.
    """
    lifetimes = np.asarray(train_lifetimes_cycles, dtype=np.float64)
    interval = tune_fixed_interval(lifetimes, costs)
    ages = np.asarray(ages_cycles, dtype=np.float64)
    schedules: dict[str, list[int | None]] = {
        "run_to_failure": run_to_failure_schedule(ages.size),
        "fixed_interval": fixed_interval_schedule(ages, interval, cycles_per_day, horizon_days),
        "predictive": list(plan_days),
    }
    return {
        name: simulate(
            schedule,
            true_rul_cycles,
            cycles_per_day=cycles_per_day,
            horizon_days=horizon_days,
            crew_per_day=crew_per_day,
            costs=costs,
            mean_life_cycles=float(lifetimes.mean()),
            policy=name,
            ages_cycles=ages,
        )
        for name, schedule in schedules.items()
    }


def account(
    fleet: Fleet,
    predictions: pa.Table,
    plan_days: Mapping[str, int | None],
    true_rul: Sequence[float],
) -> Accounts:
    """Score ``predictions`` (one row per engine) and play the policies against ``true_rul``.

    ``plan_days`` is the predictive plan's overhaul day of each engine (None: not in the horizon);
    ``true_rul`` the true remaining life of each engine of ``predictions``, in cycles, in order.
    """
    assets = predictions.column("asset").to_pylist()
    true = np.asarray(true_rul, dtype=np.float64)
    rul = predictions.column("rul").to_numpy()
    lower, upper = predictions.column("lower").to_numpy(), predictions.column("upper").to_numpy()
    lifetimes = training_lifetimes(fleet.spec.subset)
    mean_life = float(lifetimes.mean())
    costs = fleet.costs
    interval = tune_fixed_interval(lifetimes, costs)
    outcomes = play_policies(
        predictions.column("cycle").to_numpy(),
        true,
        [plan_days.get(asset) for asset in assets],
        train_lifetimes_cycles=lifetimes,
        costs=costs,
        cycles_per_day=fleet.cycles_per_day,
        horizon_days=fleet.horizon_days,
        crew_per_day=fleet.planner.crew_per_day,
    )
    savings = compare_policies(outcomes, against="predictive")
    currency = fleet.currency
    entries = [
        LedgerEntry("policy", name, metric, float(getattr(outcome, metric)), unit or currency)
        for name, outcome in outcomes.items()
        for metric, unit in POLICY_METRICS
    ] + [
        LedgerEntry("savings", f"predictive_vs_{name}", metric, value, unit)
        for name, saving in savings.items()
        for metric, value, unit in (
            ("money", saving.money, currency),
            ("percent", saving.percent, "%"),
        )
    ]
    subset = fleet.spec.subset
    assumptions = {
        "costs": costs.model_dump(),
        "currency": currency,
        "crew_per_day": fleet.planner.crew_per_day,
        "horizon_days": fleet.horizon_days,
        "cycles_per_day": fleet.cycles_per_day,
        "mean_life_cycles": mean_life,
        "forfeited_cycle_cost": costs.forfeited_cycle_cost(mean_life),
        "fixed_interval_cycles": interval,
        "fleet": f"C-MAPSS {subset} test engines, {len(assets)}",
        "ground_truth": f"RUL_{subset} (true remaining life at the last cycle)",
        "failure_repair": "a failed engine is repaired as new and runs to the horizon's end",
        "crew_queue": "earliest request first, then the engine with the most cycles flown",
    }
    figures = {
        "engines": len(assets),
        "rul_rmse": round(rmse(rul, true), 3),
        "rul_phm_score": round(phm08_score(rul, true), 1),
        "rul_interval_coverage": round(interval_coverage(lower, upper, true), 3),
        "currency": currency,
        "fixed_interval_cycles": interval,
        "policies": {
            name: {
                "cost": round(o.cost, 2),
                "failures": o.failures,
                "failures_waiting": o.failures_waiting,
                "availability": round(o.availability, 5),
                "overhauls": o.overhauls,
                "downtime_days": o.downtime_days,
                "forfeited_cycles": o.forfeited_cycles,
            }
            for name, o in outcomes.items()
        },
        "savings": {
            name: {"money": round(s.money, 2), "percent": round(s.percent, 3)}
            for name, s in savings.items()
        },
    }
    return Accounts(entries=entries, assumptions=assumptions, figures=figures)
