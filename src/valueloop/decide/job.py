"""The decisions job: every rule of the site evaluated on the engine's clock, proposals booked once.

Alarm rules read the alarm book (all occurrences raised before ``now``, so that a rule whose
delay passed while the engine was down still fires, once); forecast rules read the forecast series
of their binding for each asset of the rule's types. A proposal's ``source`` makes it unique: the
same period run again proposes nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pyarrow as pa

from valueloop.act.desk import ActionDesk
from valueloop.act.workorders import OrderStatus, Proposal, WorkOrders
from valueloop.config import RuleSpec
from valueloop.decide.rules import (
    Firing,
    alarm_firings,
    forecast_firing,
    horizon_end,
    proposal,
)
from valueloop.engine.job import JobResult
from valueloop.errors import LimitError
from valueloop.model.site import SiteModel

AlarmRows = Callable[[datetime | None, datetime], pa.Table]
"""``(after, until) -> rows of the alarm book raised in (after, until]`` and those raised earlier
that are still open (all before ``until`` when ``after`` is None): alarm_id, name, asset,
priority, raised_at, acked_at, cleared_at; the alarm book's
:meth:`~valueloop.alarms.book.AlarmBook.raised_or_open`."""

ForecastRows = Callable[[str, str, datetime, datetime], pa.Table]
"""``(asset, series name, after, until) -> rows (ts, value)`` of a derived forecast series."""

LatestValue = Callable[[str, str], float | None]
"""``(asset, signal) -> its latest stored value``, for set-point changes given as a change."""

DeskAt = Callable[[datetime], ActionDesk]
"""``now -> the action desk on the engine's clock``: set-point changes go through its limits."""

ACTOR = "rules"


class RuleJob:
    """Evaluate the site's decision rules and propose work orders."""

    def __init__(
        self,
        model: SiteModel,
        rules: Sequence[RuleSpec],
        orders: WorkOrders,
        alarms: AlarmRows,
        forecasts: ForecastRows,
        latest: LatestValue,
        desk_at: DeskAt | None = None,
        *,
        every: timedelta = timedelta(seconds=5),
    ) -> None:
        self.name = "decisions:rules"
        self.every = every
        self.model = model
        self.rules = list(rules)
        self.orders = orders
        self.alarms = alarms
        self.forecasts = forecasts
        self.latest = latest
        self.desk_at = desk_at
        self._refused: set[str] = set()

    def _forecast_firings(self, rule: RuleSpec, now: datetime) -> list[Firing]:
        binding = rule.when.forecast
        assert binding is not None
        open_sources = self._open_sources(f"rule:{rule.name}:")
        firings = []
        for asset in self.model.assets.values():
            if rule.types is not None and asset.type_name not in rule.types:
                continue
            specs = {spec.name: spec for spec in asset.type.analytics}
            if binding not in specs:
                continue
            if any(source.startswith(f"rule:{rule.name}:{asset.name}:") for source in open_sources):
                continue
            rows = self.forecasts(
                asset.name, f"{binding}_forecast", now, horizon_end(now, specs[binding].horizon)
            )
            firing = forecast_firing(rule, asset.name, rows, now)
            if firing is not None:
                firings.append(firing)
        return firings

    def _open_sources(self, prefix: str) -> set[str]:
        table = self.orders.list()
        rows = table.select(["source", "status"]).to_pylist() if table.num_rows else []
        still_open = {OrderStatus.PROPOSED.value, OrderStatus.APPROVED.value}
        return {
            row["source"]
            for row in rows
            if row["status"] in still_open and str(row["source"]).startswith(prefix)
        }

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Propose what the rules call for by ``now``; nothing twice."""
        alarm_rules = [rule for rule in self.rules if rule.when.alarm is not None]
        firings: list[Firing] = []
        if alarm_rules:
            delay = max(
                (rule.when.unacknowledged_for or rule.when.active_for or timedelta(0))
                for rule in alarm_rules
            )
            rows = self.alarms(None if watermark is None else watermark - delay - self.every, now)
            for rule in alarm_rules:
                firings.extend(alarm_firings(rule, rows, now, self.model))
        for rule in self.rules:
            if rule.when.forecast is not None:
                firings.extend(self._forecast_firings(rule, now))
        done = self.orders.sources("rule:")
        proposals: list[Proposal] = []
        changes: list[tuple[Proposal, float | None]] = []
        for firing in sorted(firings, key=lambda f: (f.at, f.asset, f.rule.name)):
            current = None
            if firing.rule.propose.change is not None and firing.rule.propose.setpoint:
                current = self.latest(firing.asset, firing.rule.propose.setpoint)
            candidate = proposal(firing, self.model, current)
            if candidate.source in done or candidate.source in self._refused:
                continue
            done.add(candidate.source)
            if candidate.kind == "setpoint" and self.desk_at is not None:
                changes.append((candidate, firing.rule.propose.change))
            else:
                proposals.append(candidate)
        if proposals:
            self.orders.propose("rules", proposals, actor=ACTOR, model_version="")
        refused = self._propose_changes(changes, now)
        proposed = len(proposals) + len(changes) - len(refused)
        message = f"{proposed} proposed" if proposed else "nothing to propose"
        if refused:
            message += f"; {len(refused)} refused: {refused[0]}"
        return JobResult(watermark=now, message=message, rows=proposed)

    def _propose_changes(
        self, changes: Sequence[tuple[Proposal, float | None]], now: datetime
    ) -> list[str]:
        """Propose set-point changes through the desk's limits; return why any was refused.

        A change given as a step (``change``) is made from the value the field holds when it is
        proposed. A refused change is not proposed again by the same firing.
        """
        if not changes or self.desk_at is None:
            return []
        desk = self.desk_at(now)
        refused = []
        for change, step in changes:
            try:
                desk.propose_setpoint(
                    change.asset,
                    change.action,
                    target=change.setpoint if step is None else None,
                    change=step,
                    reason=change.task,
                    actor=ACTOR,
                    source=change.source,
                    due_at=change.due_at,
                )
            except LimitError as err:
                self._refused.add(change.source)
                refused.append(str(err))
        return refused
