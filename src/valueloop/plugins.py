"""The installed plug-ins: entry points by group, read once per process.

``importlib.metadata.entry_points`` reads every installed distribution's metadata on each call
(tens of milliseconds with a full platform installed), and a site is checked against several
groups. Plug-ins are installed with the package, not while a process runs, so one reading is kept.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata


@cache
def _group(group: str) -> tuple[metadata.EntryPoint, ...]:
    return tuple(metadata.entry_points(group=group))


def entry_points(*, group: str, name: str | None = None) -> tuple[metadata.EntryPoint, ...]:
    """The entry points of ``group`` (only the one called ``name`` when given)."""
    found = _group(group)
    return found if name is None else tuple(entry for entry in found if entry.name == name)
