"""Aviation pack: a turbofan engine fleet (NASA C-MAPSS) replayed through the whole loop.

The site (``site.yaml``) describes the fleet in the new site model; its ``cmapss_replay``
connector replays the test engines of a C-MAPSS subset, and the pack's jobs
(:mod:`.jobs`) collect, predict, plan, act and account for them on the engine's clock. The hooks
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
    from valueloop.packs.aviation.jobs import aviation_jobs

    return aviation_jobs(site)


def _period(site: Site) -> Period:
    from valueloop.packs.aviation.summary import period

    return period(site)


def _summary(site: Site) -> dict[str, Any]:
    from valueloop.packs.aviation.summary import summary

    return summary(site)


def _summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    from valueloop.packs.aviation.summary import summary_rows

    return summary_rows(summary)


PACK = Pack(
    name="aviation",
    description="Turbofan engine fleet: remaining-life prediction and engine shop-visit planning",
    site_file=Path(__file__).with_name("site.yaml"),
    jobs=_jobs,
    period=_period,
    summary=_summary,
    summary_rows=_summary_rows,
)
