"""Ambient derating fitted on the CCPP plant data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from valueloop.datasets.ccpp import load_ccpp
from valueloop.errors import DataError
from valueloop.optimize.power import ccpp_derating, fit_ambient_derating


def test_ccpp_fit_agrees_with_an_independent_regression() -> None:
    table = load_ccpp()
    assert table.num_rows == 9568  # as documented by UCI
    temperature, output = table["AT"].to_numpy(), table["PE"].to_numpy()
    reference = stats.linregress(temperature, output)
    assert reference.rvalue == pytest.approx(-0.948, abs=1e-3)  # as reported by Tüfekci (2014)
    derating = ccpp_derating()
    rated = reference.intercept + reference.slope * derating.reference_c
    assert derating.per_degc == pytest.approx(reference.slope / rated, rel=1e-9)
    assert -0.006 < derating.per_degc < -0.004  # a combined cycle loses ~0.5 % per °C


def test_fit_recovers_an_exact_line_and_caps_at_zero() -> None:
    temperature = np.linspace(0.0, 40.0, 9)
    derating = fit_ambient_derating(temperature, 500.0 - 2.0 * temperature, reference_c=15.0)
    assert derating.per_degc == pytest.approx(-2.0 / 470.0)
    assert derating.capacity_factor([15.0, 25.0, 400.0]) == pytest.approx(
        [1.0, 1.0 - 20.0 / 470.0, 0.0]
    )


def test_fit_needs_varied_temperatures() -> None:
    with pytest.raises(DataError, match="different temperatures"):
        fit_ambient_derating([20.0, 20.0], [450.0, 452.0])
