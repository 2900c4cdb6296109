"""Savings injected into 30-day windows of opendsm's sample meters, and what the baseline verifies.

The Illinois samples (simulated by opendsm) carry a saving opendsm injected from the end of their
blackout on (10 % of every load component), so their reporting year divided by 0.9 is that year
without its saving; the UK samples (homes) are used after their blackout only. Each consecutive
30-day window of a reporting period has a known saving injected (the readings times ``1 - s``);
the change-point baseline fitted on the reference year measures it with its uncertainty. Used by
``bench/mv.py`` and ``tests/value/test_savings_coverage.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from tests.value.baseline_samples import UK_SAMPLES, Periods, opendsm_periods, uk_periods

from valueloop.value.baselines import baseline_class

IL_SAMPLES = (
    "il-electricity-cdd-hdd",
    "il-electricity-cdd-only",
    "il-gas-hdd-only",
    "il-gas-intercept-only",
)
"""opendsm's Illinois sample meters (simulated); each has a daily and an hourly file."""
TIMEZONE = "America/Chicago"
"""Where opendsm's Illinois sample meters keep their calendar."""
OPENDSM_SAVING = 0.10
"""The saving opendsm injected into every Illinois sample from the end of its blackout."""
INJECTED = (0.0, 0.02, 0.05, 0.10, 0.20)
"""Savings injected into each reporting window, as a fraction of its use."""
WINDOW_DAYS = 30


def restored(periods: Periods) -> pa.Table:
    """The reporting year without opendsm's injected saving (readings divided by 0.9)."""
    values = np.asarray(periods.reporting["value"].to_numpy(zero_copy_only=False), np.float64)
    return periods.reporting.set_column(
        periods.reporting.column_names.index("value"),
        "value",
        pa.array(values / (1 - OPENDSM_SAVING)),
    )


def windows_of(sample: str, interval: str) -> tuple[Periods, pa.Table]:
    """A sample's periods and its reporting period without any saving of its own."""
    if sample in UK_SAMPLES:
        periods = uk_periods(sample, interval)
        return periods, periods.reporting
    periods = opendsm_periods(f"{sample}-{interval}")
    return periods, restored(periods)


def recovery(
    sample: str, interval: str, sizes: tuple[float, ...] = INJECTED
) -> list[dict[str, Any]]:
    """Injected savings against verified ones, per 30-day window of one sample meter and size:
    whether the stated 68 % and 90 % intervals hold the injected saving, and whether Guideline
    14's fractional form of the same uncertainty (scaled by the window's use over the reference
    mean) would."""
    periods, year = windows_of(sample, interval)
    kind = "changepoint_daily" if interval == "daily" else "changepoint_hourly"
    settings: dict[str, Any] = {"timezone": TIMEZONE}
    if sample in UK_SAMPLES:
        settings = {"temperature_unit": "degC", "timezone": "Europe/London"}
    baseline = baseline_class(kind)(**settings).fit(periods.reference)
    statistics = baseline.statistics()
    per_window = WINDOW_DAYS * (1 if interval == "daily" else 24)
    rows = []
    for first in range(0, year.num_rows - per_window + 1, per_window):
        window = year.slice(first, per_window)
        use = np.asarray(window["value"].to_numpy(zero_copy_only=False), np.float64)
        predicted = baseline.predict(window)["counterfactual"].to_numpy()
        counted = np.isfinite(predicted) & np.isfinite(use)
        if counted.sum() < 0.8 * per_window:
            continue
        total = float(use[counted].sum())
        scale = float(predicted[counted].sum()) / (counted.sum() * statistics.mean)
        for fraction in sizes:
            injected = window.set_column(
                window.column_names.index("value"), "value", pa.array(use * (1 - fraction))
            )
            truth = fraction * total
            measured = baseline.savings(injected)
            error = abs(measured.saving - truth)
            rows.append(
                {
                    "sample": sample,
                    "source": "UK homes" if sample in UK_SAMPLES else "Illinois, simulated",
                    "interval": interval,
                    "kind": kind,
                    "window": first // per_window,
                    "injected_fraction": fraction,
                    "use": total,
                    "injected": truth,
                    "verified": measured.saving,
                    "uncertainty_68": measured.uncertainty[0.68],
                    "uncertainty_90": measured.uncertainty[0.9],
                    "covered_68": bool(error <= measured.uncertainty[0.68]),
                    "covered_90": bool(error <= measured.uncertainty[0.9]),
                    "fractional_form_covered_68": bool(error <= scale * measured.uncertainty[0.68]),
                    "fractional_form_covered_90": bool(error <= scale * measured.uncertainty[0.9]),
                    "passes_g14": statistics.passes,
                }
            )
    return rows
