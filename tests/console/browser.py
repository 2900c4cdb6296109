"""Driving the console in Debian's Chromium: the site served on a loopback port, a browser, and
the checks every page gets (no JavaScript error, nothing requested from elsewhere, axe-core)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from valueloop.api.app import create_app
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
AXE = Path(__file__).with_name("axe") / "axe.min.js"
"""axe-core, vendored with its licence (MPL-2.0) beside it."""


def require_chromium() -> None:
    """Skip (or fail under VALUELOOP_REQUIRE_SERVICES=1) without Chromium."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("VALUELOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"VALUELOOP_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def serving(site: Site) -> Iterator[str]:
    """The site's application on a free loopback port, in a thread; yields its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # as `valueloop serve` answers: without it each request after the first on a kept-alive
    # connection waits some 40 ms for the client's delayed acknowledgement
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


@dataclass
class Watch:
    """What the pages of a test did wrong: JavaScript errors, console errors (a blocked script
    or style is one), requests to anything but the server."""

    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def page(self, browser: Any, **context: Any) -> Any:
        """A new page in a context of its own (``viewport``, ``color_scheme``, ...), watched."""
        page = browser.new_context(**context).new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("request", lambda request: self._note(request.url))
        return page

    def _console(self, message: Any) -> None:
        # a refused request is the test's to judge, by what the page shows
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _note(self, url: str) -> None:
        if not url.startswith((self.base, "data:", "blob:")):
            self.outside.append(url)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """A screenshot of the page kept as ``name``.png under $VALUELOOP_ARTEFACTS/console, or
    under ``folder`` when that variable is unset."""
    where = Path(os.environ.get("VALUELOOP_ARTEFACTS", folder)) / "console"
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
