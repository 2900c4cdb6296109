"""The stated savings intervals hold injected savings at their nominal rate, daily, on seven meters.

opendsm's four simulated Illinois meters and three UK homes (``injected_windows``): every 30-day
window of each reporting period has a 10 % saving injected, and the daily change-point baseline
fitted on the reference year states its 68 % and 90 % intervals. Over the 65 windows the share
that holds the injected saving must be the nominal one within two standard errors of a
proportion (0.058 and 0.037). Guideline 14's fractional form of the same uncertainty, which
scales the interval by the window's use, holds too few (0.58 and 0.77 in ``bench/mv.py``), which is
why the absolute form is the one stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.value.baseline_samples import UK_SAMPLES
from tests.value.injected_windows import IL_SAMPLES, recovery


@pytest.fixture(scope="module")
def windows() -> list[dict[str, object]]:
    return [r for s in (*IL_SAMPLES, *UK_SAMPLES) for r in recovery(s, "daily", sizes=(0.10,))]


@pytest.mark.parametrize("level", [0.68, 0.90])
def test_daily_intervals_hold_injected_savings_at_their_nominal_rate(
    windows: list[dict[str, object]], level: float
) -> None:
    held = float(np.mean([row[f"covered_{round(level * 100)}"] for row in windows]))
    standard_error = math.sqrt(level * (1 - level) / len(windows))
    assert len(windows) == 65
    assert abs(held - level) <= 2 * standard_error, (held, level)


def test_the_fractional_form_holds_fewer_than_the_stated_intervals(
    windows: list[dict[str, object]],
) -> None:
    for level in (68, 90):
        stated = np.mean([row[f"covered_{level}"] for row in windows])
        fractional = np.mean([row[f"fractional_form_covered_{level}"] for row in windows])
        assert fractional < stated
