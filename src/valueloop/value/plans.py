"""Measurement plans: how the saving of one executed action is to be measured and verified.

A plan follows IPMVP: option B when the KPI meters the asset acted on, option C when it meters the
whole site. Its reference window runs ``reference`` long up to the start of the interval (day or
hour, in the site's time zone) the action was executed in; its reporting window starts at the next
interval and runs ``reporting`` long. It names the baseline kind and its hyper-parameters, the
regressors, the tariff and the expected value the proposal carried, so that the measurement can be
redone from the plan alone. Plans are kept in the ``measurement_plans`` table and each is audited
(``measurement_plan``) in its work order's trail when it is made.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from valueloop.config.value import KpiSpec, MeasurementSpec
from valueloop.errors import ConfigError
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS measurement_plans (
    plan_id VARCHAR PRIMARY KEY,
    order_id VARCHAR NOT NULL,
    kpi VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    reporting_end TIMESTAMPTZ NOT NULL,
    plan VARCHAR NOT NULL
)
"""

_INTERVALS = {"daily": timedelta(days=1), "hourly": timedelta(hours=1)}


class PlanStatus(StrEnum):
    """Where a plan stands: waiting for its reporting window to close, or measured."""

    OPEN = "open"
    MEASURED = "measured"


@dataclass(frozen=True)
class MeasurementPlan:
    """The measurement of one action's saving on one KPI.

    Attributes:
        plan_id: ``MV-<order id>-<kpi>``.
        order_id, asset, action: the work order measured, its asset and what it did.
        kpi, option: the KPI and the IPMVP option (``B`` or ``C``).
        meter: the metered series as ``asset/signal``; ``unit`` its unit.
        interval: ``daily`` or ``hourly``; ``timezone`` where days begin.
        executed_at: when the action took effect.
        reference_start, reference_end, reporting_start, reporting_end: the windows (start
            included, end excluded). ``reporting_end`` is cut at a rollback.
        planned_reporting_end: where the reporting window ends unless cut.
        regressors: column name to ``asset/signal``.
        baseline, params: the baseline kind and its hyper-parameters.
        tariff, price, currency: the tariff turning the unit into money (price per unit).
        expected_value: the money the proposal expected the action to save.
        direction: ``consumption`` (the saving is the baseline less what the meter read) or
            ``output`` (what the meter read beyond the baseline).
    """

    plan_id: str
    order_id: str
    asset: str
    action: str
    kpi: str
    option: str
    meter: str
    unit: str
    interval: str
    timezone: str
    executed_at: datetime
    reference_start: datetime
    reference_end: datetime
    reporting_start: datetime
    reporting_end: datetime
    planned_reporting_end: datetime
    regressors: dict[str, str]
    baseline: str
    params: dict[str, Any]
    tariff: str | None
    price: float
    currency: str
    expected_value: float
    direction: str = "consumption"

    @property
    def step(self) -> timedelta:
        """The length of one interval."""
        return _INTERVALS[self.interval]

    def as_dict(self) -> dict[str, Any]:
        """The plan as plain values (times in ISO 8601), for the audit trail and the ledger."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MeasurementPlan:
        """The plan :meth:`as_dict` wrote."""
        times = {
            name: datetime.fromisoformat(values[name])
            for name in (
                "executed_at",
                "reference_start",
                "reference_end",
                "reporting_start",
                "reporting_end",
                "planned_reporting_end",
            )
        }
        return cls(**{**values, **times})

    def cut_at(self, moment: datetime) -> MeasurementPlan:
        """The plan with its reporting window ending at ``moment`` (an interval start)."""
        return replace(self, reporting_end=max(self.reporting_start, moment))


def interval_start(moment: datetime, interval: str, timezone: str) -> datetime:
    """The start of the day or hour holding ``moment``, in ``timezone``."""
    local = moment.astimezone(ZoneInfo(timezone))
    if interval == "daily":
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        local = local.replace(minute=0, second=0, microsecond=0)
    return local


def make_plan(
    order: dict[str, Any],
    kpi: KpiSpec,
    measurement: MeasurementSpec,
    *,
    executed_at: datetime,
    unit: str,
    timezone: str,
    tariffs: dict[str, tuple[float, str]],
    currency: str,
) -> MeasurementPlan:
    """The plan measuring ``order`` (an executed work order) on ``kpi``.

    ``tariffs`` maps a tariff name to its price per unit and its currency.
    """
    price, money = 0.0, currency
    if kpi.tariff is not None:
        if kpi.tariff not in tariffs:
            raise ConfigError(f"KPI {kpi.name} names unknown tariff {kpi.tariff!r}")
        price, money = tariffs[kpi.tariff]
    step = _INTERVALS[kpi.interval]
    began = interval_start(executed_at, kpi.interval, timezone)
    reporting_start = began + step
    reporting_end = reporting_start + measurement.reporting
    return MeasurementPlan(
        plan_id=f"MV-{order['order_id']}-{kpi.name}",
        order_id=str(order["order_id"]),
        asset=str(order["asset"]),
        action=str(order["action"]),
        kpi=kpi.name,
        option=kpi.option,
        meter=f"{kpi.asset}/{kpi.signal}",
        unit=unit,
        interval=kpi.interval,
        timezone=timezone,
        executed_at=executed_at,
        reference_start=began - measurement.reference,
        reference_end=began,
        reporting_start=reporting_start,
        reporting_end=reporting_end,
        planned_reporting_end=reporting_end,
        regressors={name: f"{ref.asset}/{ref.signal}" for name, ref in kpi.regressors.items()},
        baseline=kpi.baseline.kind,
        params=dict(kpi.baseline.params),
        tariff=kpi.tariff,
        price=price,
        currency=money,
        expected_value=float(order.get("expected_value") or 0.0),
        direction=kpi.direction,
    )


class PlanBook:
    """The measurement plans of a site."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def add(self, plan: MeasurementPlan) -> bool:
        """Keep ``plan`` unless a plan of that id exists; whether it was added."""
        changed = self._store.execute(
            "INSERT INTO measurement_plans VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                plan.plan_id,
                plan.order_id,
                plan.kpi,
                PlanStatus.OPEN.value,
                plan.reporting_end,
                json.dumps(plan.as_dict(), sort_keys=True),
            ],
        )
        return changed == 1

    def update(self, plan: MeasurementPlan, status: PlanStatus) -> None:
        """Store ``plan`` (its windows may have been cut) in ``status``."""
        self._store.execute(
            "UPDATE measurement_plans SET status = ?, reporting_end = ?, plan = ? "
            "WHERE plan_id = ?",
            [
                status.value,
                plan.reporting_end,
                json.dumps(plan.as_dict(), sort_keys=True),
                plan.plan_id,
            ],
        )

    def measured_orders(self) -> set[str]:
        """The work orders that have a plan."""
        rows = self._store.query("SELECT DISTINCT order_id FROM measurement_plans")
        return set(rows.column("order_id").to_pylist())

    def _plans(self, rows: pa.Table) -> list[tuple[MeasurementPlan, PlanStatus]]:
        return [
            (MeasurementPlan.from_dict(json.loads(row["plan"])), PlanStatus(row["status"]))
            for row in rows.to_pylist()
        ]

    def all(self) -> list[tuple[MeasurementPlan, PlanStatus]]:
        """Every plan with its status, by the end of its reporting window."""
        return self._plans(
            self._store.query("SELECT * FROM measurement_plans ORDER BY reporting_end, plan_id")
        )

    def get(self, plan_id: str) -> tuple[MeasurementPlan, PlanStatus] | None:
        """One plan and its status, or None."""
        found = self._plans(
            self._store.query("SELECT * FROM measurement_plans WHERE plan_id = ?", [plan_id])
        )
        return found[0] if found else None
