"""Sector packs: a ready site description per sector, found by entry point ``valueloop.packs``."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from valueloop.config import SiteConfig, load_site
from valueloop.errors import ConfigError


@dataclass(frozen=True)
class Pack:
    """A sector pack: its name, what it covers and its ``site.yaml``."""

    name: str
    description: str
    site_file: Path

    def site(self) -> SiteConfig:
        """The pack's validated site description."""
        return load_site(self.site_file)


def available_packs() -> dict[str, Pack]:
    """Every installed pack, by name."""
    packs: dict[str, Pack] = {}
    for entry in entry_points(group="valueloop.packs"):
        pack = entry.load()
        if isinstance(pack, Pack):
            packs[entry.name] = pack
    return packs


def get_pack(name: str) -> Pack:
    """The installed pack called ``name``."""
    packs = available_packs()
    if name not in packs:
        known = ", ".join(sorted(packs)) or "none"
        raise ConfigError(f"unknown pack {name!r}; installed packs: {known}")
    return packs[name]
