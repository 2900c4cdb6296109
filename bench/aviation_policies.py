"""The demo's policy comparison under every crew capacity: 1, 2, 4 overhauls a day, unlimited.

The aviation pack's site is run through the engine up to its review (the RUL model fitted and the
100 FD001 test engines predicted, as in the demo). For each crew capacity the predictive plan is
made again by the site's maintenance planner with that crew (the site's own crew keeps the review's
plan), and run to failure, the fixed overhaul age and the plan are played against the true failure
cycles with that crew, whose queue serves the engines most past their interval first. A failure
"from the queue" is one of an engine whose overhaul was due on an earlier day and still waiting.

python bench/aviation_policies.py
"""

from __future__ import annotations

import tempfile
from typing import Any

from rich.console import Console
from rich.table import Table

from common import write_result
from valueloop.datasets.cmapss import load_true_rul
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.optimize.maintenance import MaintenancePlanner
from valueloop.packs.aviation import PACK
from valueloop.packs.aviation.account import play_policies
from valueloop.packs.aviation.fleet import fleets
from valueloop.packs.aviation.jobs import review_id, review_problem
from valueloop.packs.aviation.policies import compare_policies
from valueloop.packs.aviation.rul import training_lifetimes
from valueloop.site import Site, open_site

CREWS: tuple[int | None, ...] = (1, 2, 4, None)
"""Overhauls the crew can do a day; None: as many as there are engines."""


def _review(site: Site) -> None:
    """Step the pack's jobs over its period up to the review and its account."""
    assert PACK.period is not None
    (fleet,) = fleets(site)
    period = PACK.period(site)
    engine = open_engine(site, SimulatedClock(period.start))
    engine.run_until(fleet.spec.observed_until + period.step, step=period.step)


def sweep(site: Site) -> dict[str, Any]:
    """The three policies and the savings under every crew of :data:`CREWS`."""
    (fleet,) = fleets(site)
    problem = review_problem(site, fleet)
    engines = [engine.asset for engine in problem.engines]
    run_id = review_id(fleet)
    predictions = site.store.query(
        "SELECT asset, cycle FROM predictions WHERE run_id = ? ORDER BY asset", [run_id]
    )
    assert predictions.column("asset").to_pylist() == engines
    truth = load_true_rul(fleet.spec.subset)
    true_rul = dict(
        zip(truth.column("unit").to_pylist(), truth.column("rul").to_pylist(), strict=True)
    )
    unit_of = {asset: unit for unit, asset in fleet.series.assets.items()}
    review_plan = _review_plan(site)
    rows = []
    for crew in CREWS:
        capacity = crew or len(engines)
        if capacity == fleet.planner.crew_per_day:
            days, status = review_plan
        else:
            plan = MaintenancePlanner(time_limit=fleet.planner.time_limit_s).solve(
                problem.model_copy(update={"crew_per_day": capacity})
            )
            days, status = plan.assignments.column("day").to_pylist(), plan.status
        outcomes = play_policies(
            predictions.column("cycle").to_numpy(),
            [true_rul[unit_of[asset]] for asset in engines],
            days,
            train_lifetimes_cycles=training_lifetimes(fleet.spec.subset),
            costs=fleet.costs,
            cycles_per_day=fleet.cycles_per_day,
            horizon_days=fleet.horizon_days,
            crew_per_day=capacity,
        )
        savings = compare_policies(outcomes)
        rows.append(
            {
                "crew_per_day": crew,
                "plan_status": status,
                "policies": {
                    name: {
                        "cost": o.cost,
                        "failures": o.failures,
                        "failures_waiting": o.failures_waiting,
                        "overhauls": o.overhauls,
                        "availability": o.availability,
                    }
                    for name, o in outcomes.items()
                },
                "savings": {
                    name: {"money": s.money, "percent": s.percent} for name, s in savings.items()
                },
            }
        )
    return {
        "engines": len(engines),
        "site_crew_per_day": fleet.planner.crew_per_day,
        "horizon_days": fleet.horizon_days,
        "cycles_per_day": fleet.cycles_per_day,
        "currency": fleet.currency,
        "crews": rows,
    }


def _review_plan(site: Site) -> tuple[list[int | None], str]:
    """The overhaul day of each engine (in asset order) in the review's own plan, its status."""
    assert PACK.summary is not None
    plan_id = PACK.summary(site)["plan_id"]
    days = site.plans.assignments(plan_id).sort_by("asset").column("day").to_pylist()
    return days, str(site.plans.get(plan_id)["status"])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        site = open_site(PACK.site_file, folder)
        try:
            _review(site)
            result = sweep(site)
        finally:
            site.close()
    table = Table(title="policies under each crew capacity, FD001 test fleet (M USD)")
    for column in (
        "crew/day",
        "fixed interval",
        "failures (queue)",
        "predictive",
        "failures (queue)",
        "saving vs fixed",
        "saving vs run to failure",
    ):
        table.add_column(column, justify="right")
    for row in result["crews"]:
        fixed, predictive = row["policies"]["fixed_interval"], row["policies"]["predictive"]
        table.add_row(
            str(row["crew_per_day"] or "unlimited"),
            f"{fixed['cost'] / 1e6:.1f}",
            f"{fixed['failures']} ({fixed['failures_waiting']})",
            f"{predictive['cost'] / 1e6:.1f}",
            f"{predictive['failures']} ({predictive['failures_waiting']})",
            f"{row['savings']['fixed_interval']['percent']:.1f} %",
            f"{row['savings']['run_to_failure']['percent']:.1f} %",
        )
    Console().print(table)
    print(write_result("aviation_policies", result))


if __name__ == "__main__":
    main()
