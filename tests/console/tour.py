"""A tour of the console's views on one site: each opened in turn, waited for, checked for what
the site's data puts there, and kept as a screenshot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.console.browser import Watch, screenshot

SPARKLINES = "tr[data-series] svg.spark polyline"
"""An asset page's signals, each with its sparkline."""
BOARD_DRAWN = "#board:not(:has([aria-busy=true])) canvas"
"""A dashboard with every panel drawn, a chart among them."""
UNFILLED = re.compile(r"\b(null|undefined|NaN|\[object Object\])")
"""What a page shows where it put a value it did not have."""


@dataclass(frozen=True)
class Stop:
    """A view of the tour: its route (``#/<view>``), a selector found once it shows the site's
    data, text its page then holds, and the name of its screenshot."""

    view: str
    shows: str
    text: str
    name: str


def tour(page: Any, base: str, stops: list[Stop], folder: Path, site: str) -> dict[str, str]:
    """Open every stop on ``page`` (signed in already), check it (no ``null`` or ``undefined``
    shown either), keep ``<site>-<name>.png``; return each view's text by name."""
    seen = {}
    for stop in stops:
        page.goto(f"{base}/#/{stop.view}")
        page.wait_for_selector(f"main[data-view='{stop.view}'][aria-busy=false]")
        page.wait_for_selector(stop.shows)
        seen[stop.name] = page.inner_text("main")
        screenshot(page, folder, f"{site}-{stop.name}")
        assert stop.text in seen[stop.name], f"{stop.view}: {stop.text!r} not shown"
        assert not UNFILLED.search(seen[stop.name]), f"{stop.view}: {seen[stop.name]}"
    return seen


def signed_in_tour(
    browser: Any, base: str, token: str, stops: list[Stop], folder: Path, site: str
) -> tuple[dict[str, str], Watch]:
    """Sign in with ``token`` on a watched page of ``browser``, then :func:`tour` the stops;
    return each view's text by name and the watch of the page."""
    watch = Watch(base)
    page = watch.page(browser, viewport={"width": 1300, "height": 900})
    page.goto(f"{base}/?token={token}#/assets")
    page.wait_for_selector(".tree")
    return tour(page, base, stops, folder, site), watch
