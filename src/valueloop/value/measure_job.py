"""The measurement job: plans for executed actions, verified savings when their windows close.

Each step, on the engine's clock:

1. every executed set-point change and completed maintenance task (not a rollback) on an asset a
   value KPI covers gets a measurement plan per such KPI (:mod:`.plans`), audited in its order's
   trail (``measurement_plan``);
2. an open plan whose order was rolled back has its reporting window cut at the rollback
   (audited, ``measurement_cut``);
3. an open plan whose reporting window closed ``lateness`` ago is measured (:mod:`.measure`) and
   recorded in the ledger (:mod:`.verified`); a measured plan with an adjustment recorded since
   is measured again, as a new revision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from valueloop.act.workorders import OrderStatus, WorkOrders
from valueloop.config.value import ValueSpec
from valueloop.engine.job import JobResult
from valueloop.value.adjustments import adjustments_of
from valueloop.value.ledger import Ledger
from valueloop.value.measure import Reader, measure
from valueloop.value.plans import MeasurementPlan, PlanBook, PlanStatus, interval_start, make_plan
from valueloop.value.verified import latest_measurement, record_measurement

ACTOR = "measurement"
"""Who the audit trail names for what this job does."""

Unit = Callable[[str, str], str | None]
"""The unit of ``asset``'s ``signal``."""


class MeasurementJob:
    """Plan, cut and measure the site's measurement plans, hourly on the engine's clock."""

    def __init__(
        self,
        spec: ValueSpec,
        orders: WorkOrders,
        plans: PlanBook,
        ledger: Ledger,
        reader: Reader,
        unit: Unit,
        *,
        timezone: str,
        tariffs: dict[str, tuple[float, str]],
        currency: str,
        every: timedelta = timedelta(hours=1),
        lateness: timedelta = timedelta(hours=1),
    ) -> None:
        self.name = "measurement"
        self.every = every
        self.spec = spec
        self.orders = orders
        self.plans = plans
        self.ledger = ledger
        self.reader = reader
        self.unit = unit
        self.timezone = timezone
        self.tariffs = tariffs
        self.currency = currency
        self.lateness = lateness

    def _plan(self) -> list[str]:
        planned = self.plans.measured_orders()
        made = []
        for order in self.orders.in_states([OrderStatus.EXECUTED, OrderStatus.COMPLETED]):
            if order["order_id"] in planned or order["rollback_of"]:
                continue
            for kpi in self.spec.kpis:
                if not kpi.verifies(str(order["asset"])):
                    continue
                plan = make_plan(
                    order,
                    kpi,
                    self.spec.measurement,
                    executed_at=order["updated_at"],
                    unit=self.unit(kpi.asset, kpi.signal) or "",
                    timezone=self.timezone,
                    tariffs=self.tariffs,
                    currency=self.currency,
                )
                if self.plans.add(plan):
                    self.orders.record(
                        plan.order_id, "measurement_plan", actor=ACTOR, detail=plan.as_dict()
                    )
                    made.append(plan.plan_id)
        return made

    def _cut(self, plan: MeasurementPlan) -> MeasurementPlan:
        order = self.orders.get(plan.order_id)
        if order["status"] != OrderStatus.ROLLED_BACK.value:
            return plan
        end = interval_start(order["updated_at"], plan.interval, plan.timezone)
        if end >= plan.reporting_end:
            return plan
        cut = plan.cut_at(end)
        self.plans.update(cut, PlanStatus.OPEN)
        self.orders.record(
            plan.order_id,
            "measurement_cut",
            actor=ACTOR,
            detail={"plan_id": plan.plan_id, "reporting_end": cut.reporting_end.isoformat()},
        )
        return cut

    def _revision(self, plan: MeasurementPlan, known: set[int]) -> int | None:
        """The revision to record for a measured plan, None when no adjustment is new."""
        recorded = latest_measurement(self.ledger, plan.plan_id)
        if recorded is None:
            return 1
        applied = {adjustment["seq"] for adjustment in recorded.assumptions["adjustments"]}
        return None if known <= applied else recorded.revision + 1

    def _measure(self, now: datetime) -> list[str]:
        measured = []
        for plan, status in self.plans.all():
            adjustments = adjustments_of(self.orders.audit, plan.plan_id)
            if status is PlanStatus.OPEN:
                plan = self._cut(plan)
                revision: int | None = 1 if now >= plan.reporting_end + self.lateness else None
            else:
                revision = self._revision(plan, {a.seq for a in adjustments})
            if revision is None:
                continue
            spec = self.spec.measurement
            result = measure(plan, self.reader, adjustments, spec, revision=revision)
            record_measurement(self.ledger, result)
            self.plans.update(plan, PlanStatus.MEASURED)
            measured.append(plan.plan_id)
        return measured

    def step(self, now: datetime, watermark: datetime | None, state: bytes | None) -> JobResult:
        """Plan new actions, cut rolled-back plans and measure the plans due at ``now``."""
        made = self._plan()
        measured = self._measure(now)
        parts = [
            f"{len(names)} {what}"
            for names, what in ((made, "planned"), (measured, "measured"))
            if names
        ]
        return JobResult(
            watermark=now,
            message=", ".join(parts) or "nothing to measure",
            rows=len(made) + len(measured),
        )
