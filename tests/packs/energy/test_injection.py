"""Injected-savings validation of M&V on the real PV inverter: coverage near its nominal rate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from valueloop.packs.energy.expected import ExpectedPower
from valueloop.packs.energy.injection import (
    TIMEZONE,
    coverage,
    daily_energy,
    inject_case,
    injected_table,
)
from valueloop.packs.energy.plant import load_plant


@pytest.fixture(scope="module")
def days() -> pd.DataFrame:
    data = load_plant()
    clean = slice("2011-05-01", "2011-07-31")
    model = ExpectedPower().fit(data.weather.loc[clean], data.ac_power.loc[clean])
    return daily_energy(data, model)


def test_the_pvlib_model_expects_what_a_clean_inverter_makes(days: pd.DataFrame) -> None:
    index = days["energy"] / days["expected"]
    assert len(days) > 850  # of 992 days, outages and logger gaps left out
    assert 0.95 < float(index.median()) < 1.08
    monthly = index.groupby(days.index.tz_localize(None).to_period("M")).median()
    assert float(monthly.max() - monthly.min()) < 0.2  # 0.165 measured: no season missed


def test_an_injected_recovery_is_verified_within_its_interval(days: pd.DataFrame) -> None:
    start = pd.Timestamp("2012-09-15", tz=TIMEZONE)
    case = inject_case(days, start, 0.10, reference_days=60, reporting_days=30)
    assert case.passes_g14
    assert case.injected_saving > 0
    assert abs(case.verified_saving - case.injected_saving) < case.uncertainty[0.9]
    nothing = inject_case(days, start, 0.0, reference_days=60, reporting_days=30)
    assert nothing.injected_saving == 0
    assert abs(case.verified_saving - nothing.verified_saving - case.injected_saving) < 0.1 * (
        case.injected_saving
    )


def test_the_90_percent_interval_covers_injected_savings_at_its_nominal_rate(
    days: pd.DataFrame,
) -> None:
    starts = list(pd.date_range("2011-09-01", "2013-12-01", freq="21D", tz=TIMEZONE))
    cases = injected_table(days, [0.05], starts)
    assert len(cases) >= 35
    nominal = 0.9
    sampling = 2.5 * math.sqrt(nominal * (1 - nominal) / len(cases))
    assert abs(coverage(cases, 0.9) - nominal) <= sampling
    assert abs(coverage(cases, 0.68) - 0.68) <= 2.5 * math.sqrt(0.68 * 0.32 / len(cases))
    bias = np.mean([c.verified_saving - c.injected_saving for c in cases])
    assert abs(bias) < np.mean([c.uncertainty[0.9] for c in cases]) / 2
