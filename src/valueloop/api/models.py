"""The API's response and request bodies.

Times are ISO 8601 in UTC, money is in the site's currency, remaining life in cycles.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from valueloop.act.workorders import OrderStatus
from valueloop.api.auth import Role, parse_lifetime


def _json_object(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_object)]
"""A JSON object, given either parsed or as JSON text (as the audit and ledger tables keep it)."""

Risk = Literal["high", "medium", "low", "unknown"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Health(_Out):
    """Liveness of the server."""

    status: Literal["ok"] = "ok"


class PrincipalOut(_Out):
    """Who the request's token belongs to."""

    name: str
    role: str


class PredictionOut(_Out):
    """A remaining-useful-life estimate (cycles) with its prediction interval."""

    run_id: str
    as_of: datetime
    asset: str
    cycle: int
    rul: float
    lower: float
    upper: float
    interval: float = Field(description="Nominal coverage of [lower, upper], e.g. 0.9.")
    model_version: str


class AssetOut(_Out):
    """An asset, how many series it carries and its latest prediction."""

    asset: str
    series: int
    risk: Risk = Field(
        description="high: the interval's lower bound falls within the approval window; "
        "medium: within 30 days; low: later; unknown: no prediction."
    )
    prediction: PredictionOut | None


class SeriesOut(_Out):
    """One signal of one asset."""

    series_id: int
    path: str
    asset: str
    signal: str
    unit: str
    description: str


class PointOut(_Out):
    """One stored value; quality 0 good, 1 uncertain, 2 bad."""

    ts: datetime
    value: float | None
    quality: int


class SeriesPoints(_Out):
    """The points of a series in a time range."""

    series: SeriesOut
    points: list[PointOut]


class BucketOut(_Out):
    """Aggregates of a series over one time bucket."""

    bucket: datetime
    avg: float | None
    min: float | None
    max: float | None
    last: float | None


class SeriesBuckets(_Out):
    """A series downsampled to buckets of ``every``; buckets without data are absent."""

    series: SeriesOut
    every: str
    every_seconds: float
    buckets: list[BucketOut]


class PlanOut(_Out):
    """A plan's header: the solver's verdict."""

    plan_id: str
    created_at: datetime
    starts_at: datetime
    kind: str
    status: str
    objective: float
    best_bound: float
    gap: float
    solve_seconds: float
    solver: str
    model_version: str


class PlanRowsOut(_Out):
    """A schedule, route or dispatch plan: its header, the file it was solved from and its rows
    (columns defined by the optimiser: job, operation, machine, start, end for a shop schedule;
    vehicle, stop, customer, arrival, load, x, y for routes)."""

    plan: PlanOut
    source: str
    rows: list[dict[str, Any]]


class AssignmentOut(_Out):
    """An asset's assignment in a plan; ``day`` is null when not serviced within the horizon."""

    asset: str
    day: int | None
    starts_at: datetime | None
    failure_probability: float
    expected_cost: float


class PlanDetail(_Out):
    """A plan with its assignments."""

    plan: PlanOut
    assignments: list[AssignmentOut]


class WorkOrderOut(_Out):
    """A work order and its current state."""

    order_id: str
    plan_id: str
    asset: str
    action: str
    due_at: datetime
    expected_cost: float
    failure_probability: float
    model_version: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    updated_by: str
    setpoint: float | None = None
    kind: str = Field("maintenance", description="maintenance or setpoint")
    task: str = Field("", description="the maintenance task, or the set-point change, in words")
    source: str = Field("", description="what proposed it: a rule and its alarm, a plan")
    expected_value: float = Field(0.0, description="money it is expected to save (site currency)")
    previous: float | None = Field(None, description="the set-point's value when proposed")
    reason: str = ""
    window_end: datetime | None = Field(None, description="a maintenance task's window end")
    crew: str = ""
    created_by: str = Field("", description="who proposed it")
    rollback_of: str | None = Field(None, description="the executed change it reverses")
    actual_cost: float | None = Field(None, description="a completed task's cost")
    duration_h: float | None = Field(None, description="a completed task's duration, hours")
    findings: str | None = None
    approved_by: list[str] = Field(
        default_factory=list, description="who approved it so far (never the proposer)"
    )
    approvals_needed: int = Field(1, description="approvals the site's policy asks for")


class SetpointChangeIn(BaseModel):
    """A proposed set-point change: to ``target``, or by ``change`` from the current value."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["setpoint"]
    asset: Annotated[str, Field(min_length=1, max_length=200)]
    setpoint: Annotated[str, Field(min_length=1, max_length=200)]
    target: Annotated[float, Field(allow_inf_nan=False)] | None = None
    change: Annotated[float, Field(allow_inf_nan=False)] | None = None
    reason: Annotated[str, Field(max_length=2000)] = ""
    expected_value: Annotated[float, Field(allow_inf_nan=False)] = 0.0
    due_at: datetime | None = Field(None, description="when to write it (default: now)")


class MaintenanceTaskIn(BaseModel):
    """A proposed maintenance task on an asset, within a window, for a crew."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["maintenance"]
    asset: Annotated[str, Field(min_length=1, max_length=200)]
    task: Annotated[str, Field(min_length=1, max_length=2000)]
    window_start: datetime
    window_end: datetime | None = None
    crew: Annotated[str, Field(max_length=200)] = ""
    expected_value: Annotated[float, Field(allow_inf_nan=False)] = 0.0


WorkOrderIn = Annotated[SetpointChangeIn | MaintenanceTaskIn, Field(discriminator="kind")]
"""A work order proposed by a person: a set-point change or a maintenance task."""


class RollbackIn(BaseModel):
    """Why an executed set-point change is to be rolled back."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=2000)] = ""


class DecisionIn(BaseModel):
    """A person's decision on a work order."""

    comment: str = Field(default="", max_length=2000)


class AuditOut(_Out):
    """One row of the hash-chained audit trail."""

    seq: int
    recorded_at: datetime
    actor: str
    action: str
    subject: str
    detail: JsonObject
    hash: str


class LedgerEntryOut(_Out):
    """One figure of the value ledger, with the assumptions it rests on."""

    seq: int
    recorded_at: datetime
    run_id: str
    kind: str
    subject: str
    metric: str
    value: float
    unit: str
    plan_id: str
    model_version: str
    assumptions: JsonObject
    prev_hash: str
    hash: str


class LedgerOut(_Out):
    """The latest run's ledger entries and whether the whole hash chain is intact."""

    run_id: str | None
    intact: bool
    broken: list[int] = Field(
        description="The first entry that cannot be trusted, when the ledger is not intact."
    )
    entries: list[LedgerEntryOut]


class ChainReportOut(_Out):
    """The verification of one sealed log (the audit trail, the value ledger)."""

    log: str = Field(description="The log's table.")
    ok: bool
    checked: int = Field(description="Rows whose hash was recomputed.")
    head_seq: int = Field(description="The log's last sequence number (0 when empty).")
    first_broken: int | None = Field(
        description="The first sequence number that cannot be trusted; for rows deleted from "
        "the end, the first missing one."
    )
    reason: str = Field(description="Why the log does not verify; empty when it does.")


class DeadLetterOut(_Out):
    """An input that could not be stored, with the reason, and when it was replayed if it was."""

    letter_id: int
    source: str
    received_at: datetime
    raw: str | None
    reason: str
    replayed_at: datetime | None


class DeadLetterCount(_Out):
    """Dead letters of one source and reason: in all, and not replayed yet."""

    source: str
    reason: str
    letters: int
    pending: int


class DeadLettersOut(_Out):
    """The newest dead letters, how many there are in all, and the counts by source and reason."""

    count: int
    items: list[DeadLetterOut]
    counts: list[DeadLetterCount]


class PolicyOut(_Out):
    """What a maintenance policy cost over the horizon."""

    model_config = ConfigDict(frozen=True, extra="allow")

    cost: float
    failures: int
    overhauls: int
    availability: float
    downtime_days: float


class SavingOut(_Out):
    """What the predictive policy saved against a baseline."""

    money: float
    percent: float


class SummaryOut(_Out):
    """The latest run's summary; further keys of the run are passed through."""

    model_config = ConfigDict(frozen=True, extra="allow")

    currency: str
    run_id: str | None = None
    model_version: str | None = None
    rul_rmse: float | None = None
    rul_phm_score: float | None = None
    rul_interval_coverage: float | None = None
    rul_interval_nominal: float | None = None
    plan_id: str | None = None
    plan_status: str | None = None
    points_ingested: int | None = None
    dead_letters: int | None = None
    policies: dict[str, PolicyOut] = Field(default_factory=dict)
    savings: dict[str, SavingOut] = Field(default_factory=dict)
    stage_seconds: dict[str, float] = Field(default_factory=dict)


class IngestOut(_Out):
    """What became of an ingested batch: the key, whether it was a duplicate, and counts."""

    key: str | None
    duplicate: bool
    readings: int
    stored: int
    dead_letters: int


class SeriesDeclaration(BaseModel):
    """A series a sender will deliver: its full path, unit and description."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[str, Field(min_length=1, max_length=500)]
    unit: str = ""
    description: str = ""


class SeriesDeclarations(BaseModel):
    """The series a sender declares before it delivers (its birth)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    series: Annotated[list[SeriesDeclaration], Field(min_length=1, max_length=100_000)]


class DeclaredOut(_Out):
    """How many series were declared."""

    declared: int


class ConnectorStatusOut(_Out):
    """A connector's health: link, last message, rate (readings/s) and errors."""

    name: str
    kind: str
    connected: bool
    last_message_at: datetime | None
    messages: int
    points: int
    rate: float
    errors: int
    last_error: str | None
    reconnects: int


class ForwardedDeadLetter(BaseModel):
    """A dead letter a sender forwards: where it came from, when, the raw input and the reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Annotated[str, Field(min_length=1, max_length=200)]
    received_at: datetime
    raw: str | None
    reason: Annotated[str, Field(min_length=1)]


class ForwardedDeadLetters(BaseModel):
    """Dead letters forwarded by a sender."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: Annotated[list[ForwardedDeadLetter], Field(min_length=1, max_length=100_000)]


class AnomalyOut(_Out):
    """An anomaly event of an asset: its span, the series contributing most, the peak score."""

    asset: str
    series_id: int
    start_ts: datetime
    end_ts: datetime
    peak_ts: datetime
    score: float
    detector: str


_Lifetime = Annotated[
    str | None,
    Field(
        max_length=20,
        description="How long the token is valid: a number and s, m, h or d (default 90d; "
        "at most ten years).",
        examples=["30d"],
    ),
]


class UserIn(BaseModel):
    """A user to add: their name (unique regardless of case), role and first token's lifetime."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role
    expires_in: _Lifetime = None


class TokenIn(BaseModel):
    """Another token for a user: its lifetime."""

    model_config = ConfigDict(extra="forbid")

    expires_in: _Lifetime = None


class TokenExpiryIn(BaseModel):
    """A token's new expiry: a time, or a lifetime from now; exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    expires_at: AwareDatetime | None = Field(
        None,
        description="When the token expires: after now and at most ten years ahead.",
        examples=["2026-06-30T18:00:00Z"],
    )
    expires_in: _Lifetime = None

    @model_validator(mode="after")
    def _one_expiry(self) -> Self:
        if (self.expires_at is None) == (self.expires_in is None):
            raise ValueError("give exactly one of expires_at or expires_in")
        return self

    def expiry(self, now: datetime) -> datetime:
        """When the token expires, for a request made at ``now``."""
        if self.expires_at is not None:
            return self.expires_at
        assert self.expires_in is not None  # checked by _one_expiry
        return now + parse_lifetime(self.expires_in)


class RoleIn(BaseModel):
    """A user's new role, for all their tokens."""

    model_config = ConfigDict(extra="forbid")

    role: Role


class TokenOut(_Out):
    """An issued token's id and times (never its secret nor its hash)."""

    token_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class UserOut(_Out):
    """A user, their role and their tokens, oldest first."""

    name: str
    role: Role
    created_at: datetime
    tokens: list[TokenOut]


class IssuedTokenOut(_Out):
    """A token just issued: ``token`` is shown this once and stored only as a hash."""

    name: str
    role: Role
    token: str
    token_id: str
    expires_at: datetime
