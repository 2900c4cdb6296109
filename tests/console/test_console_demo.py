"""Every view of the console in Chromium on the aviation pack, with the data ``valueloop demo``
leaves (one run for the file): the engines' tree and an engine's page with its prediction, a trend
of its sensors, the alarm list, the planner's work orders, the value page, a dashboard with a Gantt
of the maintenance plan, the pack's own view and the users, each without a JavaScript error,
showing the demo's data, and kept as a screenshot. The pack declares no alarm and no measured
value KPI (its value is its policy comparison, on its own view): those two pages say so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.console.browser import chromium, require_chromium, serving
from tests.console.tour import BOARD_DRAWN, SPARKLINES, Stop, signed_in_tour
from tests.e2e.processes import run_demo

from valueloop.api.auth import issue_token
from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site
from valueloop.store.dashboards import DashboardBook

pytestmark = pytest.mark.browser

ENGINE = "engine-001"
SENSORS = ("sensor_4", "sensor_11")
"""Two of the engine's sensors: a temperature (degR) and a pressure (psi)."""


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder of one ``valueloop demo --no-serve`` run."""
    folder = tmp_path_factory.mktemp("demo")
    run_demo(folder)
    return folder / "data"


def _dashboard(site: Site, ids: list[int]) -> str:
    """A shared dashboard: the maintenance plan's Gantt, a trend and a KPI of the engine."""
    plans = site.plans.list().to_pylist()
    plan = next(row["plan_id"] for row in plans if row["kind"] == "maintenance")
    both = {"series": ids, "assets": [ENGINE] * len(ids)}
    pressure = {"series": ids[1:], "assets": [ENGINE]}
    panels = [
        {
            "kind": "gantt",
            "x": 0,
            "y": 0,
            "w": 12,
            "h": 5,
            "config": {"title": "Plan", "plan": plan},
        },
        {"kind": "trend", "x": 0, "y": 5, "w": 8, "h": 4, "config": {"title": "Engine", **both}},
        {"kind": "kpi", "x": 8, "y": 5, "w": 4, "h": 4, "config": {"title": "Ps30", **pressure}},
    ]
    numbered = [{"id": f"p{n}", **panel} for n, panel in enumerate(panels)]
    return (
        DashboardBook(site.store).create("tour", "Fleet", shared=True, panels=numbered).dashboard_id
    )


def test_every_view_on_the_aviation_demo(demo_data: Path, tmp_path: Path) -> None:
    require_chromium()
    site = open_site(PACK.site_file, demo_data)
    try:
        token = issue_token(site.store, "tour", "admin")
        paths = [site.model.path(ENGINE, sensor) for sensor in SENSORS]
        ids = [int(i) for i in site.registry.lookup(paths)["series_id"].to_pylist()]
        board = _dashboard(site, ids)
        trend = ",".join(map(str, ids))
        stops = [
            Stop("assets", f".tree a[href='#/assets/{ENGINE}']", "engine-002", "assets"),
            Stop(f"assets/{ENGINE}", SPARKLINES, "Remaining life", "asset"),
            Stop(f"trends/{trend}", "#trend-chart[data-paints='2']", "psi", "trends"),
            Stop("alarms", "#alarm-list .empty", "No alarms.", "alarms"),
            Stop("workorders", "tr[data-order]", "engine shop visit", "workorders"),
            Stop("value", "main .empty", "No action measured yet.", "value"),
            Stop(f"dashboards/{board}", BOARD_DRAWN, "psi", "board"),
            Stop("packs", "a[href='#/packs/aviation']", "Aviation fleet", "packs"),
            Stop("packs/aviation", "#policy-chart canvas", "Saving vs", "pack"),
            Stop("users", "select[data-user='tour']", "tour", "users"),
        ]
        with serving(site) as base, chromium() as browser:
            seen, watch = signed_in_tour(browser, base, token, stops, tmp_path, "aviation")
    finally:
        site.close()
    assert watch.errors == [] and watch.outside == []
    assert re.search(r"\b[1-9][\d,]* points from", seen["trends"])
    assert "shown up to the newest reading" in seen["trends"]
    assert "OPTIMAL" in seen["pack"]
