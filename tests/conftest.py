"""Shared fixtures: an opened aviation site in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from valueloop.packs.aviation import PACK
from valueloop.site import Site, open_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A fresh aviation site with an empty store."""
    opened = open_site(PACK.site_file, tmp_path / "data")
    yield opened
    opened.close()
