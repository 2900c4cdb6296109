"""What the aviation pack tells of a run: its period, its figures and the demo's table rows.

The period starts at the first replayed cycle of the site's fleets and ends one approval window
after the last review, so that the orders approved at the review are carried out; the tick is one
cycle. The summary is the first fleet's review (as the account job recorded it) with the work
orders as they stand and the remaining life predicted for each restored engine.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from valueloop.errors import ConfigError
from valueloop.packs.aviation.fleet import fleets
from valueloop.packs.aviation.jobs import RESTORED, review_id
from valueloop.packs.aviation.replay import OVERHAUL_ACTIONS
from valueloop.packs.base import Period

if TYPE_CHECKING:
    from valueloop.site import Site


def period(site: Site) -> Period:
    """From the first replayed cycle to one approval window after the last review."""
    found = fleets(site)
    if not found:
        raise ConfigError("the site has no cmapss_replay connector to replay its fleet from")
    firsts = [f.replay().first_instant() or f.spec.observed_until for f in found]
    last = max(f.spec.observed_until for f in found) + site.config.policy.approve_within
    step = min(f.spec.cycle_interval for f in found)
    return Period(start=min(firsts), until=last, step=step)


def summary(site: Site) -> dict[str, Any]:
    """The figures of the first fleet's review and what became of its work orders."""
    found = fleets(site)
    if not found:
        return {}
    fleet = found[0]
    run_id = review_id(fleet)
    rows = site.store.query("SELECT summary FROM runs WHERE run_id = ?", [run_id])
    figures: dict[str, Any] = (
        json.loads(rows.column("summary")[0].as_py()) if rows.num_rows else {"run_id": run_id}
    )
    assets = set(fleet.assets)
    orders = [
        order
        for order in site.work_orders.list().to_pylist()
        if order["asset"] in assets and order["action"] in OVERHAUL_ACTIONS
    ]
    restored = site.store.query(
        "SELECT p.asset, p.rul FROM predictions p JOIN work_orders w "
        "ON p.run_id = ? || w.order_id ORDER BY p.asset",
        [RESTORED],
    ).to_pylist()
    figures.update(
        work_orders=dict(Counter(order["status"] for order in orders)),
        work_orders_executed=sum(order["status"] in ("executed", "completed") for order in orders),
        restored_engines_rul={
            row["asset"]: round(row["rul"], 1) for row in restored if row["asset"] in assets
        },
    )
    return figures


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The demo table's rows: one per stage, one per policy and one per saving."""
    if "policies" not in summary:
        return [("review", "the fleet has not been reviewed yet")]
    currency = summary["currency"]
    orders = ", ".join(f"{n} {status}" for status, n in sorted(summary["work_orders"].items()))
    rows = [
        (
            "collect",
            f"{summary['points_ingested']:,} points stored from {summary['engines']} engines, "
            f"{summary['dead_letters']} dead letters",
        ),
        (
            "analyse",
            f"RUL RMSE {summary['rul_rmse']:.2f} cycles, PHM08 score "
            f"{summary['rul_phm_score']:.0f}, {summary['rul_interval_nominal']:.0%} interval "
            f"covers {summary['rul_interval_coverage']:.0%}",
        ),
        (
            "optimise",
            f"CP-SAT {summary['plan_status']}, {summary['plan_overhauls']} overhauls planned, "
            f"expected cost {summary['plan_objective']:,.0f} {currency}, "
            f"gap {summary['plan_gap']:.2%}",
        ),
        ("act", f"work orders: {orders or 'none'}"),
    ]
    for name, outcome in summary["policies"].items():
        waiting = outcome.get("failures_waiting", 0)
        queue = f" ({waiting} waiting for the crew)" if waiting else ""
        rows.append(
            (
                f"account: {name.replace('_', ' ')}",
                f"{outcome['cost']:,.0f} {currency}, {outcome['failures']} failures{queue}, "
                f"availability {outcome['availability']:.2%}",
            )
        )
    for name, saving in summary["savings"].items():
        rows.append(
            (
                f"saving vs {name.replace('_', ' ')}",
                f"[bold green]{saving['money']:,.0f} {currency} ({saving['percent']:.1f} %)[/]",
            )
        )
    return rows
