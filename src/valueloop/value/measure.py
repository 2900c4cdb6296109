"""Measure a plan: fit its baseline on the reference window, verify the reporting window's saving.

The KPI's readings are summed per interval (the quantity used in each day or hour) and each
regressor averaged per interval, from the store, over the plan's windows. The baseline is fitted on
the reference window; over the reporting window its counterfactual, plus the plan's non-routine
adjustments (:mod:`.adjustments`), is the adjusted baseline, and the saving is the adjusted baseline
less what the meter read (on an ``output`` KPI, what the meter read beyond the adjusted baseline),
with Guideline 14's uncertainty (:mod:`.baselines.statistics`), the same either way. The saving in
money is the saving times the tariff's price, with the uncertainty scaled alike.

The saving is *verified* only when the baseline passes Guideline 14, the reporting window was not
cut shorter than the plan allows, and enough of its intervals were measured; otherwise the
measurement is kept and marked unverified, with each reason in plain words, never a silent number.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from valueloop.config.value import MeasurementSpec
from valueloop.errors import ModelError
from valueloop.value.adjustments import Adjustment
from valueloop.value.baselines import BaselineStatistics, G14Thresholds, Savings, baseline_class
from valueloop.value.baselines.statistics import savings, savings_uncertainty, t_quantile
from valueloop.value.plans import MeasurementPlan

Reader = Callable[[str, str, datetime, datetime], pa.Table]
"""Points (``ts``, ``value``) of ``asset``'s ``signal`` with ``start <= ts < end``."""

_UTC_US = pa.timestamp("us", tz="UTC")


def interval_starts(plan: MeasurementPlan, start: datetime, end: datetime) -> list[datetime]:
    """The starts of the plan's intervals in ``[start, end)``, in UTC (days follow local time)."""
    starts: list[datetime] = []
    if plan.interval == "daily":
        moment = start.astimezone(ZoneInfo(plan.timezone))
        while moment < end:
            starts.append(moment.astimezone(UTC))
            moment = (moment + timedelta(days=1)).astimezone(ZoneInfo(plan.timezone))
        return starts
    moment = start.astimezone(UTC)
    while moment < end:
        starts.append(moment)
        moment += timedelta(hours=1)
    return starts


def _per_interval(
    points: pa.Table, edges: np.ndarray[Any, Any], how: str
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Sum or mean of ``points`` per interval between ``edges``; NaN where none fell."""
    slots = len(edges) - 1
    if points.num_rows == 0:
        return np.full(slots, np.nan)
    ts = np.asarray(points["ts"].cast(_UTC_US).to_numpy(), dtype="datetime64[us]")
    values = np.asarray(points["value"].to_numpy(zero_copy_only=False), dtype=np.float64)
    slot = np.searchsorted(edges, ts, side="right") - 1
    keep = (slot >= 0) & (slot < slots) & np.isfinite(values)
    totals = np.bincount(slot[keep], weights=values[keep], minlength=slots)
    counts = np.bincount(slot[keep], minlength=slots).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        found = totals if how == "sum" else totals / counts
    return np.where(counts > 0, found, np.nan)


def period_table(plan: MeasurementPlan, reader: Reader, start: datetime, end: datetime) -> pa.Table:
    """One row per interval of ``[start, end)``: ``ts``, ``value`` (the KPI summed) and each
    regressor (averaged); NaN where an interval holds no reading."""
    starts = interval_starts(plan, start, end)
    edges = np.array(
        [np.datetime64(s.replace(tzinfo=None), "us") for s in [*starts, end.astimezone(UTC)]]
    )
    meter_asset, meter_signal = plan.meter.split("/", 1)
    columns: dict[str, Any] = {
        "ts": pa.array(edges[:-1], _UTC_US),
        "value": _per_interval(reader(meter_asset, meter_signal, start, end), edges, "sum"),
    }
    for column, series in plan.regressors.items():
        asset, signal = series.split("/", 1)
        columns[column] = _per_interval(reader(asset, signal, start, end), edges, "mean")
    return pa.table(columns)


@dataclass(frozen=True)
class PeriodFigures:
    """The saving of the part of a reporting window in one calendar month (local time).

    ``rows`` counts its measured intervals; the figures are in the KPI's unit, ``adjustment`` is
    the non-routine adjustment included in ``counterfactual``; ``direction`` is the KPI's.
    """

    month: str
    rows: int
    counterfactual: float
    adjustment: float
    observed: float
    direction: str = "consumption"

    @property
    def saving(self) -> float:
        """Adjusted baseline less observed; observed less adjusted baseline on an output KPI."""
        return _signed(self.counterfactual - self.observed, self.direction)


@dataclass(frozen=True)
class Measurement:
    """A plan measured: its baseline, its saving with uncertainty, in units and money.

    ``savings`` is None when no baseline could be fitted; ``reasons`` then says why, as it says
    why any measurement is not ``verified``.
    """

    plan: MeasurementPlan
    revision: int
    confidence: float
    expected_intervals: int
    adjustments: Sequence[Adjustment]
    statistics: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    savings: Savings | None = None
    adjustment: float = 0.0
    months: Sequence[PeriodFigures] = ()
    reasons: Sequence[str] = field(default_factory=tuple)

    @property
    def verified(self) -> bool:
        """Whether the saving is verified (no reason against it)."""
        return self.savings is not None and not self.reasons

    @property
    def uncertainty(self) -> float:
        """The saving's uncertainty at :attr:`confidence`, in the KPI's unit (NaN unmeasured)."""
        return math.nan if self.savings is None else self.savings.uncertainty[self.confidence]

    @property
    def money(self) -> float:
        """The saving in money (NaN unmeasured)."""
        return math.nan if self.savings is None else self.savings.saving * self.plan.price


def _signed(used_less: float, direction: str) -> float:
    """The saving from the adjusted baseline less observed, in the KPI's ``direction``."""
    return -used_less if direction == "output" else used_less


def _directed(saved: Savings, direction: str) -> Savings:
    """``saved`` (a consumption saving) turned to ``direction``; the uncertainty is unchanged."""
    if direction != "output":
        return saved
    return replace(saved, saving=-saved.saving, fraction=-saved.fraction)


def _baseline(plan: MeasurementPlan) -> Any:
    kind = baseline_class(plan.baseline)
    params = dict(plan.params)
    accepted = inspect.signature(kind.__init__).parameters
    if "timezone" in accepted:
        params.setdefault("timezone", plan.timezone)
    params.setdefault("target", "value")
    return kind(**params)


def _months(
    plan: MeasurementPlan,
    ts: np.ndarray[Any, Any],
    counterfactual: np.ndarray[Any, np.dtype[np.float64]],
    adjustment: np.ndarray[Any, np.dtype[np.float64]],
    observed: np.ndarray[Any, np.dtype[np.float64]],
) -> list[PeriodFigures]:
    zone = ZoneInfo(plan.timezone)
    labels = np.array(
        [
            datetime.fromtimestamp(
                float(t.astype("datetime64[s]").astype(np.int64)), zone
            ).strftime("%Y-%m")
            for t in ts
        ]
    )
    both = np.isfinite(counterfactual) & np.isfinite(observed)
    figures = []
    for month in sorted(set(labels.tolist())):
        rows = both & (labels == month)
        figures.append(
            PeriodFigures(
                month=month,
                rows=int(rows.sum()),
                counterfactual=float(counterfactual[rows].sum()),
                adjustment=float(adjustment[rows].sum()),
                observed=float(observed[rows].sum()),
                direction=plan.direction,
            )
        )
    return figures


def measure(
    plan: MeasurementPlan,
    reader: Reader,
    adjustments: Sequence[Adjustment],
    spec: MeasurementSpec,
    *,
    revision: int = 1,
) -> Measurement:
    """Measure ``plan`` from the store through ``reader``; see the module docstring."""
    starts = interval_starts(plan, plan.reporting_start, plan.reporting_end)
    base = Measurement(
        plan=plan,
        revision=revision,
        confidence=spec.confidence,
        expected_intervals=len(starts),
        adjustments=tuple(adjustments),
    )
    reference = period_table(plan, reader, plan.reference_start, plan.reference_end)
    baseline = _baseline(plan)
    try:
        baseline.fit(reference)
    except ModelError as err:
        return replace(base, reasons=(f"no baseline could be fitted: {err}",))
    statistics: BaselineStatistics = baseline.statistics()
    reasons = []
    if not statistics.passes:
        limits = statistics.thresholds
        reasons.append(
            "the baseline fails ASHRAE Guideline 14 "
            f"(CV(RMSE) {statistics.cv_rmse:.1%}, limit {limits.cv_rmse:.0%}; "
            f"NMBE {statistics.nmbe:.2%}, limit ±{limits.nmbe:.0%})"
        )
    cut = plan.reporting_end - plan.reporting_start
    if cut < spec.min_reporting:
        reasons.append(
            f"the reporting window is {cut.days} days, shorter than the "
            f"{spec.min_reporting.days} days the plan allows"
        )
    reporting = period_table(plan, reader, plan.reporting_start, plan.reporting_end)
    predicted = baseline.predict(reporting)
    ts = np.asarray(predicted["ts"].to_numpy(), dtype="datetime64[us]")
    counterfactual = np.asarray(predicted["counterfactual"].to_numpy(), dtype=np.float64)
    adjustment = np.zeros(len(ts))
    for entry in adjustments:
        adjustment += entry.per_interval(ts)
    adjusted = counterfactual + adjustment
    observed = np.asarray(reporting["value"].to_numpy(zero_copy_only=False), dtype=np.float64)
    try:
        saved = _directed(savings(statistics, adjusted, observed), plan.direction)
    except ModelError as err:
        return replace(base, statistics=statistics.as_dict(), reasons=(*reasons, str(err)))
    if len(starts) and saved.rows / len(starts) < spec.min_coverage:
        reasons.append(
            f"only {saved.rows} of {len(starts)} reporting intervals have both a meter reading "
            f"and every regressor (at least {spec.min_coverage:.0%} needed)"
        )
    both = np.isfinite(adjusted) & np.isfinite(observed)
    return replace(
        base,
        statistics=statistics.as_dict(),
        model={"kind": plan.baseline, **baseline.describe()},
        savings=saved,
        adjustment=float(adjustment[both].sum()),
        months=_months(plan, ts, adjusted, adjustment, observed),
        reasons=tuple(reasons),
    )


def statistics_from(values: dict[str, Any]) -> BaselineStatistics:
    """The statistics :meth:`BaselineStatistics.as_dict` wrote."""
    names = BaselineStatistics.__dataclass_fields__
    kept = {name: values[name] for name in names if name != "thresholds"}
    return BaselineStatistics(**kept, thresholds=G14Thresholds(**values["thresholds"]))


def period_uncertainty(statistics: dict[str, Any], rows: int, confidence: float) -> float:
    """``ΔE_save`` at ``confidence`` of ``rows`` reporting intervals of one plan (a part of its
    reporting window), from the baseline statistics its measurement recorded."""
    if rows < 1:
        return 0.0
    stats = statistics_from(statistics)
    standard = savings_uncertainty(stats, rows)
    return t_quantile(confidence, stats.effective_rows - stats.parameters) * standard
