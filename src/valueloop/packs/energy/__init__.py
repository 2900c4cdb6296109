"""Energy pack: a PV plant's inverters judged against what the weather allows, from real data.

The plant is NREL's PVDAQ system 50 (Golden, Colorado) with its NSRDB satellite weather
(:mod:`.plant`); :mod:`.expected` is the pvlib expected-power model of an inverter and
:mod:`.injection` validates measurement and verification of a cleaning by injected savings.
Through the engine (``site.yaml``, :mod:`.jobs`), the pack's replay feeds the data with an
injected soiling loss, the core raises the underperformance alarm and proposes a cleaning, the
pack's crew carries it out once approved and the core measures the energy it recovered. The hooks
import their modules on first use, so that finding the pack stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from valueloop.packs.base import Pack, lazy

PACK = Pack(
    name="energy",
    description="PV plant: expected power, underperformance, cleaning and its verified energy",
    site_file=Path(__file__).with_name("site.yaml"),
    jobs=lazy("valueloop.packs.energy.jobs:energy_jobs"),
    period=lazy("valueloop.packs.energy.summary:period"),
    summary=lazy("valueloop.packs.energy.summary:summary"),
    summary_rows=lazy("valueloop.packs.energy.summary:summary_rows"),
)
