"""Non-routine adjustments of a measurement plan's baseline, kept in the audit trail.

An adjustment says that something other than the action changed what the meter reads during part
of the reporting window: a load added, a production change, a meter replaced. It is recorded with
who recorded it and why, as an ``mv_adjustment`` entry of the site's keyed, chained audit trail
(subject: the plan id), and applied to the baseline: ``amount`` (in the KPI's unit per interval)
is added to the counterfactual of every reporting interval in ``[start, end)``, as IPMVP's
non-routine adjustments adjust the baseline (an added load of 40 kWh a day raises the adjusted
baseline by 40 kWh a day, so that it is not counted as a loss of saving).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from valueloop.errors import DataError
from valueloop.store.appendonly import AppendOnlyLog

ACTION = "mv_adjustment"
"""The audit action of an adjustment."""

AdjustmentKind = Literal["added_load", "production_change", "meter_replacement", "other"]
ADJUSTMENT_KINDS: tuple[AdjustmentKind, ...] = (
    "added_load",
    "production_change",
    "meter_replacement",
    "other",
)


@dataclass(frozen=True)
class Adjustment:
    """A non-routine adjustment: ``amount`` per interval added to the baseline in [start, end).

    ``seq`` is its audit entry's sequence number, ``actor`` who recorded it, ``reason`` why.
    """

    plan_id: str
    kind: str
    start: datetime
    end: datetime
    amount: float
    reason: str
    actor: str
    seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain values (times in ISO 8601), for the ledger and a statement."""
        values = asdict(self)
        values["start"], values["end"] = self.start.isoformat(), self.end.isoformat()
        return values

    def per_interval(self, ts: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
        """``amount`` at each interval start of ``ts`` (UTC, ``datetime64[us]``) it covers."""
        start = np.datetime64(_naive_utc(self.start), "us")
        end = np.datetime64(_naive_utc(self.end), "us")
        return np.where((ts >= start) & (ts < end), self.amount, 0.0)


def _naive_utc(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    if offset is None:
        raise DataError(f"{moment.isoformat()} has no time zone; give an aware time")
    return (moment - offset).replace(tzinfo=None)


def record_adjustment(
    audit: AppendOnlyLog,
    plan_id: str,
    *,
    kind: str,
    start: datetime,
    end: datetime,
    amount: float,
    reason: str,
    actor: str,
) -> Adjustment:
    """Audit an adjustment of plan ``plan_id`` and return it with its sequence number.

    Refused (:class:`~valueloop.errors.DataError`) without an actor or a reason, with an unknown
    kind, an empty period or an amount that is not a finite number.
    """
    if not actor.strip():
        raise DataError("an adjustment names who records it")
    if not reason.strip():
        raise DataError("an adjustment says why it is made")
    if kind not in ADJUSTMENT_KINDS:
        raise DataError(f"unknown adjustment kind {kind!r}; one of {', '.join(ADJUSTMENT_KINDS)}")
    if _naive_utc(end) <= _naive_utc(start):
        raise DataError("an adjustment's period ends after it starts")
    if not np.isfinite(amount):
        raise DataError(f"an adjustment's amount must be a number, not {amount}")
    adjustment = Adjustment(plan_id, kind, start, end, float(amount), reason, actor)
    detail = {key: value for key, value in adjustment.as_dict().items() if key != "seq"}
    (seq,) = audit.append(
        [{"actor": actor, "action": ACTION, "subject": plan_id, "detail": json.dumps(detail)}]
    )
    return Adjustment(plan_id, kind, start, end, float(amount), reason, actor, seq)


def adjustments_of(audit: AppendOnlyLog, plan_id: str | None = None) -> list[Adjustment]:
    """The adjustments of ``plan_id`` (every plan's when None), in the order recorded."""
    where, params = f"action = '{ACTION}'", []
    if plan_id is not None:
        where, params = f"{where} AND subject = ?", [plan_id]
    found = []
    for row in audit.rows(where, params).to_pylist():
        detail = json.loads(row["detail"])
        found.append(
            Adjustment(
                plan_id=row["subject"],
                kind=detail["kind"],
                start=datetime.fromisoformat(detail["start"]),
                end=datetime.fromisoformat(detail["end"]),
                amount=float(detail["amount"]),
                reason=detail["reason"],
                actor=row["actor"],
                seq=int(row["seq"]),
            )
        )
    return found
