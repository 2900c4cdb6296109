"""The site description, ``site.yaml``, as validated pydantic models.

A site is described in its field's words, with no section tied to a data set: the site itself,
asset types (templates), assets in an ISA-95 tree (``area/line/asset``, each of a type), the
connectors that read them, site-level alarms, decision rules and planners, the approval policy,
tariffs, value KPIs and contracts, and the store. :func:`load_site` reports every problem with
the file, line and field, including references that span sections (a mapping to an unknown asset,
a unit that does not convert), which :mod:`valueloop.config.check` finds.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from valueloop.config.connectors import connector_specs
from valueloop.config.types import AlarmSpec, AssetType, Name, Priority, Strict
from valueloop.config.value import ValueSpec
from valueloop.config.yamlio import duration_field
from valueloop.connectors.spec import ConnectorSpec

SEGMENT = r"[A-Za-z0-9_.-]+"
_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


class SiteInfo(Strict):
    """The site: its name (the first level of every series path), enterprise, zone, currency."""

    name: Annotated[str, Field(pattern=rf"^{SEGMENT}$")]
    enterprise: str = "enterprise"
    timezone: str = "UTC"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Europe/Berlin)") from err
        return value


class AssetSpec(Strict):
    """An asset in the ISA-95 tree: ``area/line/asset``, of a declared type.

    A path may hold one numeric range, ``fleet/line-1/engine-{001..100}``, to declare many assets
    of a type at once (zero-padded to the width of the first number).
    """

    path: Annotated[str, Field(pattern=rf"^{SEGMENT}/{SEGMENT}/[A-Za-z0-9_.{{}}-]+$")]
    type: Name
    attributes: dict[Name, float | str] = Field(default_factory=dict)
    description: str = ""

    @field_validator("path")
    @classmethod
    def _one_range(cls, value: str) -> str:
        ranges = _RANGE.findall(value)
        if len(ranges) > 1:
            raise ValueError("a path holds at most one range such as {001..100}")
        if ranges and int(ranges[0][0]) > int(ranges[0][1]):
            raise ValueError(f"range {{{ranges[0][0]}..{ranges[0][1]}}} runs backwards")
        if "{" in _RANGE.sub("", value) or "}" in _RANGE.sub("", value):
            raise ValueError("braces in a path only write a range such as {001..100}")
        return value

    def expand(self) -> list[str]:
        """The paths this entry declares (one, or one per number of its range)."""
        match = _RANGE.search(self.path)
        if match is None:
            return [self.path]
        first, last = match.group(1), match.group(2)
        width = len(first)
        return [
            self.path[: match.start()] + f"{number:0{width}d}" + self.path[match.end() :]
            for number in range(int(first), int(last) + 1)
        ]


class Condition(Strict):
    """When a rule fires: an alarm unacknowledged (or active) for a while, or a forecast limit."""

    alarm: Name | None = Field(None, description="an alarm name of the asset's type or site")
    priority: Priority | None = Field(None, description="only alarms of this priority or above")
    unacknowledged_for: timedelta | None = None
    active_for: timedelta | None = None
    forecast: Name | None = Field(None, description="a forecaster binding")
    above: float | None = None
    below: float | None = None

    @field_validator("unacknowledged_for", "active_for", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.alarm is None) == (self.forecast is None):
            raise ValueError("a condition names either an alarm or a forecast")
        if self.forecast is not None and (self.above is None) == (self.below is None):
            raise ValueError("a forecast condition gives one of above or below")
        return self


class ProposalSpec(Strict):
    """What a rule proposes: a maintenance task, or a set-point change."""

    task: str | None = Field(None, description="maintenance task, e.g. 'inspect bearings'")
    within: timedelta = Field(timedelta(days=2), description="due this long after the rule fires")
    failure_probability: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5, description="assumed chance of a failure the task prevents (for its expected value)"
    )
    setpoint: Name | None = None
    target: float | None = Field(None, description="the set-point's new value")
    change: float | None = Field(None, description="or a change from its current value")
    reason: str = ""

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.task is None) == (self.setpoint is None):
            raise ValueError("a proposal is either a task or a setpoint change")
        if self.setpoint is not None and (self.target is None) == (self.change is None):
            raise ValueError("a setpoint proposal gives one of target or change")
        return self


class RuleSpec(Strict):
    """A decision rule: a condition on alarms or forecasts proposes a work order."""

    name: Annotated[str, Field(pattern=rf"^{SEGMENT}$")]
    when: Condition
    propose: ProposalSpec
    types: list[Name] | None = Field(None, description="asset types it applies to (all: absent)")


class PlannerSpec(Strict):
    """A planner: an optimiser found by entry point (``valueloop.optimizers``), run on schedule."""

    name: Annotated[str, Field(pattern=rf"^{SEGMENT}$")]
    kind: str
    every: timedelta = timedelta(days=1)
    horizon: timedelta = timedelta(days=30)
    crew_per_day: Annotated[int, Field(ge=1)] = 1
    time_limit_s: Annotated[float, Field(gt=0)] = 10.0
    params: dict[str, Any] = Field(default_factory=dict)
    by: Name | None = Field(
        None,
        description="a pack of the site that runs this planner with its own outlook "
        "(absent: the engine's planner job runs it)",
    )

    @field_validator("every", "horizon", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)


class DecisionsSpec(Strict):
    """Rules and planners that turn alarms, predictions and forecasts into proposals."""

    rules: list[RuleSpec] = Field(default_factory=list)
    planners: list[PlannerSpec] = Field(default_factory=list)


Approval = Literal["manual", "auto", "two_person"]
OrderKind = Literal["maintenance", "setpoint"]


def _two_person(value: Any) -> Any:
    """Two-person approval means at least two approvals."""
    if isinstance(value, dict) and value.get("approval") == "two_person":
        return {**value, "approvals": max(int(value.get("approvals", 2)), 2)}
    return value


class KindPolicy(Strict):
    """The approval of one kind of work order (maintenance or set-point)."""

    approval: Approval = "manual"
    approvals: Annotated[int, Field(ge=1, le=5)] = 1

    @model_validator(mode="before")
    @classmethod
    def _two(cls, value: Any) -> Any:
        return _two_person(value)


class AutoMaintenance(Strict):
    """Maintenance tasks the site's policy approves by itself under an ``auto`` approval.

    E.g. ``auto_maintenance: {max_cost: 2000, tasks: [inspect bearings]}``. A task qualifies
    when its planned cost is at most ``max_cost`` (site currency) and, if ``tasks`` names any,
    its task is one of them (letter case aside). The planned cost is the one the proposal
    carries: a rule's is its asset type's planned maintenance with planned downtime
    (``costs``), a planner's its plan's, a person's its asset type's. The policy's approval is
    audited like any other, as the actor ``policy``; any other task needs ``approvals`` people.
    """

    max_cost: Annotated[
        float, Field(ge=0, description="the most a task may plan to cost, in site currency")
    ]
    tasks: list[str] = Field(
        default_factory=list,
        description="the tasks it may approve, as rules and people name them (empty: any task)",
    )


class PolicySpec(Strict):
    """How proposals become work orders: who approves, how many, within what windows.

    ``manual``: approvers decide (``approvals`` of them, never the proposer); ``two_person``: at
    least two; ``auto``: a set-point change inside its type's ``auto`` band, and a maintenance
    task inside ``auto_maintenance``, is approved by the site's policy itself (audited as the
    policy's approval), any other order needs ``approvals`` people. A set-point change still
    undecided ``approve_within`` after it fell due expires, and so does one approved and not
    executed within ``execute_within`` of its approval. ``kinds`` overrides the approval per
    kind.
    """

    approval: Approval = "manual"
    approvals: Annotated[int, Field(ge=1, le=5)] = 1
    approve_within: timedelta = timedelta(days=7)
    execute_within: timedelta = timedelta(hours=1)
    kinds: dict[OrderKind, KindPolicy] = Field(default_factory=dict)
    auto_maintenance: Annotated[
        AutoMaintenance | None,
        Field(
            description="the maintenance tasks an auto approval of maintenance approves "
            "(absent: none, people approve every task)"
        ),
    ] = None

    @field_validator("approve_within", "execute_within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)

    @model_validator(mode="before")
    @classmethod
    def _two(cls, value: Any) -> Any:
        return _two_person(value)

    @model_validator(mode="after")
    def _auto_maintenance(self) -> Self:
        if self.auto_maintenance is not None and self.of("maintenance").approval != "auto":
            raise ValueError(
                "auto_maintenance needs the auto approval of maintenance tasks (approval: auto, "
                "or kinds: {maintenance: {approval: auto}})"
            )
        return self

    def of(self, kind: str) -> KindPolicy:
        """The approval policy of work orders of ``kind``."""
        policy = self.kinds.get(kind)  # type: ignore[call-overload]
        return policy or KindPolicy(approval=self.approval, approvals=self.approvals)


class WebhookSpec(Strict):
    """An external maintenance system that receives approved maintenance tasks.

    Each task is POSTed as JSON to ``url``, signed with HMAC-SHA256 under the secret read from the
    environment variable ``secret_env`` (never from this file), with the order id as the
    ``Idempotency-Key``; a failed delivery is retried with doubling backoff up to ``retry_max``.
    """

    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
    secret_env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")] = "VALUELOOP_WEBHOOK_SECRET"
    timeout: timedelta = timedelta(seconds=10)
    retry_initial: timedelta = timedelta(seconds=5)
    retry_max: timedelta = timedelta(minutes=10)

    @field_validator("timeout", "retry_initial", "retry_max", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)


class MaintenanceSpec(Strict):
    """Where approved maintenance tasks go: a webhook to the site's maintenance system."""

    webhook: WebhookSpec | None = None


class TariffSpec(Strict):
    """A price, e.g. ``{price: 0.21, unit: EUR/kWh}``: money per unit of a measured quantity."""

    price: float
    unit: Annotated[str, Field(pattern=r"^[A-Z]{3}/.+$")]


class StoreSpec(Strict):
    """Where the time-series store lives; a relative DuckDB path is under the data directory."""

    url: str = "duckdb:///valueloop.duckdb"


class SiteConfig(Strict):
    """A whole ``site.yaml``."""

    site: SiteInfo
    asset_types: dict[Name, AssetType] = Field(default_factory=dict)
    assets: list[AssetSpec] = Field(default_factory=list)
    connectors: list[ConnectorSpec] = Field(default_factory=list)
    alarms: list[AlarmSpec] = Field(default_factory=list, description="site-level alarms")
    decisions: DecisionsSpec = DecisionsSpec()
    policy: PolicySpec = PolicySpec()
    maintenance: MaintenanceSpec = MaintenanceSpec()
    tariffs: dict[Name, TariffSpec] = Field(default_factory=dict)
    value: ValueSpec = ValueSpec()
    store: StoreSpec = StoreSpec()
    packs: list[Name] = Field(
        default_factory=list, description="installed packs whose jobs run with this site"
    )

    @field_validator("connectors", mode="before")
    @classmethod
    def _connector_specs(cls, value: Any) -> list[ConnectorSpec]:
        return connector_specs(value)
