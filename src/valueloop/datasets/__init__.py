"""Vendored public data sets: where they live and how to read them.

The data sets are copied, gzipped, into the repository's ``data/`` folder with their source and
licence (``data/SOURCES.md``); nothing is downloaded at run time. ``VALUELOOP_DATA_DIR`` points
elsewhere if the package is installed away from its checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

from valueloop.errors import DataError


def data_dir() -> Path:
    """The folder holding the vendored data sets."""
    configured = os.environ.get("VALUELOOP_DATA_DIR")
    folder = Path(configured) if configured else Path(__file__).resolve().parents[3] / "data"
    if not folder.is_dir():
        raise DataError(
            f"data folder {folder} not found: "
            "set VALUELOOP_DATA_DIR to the repository's data/ folder"
        )
    return folder
