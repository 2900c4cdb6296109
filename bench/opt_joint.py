"""Production planned around maintenance: maintenance first vs one joint CP-SAT model.

Each scenario is a line of 5 machines whose health is that of FD001 test engines predicted by
GradientBoostingRUL (fitted on train_FD001; 2 hours a cycle), with 20 to 40 seeded orders over a
week of hourly periods. Both plans get the same search time (``--time-limit`` each, in all: the
joint model starts from a sequential plan made in the first half) and are scored by the same
evaluator: expected cost by the model the joint plan minimises (tardiness plus expected
maintenance, failure and forfeited-life cost, USD), tardiness (periods) and expected failures.

Two checks that do not rest on that model: both plans are played against ``--samples`` seeded
draws of the machines' failure times from the same C-MAPSS-derived distributions (a failure's stop
delays the operations behind it; :mod:`valueloop.optimize.joint.sampled`), giving the mean
realised saving with its 95 % interval; and against the engines' true remaining life
(``RUL_FD001``), one draw per scenario.

    python bench/opt_joint.py [--time-limit 40] [--workers 2] [--samples 10000] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import load_cmapss, load_true_rul
from valueloop.datasets.cmapss_line import fd001_line
from valueloop.optimize.joint import (
    LineComparison,
    LineProblem,
    compare_line_plans,
    realised_costs,
    sampled_saving,
)
from valueloop.optimize.joint.compare import POLICIES

MACHINES = 5
HOURS_PER_CYCLE = 2.0
SCENARIOS = {
    f"fd001-m{MACHINES}-o{orders}-s{seed}": (orders, seed)
    for seed, orders in enumerate((20, 30, 40, 30, 40))
}
"""Scenario name -> (orders, seed of the engines drawn and of the orders)."""


def _row(name: str, comparison: LineComparison) -> dict[str, Any]:
    """The joint plan's solver figures, then each policy's evaluated ones, then the saving."""
    plan = comparison.plans["joint"]
    row: dict[str, Any] = {
        "instance": name,
        "objective": comparison.costs["joint"].total,
        "bound": plan.best_bound,
        "best_known": None,
        "gap_pct": 100 * plan.gap,
        "seconds": plan.solve_seconds,
        "status": plan.status,
    }
    for policy in POLICIES:
        costs, solved = comparison.costs[policy], comparison.plans[policy]
        row |= {
            f"{policy}_cost": costs.total,
            f"{policy}_tardiness": costs.tardiness,
            f"{policy}_tardiness_cost": costs.tardiness_cost,
            f"{policy}_expected_failures": costs.expected_failures,
            f"{policy}_windows": costs.windows,
            f"{policy}_status": solved.status,
            f"{policy}_gap_pct": 100 * solved.gap,
        }
    return row | {"saving": comparison.saving, "saving_pct": comparison.saving_percent}


def _checks(
    problem: LineProblem, comparison: LineComparison, samples: int, true_rul: dict[int, float]
) -> dict[str, Any]:
    """Both plans against sampled failure times and against the engines' true remaining life."""
    plans = {policy: comparison.plans[policy].assignments for policy in POLICIES}
    sampled = sampled_saving(problem, plans["sequential"], plans["joint"], samples=samples, seed=0)
    hours = [true_rul[int(m.name.rsplit("-", 1)[1])] * HOURS_PER_CYCLE for m in problem.machines]
    truth = {
        policy: float(realised_costs(problem, plan, np.array([hours])).total[0])
        for policy, plan in plans.items()
    }
    return {
        "sampled_sequential_cost": sampled.baseline_cost,
        "sampled_joint_cost": sampled.plan_cost,
        "sampled_saving": sampled.saving,
        "sampled_saving_pct": sampled.saving_percent,
        "sampled_saving_pct_low": sampled.saving_percent_interval[0],
        "sampled_saving_pct_high": sampled.saving_percent_interval[1],
        "sampled_sequential_failures": sampled.baseline_failures,
        "sampled_joint_failures": sampled.plan_failures,
        "sampled_sequential_knock_on": sampled.baseline_knock_on,
        "sampled_joint_knock_on": sampled.plan_knock_on,
        "true_sequential_cost": truth["sequential"],
        "true_joint_cost": truth["joint"],
        "true_saving_pct": 100 * (1 - truth["joint"] / truth["sequential"]),
    }


def run(
    time_limit: float, workers: int, instances: list[str] | None, samples: int = 10_000
) -> dict[str, Any]:
    """Plan every scenario (or those named in ``instances``) both ways; the JSON section."""
    chosen = instances or list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose among {list(SCENARIOS)}")
    started = time.perf_counter()
    model = GradientBoostingRUL(threads=1).fit(load_cmapss("FD001", "train"))
    predictions = model.predict(load_cmapss("FD001", "test"))
    fit_seconds = time.perf_counter() - started
    truth = load_true_rul("FD001")
    true_rul = dict(zip(truth["unit"].to_pylist(), truth["rul"].to_pylist(), strict=True))
    rows = []
    for name in chosen:
        orders, seed = SCENARIOS[name]
        problem = fd001_line(
            predictions,
            machines=MACHINES,
            orders=orders,
            seed=seed,
            hours_per_cycle=HOURS_PER_CYCLE,
        )
        comparison = compare_line_plans(problem, time_limit=time_limit, workers=workers, seed=0)
        rows.append(
            _row(name, comparison)
            | _checks(problem, comparison, samples, true_rul)
            | {"machines": [m.name for m in problem.machines]}
        )
    # The scenarios' sampled intervals are independent: the mean's half-width is the root of the
    # sum of their squared half-widths over the count.
    halves = [(row["sampled_saving_pct_high"] - row["sampled_saving_pct_low"]) / 2 for row in rows]
    sampled_mean = statistics.fmean(row["sampled_saving_pct"] for row in rows)
    sampled_half = math.sqrt(sum(h * h for h in halves)) / len(rows)
    return {
        "joint": {
            "time_limit": time_limit,
            "time_limit_meaning": "seconds of search per plan, in all",
            "workers": workers,
            "samples": samples,
            "rul_model": model.version,
            "rul_fit_seconds": fit_seconds,
            "scenarios": rows,
            "instances": rows,
            "mean_saving_pct": statistics.fmean(row["saving_pct"] for row in rows),
            "mean_sampled_saving_pct": sampled_mean,
            "mean_sampled_saving_pct_interval": [
                sampled_mean - sampled_half,
                sampled_mean + sampled_half,
            ],
            "mean_true_saving_pct": statistics.fmean(row["true_saving_pct"] for row in rows),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=40.0, help="seconds per plan, in all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=10_000, help="draws of failure times")
    parser.add_argument("--only", nargs="*", help="scenario names")
    args = parser.parse_args()
    result = run(args.time_limit, args.workers, args.only, args.samples)
    section = result["joint"]
    low, high = section["mean_sampled_saving_pct_interval"]
    table = Table(
        title=f"line plans, maintenance first vs joint ({args.time_limit:g} s each), mean "
        f"expected-cost saving {section['mean_saving_pct']:.1f} %, on {args.samples} sampled "
        f"failure times {section['mean_sampled_saving_pct']:.1f} % ({low:.1f} to {high:.1f} %), "
        f"on the true failure times {section['mean_true_saving_pct']:.1f} %"
    )
    for column in (
        "scenario",
        "plan",
        "expected cost USD",
        "sampled cost USD",
        "true-life cost USD",
        "tardiness h",
        "exp. failures",
        "gap",
    ):
        table.add_column(
            column,
            justify="left" if column in ("scenario", "plan") else "right",
            no_wrap=column == "scenario",
        )
    for row in section["scenarios"]:
        for policy in POLICIES:
            label = (
                row["instance"] if policy == "sequential" else f"{row['saving_pct']:.1f} % saved"
            )
            table.add_row(
                label,
                policy,
                f"{row[f'{policy}_cost']:,.0f}",
                f"{row[f'sampled_{policy}_cost']:,.0f}",
                f"{row[f'true_{policy}_cost']:,.0f}",
                str(row[f"{policy}_tardiness"]),
                f"{row[f'{policy}_expected_failures']:.3f}",
                f"{row[f'{policy}_gap_pct']:.1f} %",
            )
    Console().print(table)
    print(write_result("opt_joint", result))


if __name__ == "__main__":
    main()
