"""Every view of the console in a real Chromium, on a small site of two pumps with a day of data:
the asset tree and page, a trend, an alarm arriving live and acknowledged, a set-point change
proposed by an operator and approved by a second user at 390 px, dark mode, and axe-core finding
no serious or critical violation on any view."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.console.browser import (
    Watch,
    chromium,
    require_chromium,
    screenshot,
    serious_violations,
    serving,
)
from tests.console.sites import judge_limit_alarms, write_readings

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site

pytestmark = pytest.mark.browser

VIEWS = ["assets", "assets/pump-1", "trends", "alarms", "workorders", "value", "dashboards"]
VIEWS += ["dashboards/new", "packs", "users"]


def _raise_by_reading(site: Site, value: float) -> None:
    """A hot bearing reading on pump-1, judged by the site's alarm job as the engine would."""
    write_readings(site, "pump-1", "bearing_temperature", [(datetime.now(UTC), value, 0)])
    judge_limit_alarms(site, datetime.now(UTC))


def test_every_view_on_a_site_of_pumps(works: Site, tmp_path: Path) -> None:
    require_chromium()
    tokens = {
        name: issue_token(works.store, name, role)
        for name, role in (("olga", "operator"), ("ann", "approver"), ("root", "admin"))
    }
    with serving(works) as base, chromium() as browser:
        watch = Watch(base)
        olga = watch.page(browser, viewport={"width": 1300, "height": 900})
        olga.goto(f"{base}/?token={tokens['olga']}#/assets")
        tree = olga.wait_for_selector(".tree")
        assert "pumping" in tree.inner_text() and "pump-2" in tree.inner_text()
        olga.fill("#asset-search", "pump-2")
        assert "pump-1" not in olga.inner_text(".tree")
        olga.fill("#asset-search", "")
        olga.click(".tree >> text=pump-1")
        olga.wait_for_selector("tr[data-series]")
        signals = olga.inner_text("main")
        assert "bearing_temperature" in signals and "degC" in signals and "speed" in signals
        stamp = olga.get_attribute("main time", "title")
        assert stamp is not None and stamp.endswith("Z UTC")
        assert olga.locator("tr[data-series] svg.spark polyline").count() >= 2

        # a set-point change beyond its limits is refused with the reason; within them, proposed
        olga.click("button[data-setpoint=speed_setpoint]")
        assert "1,000 to 1,800 rpm" in olga.inner_text("#dialog-body")
        olga.fill("#f-target", "1900")
        olga.click("#dialog-confirm")
        assert "max" in olga.wait_for_selector("#dialog-error").inner_text()
        olga.fill("#f-target", "1500")
        olga.fill("#f-reason", "less cavitation")
        olga.click("#dialog-confirm")
        proposed = olga.wait_for_selector("tr[data-order] .status.proposed")
        order = proposed.evaluate("node => node.closest('tr').dataset.order")

        olga.goto(f"{base}/#/trends/{_ids(works)}")
        olga.wait_for_selector("#trend-chart canvas")
        olga.wait_for_function(
            "document.querySelector('#trend-status').textContent.includes('points')"
        )
        screenshot(olga, tmp_path, "trends")
        _zoom_and_pan(olga)

        olga.goto(f"{base}/#/alarms")
        olga.wait_for_selector("#alarm-list")
        assert olga.inner_text("#alarm-count") == "0"
        _raise_by_reading(works, 95.0)
        raised = time.monotonic()
        row = olga.wait_for_selector("tr.alarm.unack", timeout=2_000)
        assert time.monotonic() - raised < 2.0
        assert "pump-1" in row.inner_text() and "95" in row.inner_text()
        olga.wait_for_function("document.querySelector('#alarm-count').textContent === '1'")
        olga.click("button[data-action=acknowledge]")
        olga.fill("#f-comment", "crew checking the bearing")
        olga.click("#dialog-confirm")
        olga.wait_for_selector("tr.alarm.acked")
        screenshot(olga, tmp_path, "alarms")

        # a second user approves the proposal on a phone-sized screen
        ann = watch.page(browser, viewport={"width": 390, "height": 844}, color_scheme="dark")
        ann.goto(f"{base}/?token={tokens['ann']}#/workorders")
        approve = ann.wait_for_selector(f"button[data-decision=approve][data-order='{order}']")
        approve.scroll_into_view_if_needed()
        box = approve.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert ann.evaluate("document.documentElement.scrollWidth") <= 390
        approve.click()
        ann.fill("#f-comment", "fine by me")
        ann.click("#dialog-confirm")
        ann.wait_for_selector(f"tr[data-order='{order}'] .status.approved")
        assert ann.evaluate("document.documentElement.dataset.theme") == "dark"
        dark = ann.evaluate("getComputedStyle(document.body).backgroundColor")
        ann.click("#theme")
        assert ann.evaluate("getComputedStyle(document.body).backgroundColor") != dark
        assert ann.evaluate("localStorage.getItem('valueloop.theme')") == "light"
        screenshot(ann, tmp_path, "workorders-390px")

        # every view passes axe-core, light and dark
        root = watch.page(browser, viewport={"width": 1300, "height": 900}, bypass_csp=True)
        root.goto(f"{base}/?token={tokens['root']}#/assets")
        root.wait_for_selector(".tree")
        found = {}
        for view in VIEWS:
            root.goto(f"{base}/#/{view}")
            root.wait_for_selector(f"main[data-view='{view}'][aria-busy=false]")
            found[view] = serious_violations(root)
        root.click("#theme")
        found["users, dark"] = serious_violations(root)
        assert {view: v for view, v in found.items() if v} == {}
    assert watch.errors == [] and watch.outside == []
    with TestClient(create_app(works)) as client:
        headers = {"Authorization": f"Bearer {tokens['root']}"}
        approved = client.get(f"/api/workorders/{order}", headers=headers).json()
        alarm = client.get("/api/alarms", headers=headers).json()[0]
    assert approved["created_by"] == "olga" and approved["approved_by"] == ["ann"]
    assert alarm["acked_by"] == "olga" and alarm["ack_comment"] == "crew checking the bearing"


PAINTS = "n => document.getElementById('trend-chart').dataset.paints === String(n)"
"""The trend chart has painted new data ``n`` times."""
SLIDER_LEFT_PX, SLIDER_FROM_BOTTOM_PX = 76, 28
"""Where the trend's zoom slider has its left handle, for two units: just right of the plot's left
edge (16 px and an axis of 56), and 16 px from the bottom plus half the slider's 24."""


def _zoom_and_pan(page: Any) -> None:
    """The wheel zooms the trend at once, to a range its link then names; the slider's handle
    dragged with the mouse asks for its range once, when let go."""
    box = page.locator("#trend-chart").bounding_box()
    paints = int(page.get_attribute("#trend-chart", "data-paints"))
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -500)
    page.wait_for_function(PAINTS, arg=paints + 1)
    assert re.search(r"#/trends/\d+,\d+/\d{4}-\d\d-\d\dT[^/]+/\d{4}-", page.url)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    handle = (box["x"] + SLIDER_LEFT_PX, box["y"] + box["height"] - SLIDER_FROM_BOTTOM_PX)
    page.mouse.move(*handle)
    page.mouse.down()
    page.mouse.move(handle[0] + 300, handle[1], steps=6)
    page.wait_for_timeout(400)
    assert not [url for url in asked if "/api/trends?" in url]
    page.mouse.up()
    page.wait_for_function(PAINTS, arg=paints + 2)
    assert len([url for url in asked if "/api/trends?" in url]) == 1


def _ids(site: Site) -> str:
    paths = [site.model.path("pump-1", s) for s in ("speed", "bearing_temperature")]
    return ",".join(str(i) for i in site.registry.lookup(paths)["series_id"].to_pylist())
