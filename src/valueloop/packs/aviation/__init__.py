"""Aviation pack: a turbofan engine fleet (NASA C-MAPSS) with its prices and maintenance policy."""

from __future__ import annotations

from pathlib import Path

from valueloop.packs.base import Pack

PACK = Pack(
    name="aviation",
    description="Turbofan engine fleet: remaining-life prediction and engine shop-visit planning",
    site_file=Path(__file__).with_name("site.yaml"),
)
