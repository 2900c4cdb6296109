"""The console in a real Chromium: sign in by link, see the charts, approve a work order."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.api.fleet import populate

from valueloop.api.app import create_app
from valueloop.api.auth import issue_token
from valueloop.site import Site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("VALUELOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"VALUELOOP_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def _serving(site: Site) -> Iterator[str]:
    """The site's application on a free loopback port, in a thread; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(site), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()


def _note_outside(url: str, base: str, outside: list[str]) -> None:
    if not url.startswith((base, "data:")):
        outside.append(url)


def test_operator_approves_a_work_order_in_the_console(site: Site, tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    fleet = populate(site)
    token = issue_token(site.store, "maria", "approver")
    order = fleet.order_ids[0]
    outside: list[str] = []
    errors: list[str] = []
    with _serving(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: _note_outside(request.url, base, outside))
            page.goto(f"{base}/?token={token}")
            for chart in ("fleet-chart", "plan-chart", "policy-chart"):
                page.wait_for_selector(f"#{chart} canvas")
            assert "token" not in page.url
            assert page.evaluate("sessionStorage.getItem('valueloop.token')") == token
            assert page.inner_text("#user-name") == "maria"
            assert "OPTIMAL" in page.inner_text("#kpis")
            page.click(f"button[data-decision=approve][data-order='{order}']")
            page.fill("#decision-comment", "hangar slot booked")
            page.click("#decision-confirm")
            page.wait_for_selector(f"tr[data-order='{order}']", state="detached")
            assert f"{order} approved by maria" in page.inner_text("#toast")
            page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
        finally:
            browser.close()
    assert errors == [] and outside == []
    assert (tmp_path / "console.png").stat().st_size > 10_000
    with TestClient(create_app(site)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        approved = client.get(f"/api/workorders/{order}", headers=headers).json()
        trail = client.get(f"/api/workorders/{order}/audit", headers=headers).json()
    assert approved["status"] == "approved" and approved["updated_by"] == "maria"
    assert trail[-1]["detail"]["comment"] == "hangar slot booked"
