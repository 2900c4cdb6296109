"""Aviation pack: a turbofan engine fleet (NASA C-MAPSS) replayed through the whole loop.

The site (``site.yaml``) describes the fleet in the new site model; its ``cmapss_replay``
connector replays the test engines of a C-MAPSS subset, and the pack's jobs
(:mod:`.jobs`) collect, predict, plan, act and account for them on the engine's clock. The hooks
import their modules on first use, so that finding the pack stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from valueloop.packs.base import Pack, lazy

PACK = Pack(
    name="aviation",
    description="Turbofan engine fleet: remaining-life prediction and engine shop-visit planning",
    site_file=Path(__file__).with_name("site.yaml"),
    jobs=lazy("valueloop.packs.aviation.jobs:aviation_jobs"),
    period=lazy("valueloop.packs.aviation.summary:period"),
    summary=lazy("valueloop.packs.aviation.summary:summary"),
    summary_rows=lazy("valueloop.packs.aviation.summary:summary_rows"),
)
