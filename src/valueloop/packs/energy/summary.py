"""What the energy pack tells of a run: its period, its figures and the demo's table rows.

The period runs from :data:`RUN_START` (the replay's month of soiled history is stored at the
first tick) until the cleaning's reporting window has closed and been measured.
The summary reads the site's books: the underperformance alarms, the cleaning order, the lost
energy and money the performance job wrote, the injected soiling, and the cleaning's measurement
in the ledger beside the recovery that was injected. Injected figures say so in their names.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from valueloop.act.workorders import OrderStatus
from valueloop.alarms.book import AlarmBook
from valueloop.packs.base import Period
from valueloop.packs.energy.jobs import INJECTED_LOSS, local_midnight
from valueloop.packs.energy.replay import INVERTER_TYPE, only_asset
from valueloop.value.verified import latest_measurement

if TYPE_CHECKING:
    from valueloop.site import Site

RUN_START = date(2012, 7, 1)
RUN_END = date(2012, 8, 6)
"""A cleaning early in July has its 30-day reporting window measured by then."""
ALARM = "underperformance"
_MICROSECOND = timedelta(microseconds=1)


def period(site: Site) -> Period:
    """From :data:`RUN_START` to :data:`RUN_END`, local midnights, one tick every 6 hours.

    Every local midnight is a tick (no daylight-saving change falls in the period): each day's
    figures are written at the tick that closes the day.
    """
    return Period(
        start=local_midnight(site, RUN_START),
        until=local_midnight(site, RUN_END),
        step=timedelta(hours=6),
    )


def _series(
    site: Site, asset: str, signal: str, end: datetime | None = None
) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """The stored values of ``asset``'s ``signal`` before ``end`` (all if None)."""
    ids = site.registry.lookup([site.model.path(asset, signal)]).column("series_id").to_pylist()
    rows = site.points.read([int(ids[0])], None, end)
    return np.asarray(rows.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)


def _injected_energy(site: Site, inverter: str) -> float:
    """The energy the injected soiling removed from the stored readings (kWh)."""
    energy, loss = _series(site, inverter, "energy"), _series(site, inverter, "injected_loss")
    return float(np.sum(energy * loss / (1.0 - loss)))


def _cleaning(site: Site, inverter: str) -> dict[str, Any] | None:
    done = [
        order
        for order in site.work_orders.in_states([OrderStatus.COMPLETED])
        if order["asset"] == inverter and order["kind"] == "maintenance"
    ]
    if not done:
        return None
    order = min(done, key=lambda o: o["updated_at"])
    found: dict[str, Any] = {
        "order_id": order["order_id"],
        "task": order["task"],
        "completed_at": order["updated_at"].isoformat(),
        "expected_value": order["expected_value"],
    }
    for kpi in site.config.value.kpis:
        recorded = latest_measurement(site.ledger, f"MV-{order['order_id']}-{kpi.name}")
        if recorded is None:
            continue
        figures = recorded.figures
        found["measurement"] = {
            "plan_id": recorded.plan.plan_id,
            "verified": recorded.verified,
            "reasons": recorded.reasons,
            "reporting": [
                recorded.plan.reporting_start.isoformat(),
                recorded.plan.reporting_end.isoformat(),
            ],
            "observed_kwh": figures.get("observed"),
            "baseline_kwh": figures.get("counterfactual"),
            "verified_saving_kwh": figures.get("saving"),
            "uncertainty_90_kwh": figures.get("uncertainty_90"),
            "money": figures.get("money"),
            "money_uncertainty": figures.get("money_uncertainty"),
            "injected_recovery_kwh": INJECTED_LOSS * float(figures.get("observed", 0.0)),
            "cv_rmse": (recorded.assumptions.get("statistics") or {}).get("cv_rmse"),
        }
    return found


def summary(site: Site) -> dict[str, Any]:
    """The figures of the run, read back from the site's books (JSON-ready)."""
    inverter = only_asset(site, INVERTER_TYPE)
    raised = AlarmBook(site.store).raised_between(None, local_midnight(site, date(9999, 1, 1)))
    alarms = [row for row in raised.to_pylist() if row["name"] == ALARM]
    lost = _series(site, inverter, "lost_energy")
    money = _series(site, inverter, "lost_money")
    cleaning = _cleaning(site, inverter)
    soiled_end = None
    if cleaning is not None:
        done = datetime.fromisoformat(cleaning["completed_at"])
        soiled_end = local_midnight(
            site, done.astimezone(ZoneInfo(site.config.site.timezone)).date()
        )
    soiled = _series(site, inverter, "lost_energy", soiled_end and soiled_end + _MICROSECOND)
    return {
        "inverter": inverter,
        "injected_loss": INJECTED_LOSS,
        "injected_energy_removed_kwh": round(_injected_energy(site, inverter), 2),
        "days": int(lost.size),
        "lost_energy_kwh": round(float(np.nansum(lost)), 2),
        "lost_money": round(float(np.nansum(money)), 2),
        "lost_energy_soiled_kwh": round(float(np.nansum(soiled)), 2),
        "currency": site.config.site.currency,
        "alarms_raised": len(alarms),
        "first_alarm_at": alarms[0]["raised_at"].isoformat() if alarms else None,
        "cleaning": cleaning,
        "ledger_intact": site.ledger.verify().ok,
    }


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The demo table's rows: what each stage did, injected figures labelled."""
    money = summary.get("currency", "")
    rows = [
        (
            "replay",
            f"{summary['days']} days of inverter {summary['inverter']}; "
            f"[bold]injected[/] soiling {summary['injected_loss']:.0%} "
            f"({summary['injected_energy_removed_kwh']:.1f} kWh removed, injected)",
        ),
        (
            "performance",
            f"lost {summary['lost_energy_kwh']:.1f} kWh = {summary['lost_money']:.2f} {money} "
            f"against the pvlib model, {summary['lost_energy_soiled_kwh']:.1f} kWh of it "
            "before the cleaning",
        ),
        (
            "alarms",
            f"{summary['alarms_raised']} underperformance, first {summary['first_alarm_at']}",
        ),
    ]
    cleaning = summary.get("cleaning")
    if cleaning is None:
        return [*rows, ("act", "no cleaning completed")]
    rows.append(
        ("act", f"{cleaning['order_id']} {cleaning['task']}, done {cleaning['completed_at']}")
    )
    measured = cleaning.get("measurement")
    if measured is None:
        return [*rows, ("value", "the cleaning's reporting window has not closed")]
    state = "verified" if measured["verified"] else "unverified: " + "; ".join(measured["reasons"])
    rows.append(
        (
            "value",
            f"{state}: saving {measured['verified_saving_kwh']:.1f} ± "
            f"{measured['uncertainty_90_kwh']:.1f} kWh (90 %) = {measured['money']:.2f} {money}; "
            f"injected recovery {measured['injected_recovery_kwh']:.1f} kWh",
        )
    )
    return [*rows, ("ledger", "intact" if summary["ledger_intact"] else "[red]broken[/]")]
