"""Power benchmark: DC OPF on pandapower's MATPOWER cases and unit commitment of a fleet.

DC OPF (case9, case14, case57, case118, case300): our B-theta model in HiGHS beside the published
optimum (gurobi-optimods "known optimal values") and pandapower's own ``rundcopp`` in the same run.
case300: pandapower's converted case gives 706292.30 with its own solver too, not the published
706240.29 (its conversion differs from MATPOWER's; see data/opt/dcopf/SOURCE.md), so that row is
to be read against pandapower's value.

Unit commitment: the example fleet ``data/power/fleet.yaml`` over its 24 hours, and over a week
(168 hours) made from it, weekend demand at 85 % and each day up to 3 °C warmer or cooler; beside
the plain economic dispatch that keeps every unit on all the time (no commitment decisions).

    python bench/opt_power.py [--time-limit 60] [--workers 1] [--only case9 week]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandapower as pp
from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.datasets import data_dir
from valueloop.errors import OptimizeError
from valueloop.optimize.power import (
    DcOpf,
    DispatchProblem,
    EconomicDispatch,
    UnitCommitment,
    load_case,
    load_dispatch_problem,
    validate_dcopf_plan,
    validate_dispatch_plan,
)
from valueloop.optimize.power.network import pandapower_case, published_dcopf_optima

PUBLISHED = published_dcopf_optima()
"""DC OPF optima (gurobi-optimods, data/opt/dcopf/SOURCE.md) and pandapower's, per case."""

DAY_SCALE = (1.0, 1.0, 1.0, 1.0, 1.0, 0.85, 0.85)
DAY_WARMING_C = (-3.0, -1.0, 0.0, 2.0, 3.0, 1.0, -2.0)


def week(day: DispatchProblem) -> DispatchProblem:
    """Seven days of ``day``: weekend demand at 85 %, each day warmer or cooler."""
    demand = np.concatenate([np.asarray(day.demand_mw) * scale for scale in DAY_SCALE])
    temperature = np.concatenate(
        [np.asarray(day.ambient_temperature_c or []) + shift for shift in DAY_WARMING_C]
    )
    return day.model_copy(
        update={
            "name": f"{day.name}, one week",
            "demand_mw": demand.tolist(),
            "reserve_mw": list(day.reserve_mw or []) * 7 or None,
            "ambient_temperature_c": temperature.tolist() or None,
        }
    )


def dcopf_row(case: str, time_limit: float, workers: int) -> dict[str, Any]:
    """Our DC OPF of ``case`` beside the published optimum and pandapower's rundcopp."""
    problem = load_case(case)
    plan = DcOpf(time_limit=time_limit, workers=workers).solve(problem)
    net = pandapower_case(case)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.rundcopp(net)
    pandapower_seconds = time.perf_counter() - started
    published, pandapower = PUBLISHED[case].published, float(net.res_cost)
    return {
        "instance": case,
        "kind": "dcopf",
        "objective": plan.objective,
        "bound": plan.best_bound,
        "best_known": published,
        "published": published,
        "pandapower": pandapower,
        "pandapower_recorded": PUBLISHED[case].pandapower,
        "pandapower_seconds": pandapower_seconds,
        "gap_pct": 100 * (plan.objective - published) / published,
        "gap_to_pandapower_pct": 100 * (plan.objective - pandapower) / pandapower,
        "seconds": plan.solve_seconds,
        "status": plan.status,
        "violations": len(validate_dcopf_plan(problem, plan)),
    }


def dispatch_row(
    name: str, problem: DispatchProblem, time_limit: float, workers: int
) -> dict[str, Any]:
    """Unit commitment of ``problem`` beside the plain dispatch with every unit on all day."""
    started = time.perf_counter()
    plan = UnitCommitment(time_limit=time_limit, workers=workers).solve(problem)
    seconds = time.perf_counter() - started
    table = plan.assignments
    everything_on = problem.with_commitment(np.ones((len(problem.units), problem.hours), bool))
    try:
        plain: float | None = EconomicDispatch(time_limit=time_limit).solve(everything_on).objective
    except OptimizeError:
        plain = None
    return {
        "instance": name,
        "kind": "dispatch",
        "units": len(problem.units),
        "hours": problem.hours,
        "objective": plan.objective,
        "bound": plan.best_bound,
        "best_known": None,
        "gap_pct": 100 * plan.gap,
        "seconds": seconds,
        "status": plan.status,
        "all_on_objective": plain,
        "saving_vs_all_on_pct": None if plain is None else 100 * (plain - plan.objective) / plain,
        "starts": int(np.sum(table["start"].to_numpy(zero_copy_only=False))),
        "energy_mwh": float(np.sum(table["mw"].to_numpy())),
        "violations": len(validate_dispatch_plan(problem, plan)),
    }


def run(time_limit: float, workers: int, instances: list[str] | None) -> dict[str, Any]:
    """Run the selected instances (all if None); the JSON section of the power benchmark."""
    day = load_dispatch_problem(data_dir() / "power" / "fleet.yaml")
    fleets = {"day": day, "week": week(day)}
    chosen = set(instances) if instances else set(PUBLISHED) | set(fleets)
    rows = [dcopf_row(case, time_limit, workers) for case in PUBLISHED if case in chosen]
    rows += [
        dispatch_row(name, problem, time_limit, workers)
        for name, problem in fleets.items()
        if name in chosen
    ]
    dcopf = {
        row["instance"]: {
            key: row[key] for key in ("objective", "published", "pandapower", "gap_pct", "seconds")
        }
        for row in rows
        if row["kind"] == "dcopf"
    }
    dispatch = {row["instance"]: row for row in rows if row["kind"] == "dispatch"}
    return {
        "time_limit": time_limit,
        "workers": workers,
        "instances": rows,
        "dcopf": dcopf,
        "dispatch": dispatch,
    }


def _print(result: dict[str, Any]) -> None:
    table = Table(title=f"power: DC OPF and unit commitment ({result['time_limit']} s limit)")
    for column in ("instance", "objective", "reference", "pandapower", "gap %", "bound gap %"):
        table.add_column(column, justify="right")
    for column in ("seconds", "status", "violations"):
        table.add_column(column, justify="right")
    for row in result["instances"]:
        dc = row["kind"] == "dcopf"
        table.add_row(
            row["instance"],
            f"{row['objective']:.2f}",
            f"{row['published']:.2f}" if dc else _all_on(row),
            f"{row['pandapower']:.2f}" if dc else "-",
            f"{row['gap_pct']:+.4f}" if dc else "-",
            "-" if dc else f"{row['gap_pct']:.4f}",
            f"{row['seconds']:.3f}",
            row["status"],
            str(row["violations"]),
        )
    Console().print(table)


def _all_on(row: dict[str, Any]) -> str:
    plain = row["all_on_objective"]
    return "-" if plain is None else f"all on {plain:.2f}"


def main() -> None:
    """Command line: run, print the table and write bench/results/opt_power.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="instances: case9 ... case300, day, week")
    args = parser.parse_args()
    result = run(args.time_limit, args.workers, args.only)
    _print(result)
    Console().print(f"written {write_result('opt_power', result)}")


if __name__ == "__main__":
    main()
