"""Sector packs: a ready site per sector and its engine jobs, by entry point ``valueloop.packs``.

A pack is a :class:`Pack` object registered under its name. Besides its ``site.yaml`` it may give:

- ``jobs(site)``: the engine jobs it adds to a site that lists it under ``packs:`` (its data
  replay, models of its own, a simulator playing baselines against ground truth...); the engine
  builder appends them after the site's own jobs. The core never imports a pack: it finds it here.
- ``period(site)``: the simulated period ``valueloop demo`` runs its site over, with the tick.
- ``summary(site)``: the figures of a run, read back from the site's books (JSON-ready), and
  ``summary_rows(summary)``: the same as ``(stage, result)`` rows of the demo's table (Rich
  markup allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valueloop.config import SiteConfig, load_site
from valueloop.errors import ConfigError
from valueloop.plugins import entry_points

if TYPE_CHECKING:
    from valueloop.engine.job import Job
    from valueloop.site import Site


@dataclass(frozen=True)
class Period:
    """A simulated run: from ``start`` to ``until`` (UTC-aware), one tick every ``step``."""

    start: datetime
    until: datetime
    step: timedelta


@dataclass(frozen=True)
class Pack:
    """A sector pack: its name, what it covers, its ``site.yaml`` and its hooks (see the module)."""

    name: str
    description: str
    site_file: Path
    jobs: Callable[[Site], list[Job]] | None = None
    period: Callable[[Site], Period] | None = None
    summary: Callable[[Site], dict[str, Any]] | None = None
    summary_rows: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None

    def site(self) -> SiteConfig:
        """The pack's validated site description."""
        return load_site(self.site_file)


def lazy(target: str) -> Callable[..., Any]:
    """A hook that imports ``target`` (``module:function``) when first called, so that finding a
    pack stays cheap."""
    module, _, name = target.partition(":")

    def hook(*args: Any) -> Any:
        return getattr(import_module(module), name)(*args)

    hook.__qualname__ = target
    return hook


def available_packs() -> dict[str, Pack]:
    """Every installed pack, by name."""
    packs: dict[str, Pack] = {}
    for entry in entry_points(group="valueloop.packs"):
        pack = entry.load()
        if isinstance(pack, Pack):
            packs[entry.name] = pack
    return packs


def get_pack(name: str) -> Pack:
    """The installed pack called ``name``; ConfigError listing the installed packs if none."""
    packs = available_packs()
    if name not in packs:
        known = ", ".join(sorted(packs)) or "none"
        raise ConfigError(f"unknown pack {name!r}; installed packs: {known}")
    return packs[name]
