"""Baselines: the shared contract on real periods, Guideline 14 statistics by hand, bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.value.baseline_samples import Periods, ccpp_periods, opendsm_periods

from valueloop.errors import ConfigError, ModelError
from valueloop.value.baselines import (
    THRESHOLDS,
    Baseline,
    BaselineStatistics,
    baseline_class,
    baseline_kinds,
    check_baseline,
    g14_statistics,
    savings,
)
from valueloop.value.baselines.changepoint import DailyChangePoint, HourlyChangePoint
from valueloop.value.baselines.regression import RegressionBaseline

CCPP_REGRESSORS = ["AT", "V", "AP", "RH"]


@cache
def daily(sample: str = "il-electricity-cdd-hdd-daily") -> Periods:
    return opendsm_periods(sample)


@cache
def hourly() -> Periods:
    return opendsm_periods("il-electricity-cdd-hdd-hourly")


@cache
def ccpp() -> Periods:
    return ccpp_periods()


CASES: dict[str, tuple[Callable[[], Baseline], Callable[[], Periods]]] = {
    "changepoint_daily": (DailyChangePoint, daily),
    "changepoint_hourly": (HourlyChangePoint, hourly),
    "regression": (lambda: RegressionBaseline(regressors=CCPP_REGRESSORS), ccpp),
    "gradient_boosting": (
        lambda: baseline_class("gradient_boosting")(regressors=CCPP_REGRESSORS),
        ccpp,
    ),
}


def test_every_installed_kind_is_checked() -> None:
    assert set(baseline_kinds()) == set(CASES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_kind_passes_check_baseline(kind: str) -> None:
    build, periods = CASES[kind]
    baseline = build()
    assert isinstance(baseline, baseline_class(kind))
    check_baseline(baseline, periods().reference, periods().reporting)


def test_g14_statistics_by_hand() -> None:
    """Five days, p = 2: residuals -0.5, 0.5, -0.5, 0.5, 1.0 around a mean of 12.

    SSE = 2, so CV(RMSE) = sqrt(2 / 3) / 12 = 0.068041; NMBE = 1 / (3 * 12) = 0.027778;
    SST = 10, R² = 0.8; the centred residuals -0.7, 0.3, -0.7, 0.3, 0.8 give
    rho = -0.39 / 1.8 = -0.216667, negative, so n' = n = 5.
    """
    observed = np.array([10.0, 12.0, 11.0, 13.0, 14.0])
    fitted = np.array([10.5, 11.5, 11.5, 12.5, 13.0])
    stats = g14_statistics(observed, fitted, parameters=2, resolution="daily")
    assert stats.cv_rmse == pytest.approx(0.0680414, rel=1e-6)
    assert stats.nmbe == pytest.approx(0.0277778, rel=1e-6)
    assert stats.r_squared == pytest.approx(0.8)
    assert stats.autocorrelation == pytest.approx(-0.216667, rel=1e-5)
    assert stats.effective_rows == 5
    assert stats.thresholds == THRESHOLDS["daily"]
    assert stats.passes
    # One lower throughout: residuals 0.5, 1.5, 0.5, 1.5, 2.0; NMBE = 6 / 36 = 0.1667 > 10 %,
    # CV(RMSE) = sqrt(9 / 3) / 12 = 0.1443 < 30 %.
    biased = g14_statistics(observed, fitted - 1.0, parameters=2, resolution="daily")
    assert biased.nmbe == pytest.approx(1 / 6)
    assert biased.cv_rmse == pytest.approx(math.sqrt(3) / 12)
    assert biased.passes_cv_rmse and not biased.passes_nmbe and not biased.passes


def test_fractional_savings_uncertainty_by_hand() -> None:
    """n = 365, p = 3, CV = 0.2, rho = 0.5: n' = 365 * 0.5 / 1.5 = 121.667; the reference used
    10 000 kWh a year, so RMSE = 0.2 * 10 000 / 365 = 5.4795 kWh.

    A year of reporting (m = 365) with 10 000 kWh counterfactual and 9 000 used: saving 1 000,
    F = 0.1. ΔE / t = 1.26 * 5.4795 * sqrt(365 * (365 / 121.667) * (1 + 2 / 121.667)) = 230.33 kWh,
    Guideline 14's fractional form to the digit (1.26 * 0.2 * 10 000 * sqrt(3.0493 / 365): the
    reporting year used what the reference year did per day). Student's t with 118.67 degrees
    of freedom is 0.99864 at 68 % and 1.65780 at 90 %, so ΔE = 230.02 and 381.84 kWh, FSU 0.230
    and 0.382.
    """
    stats = BaselineStatistics(
        resolution="daily",
        rows=365,
        parameters=3,
        mean=10_000 / 365,
        cv_rmse=0.2,
        nmbe=0.0,
        r_squared=0.8,
        autocorrelation=0.5,
        effective_rows=365 * 0.5 / 1.5,
        thresholds=THRESHOLDS["daily"],
    )
    counterfactual = np.full(365, 10_000 / 365)
    observed = np.full(365, 9_000 / 365)
    result = savings(stats, counterfactual, observed)
    assert result.saving == pytest.approx(1_000)
    assert result.fraction == pytest.approx(0.1)
    assert result.uncertainty[0.68] == pytest.approx(230.02, abs=0.01)
    assert result.uncertainty[0.90] == pytest.approx(381.84, abs=0.01)
    assert result.fsu[0.68] == pytest.approx(0.23002, abs=1e-5)
    assert result.fsu[0.90] == pytest.approx(0.38184, abs=1e-5)
    observed[:10] = np.nan
    assert savings(stats, counterfactual, observed).missing == 10
    # a month that uses a quarter of the reference's mean has the reference's error per interval:
    # its ΔE is the same number of kWh as a month at the mean (the fractional form would quarter it)
    month = savings(stats, np.full(30, 10_000 / 365), np.full(30, 9_000 / 365))
    low = savings(stats, np.full(30, 2_500 / 365), np.full(30, 2_250 / 365))
    assert low.uncertainty[0.9] == pytest.approx(month.uncertainty[0.9])
    assert low.fsu[0.9] == pytest.approx(4 * month.fsu[0.9])


def test_hourly_change_point_equals_least_squares_with_hour_of_week_indicators() -> None:
    """The change-point fit sweeps the intercepts out; a regression builds 168 indicators.

    At the chosen balance points both are the same model, so counterfactuals and standard errors
    agree: two solvers, one answer.
    """
    periods = hourly()
    changepoint = HourlyChangePoint().fit(periods.reference)
    model = changepoint.describe()
    heating, cooling = model["heating_balance_point"], model["cooling_balance_point"]

    def with_degree_hours(table: pa.Table) -> pa.Table:
        temperature = table["temperature"].to_numpy()
        table = table.append_column("hdd", pa.array(np.maximum(heating - temperature, 0.0)))
        return table.append_column("cdd", pa.array(np.maximum(temperature - cooling, 0.0)))

    regression = RegressionBaseline(regressors=["hdd", "cdd"], calendar=["hour_of_week"])
    regression.fit(with_degree_hours(periods.reference))
    ours = changepoint.predict(periods.reporting)
    theirs = regression.predict(with_degree_hours(periods.reporting))
    for column in ("counterfactual", "standard_error"):
        assert np.allclose(ours[column].to_numpy(), theirs[column].to_numpy(), rtol=1e-9)
    assert changepoint.statistics().cv_rmse == pytest.approx(regression.statistics().cv_rmse)
    assert changepoint.statistics().parameters == regression.statistics().parameters == 170


@pytest.mark.parametrize(
    ("sample", "form"),
    [
        ("il-electricity-cdd-hdd-daily", "hdd_cdd"),
        ("il-electricity-cdd-only-daily", "cdd_only"),
        ("il-gas-hdd-only-daily", "hdd_only"),
    ],
)
def test_change_point_finds_the_form_the_sample_was_made_with(sample: str, form: str) -> None:
    baseline = DailyChangePoint().fit(daily(sample).reference)
    assert baseline.describe()["form"] == form


def test_celsius_grid_finds_the_same_model() -> None:
    periods = daily()

    def celsius(table: pa.Table) -> pa.Table:
        degrees = (table["temperature"].to_numpy() - 32.0) * 5.0 / 9.0
        return table.set_column(2, "temperature", pa.array(degrees))

    fahrenheit = DailyChangePoint().fit(periods.reference)
    centigrade = DailyChangePoint(temperature_unit="degC").fit(celsius(periods.reference))
    assert centigrade.describe()["heating_balance_point"] == pytest.approx(
        (fahrenheit.describe()["heating_balance_point"] - 32.0) * 5.0 / 9.0
    )
    ours = fahrenheit.savings(periods.reporting).counterfactual
    assert centigrade.savings(celsius(periods.reporting)).counterfactual == pytest.approx(ours)


def test_g14_verdicts_on_the_samples() -> None:
    """The daily sample meets Guideline 14; the hourly one, noise around a daily shape, does not."""
    assert DailyChangePoint().fit(daily().reference).statistics().passes
    stats = HourlyChangePoint().fit(hourly().reference).statistics()
    assert stats.resolution == "hourly"
    assert not stats.passes_cv_rmse


def test_a_reporting_interval_without_temperature_gets_no_counterfactual() -> None:
    periods = daily()
    baseline = DailyChangePoint().fit(periods.reference)
    temperature = periods.reporting["temperature"].to_numpy().copy()
    temperature[[3, 40]] = np.nan
    gappy = periods.reporting.set_column(2, "temperature", pa.array(temperature))
    predicted = baseline.predict(gappy)
    assert np.isnan(predicted["counterfactual"].to_numpy()[[3, 40]]).all()
    assert np.isnan(predicted["standard_error"].to_numpy()[[3, 40]]).all()
    assert baseline.savings(gappy).missing == 2


def test_bad_input_is_refused_plainly() -> None:
    periods = daily()
    monthly = periods.reference.filter(pa.array(np.arange(periods.reference.num_rows) % 30 == 0))
    with pytest.raises(ModelError, match="daily or hourly"):
        DailyChangePoint().fit(monthly)
    with pytest.raises(ModelError, match="missing"):
        DailyChangePoint(temperature="outdoor").fit(periods.reference)
    doubled = periods.reference.append_column(
        "twice", pa.array(periods.reference["temperature"].to_numpy() * 2)
    )
    with pytest.raises(ModelError, match="cannot separate"):
        RegressionBaseline(regressors=["temperature", "twice"]).fit(doubled)
    weekdays = RegressionBaseline(regressors=["temperature"], calendar=["weekday"])
    workdays = pc.less(pc.day_of_week(periods.reference["ts"]), 5)
    weekdays.fit(periods.reference.filter(workdays))
    with pytest.raises(ModelError, match="does not occur in the reference period"):
        weekdays.predict(periods.reporting)
    with pytest.raises(ConfigError, match="unknown baseline kind"):
        baseline_class("caltrack_monthly")


def test_savings_uncertainty_shrinks_with_a_longer_reporting_period() -> None:
    periods = daily()
    baseline = DailyChangePoint().fit(periods.reference)
    quarter = baseline.savings(periods.reporting.slice(0, 91))
    year = baseline.savings(periods.reporting)
    assert year.uncertainty[0.68] / year.counterfactual < (
        quarter.uncertainty[0.68] / quarter.counterfactual
    )
    assert math.isfinite(year.fsu[0.90]) and year.fsu[0.90] > year.fsu[0.68]
