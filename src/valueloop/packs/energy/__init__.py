"""Energy pack: a PV plant's inverters judged against what the weather allows, from real data.

The plant is NREL's PVDAQ system 50 (Golden, Colorado) with its NSRDB satellite weather
(:mod:`.plant`); :mod:`.expected` is the pvlib expected-power model of an inverter and
:mod:`.injection` validates measurement and verification of a cleaning by injected savings.
Through the engine (``site.yaml``, :mod:`.jobs`), the pack's replay feeds the data with an
injected soiling loss, the core raises the underperformance alarm and proposes a cleaning, the
pack's crew carries it out once approved and the core measures the energy it recovered. The hooks
below import their modules on first use, so that finding the pack stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from valueloop.packs.base import Pack, Period

if TYPE_CHECKING:
    from valueloop.engine.job import Job
    from valueloop.site import Site


def _jobs(site: Site) -> list[Job]:
    from valueloop.packs.energy.jobs import energy_jobs

    return energy_jobs(site)


def _period(site: Site) -> Period:
    from valueloop.packs.energy.summary import period

    return period(site)


def _summary(site: Site) -> dict[str, Any]:
    from valueloop.packs.energy.summary import summary

    return summary(site)


def _summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    from valueloop.packs.energy.summary import summary_rows

    return summary_rows(summary)


PACK = Pack(
    name="energy",
    description="PV plant: expected power, underperformance, cleaning and its verified energy",
    site_file=Path(__file__).with_name("site.yaml"),
    jobs=_jobs,
    period=_period,
    summary=_summary,
    summary_rows=_summary_rows,
)
