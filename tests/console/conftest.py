"""Fixtures of the console's browser tests: the sites of ``sites.py`` in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.console.sites import pumps

from valueloop.site import Site


@pytest.fixture
def works(tmp_path: Path) -> Iterator[Site]:
    """The works of two pumps with a day of readings (see :func:`tests.console.sites.pumps`)."""
    opened = pumps(tmp_path)
    yield opened
    opened.close()
