"""The energy pack through the engine on its period, as the demo runs it: the loop, with money.

The replay feeds a month of real soiled-by-injection history, then the run's days; the core raises
the underperformance alarm and its rule proposes a cleaning, a planner approves it (as the demo
does), the pack's crew completes it and the injection stops; the core measures the recovered
energy once its reporting window has closed. Every loss and recovery here is injected.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from valueloop.act.workorders import OrderStatus
from valueloop.cli.demo import approve_due
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.packs.energy import PACK
from valueloop.packs.energy.jobs import INJECTED_LOSS
from valueloop.site import Site, open_site

PLANNER = "planner-1"
MICROSECOND = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    site = open_site(PACK.site_file, tmp_path_factory.mktemp("energy"))
    assert PACK.period is not None and PACK.summary is not None
    period = PACK.period(site)
    engine = open_engine(site, SimulatedClock(period.start))
    report = engine.run_until(
        period.until, step=period.step, progress=lambda now: approve_due(site, PLANNER, now)
    )
    assert report.failures == 0
    yield site, PACK.summary(site)
    site.close()


def values(site: Site, signal: str, end: datetime | None = None) -> np.ndarray:
    path = site.model.path("inverter-2", signal)
    (series,) = site.registry.lookup([path]).column("series_id").to_pylist()
    rows = site.points.read([series], None, end)
    return np.asarray(rows.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)


def test_the_injected_loss_raises_the_alarm_and_its_rule_proposes_a_cleaning(run: Any) -> None:
    site, summary = run
    assert summary["alarms_raised"] >= 1
    cleaning = summary["cleaning"]
    assert cleaning is not None
    assert summary["first_alarm_at"] < cleaning["completed_at"]
    order = site.work_orders.get(cleaning["order_id"])
    assert order["status"] == OrderStatus.COMPLETED.value
    assert str(order["source"]).startswith("rule:clean-after-underperformance:")
    trail = [row["actor"] for row in site.work_orders.audit_trail(order["order_id"]).to_pylist()]
    assert PLANNER in trail and "crew:energy" in trail


def test_the_cleaning_removes_the_injected_loss(run: Any) -> None:
    site, summary = run
    done = datetime.fromisoformat(summary["cleaning"]["completed_at"])
    # The reading at the completion's tick was measured before the wash.
    before, every = values(site, "injected_loss", done + MICROSECOND), values(site, "injected_loss")
    assert np.all(before == INJECTED_LOSS)
    assert np.all(every[before.size :] == 0.0) and every.size > before.size
    assert summary["injected_energy_removed_kwh"] > 0


def test_lost_energy_and_money_are_recorded_each_day(run: Any) -> None:
    site, summary = run
    price = site.config.tariffs["feed_in"].price
    lost, money = values(site, "lost_energy"), values(site, "lost_money")
    assert lost.size == summary["days"] >= 60
    np.testing.assert_allclose(money, lost * price)
    assert summary["lost_money"] == pytest.approx(summary["lost_energy_kwh"] * price, abs=0.01)
    # The model's lost energy while soiled is of the size of the injected loss (the clean array
    # runs a few per cent above the model, so it reads a little less than was injected).
    injected = summary["injected_energy_removed_kwh"]
    assert 0.4 * injected < summary["lost_energy_soiled_kwh"] < 1.2 * injected


def test_the_cleaning_is_verified_within_its_interval_of_the_injected_recovery(run: Any) -> None:
    site, summary = run
    measured = summary["cleaning"]["measurement"]
    assert measured["verified"], measured["reasons"]
    assert measured["verified_saving_kwh"] > measured["uncertainty_90_kwh"] > 0
    gap = abs(measured["verified_saving_kwh"] - measured["injected_recovery_kwh"])
    assert gap <= measured["uncertainty_90_kwh"]
    assert measured["money"] == pytest.approx(
        measured["verified_saving_kwh"] * site.config.tariffs["feed_in"].price
    )
    assert summary["ledger_intact"]


def test_the_demo_table_labels_injected_figures(run: Any) -> None:
    _, summary = run
    assert PACK.summary_rows is not None
    rows = dict(PACK.summary_rows(summary))
    assert "injected" in rows["replay"] and "injected recovery" in rows["value"]
    assert rows["value"].startswith("verified")


def test_the_pack_site_names_an_output_kpi() -> None:
    kpi = PACK.site().value.kpis[0]
    assert kpi.direction == "output" and kpi.asset == "inverter-2"
    assert Path(PACK.site_file).is_file()
