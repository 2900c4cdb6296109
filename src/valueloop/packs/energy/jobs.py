"""The energy pack's engine jobs and the settings of its replay, in data-flow order.

The replay feeds the plant's measured data with the injected soiling (:mod:`.replay`), the
performance job writes expected power and the day's performance figures (:mod:`.performance`),
and the crew carries out the approved cleanings (:mod:`.crew`). The core's jobs do the rest on the
same clock: the underperformance alarm, the cleaning rule, the dispatch of approved tasks and the
measurement of each completed cleaning against its baseline.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from valueloop.errors import ConfigError
from valueloop.packs.energy.crew import CrewJob
from valueloop.packs.energy.performance import PerformanceJob
from valueloop.packs.energy.replay import InjectedSoiling, PlantReplay, ReplayJob

if TYPE_CHECKING:
    from valueloop.engine.job import Job
    from valueloop.site import Site

HISTORY_START = date(2012, 6, 1)
"""The first local day the replay stores: the month before the engine's run starts."""
INJECTED_LOSS = 0.15
"""The soiling loss injected from the history's start until the modules are cleaned."""
FIT_WINDOW = ("2011-05-01", "2011-07-31")
"""Where the expected-power model learns the clean array (no loss injected there)."""


def local_midnight(site: Site, day: date) -> datetime:
    """The start of ``day`` in the site's time zone."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(site.config.site.timezone))


def tariff_price(site: Site, inverter: str) -> float:
    """The price per kWh of the tariff of the value KPI metering ``inverter``."""
    for kpi in site.config.value.kpis:
        if kpi.asset == inverter and kpi.tariff is not None:
            return site.config.tariffs[kpi.tariff].price
    raise ConfigError(f"the energy pack needs a value KPI with a tariff on {inverter}")


def energy_jobs(site: Site) -> list[Job]:
    """The pack's jobs for a site that lists it: replay, performance, crew."""
    start = local_midnight(site, HISTORY_START)
    replay = PlantReplay(site, InjectedSoiling(loss=INJECTED_LOSS, start=start))
    return [
        ReplayJob(site, replay, start),
        PerformanceJob(
            site,
            replay,
            first_day=HISTORY_START,
            fit_window=FIT_WINDOW,
            price=tariff_price(site, replay.inverter),
        ),
        CrewJob(site, replay.inverter),
    ]
