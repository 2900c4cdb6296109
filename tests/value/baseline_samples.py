"""Reference and reporting periods for the baseline tests, from data shipped with the packages.

- opendsm's sample meters (``opendsm.eemeter.samples``): daily and hourly meter readings of an
  Illinois site with the hourly temperatures of weather station 724390. opendsm states that the
  meter readings are simulated (``load_sample``: "samples are simulated, not real, data"), from
  real temperatures, with a 10 % saving after the blackout that separates the two periods; they
  are the data opendsm itself is tested on, which is what a peer check wants. The reference period
  is the 365 days before the blackout, the reporting period the 366 days from its end.
- opendsm's UK sample meters (``uk-*-hourly-sample-*``): half-hourly or hourly readings of homes
  with the hourly temperatures of their spot, in °C; opendsm does not call these simulated, and
  their irregular use (days of nothing, a lone spike) reads as real homes. :func:`uk_periods`
  takes the 365 days after each sample's blackout as the reference and the rest as the reporting
  period, so whatever opendsm may have done at the blackout lies outside both.
- the UCI Combined Cycle Power Plant data (real measurements, shipped in ``data/ccpp``): net
  output against ambient temperature, exhaust vacuum, pressure and humidity. Its rows carry no
  timestamps, so the tests number them hourly in file order; the first 70 % are the reference.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from valueloop.datasets.ccpp import load_ccpp

UTC_MICROS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Periods:
    """A reference and a reporting period as Arrow tables (``ts``, ``value``, regressors)."""

    reference: pa.Table
    reporting: pa.Table
    opendsm: dict[str, Any]


def _table(index: Any, value: Any, temperature: Any) -> pa.Table:
    stamps = np.asarray(index.tz_convert("UTC").tz_localize(None), dtype="datetime64[us]")
    return pa.table(
        {
            "ts": pa.array(stamps, UTC_MICROS),
            "value": pa.array(np.asarray(value, dtype=np.float64), from_pandas=True),
            "temperature": pa.array(np.asarray(temperature, dtype=np.float64), from_pandas=True),
        }
    )


def opendsm_periods(sample: str) -> Periods:
    """The periods of opendsm sample ``sample``; the temperature is the interval mean, in °F.

    ``opendsm`` holds opendsm's own baseline and reporting data objects for daily samples, built
    from the same meter readings and hourly temperatures.
    """
    pytest.importorskip("opendsm", reason="opendsm (a test extra) ships the sample meter data")
    import pandas as pd
    from opendsm import eemeter

    logging.getLogger("eemeter").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meter, temperature, metadata = eemeter.load_sample(sample)
    day = pd.Timedelta(days=1)
    start, end = metadata["blackout_start_date"], metadata["blackout_end_date"]
    reference = meter[start - 365 * day : start - day]
    reporting = meter[end : end + 365 * day]
    means = temperature.resample("D").mean() if metadata["freq"] == "daily" else temperature
    built: dict[str, Any] = {"metadata": metadata}
    if metadata["freq"] == "daily":
        electricity = metadata["interpretation"] == "electricity"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            built["reference"] = eemeter.DailyBaselineData.from_series(
                reference, temperature, is_electricity_data=electricity
            )
            built["reporting"] = eemeter.DailyReportingData.from_series(
                reporting, temperature, is_electricity_data=electricity
            )

    def period(readings: Any) -> pa.Table:
        return _table(readings.index, readings["value"], means.reindex(readings.index))

    return Periods(period(reference), period(reporting), built)


UK_SAMPLES = (
    "uk-electricity-hdd-only-hourly-sample-0",
    "uk-electricity-hdd-only-hourly-sample-2",
    "uk-gas-hdd-only-hourly-sample-0",
)
"""opendsm's UK samples with more than a year of readings after their blackout."""


def uk_periods(sample: str, interval: str) -> Periods:
    """The periods of UK sample ``sample`` summed to ``daily`` or ``hourly`` intervals; the
    temperature is the interval's mean, in °C. A day with fewer than 20 hourly readings (a
    half-hourly day with fewer than 20) is left out rather than summed short."""
    pytest.importorskip("opendsm", reason="opendsm (a test extra) ships the sample meter data")
    import pandas as pd
    from opendsm import eemeter

    logging.getLogger("eemeter").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meter, temperature, metadata = eemeter.load_sample(sample, tempF=False)
    start = pd.Timestamp(metadata["blackout_end_date"])
    start = (start.tz_localize("UTC") if start.tzinfo is None else start) + pd.Timedelta(days=1)
    meter = meter[start:]
    if interval == "daily":
        meter = meter.resample("D").sum(min_count=20)
        temperature = temperature.resample("D").mean()
    else:
        meter = meter.resample("h").sum(min_count=1)
    split = start + pd.Timedelta(days=365)

    def period(readings: Any) -> pa.Table:
        return _table(readings.index, readings["value"], temperature.reindex(readings.index))

    before = meter.index < split
    return Periods(period(meter[before]), period(meter[~before]), {"metadata": metadata})


def ccpp_periods() -> Periods:
    """CCPP as a reference (first 70 %) and a reporting period, rows numbered hourly."""
    table = load_ccpp()
    rows = table.num_rows
    stamps = np.datetime64("2011-01-01T00:00", "us") + np.arange(rows) * np.timedelta64(1, "h")
    table = table.append_column("ts", pa.array(stamps, UTC_MICROS))
    table = table.rename_columns(["value" if name == "PE" else name for name in table.column_names])
    split = int(rows * 0.7)
    return Periods(table.slice(0, split), table.slice(split), {})
