"""Measuring a plan on bad input: each case is unverified, says why, and earns no money.

The data are opendsm's sample meter and temperatures (simulated readings from real temperatures,
with opendsm's injected 10 % saving after its blackout; see :mod:`tests.value.mv_site`), read
straight from the sample files; the cases below damage them on purpose (a cut window, regressor
gaps, injected noise, a short reference) and say so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from tests.value.mv_site import EXECUTED_AT, EXPECTED_VALUE, TARIFF, sample

from valueloop.config.value import ContractSpec, KpiSpec, MeasurementSpec, SeriesRef
from valueloop.errors import DataError
from valueloop.store.appendonly import AppendOnlyLog
from valueloop.store.duckdb import DuckDBStore
from valueloop.value.adjustments import Adjustment, adjustments_of, record_adjustment
from valueloop.value.contracts import parse_period
from valueloop.value.ledger import Ledger
from valueloop.value.measure import Measurement, Reader, measure
from valueloop.value.plans import MeasurementPlan, PlanBook, make_plan
from valueloop.value.statement import SignedStatement, build_statement
from valueloop.value.statement_render import statement_html
from valueloop.value.verified import latest_measurement, record_measurement

SPEC = MeasurementSpec()
KPI = KpiSpec(
    name="hall_energy",
    asset="hall",
    signal="energy",
    regressors={"temperature": SeriesRef(asset="hall", signal="outdoor_temperature")},
    tariff="electricity",
)
Series = dict[str, tuple[np.ndarray, np.ndarray]]


@pytest.fixture(scope="module")
def series() -> Series:
    return {
        "energy": sample("il-electricity-cdd-hdd-daily.csv.gz"),
        "outdoor_temperature": sample("il-tempF.csv.gz"),
    }


def reader_of(series: Series) -> Reader:
    def read(asset: str, signal: str, start: datetime, end: datetime) -> pa.Table:
        ts, values = series[signal]
        lo = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us")
        hi = np.datetime64(end.astimezone(UTC).replace(tzinfo=None), "us")
        keep = (ts >= lo) & (ts < hi)
        return pa.table(
            {"ts": pa.array(ts[keep], pa.timestamp("us", tz="UTC")), "value": values[keep]}
        )

    return read


def plan() -> MeasurementPlan:
    order = {
        "order_id": "WO-1",
        "asset": "hall",
        "action": "cooling_setpoint",
        "expected_value": EXPECTED_VALUE,
    }
    return make_plan(
        order,
        KPI,
        SPEC,
        executed_at=EXECUTED_AT,
        unit="kWh",
        timezone="America/Chicago",
        tariffs={"electricity": (TARIFF, "EUR")},
        currency="EUR",
    )


def test_the_undamaged_case_is_verified(series: Series) -> None:
    measured = measure(plan(), reader_of(series), [], SPEC)
    assert measured.verified and measured.reasons == ()
    assert measured.savings is not None and measured.savings.saving > 0
    assert measured.money == pytest.approx(measured.savings.saving * TARIFF)


def test_an_output_kpi_saves_what_the_meter_reads_beyond_the_baseline(series: Series) -> None:
    used = measure(plan(), reader_of(series), [], SPEC)
    made = measure(replace(plan(), direction="output"), reader_of(series), [], SPEC)
    assert used.savings is not None and made.savings is not None
    assert made.verified and made.savings.saving == pytest.approx(-used.savings.saving)
    assert made.savings.fraction == pytest.approx(-used.savings.fraction)
    assert made.uncertainty == pytest.approx(used.uncertainty)
    assert made.money == pytest.approx(-used.money)
    for month_used, month_made in zip(used.months, made.months, strict=True):
        assert month_made.saving == pytest.approx(-month_used.saving)
        assert month_made.saving == pytest.approx(month_made.observed - month_made.counterfactual)
    output = make_plan(
        {"order_id": "WO-2", "asset": "hall", "action": "clean"},
        KPI.model_copy(update={"direction": "output"}),
        SPEC,
        executed_at=EXECUTED_AT,
        unit="kWh",
        timezone="America/Chicago",
        tariffs={"electricity": (TARIFF, "EUR")},
        currency="EUR",
    )
    assert output.direction == "output"
    assert MeasurementPlan.from_dict(output.as_dict()) == output


def test_a_window_cut_short_by_a_rollback_is_unverified(series: Series) -> None:
    cut = plan().cut_at(plan().reporting_start + timedelta(days=12))
    measured = measure(cut, reader_of(series), [], SPEC)
    assert not measured.verified and measured.savings is not None
    (reason,) = measured.reasons
    assert "reporting window is 12 days, shorter than the 30 days" in reason


def test_a_regressor_with_gaps_is_unverified_and_its_intervals_counted(series: Series) -> None:
    ts, values = series["outdoor_temperature"]
    start = np.datetime64(plan().reporting_start.astimezone(UTC).replace(tzinfo=None), "us")
    gap = (ts >= start) & (ts < start + np.timedelta64(30, "D"))
    damaged = {**series, "outdoor_temperature": (ts, np.where(gap, np.nan, values))}
    measured = measure(plan(), reader_of(damaged), [], SPEC)
    assert not measured.verified and measured.savings is not None
    assert measured.savings.missing >= 30
    assert any("reporting intervals have both a meter reading" in r for r in measured.reasons)


def test_a_baseline_failing_guideline_14_is_unverified(series: Series) -> None:
    ts, values = series["energy"]
    noise = np.random.default_rng(7).normal(1.0, 0.6, len(values))  # injected noise
    measured = measure(plan(), reader_of({**series, "energy": (ts, values * noise)}), [], SPEC)
    assert measured.statistics is not None and not measured.statistics["passes"]
    assert not measured.verified
    assert any("fails ASHRAE Guideline 14" in r for r in measured.reasons)


def test_no_reference_data_gives_no_saving_and_says_why(series: Series) -> None:
    late = replace(plan(), reference_start=plan().reference_end - timedelta(days=1))
    measured = measure(late, reader_of(series), [], SPEC)
    assert measured.savings is None and not measured.verified
    assert "no baseline could be fitted" in measured.reasons[0]


def test_an_adjustment_adds_its_amount_to_each_interval_it_covers(series: Series) -> None:
    start = plan().reporting_start
    adjustment = Adjustment(
        "p",
        "meter_replacement",
        start,
        start + timedelta(days=10),
        -2.5,
        "new meter reads 2.5 kWh a day higher",
        "ann",
    )
    plain = measure(plan(), reader_of(series), [], SPEC)
    adjusted = measure(plan(), reader_of(series), [adjustment], SPEC)
    assert plain.savings is not None and adjusted.savings is not None
    assert adjusted.adjustment == pytest.approx(-2.5 * 10)
    assert adjusted.savings.saving - plain.savings.saving == pytest.approx(-25.0)


def test_an_adjustment_needs_who_why_a_kind_and_a_period() -> None:
    store = DuckDBStore(":memory:")
    audit = AppendOnlyLog(
        store,
        "audit",
        [
            ("actor", "VARCHAR NOT NULL"),
            ("action", "VARCHAR NOT NULL"),
            ("subject", "VARCHAR NOT NULL"),
            ("detail", "VARCHAR NOT NULL"),
        ],
    )
    at = datetime(2027, 2, 1, tzinfo=UTC)
    good = {
        "kind": "added_load",
        "start": at,
        "end": at + timedelta(days=1),
        "amount": 1.0,
        "reason": "a new press",
        "actor": "ann",
    }
    for bad, message in (
        ({"actor": " "}, "who records it"),
        ({"reason": ""}, "why"),
        ({"kind": "weather"}, "unknown adjustment kind"),
        ({"end": at}, "ends after it starts"),
        ({"amount": float("nan")}, "must be a number"),
    ):
        with pytest.raises(DataError, match=message):
            record_adjustment(audit, "p", **{**good, **bad})  # type: ignore[arg-type]
    recorded = record_adjustment(audit, "p", **good)  # type: ignore[arg-type]
    assert adjustments_of(audit, "p") == [recorded] and recorded.seq == 1


def test_an_unverified_saving_is_shown_with_its_reasons_and_earns_nothing(series: Series) -> None:
    store = DuckDBStore(":memory:")
    ledger, plans = Ledger(store), PlanBook(store)
    cut = plan().cut_at(plan().reporting_start + timedelta(days=12))
    plans.add(cut)
    measured: Measurement = measure(cut, reader_of(series), [], SPEC)
    record_measurement(ledger, measured)
    recorded = latest_measurement(ledger, cut.plan_id)
    assert recorded is not None and not recorded.verified
    assert recorded.figures["saving"] == pytest.approx(measured.savings.saving)  # type: ignore[union-attr]
    contract = ContractSpec(
        id="C",
        kind="pay_per_outcome",
        provider="P",
        client="K",
        start=datetime(2027, 1, 1).date(),
        end=datetime(2028, 1, 1).date(),
        price=0.1,
        period="month",
    )
    content = build_statement(
        contract,
        parse_period("2027-01"),
        plans,
        ledger,
        site="s",
        currency="EUR",
        confidence=0.9,
        at=EXECUTED_AT,
    )
    assert content["unverified"] == [cut.plan_id]
    assert content["saving"] == 0.0 and content["due"][0]["amount"] == 0.0
    html = statement_html(SignedStatement(content, "0" * 64))
    assert "UNVERIFIED" in html and "shorter than the 30 days" in html


def test_an_action_whose_saving_could_not_be_measured_is_still_on_the_statement(
    series: Series,
) -> None:
    store = DuckDBStore(":memory:")
    ledger, plans = Ledger(store), PlanBook(store)
    late = replace(plan(), reference_start=plan().reference_end - timedelta(days=1))
    plans.add(late)
    record_measurement(ledger, measure(late, reader_of(series), [], SPEC))
    contract = ContractSpec(
        id="C",
        kind="shared_savings",
        provider="P",
        client="K",
        provider_share=0.5,
        start=datetime(2027, 1, 1).date(),
        end=datetime(2028, 1, 1).date(),
    )
    content = build_statement(
        contract,
        parse_period("2027-Q1"),
        plans,
        ledger,
        site="s",
        currency="EUR",
        confidence=0.9,
        at=EXECUTED_AT,
    )
    (line,) = content["lines"]
    assert not line["verified"] and "no baseline could be fitted" in line["reasons"][0]
    assert content["money"] == 0.0
    assert "no baseline could be fitted" in statement_html(SignedStatement(content, "0" * 64))
