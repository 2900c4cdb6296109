"""The operator console: one page, served by the API application at ``/``.

The page and its scripts live in ``static/``, ECharts included (vendored, with its licence), so
the console loads nothing from outside the server.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
"""The console's page, scripts, styles and the vendored ECharts."""


def static_text(name: str) -> str:
    """The text of one of the console's static files."""
    return (STATIC_DIR / name).read_text(encoding="utf-8")
