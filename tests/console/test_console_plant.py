"""Every view of the console in Chromium on the acceptance plant of ``tests/e2e/plant`` (its
site, with a day of synthetic readings of every signal; no device process started): the asset
tree and a machine's page, a trend, the alarms, the work orders, the measured action's value,
a dashboard of the plant's signals, the packs and the users, each without a JavaScript error,
showing the plant's data, and kept as a screenshot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.console.browser import chromium, require_chromium, serving
from tests.console.sites import plant
from tests.console.tour import BOARD_DRAWN, SPARKLINES, Stop, signed_in_tour

from valueloop.api.auth import issue_token
from valueloop.site import Site
from valueloop.store.dashboards import DashboardBook

pytestmark = pytest.mark.browser


@pytest.fixture
def plant_site(tmp_path: Path) -> Iterator[Site]:
    """The plant with its readings, alarm, work orders and measured action."""
    opened = plant(tmp_path)
    yield opened
    opened.close()


def _ids(site: Site, asset: str, *signals: str) -> str:
    paths = [site.model.path(asset, signal) for signal in signals]
    return ",".join(map(str, site.registry.lookup(paths)["series_id"].to_pylist()))


def _dashboard(site: Site) -> str:
    """A dashboard of machine-2, saved by ``olga`` as the console would save it."""
    vibration, power = map(int, _ids(site, "machine-2", "vibration", "power").split(","))
    signals = {"series": [vibration, power], "assets": ["machine-2", "machine-2"]}
    panels = [
        {"kind": "trend", "config": {"title": "machine-2", **signals}},
        {"kind": "gauge", "config": {"title": "Vibration", **signals, "min": 0, "max": 12}},
        {"kind": "alarms", "config": {"title": "Alarms"}},
        {"kind": "table", "config": {"title": "Latest", **signals}},
    ]
    placed = [
        {"id": f"p{n}", "x": 6 * (n % 2), "y": 4 * (n // 2), "w": 6, "h": 4, **panel}
        for n, panel in enumerate(panels)
    ]
    book = DashboardBook(site.store)
    return book.create("root", "Machine 2", shared=True, panels=placed).dashboard_id


def test_every_view_on_the_plant(plant_site: Site, tmp_path: Path) -> None:
    require_chromium()
    token = issue_token(plant_site.store, "root", "admin")
    board = _dashboard(plant_site)
    trend = _ids(plant_site, "machine-2", "vibration", "bearing_temperature")
    stops = [
        Stop("assets", ".tree a[href='#/assets/machine-2']", "compressor-1", "assets"),
        Stop("assets/machine-2", SPARKLINES, "vibration_high", "asset"),
        Stop(f"trends/{trend}", "#trend-chart[data-paints]", "mm/s", "trends"),
        Stop("alarms", "tr.alarm.rtn_unack", "machine-3", "alarms"),
        Stop("workorders", "tr[data-order] .status.executed", "1500", "workorders"),
        Stop("value", "main table", "skid_energy", "value"),
        Stop("dashboards", "main table a", "Machine 2", "dashboards"),
        Stop(f"dashboards/{board}", BOARD_DRAWN, "mm/s", "board"),
        Stop("packs", "main .empty", "No pack of this site", "packs"),
        Stop("users", "select[data-user='root']", "root", "users"),
    ]
    with serving(plant_site) as base, chromium() as browser:
        seen, watch = signed_in_tour(browser, base, token, stops, tmp_path, "plant")
    assert watch.errors == [] and watch.outside == []
    assert re.search(r"\b[1-9][\d,]* points from", seen["trends"])
    assert "8.6" in seen["alarms"] and "olga: bearing inspection booked" in seen["alarms"]
    assert "350" in seen["value"] and "open" in seen["value"]
    assert "vibration_high" in seen["board"] and "kW" in seen["board"]
