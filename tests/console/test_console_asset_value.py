"""An asset's page shows its value entries and its forecasts, in a real Chromium.

The site is the building of :mod:`tests.value.mv_site` (opendsm's sample meter with its 10 %
saving injected by opendsm) with a daily forecaster on its meter added: one cooling set-point
change executed and measured by the engine once its 90-day reporting window closed, the
forecaster's outputs written by the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.console.browser import Watch, chromium, require_chromium, serving
from tests.value import mv_site

from valueloop.api.auth import issue_token
from valueloop.engine.build import open_engine
from valueloop.engine.clock import SimulatedClock
from valueloop.site import Site
from valueloop.value.plans import PlanBook
from valueloop.value.verified import latest_measurement

pytestmark = pytest.mark.browser

FORECASTER = """      outdoor_temperature: {unit: degF}
    analytics:
      - {name: energy_fc, kind: forecaster, target: energy, fit: {window: 120d}, resample: 1d,
         horizon: 7d, params: {lags: [1, 7], season: 7}}
"""


@pytest.fixture(scope="module")
def building(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("building")
    original = mv_site.SITE
    mv_site.SITE = original.replace("      outdoor_temperature: {unit: degF}\n", FORECASTER)
    try:
        site = mv_site.open_mv_site(folder)
    finally:
        mv_site.SITE = original
    mv_site.executed_change(site)
    clock = SimulatedClock(mv_site.EXECUTED_AT)
    until = mv_site.EXECUTED_AT + timedelta(days=92)
    open_engine(site, clock).run_until(until, step=timedelta(days=30))
    yield site
    site.close()


def test_the_asset_page_shows_value_and_forecasts(building: Site, tmp_path: Path) -> None:
    require_chromium()
    ((plan, _),) = PlanBook(building.store).all()
    recorded = latest_measurement(building.ledger, plan.plan_id)
    assert recorded is not None and recorded.verified
    token = issue_token(building.store, "vera", "viewer")
    with serving(building) as base, chromium() as browser:
        watch = Watch(base)
        page = watch.page(browser, viewport={"width": 1300, "height": 900})
        page.goto(f"{base}/?token={token}#/assets/hall")
        page.wait_for_selector("main[data-view='assets/hall'][aria-busy=false]")
        value = page.locator("section", has_text="Value").last.inner_text()
        assert plan.order_id in value and "verified" in value and "hall_energy" in value
        forecasts = page.locator("section", has_text="Forecasts").first.inner_text()
        assert "energy_fc" in forecasts and "kWh" in forecasts
        page.click("section:has-text('Forecasts') a:text-is('Trend')")
        page.wait_for_selector("#trend-chart canvas")
        assert "energy_fc_forecast" in page.inner_text("main")
    assert watch.errors == [] and watch.outside == []
