"""Decision rules: a condition on alarms or forecasts proposes a work order, with its value.

A rule such as "an unacknowledged high-priority ``health_anomaly`` for 20 minutes proposes
'inspect bearings' within two days" fires once per alarm occurrence: the proposal's ``source`` is
``rule:<rule>:<alarm id>``, so running the same period again proposes nothing new. A forecast rule
("the forecast of ``load_fc`` goes above 95 within its horizon") fires at most once per asset while
an order it proposed is still open.

The expected value of a maintenance task is what it saves against letting the asset run:
``p * cost of a failure - cost of the planned task`` (each with its downtime, from the asset
type's ``costs``), where ``p`` is the rule's assumed probability that the condition ends in a
failure. A set-point change carries no value estimate here (its value is measured after the
fact; see value/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from valueloop.act.workorders import Proposal
from valueloop.config import CostsSpec, RuleSpec
from valueloop.model.site import SiteModel

PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class Firing:
    """A rule that fired on an asset at a data time, and what started it."""

    rule: RuleSpec
    asset: str
    at: datetime
    cause: str
    """The alarm id or the forecast time that made the rule fire."""


def expected_value(costs: CostsSpec, failure_probability: float) -> float:
    """Money a maintenance task is expected to save against running on (site currency)."""
    return failure_probability * costs.unplanned() - costs.planned()


def alarm_firings(
    rule: RuleSpec, alarms: pa.Table, now: datetime, model: SiteModel
) -> list[Firing]:
    """Where ``rule`` fires on ``alarms`` (rows of the alarm book) by ``now``.

    ``unacknowledged_for``: the alarm stayed unacknowledged that long after it was raised (it may
    have returned to normal meanwhile, as an unacknowledged return still needs an operator);
    ``active_for``: it stayed active that long; neither: it fires when raised.
    """
    when = rule.when
    least = PRIORITY_RANK[when.priority] if when.priority else 0
    firings = []
    for row in alarms.to_pylist():
        if row["name"] != when.alarm or PRIORITY_RANK.get(row["priority"], 0) < least:
            continue
        asset = model.assets.get(row["asset"])
        if asset is None or (rule.types is not None and asset.type_name not in rule.types):
            continue
        raised: datetime = row["raised_at"]
        if when.unacknowledged_for is not None:
            at = raised + when.unacknowledged_for
            ended = row["acked_at"]
        elif when.active_for is not None:
            at = raised + when.active_for
            ended = row["cleared_at"]
        else:
            at, ended = raised, None
        if at <= now and (ended is None or ended > at):
            firings.append(Firing(rule, row["asset"], at, str(row["alarm_id"])))
    return firings


def forecast_firing(rule: RuleSpec, asset: str, forecast: pa.Table, now: datetime) -> Firing | None:
    """The first forecast point (``ts``, ``value``) past the rule's limit after ``now``, if any."""
    for row in forecast.to_pylist():
        value = row["value"]
        if value is None or row["ts"] <= now:
            continue
        above = rule.when.above is not None and value > rule.when.above
        below = rule.when.below is not None and value < rule.when.below
        if above or below:
            return Firing(rule, asset, now, f"{asset}:{row['ts'].isoformat()}")
    return None


def proposal(firing: Firing, model: SiteModel, current: float | None = None) -> Proposal:
    """The work order a firing proposes, due ``within`` after it fired."""
    spec = firing.rule.propose
    asset = model.assets[firing.asset]
    source = f"rule:{firing.rule.name}:{firing.cause}"
    due = firing.at + spec.within
    if spec.task is not None:
        value = expected_value(asset.type.costs, spec.failure_probability)
        return Proposal(
            asset=firing.asset,
            action="maintenance",
            due_at=due,
            expected_cost=asset.type.costs.planned(),
            failure_probability=spec.failure_probability,
            kind="maintenance",
            task=spec.task,
            source=source,
            expected_value=round(value, 2),
        )
    assert spec.setpoint is not None
    target = spec.target if spec.target is not None else (current or 0.0) + (spec.change or 0.0)
    return Proposal(
        asset=firing.asset,
        action=spec.setpoint,
        due_at=due,
        expected_cost=0.0,
        failure_probability=0.0,
        setpoint=target,
        kind="setpoint",
        task=spec.reason or f"set {spec.setpoint} to {target}",
        source=source,
    )


def horizon_end(now: datetime, horizon: timedelta | None) -> datetime:
    """The end of a forecast rule's look-ahead (a day when the binding gives none)."""
    return now + (horizon or timedelta(days=1))
