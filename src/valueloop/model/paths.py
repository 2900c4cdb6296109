"""Series paths: ``site/area/line/asset/signal``, the name every series is known by.

Connectors map source addresses to ``asset/signal`` under a ``site/area/line`` prefix; the edge
and the HTTP ingest carry full paths; the asset model gives each path a ``series_id``.
"""

from __future__ import annotations

import re

from valueloop.errors import ConfigError

SERIES_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_]+$"
"""An ``asset/signal`` pair: an asset name, a slash, a signal name."""

_FULL_PATH = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\w+$")


def series_path(prefix: str, asset_signal: str) -> str:
    """The full path of ``asset/signal`` under ``prefix`` (``site/area/line``)."""
    return f"{prefix}/{asset_signal}"


def split_path(path: str) -> tuple[str, str]:
    """The asset and signal of a full series path; a malformed path is a ConfigError."""
    if not _FULL_PATH.fullmatch(path):
        raise ConfigError(
            f"series path {path!r} is not of the form site/area/line/asset/signal "
            "(letters, digits, '_', '.', '-'; the signal without '.' or '-')"
        )
    parts = path.split("/")
    return parts[3], parts[4]


def is_series_path(path: str) -> bool:
    """Whether ``path`` has the form ``site/area/line/asset/signal``."""
    return _FULL_PATH.fullmatch(path) is not None
