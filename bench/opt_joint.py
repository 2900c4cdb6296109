"""Production planned around maintenance: maintenance first vs one joint CP-SAT model.

Each scenario is a line of 5 machines whose health is that of FD001 test engines predicted by
GradientBoostingRUL (fitted on train_FD001; 2 hours a cycle), with 20 to 40 seeded orders over a
week of hourly periods. Both plans are scored by the same evaluator: cost (tardiness plus expected
maintenance, failure and forfeited-life cost, USD), tardiness (periods) and expected failures.
The joint model starts from the sequential plan and gets the same time limit again; as a control
for that extra search time, the sequential plan is also made with twice the time limit
(``sequential_2x_*``, and the joint plan's saving against it).

    python bench/opt_joint.py [--time-limit 60] [--workers 2] [--only fd001-m5-o30-s1 ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import load_cmapss
from valueloop.datasets.cmapss_line import fd001_line
from valueloop.optimize.joint import (
    LineComparison,
    LineProblem,
    SequentialScheduler,
    compare_line_plans,
    evaluate_line_plan,
)
from valueloop.optimize.joint.compare import POLICIES

MACHINES = 5
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


def _control(
    problem: LineProblem, time_limit: float, workers: int, joint_cost: float
) -> dict[str, Any]:
    """Maintenance first with twice the time limit, the joint plan's total search time."""
    plan = SequentialScheduler(time_limit=2 * time_limit, workers=workers).solve(problem)
    costs = evaluate_line_plan(problem, plan.assignments)
    return {
        "sequential_2x_cost": costs.total,
        "sequential_2x_tardiness": costs.tardiness,
        "saving_vs_sequential_2x_pct": 100 * (1 - joint_cost / costs.total),
    }


def run(time_limit: float, workers: int, instances: list[str] | None) -> dict[str, Any]:
    """Plan every scenario (or those named in ``instances``) both ways; the JSON section."""
    chosen = instances or list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose among {list(SCENARIOS)}")
    started = time.perf_counter()
    model = GradientBoostingRUL(threads=1).fit(load_cmapss("FD001", "train"))
    predictions = model.predict(load_cmapss("FD001", "test"))
    fit_seconds = time.perf_counter() - started
    rows = []
    for name in chosen:
        orders, seed = SCENARIOS[name]
        problem = fd001_line(predictions, machines=MACHINES, orders=orders, seed=seed)
        comparison = compare_line_plans(problem, time_limit=time_limit, workers=workers, seed=0)
        rows.append(
            _row(name, comparison)
            | _control(problem, time_limit, workers, comparison.costs["joint"].total)
            | {"machines": [m.name for m in problem.machines]}
        )
    return {
        "joint": {
            "time_limit": time_limit,
            "workers": workers,
            "rul_model": model.version,
            "rul_fit_seconds": fit_seconds,
            "scenarios": rows,
            "instances": rows,
            "mean_saving_pct": statistics.fmean(row["saving_pct"] for row in rows),
            "mean_saving_vs_sequential_2x_pct": statistics.fmean(
                row["saving_vs_sequential_2x_pct"] for row in rows
            ),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per scheduler")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="scenario names")
    args = parser.parse_args()
    result = run(args.time_limit, args.workers, args.only)
    section = result["joint"]
    table = Table(
        title=f"line plans, maintenance first vs joint ({args.time_limit:g} s each), mean saving "
        f"{section['mean_saving_pct']:.1f} % ({section['mean_saving_vs_sequential_2x_pct']:.1f} % "
        "against maintenance first with twice the time)"
    )
    for column in ("scenario", "plan", "cost USD", "tardiness h", "exp. failures", "gap"):
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
                str(row[f"{policy}_tardiness"]),
                f"{row[f'{policy}_expected_failures']:.3f}",
                f"{row[f'{policy}_gap_pct']:.1f} %",
            )
    Console().print(table)
    print(write_result("opt_joint", result))


if __name__ == "__main__":
    main()
