"""The planner job: a site's maintenance optimiser, run on schedule, proposes crew visits.

A planner of ``decisions.planners`` names its optimiser by entry point (``valueloop.optimizers``,
``kind: maintenance`` for the CP-SAT maintenance planner); it is found there, never imported. At
each step (data time ``now``) the job takes every asset with an outlook (see
:mod:`valueloop.decide.outlook`: an RUL model's prediction, or the alarm-driven hazard) and plans
its visits over ``horizon`` whole days of the site's calendar (day ``d`` starts ``d`` dates after
``now``, at ``now``'s local time of day), in hours: the optimiser's "cycle" is one operating hour
(``cycles_per_day = 24``), an asset's remaining life is its outlook in hours, ``params.mean_life``
its mean run-to-failure life (one year unless told), and each asset's costs are its type's, with
downtime hours as fractions of a day. Assets of several types are planned together on the one
crew (see :mod:`valueloop.decide.visits`).

The crew makes at most ``crew_per_day`` visits a day, only on ``params.crew_days`` (weekdays of
the site's time zone; every day if absent), less the visits this planner has ordered already for
that date. An asset with an open (proposed or approved) order of any planner (its ``source`` starts
with ``plan:``) is not planned again until the order is closed.

Each planned visit is proposed as a work order (kind ``maintenance``, task ``params.task``, due at
the start of its day) whose ``source`` is ``plan:<planner>:<asset>:<local due date>``, so a
period run again proposes nothing new. Its ``expected_cost`` is the expected cost of the visit
(failure before it, planned maintenance and downtime, life thrown away), its
``failure_probability`` the chance the asset fails before it, and its ``expected_value`` the
expected failure cost within the horizon of leaving the asset alone minus that expected cost, both
from the optimiser's option costs, in the site's currency.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, ValidationError, field_validator, model_validator

from valueloop.act.workorders import OrderStatus, Proposal, WorkOrders
from valueloop.config import CostsSpec, PlannerSpec
from valueloop.config.types import Priority, Strict
from valueloop.config.yamlio import duration_field
from valueloop.decide.outlook import (
    AlarmRows,
    AssetOutlook,
    HazardAssumption,
    PredictionRows,
    SiteOutlooks,
)
from valueloop.decide.visits import plan_visits
from valueloop.engine.job import JobResult
from valueloop.errors import ConfigError
from valueloop.model.site import SiteModel
from valueloop.plugins import entry_points

if TYPE_CHECKING:
    from valueloop.optimize.maintenance import (
        MaintenanceCosts,
        MaintenancePlanner,
        MaintenanceProblem,
    )

OPTIMIZERS = "valueloop.optimizers"
"""The entry-point group optimisers are registered in."""

HOURS_PER_DAY = 24
"""The optimiser's cycles per day: one cycle is one operating hour."""

PLAN_SOURCE = "plan:"
"""What the ``source`` of every planner's work orders starts with."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_HAZARD: dict[Priority, timedelta] = {
    "critical": timedelta(days=1),
    "high": timedelta(days=7),
    "medium": timedelta(days=30),
}
"""Median remaining life of an asset with an active alarm, by priority, unless ``hazard`` says."""

Outlooks = Callable[[datetime], list[AssetOutlook]]
"""``now -> the outlook of every asset that has one``."""


class PlannerParams(Strict):
    """The ``params`` of a maintenance planner in ``site.yaml``; durations as ``7d``, ``12h``."""

    task: str = Field("planned maintenance", description="the work orders' task, in words")
    mean_life: timedelta = Field(
        timedelta(days=365), description="mean run-to-failure life, prices life thrown away"
    )
    rul_unit_hours: Annotated[float, Field(gt=0)] = Field(
        1.0, description="hours per unit of the RUL model's predictions (12 for 12-hour cycles)"
    )
    hazard: dict[Priority, timedelta] = Field(
        default_factory=lambda: dict(DEFAULT_HAZARD),
        description="assumed median remaining life while an alarm of a priority is active",
    )
    hazard_spread: Annotated[float, Field(gt=1)] = Field(
        2.0, description="factor either side of the median holding the life at hazard_interval"
    )
    hazard_interval: Annotated[float, Field(gt=0, lt=1)] = 0.8
    default_life: timedelta | None = Field(
        None, description="median life of an asset without an alarm; absent: no need to plan"
    )
    crew_days: list[Weekday] | None = Field(
        None, description="weekdays the crew works (mon..sun, site time); absent: every day"
    )

    @field_validator("mean_life", "default_life", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)

    @field_validator("hazard", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: duration_field(life) for key, life in value.items()}
        return value

    @model_validator(mode="after")
    def _positive(self) -> Self:
        lives = {"mean_life": self.mean_life, "default_life": self.default_life}
        lives.update({f"hazard.{key}": life for key, life in self.hazard.items()})
        short = [name for name, life in lives.items() if life is not None and life <= timedelta(0)]
        if short:
            raise ValueError(f"{', '.join(short)} must be a positive duration")
        return self

    def hazard_assumption(self) -> HazardAssumption:
        """The stated alarm hazard these parameters give."""
        return HazardAssumption(
            medians={str(priority): life for priority, life in self.hazard.items()},
            spread=self.hazard_spread,
            interval=self.hazard_interval,
            default_life=self.default_life,
        )


def planner_params(spec: PlannerSpec) -> PlannerParams:
    """The planner's ``params``, validated; ConfigError naming the planner and the field."""
    try:
        return PlannerParams.model_validate(spec.params)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'params'}: {error['msg']}"
            for error in err.errors()
        )
        raise ConfigError(f"planner {spec.name}: invalid params: {problems}") from err


def optimizer_of(spec: PlannerSpec) -> MaintenancePlanner:
    """The optimiser registered under the planner's ``kind``, with its time limit.

    It searches on one worker with seed 0, so that the same step plans the same visits. Raises
    ConfigError naming the installed kinds when ``kind`` is not installed, or when it does not plan
    maintenance visits.
    """
    from valueloop.optimize.maintenance import MaintenancePlanner

    found = {entry.name: entry for entry in entry_points(group=OPTIMIZERS)}
    if spec.kind not in found:
        raise ConfigError(
            f"planner {spec.name}: unknown planner kind {spec.kind!r}; "
            f"installed: {', '.join(sorted(found)) or 'none'}"
        )
    factory = found[spec.kind].load()
    if not (isinstance(factory, type) and issubclass(factory, MaintenancePlanner)):
        raise ConfigError(
            f"planner {spec.name}: kind {spec.kind!r} ({found[spec.kind].value}) does not plan "
            "maintenance visits; a site planner needs a maintenance optimiser such as 'maintenance'"
        )
    return factory(time_limit=spec.time_limit_s, workers=1, seed=0)


def planner_outlooks(
    model: SiteModel, spec: PlannerSpec, predictions: PredictionRows, alarms: AlarmRows
) -> SiteOutlooks:
    """The outlooks a planner plans from: the site's predictions, else its alarms' hazard."""
    params = planner_params(spec)
    return SiteOutlooks(
        list(model.assets),
        params.hazard_assumption(),
        predictions=predictions,
        alarms=alarms,
        rul_unit_hours=params.rul_unit_hours,
    )


def maintenance_costs(costs: CostsSpec) -> MaintenanceCosts:
    """An asset type's costs in the optimiser's terms (money per event, days)."""
    from valueloop.optimize.maintenance import MaintenanceCosts

    return MaintenanceCosts(
        planned_overhaul=costs.planned_maintenance,
        unplanned_failure=costs.failure,
        downtime_per_day=costs.downtime_per_hour * HOURS_PER_DAY,
        planned_downtime_days=costs.planned_downtime_hours / HOURS_PER_DAY,
        unplanned_downtime_days=costs.failure_downtime_hours / HOURS_PER_DAY,
    )


class PlannerJob:
    """Plan the visits of a site's crew with a maintenance optimiser; propose them once."""

    def __init__(
        self, model: SiteModel, spec: PlannerSpec, orders: WorkOrders, outlooks: Outlooks
    ) -> None:
        self.name = f"decisions:planner:{spec.name}"
        self.every = spec.every
        self.model = model
        self.spec = spec
        self.orders = orders
        self.outlooks = outlooks
        self.params = planner_params(spec)
        self.optimizer = optimizer_of(spec)
        self.horizon_days = max(1, spec.horizon // timedelta(days=1))
        self.zone = ZoneInfo(model.config.site.timezone)
        self.crew_days = (
            None
            if self.params.crew_days is None
            else frozenset(WEEKDAYS.index(day) for day in self.params.crew_days)
        )
        self.prefix = f"{PLAN_SOURCE}{spec.name}:"

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Plan the assets with an outlook at ``now`` and propose the visits not proposed yet."""
        ordered = self._open_orders()
        busy = set(ordered.column("asset").to_pylist())
        outlooks = [
            outlook
            for outlook in self.outlooks(now)
            if outlook.asset in self.model.assets and outlook.asset not in busy
        ]
        if not outlooks:
            return JobResult(watermark=now, message="nothing to plan")
        problems = self._problems(outlooks)
        plan = plan_visits(self.optimizer, problems, self._capacity(now, ordered))
        proposals = self._proposals(now, problems, plan.assignments)
        done = self.orders.sources(self.prefix)
        bases = {outlook.asset: outlook.basis for outlook in outlooks}
        new = sorted(
            (p for p in proposals if p.source not in done), key=lambda p: (bases[p.asset], p.source)
        )
        for basis, group in groupby(new, key=lambda p: bases[p.asset]):
            self.orders.propose(
                f"{self.spec.name}@{now.isoformat()}",
                list(group),
                actor=f"planner:{self.spec.name}",
                model_version=basis,
            )
        return JobResult(
            watermark=now,
            rows=len(new),
            message=(
                f"{len(new)} visits proposed, {len(proposals)} planned for {len(outlooks)} "
                f"assets (plan {plan.status}, expected cost {plan.objective:,.0f})"
            ),
        )

    def _open_orders(self) -> pa.Table:
        """Open orders of every planner: asset, source, due_at."""
        table = self.orders.list().select(["asset", "source", "status", "due_at"])
        still_open = pa.array([OrderStatus.PROPOSED.value, OrderStatus.APPROVED.value])
        keep = pc.and_(
            pc.is_in(table.column("status"), value_set=still_open),
            pc.starts_with(table.column("source"), PLAN_SOURCE),
        )
        return table.filter(keep)

    def _day(self, now: datetime, day: int) -> datetime:
        """The start of day ``day``: ``now``'s local time of day, ``day`` dates later."""
        return (now.astimezone(self.zone) + timedelta(days=day)).astimezone(UTC)

    def _capacity(self, now: datetime, ordered: pa.Table) -> list[int]:
        """Visits the crew can still make on each day of the horizon."""
        today = now.astimezone(self.zone).date()
        capacity = [
            self.spec.crew_per_day
            if self.crew_days is None or (today + timedelta(days=day)).weekday() in self.crew_days
            else 0
            for day in range(self.horizon_days)
        ]
        mine = ordered.filter(pc.starts_with(ordered.column("source"), self.prefix))
        for due in mine.column("due_at").to_pylist():
            day = (due.astimezone(self.zone).date() - today).days
            if 0 <= day < self.horizon_days:
                capacity[day] = max(capacity[day] - 1, 0)
        return capacity

    def _problems(self, outlooks: list[AssetOutlook]) -> list[MaintenanceProblem]:
        """One problem per asset type (its costs), in type order."""
        from valueloop.optimize.maintenance import EngineOutlook, MaintenanceProblem

        def type_of(outlook: AssetOutlook) -> str:
            return self.model.assets[outlook.asset].type_name

        problems = []
        for type_name, group in groupby(sorted(outlooks, key=type_of), key=type_of):
            problems.append(
                MaintenanceProblem(
                    engines=[
                        EngineOutlook(
                            asset=o.asset,
                            rul=o.median,
                            lower=o.lower,
                            upper=o.upper,
                            interval=o.interval,
                        )
                        for o in group
                    ],
                    cycles_per_day=HOURS_PER_DAY,
                    horizon_days=self.horizon_days,
                    crew_per_day=self.spec.crew_per_day,
                    costs=maintenance_costs(self.model.config.asset_types[type_name].costs),
                    mean_life_cycles=self.params.mean_life / timedelta(hours=1),
                )
            )
        return problems

    def _proposals(
        self, now: datetime, problems: list[MaintenanceProblem], assignments: pa.Table
    ) -> list[Proposal]:
        """A proposal for every visit of the plan, valued against leaving the asset alone."""
        from valueloop.optimize.maintenance import option_costs

        idle = {
            engine.asset: float(cost)
            for problem in problems
            for engine, cost in zip(problem.engines, option_costs(problem).idle, strict=True)
        }
        proposals = []
        for row in assignments.to_pylist():
            if row["day"] is None:
                continue
            due = self._day(now, row["day"])
            day = due.astimezone(self.zone).date().isoformat()
            proposals.append(
                Proposal(
                    asset=row["asset"],
                    action="maintenance",
                    due_at=due,
                    expected_cost=round(row["expected_cost"], 2),
                    failure_probability=row["failure_probability"],
                    kind="maintenance",
                    task=self.params.task,
                    source=f"{self.prefix}{row['asset']}:{day}",
                    expected_value=round(idle[row["asset"]] - row["expected_cost"], 2),
                )
            )
        return proposals
