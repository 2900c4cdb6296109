"""A replayed fleet of a site: its connector, engines, signals, economics and planner.

Each ``cmapss_replay`` connector of a site is one fleet: the assets under its prefix
(``site/area/line``), all of one asset type whose signals are the replayed columns. Unit ``n`` of
the replay file is the asset whose name ends in ``-<n>`` (``engine-007`` is unit 7). The type's
costs give the maintenance economics, the site's first planner of kind ``maintenance`` the
planning horizon, crew and time limit, and its policy the approval window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from valueloop.config import PlannerSpec
from valueloop.decide.planner import maintenance_costs
from valueloop.errors import ConfigError
from valueloop.optimize.maintenance import MaintenanceCosts
from valueloop.packs.aviation.replay import CmapssReplaySource, CmapssReplaySpec, FleetSeries

if TYPE_CHECKING:
    from valueloop.site import Site

PLANNER_KIND = "maintenance"


def _unit_number(asset: str) -> int | None:
    tail = asset.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class Fleet:
    """One replayed fleet and everything its jobs need to know of the site."""

    spec: CmapssReplaySpec
    series: FleetSeries
    type_name: str
    costs: MaintenanceCosts
    planner: PlannerSpec
    approve_within: timedelta
    approval: str
    currency: str

    @property
    def name(self) -> str:
        """The connector's name, which names the fleet's jobs."""
        return self.spec.name

    @property
    def assets(self) -> list[str]:
        """The fleet's assets, in unit order."""
        return [self.series.assets[unit] for unit in sorted(self.series.assets)]

    @property
    def cycles_per_day(self) -> float:
        """Cycles each engine flies a day."""
        return timedelta(days=1) / self.spec.cycle_interval

    @property
    def horizon_days(self) -> int:
        """Whole days the planner looks ahead."""
        return max(1, self.planner.horizon // timedelta(days=1))

    def replay(self) -> CmapssReplaySource:
        """The fleet's replay, writing to the fleet's series."""
        return CmapssReplaySource(self.spec, self.series)


def _planner(site: Site) -> PlannerSpec:
    for planner in site.config.decisions.planners:
        if planner.kind == PLANNER_KIND:
            return planner
    raise ConfigError(
        "the aviation pack plans shop visits with a planner of kind 'maintenance': add one "
        "under decisions.planners"
    )


def fleet_of(site: Site, spec: CmapssReplaySpec) -> Fleet:
    """The fleet a replay connector feeds; ConfigError when the site does not describe it."""
    _, area, line = spec.prefix.split("/")
    members = [a for a in site.model.assets.values() if (a.area, a.line) == (area, line)]
    if not members:
        raise ConfigError(f"connector {spec.name}: no asset under {spec.prefix}")
    types = sorted({asset.type_name for asset in members})
    if len(types) > 1:
        raise ConfigError(f"connector {spec.name}: assets of several types ({', '.join(types)})")
    units: dict[int, str] = {}
    for asset in members:
        number = _unit_number(asset.name)
        if number is None or number in units:
            raise ConfigError(
                f"connector {spec.name}: asset {asset.name!r} is not named <name>-<unit number> "
                "with a number of its own"
            )
        units[number] = asset.name
    kind_type = members[0].type
    signals = tuple(kind_type.signals)
    paths = [site.model.path(units[u], signal) for u in sorted(units) for signal in signals]
    ids = site.registry.lookup(paths).column("series_id").to_pylist()
    width = len(signals)
    series = FleetSeries(
        signals=signals,
        assets=units,
        ids={
            units[u]: tuple(int(i) for i in ids[k * width : (k + 1) * width])
            for k, u in enumerate(sorted(units))
        },
    )
    policy = site.config.policy
    return Fleet(
        spec=spec,
        series=series,
        type_name=types[0],
        costs=maintenance_costs(kind_type.costs),
        planner=_planner(site),
        approve_within=policy.approve_within,
        approval=policy.approval,
        currency=site.config.site.currency,
    )


def fleets(site: Site) -> list[Fleet]:
    """Every replayed fleet of the site, in connector order."""
    return [
        fleet_of(site, spec)
        for spec in site.config.connectors
        if isinstance(spec, CmapssReplaySpec)
    ]
