"""A dashboard built in Chromium without code on the works of two pumps: panels added from the
site's signals (a trend, a KPI with its unit, a gauge, a table of latest values and the alarm
list), one moved by dragging and one resized by its corner with the mouse, one moved and resized
with the keyboard; saved, kept across a reload, refused to another user until shared, then
opened by that user from its link, to read only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.console.browser import Watch, chromium, require_chromium, screenshot, serving

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1300, "height": 900}
PLACES = """() => Object.fromEntries([...document.querySelectorAll("#board [data-panel]")].map(
  (node) => [node.querySelector("h2").textContent, [node.style.gridColumn, node.style.gridRow]]))"""
"""Each panel's title with its grid column and row (``"7 / span 6"``, ``"1 / span 4"``)."""
PITCH = """() => {
  const grid = document.getElementById("board");
  const gaps = getComputedStyle(grid);
  return [(grid.clientWidth + parseFloat(gaps.columnGap)) / 12, 70 + parseFloat(gaps.rowGap)]; }"""
"""The board's column and row pitch in pixels (12 columns, rows of 70 px, and the gaps)."""
DRAWN = """() => !document.querySelector("#board [aria-busy=true]")"""
"""Every panel of the board drawn."""


def _add_panel(
    page: Any, kind: str, title: str, signals: list[tuple[str, str]], **gauge: str
) -> None:
    """Add a panel through the console's form: its kind, title, and signals picked by asset."""
    page.click("button:text-is('Add panel')")
    page.select_option("#f-kind", kind)
    page.fill("#f-title", title)
    chosen = []
    for asset, signal in signals:
        page.select_option("#f-asset", asset)
        option = page.locator("#f-series option", has_text=f"{asset} {signal} (")
        chosen.append(option.get_attribute("value"))
    if chosen:
        page.select_option("#f-series", chosen)
    for name, value in gauge.items():
        page.fill(f"#f-{name}", value)
    page.click("#dialog-confirm")
    page.wait_for_selector(f"#board h2:text-is('{title}')")


def _drag(page: Any, handle: Any, columns: int, rows: int) -> None:
    """Press the mouse on ``handle`` and move it by whole grid columns and rows."""
    pitch = page.evaluate(PITCH)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + columns * pitch[0] / 2, y + rows * pitch[1] / 2, steps=4)
    page.mouse.move(x + columns * pitch[0], y + rows * pitch[1], steps=4)
    page.mouse.up()


def test_a_dashboard_built_without_code_is_kept_and_shared(works: Site, tmp_path: Path) -> None:
    require_chromium()
    olga_token = issue_token(works.store, "olga", "operator")
    ann_token = issue_token(works.store, "ann", "approver")
    with serving(works) as base, chromium() as browser:
        watch = Watch(base)
        olga = watch.page(browser, viewport=VIEWPORT)
        olga.goto(f"{base}/?token={olga_token}#/dashboards")
        olga.click("text=New dashboard")
        olga.wait_for_selector("main[data-view='dashboards/new'][aria-busy=false]")
        olga.fill("input[aria-label='Dashboard name']", "Line 1 pumps")
        _add_panel(olga, "trend", "Speeds", [("pump-1", "speed"), ("pump-2", "speed")])
        _add_panel(olga, "kpi", "Bearing 1", [("pump-1", "bearing_temperature")])
        _add_panel(olga, "gauge", "Speed 2", [("pump-2", "speed")], min="0", max="1800")
        _add_panel(olga, "alarms", "Alarms", [])
        latest = [("pump-1", "speed"), ("pump-2", "bearing_temperature")]
        _add_panel(olga, "table", "Latest", latest)
        assert olga.inner_text("main h1") == "Line 1 pumps"
        kpi = olga.wait_for_selector("[data-panel] .kpi-value")
        assert kpi.inner_text().endswith(" degC")
        olga.wait_for_selector("[data-panel]:has(h2:text-is('Speeds')) canvas")
        olga.wait_for_selector("[data-panel]:has(h2:text-is('Speed 2')) canvas")
        assert "No active alarms." in olga.inner_text("[data-panel]:has(h2:text-is('Alarms'))")
        values = olga.inner_text("[data-panel]:has(h2:text-is('Latest')) table")
        assert "pump-2/bearing_temperature" in values and "degC" in values

        # the KPI dragged up beside the trend; the gauge made wider and taller by its corner
        _drag(olga, olga.locator("[data-panel]:has(h2:text-is('Bearing 1')) .panel-handle"), 6, -4)
        gauge = olga.locator("[data-panel]:has(h2:text-is('Speed 2'))")
        _drag(olga, gauge.locator(".panel-corner"), 2, 1)
        # the alarm list moved two columns right and made a column narrower from the keyboard
        olga.focus("[data-panel]:has(h2:text-is('Alarms'))")
        for key in ("ArrowRight", "ArrowRight", "Shift+ArrowLeft"):
            olga.keyboard.press(key)
        placed = olga.evaluate(PLACES)  # the others make way and rise into the rows left free
        assert placed == {
            "Speeds": ["1 / span 6", "1 / span 4"],
            "Bearing 1": ["7 / span 6", "1 / span 4"],
            "Speed 2": ["1 / span 8", "5 / span 5"],
            "Alarms": ["3 / span 5", "10 / span 4"],
            "Latest": ["1 / span 6", "14 / span 4"],
        }

        olga.click("button:text-is('Save')")
        olga.wait_for_url(re.compile(r"#/dashboards/(?!new)[^/]+$"))
        board = olga.url.rsplit("/", 1)[1]
        olga.wait_for_selector(f"main[data-view='dashboards/{board}'][aria-busy=false]")
        olga.reload()
        olga.wait_for_selector("[data-panel] .kpi-value")
        assert olga.evaluate(PLACES) == placed
        link = olga.input_value("input[aria-label='Link to share']")
        assert link == f"{base}/#/dashboards/{board}"

        # not shared yet: the link shows another user nothing
        ann = watch.page(browser, viewport=VIEWPORT)
        ann.goto(link)
        ann.fill("#signin-token", ann_token)
        ann.click("#signin-form button[type=submit]")
        assert "no dashboard" in ann.wait_for_selector("#toast").inner_text()

        olga.check("#board-shared")
        olga.click("button:text-is('Save')")
        olga.wait_for_selector("#toast:has-text('saved')")
        ann.reload()
        ann.wait_for_selector("[data-panel] .kpi-value")
        ann.wait_for_function(DRAWN)
        assert ann.evaluate(PLACES) == placed
        assert ann.inner_text("#board-owner") == "olga's dashboard, shared with you to read."
        assert ann.locator("button:text-is('Save'), button:text-is('Edit')").count() == 0
        assert ann.is_disabled("input[aria-label='Dashboard name']")
        screenshot(ann, tmp_path, "dashboard-shared")
    assert watch.errors == [] and watch.outside == []
    with TestClient(create_app(works)) as client:
        headers = {"Authorization": f"Bearer {ann_token}"}
        (seen,) = client.get("/api/dashboards", headers=headers).json()
    assert seen["owner"] == "olga" and seen["shared"] and len(seen["panels"]) == 5
