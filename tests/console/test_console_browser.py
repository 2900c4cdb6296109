"""The console in a real Chromium on the aviation pack: sign in by link, the pack's dashboard
draws its charts, an approver approves a work order."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import populate
from tests.console.browser import Watch, chromium, require_chromium, screenshot, serving

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site

pytestmark = pytest.mark.browser


def test_operator_approves_a_work_order_in_the_console(site: Site, tmp_path: Path) -> None:
    require_chromium()
    fleet = populate(site)
    token = issue_token(site.store, "maria", "approver")
    order = fleet.order_ids[0]
    with serving(site) as base, chromium() as browser:
        watch = Watch(base)
        page = watch.page(browser, viewport={"width": 1400, "height": 1600})
        page.goto(f"{base}/?token={token}#/packs/aviation")
        for chart in ("fleet-chart", "plan-chart", "policy-chart"):
            page.wait_for_selector(f"#{chart} canvas")
        assert "token" not in page.url
        assert page.evaluate("sessionStorage.getItem('valueloop.token')") == token
        assert page.inner_text("#user-name") == "maria"
        assert "OPTIMAL" in page.inner_text("#kpis")
        screenshot(page, tmp_path, "aviation")
        page.click("nav >> text=Work orders")
        page.select_option("#wo-status", "proposed")
        page.click(f"button[data-decision=approve][data-order='{order}']")
        page.fill("#f-comment", "hangar slot booked")
        page.click("#dialog-confirm")
        page.wait_for_selector(f"tr[data-order='{order}']", state="detached")
        assert f"{order} approved by maria" in page.inner_text("#toast")
    assert watch.errors == [] and watch.outside == []
    with TestClient(create_app(site)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        approved = client.get(f"/api/workorders/{order}", headers=headers).json()
        trail = client.get(f"/api/workorders/{order}/audit", headers=headers).json()
    assert approved["status"] == "approved" and approved["updated_by"] == "maria"
    assert trail[-1]["detail"]["comment"] == "hangar slot booked"
