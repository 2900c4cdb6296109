"""The console's first view in a real Chromium takes at most 10 API calls, and an admin changes
when a token expires on the users page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.console.browser import Watch, chromium, require_chromium, screenshot, serving

from valueloop.api.auth import describe_token, issue_token
from valueloop.site import Site

pytestmark = pytest.mark.browser

FIRST_VIEW_CALLS = 10
"""The most API calls the console's first view may take (issue 15, item 9)."""


def test_the_first_view_takes_at_most_ten_api_calls(works: Site, tmp_path: Path) -> None:
    require_chromium()
    root = issue_token(works.store, "root", "admin")
    maria = issue_token(works.store, "maria", "viewer")
    maria_id = maria.split("_")[1]
    with serving(works) as base, chromium() as browser:
        watch = Watch(base)
        page = watch.page(browser, viewport={"width": 1300, "height": 900})
        calls: list[str] = []
        page.on(
            "request",
            lambda request: (
                calls.append(urlsplit(request.url).path)
                if urlsplit(request.url).path.startswith("/api/")
                else None
            ),
        )
        page.goto(f"{base}/?token={root}")
        page.wait_for_selector(".tree >> text=pump-2")
        page.wait_for_timeout(1_000)  # anything the view still asks for, asked by now
        assert 0 < len(calls) <= FIRST_VIEW_CALLS, calls

        page.click("nav >> text=Users")
        page.click(f"button[data-expiry='{maria_id}']")
        page.fill("#f-expires_in", "2h")
        page.click("#dialog-confirm")
        page.wait_for_selector(f"#toast >> text=Token {maria_id} now expires")
        screenshot(page, tmp_path, "users")
    assert watch.errors == [] and watch.outside == []
    left = describe_token(works.store, maria).expires_at - datetime.now(UTC)
    assert timedelta(hours=1, minutes=58) < left <= timedelta(hours=2)
