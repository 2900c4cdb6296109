"""Solved schedules and routes in the report: a Gantt chart and a route map, drawn in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

from valueloop.cli.solve import plan_rows
from valueloop.datasets import data_dir
from valueloop.optimize.routing.files import solve_routing_file
from valueloop.optimize.scheduling.files import solve_shop_file
from valueloop.report import write_report
from valueloop.report.data import report_data
from valueloop.site import Site

pytestmark = pytest.mark.browser


def _record(site: Site, kind: str, path: Path) -> str:
    solve = solve_shop_file if kind == "jsp" else solve_routing_file
    problem, plan = solve(path, time_limit=3, workers=1, seed=0, on_progress=None)
    return site.plans.add_solution(plan, kind=kind, source=path.name, rows=plan_rows(problem, plan))


def _drawn(html: Path, tmp_path: Path, name: str) -> int:
    """How many shapes Chromium drew in the solution chart of the report ``html``."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(html.as_uri())
            page.wait_for_selector("#solution-chart svg")
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
            shapes: int = page.evaluate(
                "document.querySelectorAll('#solution-chart svg path').length"
            )
        finally:
            browser.close()
    assert not errors, errors
    return shapes


def test_a_schedule_is_drawn_as_a_gantt_chart(site: Site, tmp_path: Path) -> None:
    require_chromium()
    plan_id = _record(site, "jsp", data_dir() / "opt" / "jsp" / "instances" / "ft06.txt")
    data = report_data(site, generated_at=site.plans.get(plan_id)["created_at"])  # type: ignore[arg-type]
    assert data.solution is not None and data.solution.plan.plan_id == plan_id
    assert len(data.solution.rows) == 36
    assert data.plan is None, "a schedule is not taken for the maintenance plan"
    html = write_report(site, tmp_path / "report.html")
    assert "Production schedule" in html.read_text() and "makespan 55.00" in html.read_text()
    assert _drawn(html, tmp_path, "gantt") >= 36


def test_routes_are_drawn_as_a_map(site: Site, tmp_path: Path) -> None:
    require_chromium()
    _record(site, "cvrp", data_dir() / "opt" / "cvrp" / "A" / "A-n32-k5.vrp")
    html = write_report(site, tmp_path / "report.html")
    text = html.read_text()
    assert "Delivery routes" in text and "A-n32-k5.vrp" in text
    assert _drawn(html, tmp_path, "routes") >= 5
