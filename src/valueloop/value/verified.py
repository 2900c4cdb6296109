"""Verified savings in the value ledger, beside the value each proposal expected.

A measurement (:mod:`.measure`) is recorded as one run of entries under its plan's id (run
``<plan id>#r<revision>``; a plan is measured again, as a new revision, when an adjustment is
recorded after it was measured, and the latest revision is the one that counts):

- kind ``measurement``, subject the work order: ``expected_value`` (the proposal's, money),
  ``verified`` (1 or 0), and when measured ``counterfactual``, ``adjustment``, ``observed``,
  ``saving`` and its ``uncertainty_68`` and ``uncertainty_90`` (the KPI's unit), ``money`` and
  ``money_uncertainty`` (at the plan's confidence), ``rows`` and ``intervals``;
- kind ``measurement_month``, subject ``<order>/<YYYY-MM>``: ``counterfactual``, ``adjustment``,
  ``observed``, ``saving`` and ``rows`` of each month of the reporting window.

The assumptions hold the plan, the baseline's Guideline 14 statistics and fitted model, the
adjustments applied (with their audit sequence numbers) and every reason the saving is not
verified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from valueloop.value.ledger import Ledger, LedgerEntry
from valueloop.value.measure import Measurement
from valueloop.value.plans import MeasurementPlan

MEASUREMENT = "measurement"
MONTH = "measurement_month"


def measurement_entries(measurement: Measurement) -> list[LedgerEntry]:
    """The ledger entries of ``measurement``; see the module docstring."""
    plan = measurement.plan
    order, unit, money = plan.order_id, plan.unit, plan.currency
    entries = [
        LedgerEntry(MEASUREMENT, order, "expected_value", plan.expected_value, money),
        LedgerEntry(MEASUREMENT, order, "verified", float(measurement.verified), "flag"),
    ]
    saved = measurement.savings
    if saved is None:
        return entries
    entries += [
        LedgerEntry(MEASUREMENT, order, "counterfactual", saved.counterfactual, unit),
        LedgerEntry(MEASUREMENT, order, "adjustment", measurement.adjustment, unit),
        LedgerEntry(MEASUREMENT, order, "observed", saved.observed, unit),
        LedgerEntry(MEASUREMENT, order, "saving", saved.saving, unit),
        LedgerEntry(MEASUREMENT, order, "uncertainty_68", saved.uncertainty[0.68], unit),
        LedgerEntry(MEASUREMENT, order, "uncertainty_90", saved.uncertainty[0.9], unit),
        LedgerEntry(MEASUREMENT, order, "money", measurement.money, money),
        LedgerEntry(
            MEASUREMENT, order, "money_uncertainty", measurement.uncertainty * plan.price, money
        ),
        LedgerEntry(MEASUREMENT, order, "rows", float(saved.rows), "intervals"),
        LedgerEntry(
            MEASUREMENT, order, "intervals", float(measurement.expected_intervals), "intervals"
        ),
    ]
    for month in measurement.months:
        subject = f"{order}/{month.month}"
        entries += [
            LedgerEntry(MONTH, subject, "counterfactual", month.counterfactual, unit),
            LedgerEntry(MONTH, subject, "adjustment", month.adjustment, unit),
            LedgerEntry(MONTH, subject, "observed", month.observed, unit),
            LedgerEntry(MONTH, subject, "saving", month.saving, unit),
            LedgerEntry(MONTH, subject, "rows", float(month.rows), "intervals"),
        ]
    return entries


def record_measurement(ledger: Ledger, measurement: Measurement) -> list[int]:
    """Append ``measurement`` to ``ledger``; return the entries' sequence numbers."""
    plan = measurement.plan
    return ledger.record(
        measurement_entries(measurement),
        run_id=f"{plan.plan_id}#r{measurement.revision}",
        plan_id=plan.plan_id,
        model_version=plan.baseline,
        assumptions={
            "plan": plan.as_dict(),
            "revision": measurement.revision,
            "confidence": measurement.confidence,
            "statistics": measurement.statistics,
            "model": measurement.model,
            "adjustments": [adjustment.as_dict() for adjustment in measurement.adjustments],
            "reasons": list(measurement.reasons),
        },
    )


@dataclass(frozen=True)
class RecordedMeasurement:
    """The latest recorded revision of a plan's measurement, read back from the ledger.

    ``entries`` are its ledger rows (sequence number, hash, kind, subject, metric, value, unit);
    ``figures`` the ``measurement`` entries by metric; ``months`` the monthly figures by month.
    """

    plan: MeasurementPlan
    run_id: str
    revision: int
    assumptions: dict[str, Any]
    entries: list[dict[str, Any]]
    figures: dict[str, float]
    months: dict[str, dict[str, float]]

    @property
    def verified(self) -> bool:
        """Whether the recorded saving is verified."""
        return self.figures.get("verified", 0.0) == 1.0

    @property
    def reasons(self) -> list[str]:
        """Why the saving is not verified (empty when it is)."""
        return list(self.assumptions.get("reasons", []))


def latest_measurement(ledger: Ledger, plan_id: str) -> RecordedMeasurement | None:
    """The latest revision of the measurement of ``plan_id`` in ``ledger``, or None."""
    rows = ledger.entries_of_plan(plan_id).to_pylist()
    if not rows:
        return None
    run_id = rows[-1]["run_id"]
    entries = [row for row in rows if row["run_id"] == run_id]
    assumptions = json.loads(entries[0]["assumptions"])
    figures = {row["metric"]: row["value"] for row in entries if row["kind"] == MEASUREMENT}
    months: dict[str, dict[str, float]] = {}
    for row in entries:
        if row["kind"] == MONTH:
            month = row["subject"].rsplit("/", 1)[1]
            months.setdefault(month, {})[row["metric"]] = row["value"]
    return RecordedMeasurement(
        plan=MeasurementPlan.from_dict(assumptions["plan"]),
        run_id=run_id,
        revision=int(assumptions["revision"]),
        assumptions=assumptions,
        entries=[
            {
                name: row[name]
                for name in ("seq", "hash", "kind", "subject", "metric", "value", "unit")
            }
            for row in entries
        ],
        figures=figures,
        months=months,
    )
