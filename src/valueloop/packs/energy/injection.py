"""Validation of measurement and verification by injected savings, on the plant's real days.

The data carries no real cleaning, so the M&V is validated the way M&V methods are: a known
soiling loss is *injected* into a reference window (the measured energy scaled by ``1 - loss``),
the reporting window after a simulated cleaning keeps the measured energy (the *injected*
recovery), and the verified saving, measured with the core's baseline and Guideline 14
uncertainty, is compared with the injected one. Every figure this module returns about a loss, a
recovery or a saving is injected, and says so in its name.

For an output meter (a PV inverter) the saving of a cleaning is energy produced beyond the
baseline: ``observed - counterfactual``, the negative of the core's ``counterfactual - observed``
for a meter of energy used; the uncertainty is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from valueloop.errors import ModelError
from valueloop.value.baselines.regression import RegressionBaseline

if TYPE_CHECKING:
    import pandas as pd

    from valueloop.packs.energy.expected import ExpectedPower
    from valueloop.packs.energy.plant import PlantData

TIMEZONE = "America/Denver"
MIN_INTERVALS = 40
"""Half-hours with both power and weather a day needs (of 48) to count."""
OUTAGE_INDEX = 0.3
"""A day producing under this fraction of its expected energy is a logger or inverter outage, not
soiling: it is left out of both windows, as a data-quality screen would."""


def daily_energy(data: PlantData, model: ExpectedPower) -> pd.DataFrame:
    """Per local day: measured ``energy`` and pvlib ``expected`` energy (kWh), ``ghi`` (W/m²,
    mean) and ``temp_air`` (°C, mean); days with too few readings or an outage are dropped."""
    from valueloop.packs.energy.expected import on_weather_grid

    expected = model.predict(data.weather)
    measured = on_weather_grid(data.ac_power, data.weather.index)
    both = measured.notna() & expected.notna()
    frame = data.weather.assign(
        energy=measured.where(both) * 0.5, expected=expected.where(both) * 0.5
    )
    frame.index = frame.index.tz_convert(TIMEZONE)
    daily = frame.resample("D").agg(
        {"energy": "sum", "expected": "sum", "ghi": "mean", "temp_air": "mean"}
    )
    counts = both.groupby(frame.index.floor("D")).sum().reindex(daily.index).fillna(0)
    keep = (counts.to_numpy() >= MIN_INTERVALS) & (
        daily["energy"] >= OUTAGE_INDEX * daily["expected"]
    )
    return daily[keep]


@dataclass(frozen=True)
class InjectedCase:
    """One injected case: the injected loss, window start, injected and verified recovery (kWh).

    ``uncertainty`` maps a confidence (0.68, 0.9) to the verified saving's half-interval (kWh).
    """

    start: str
    injected_loss: float
    injected_saving: float
    verified_saving: float
    uncertainty: dict[float, float]
    cv_rmse: float
    passes_g14: bool

    def covered(self, confidence: float = 0.9) -> bool:
        """Whether the verified saving's interval at ``confidence`` holds the injected saving."""
        return abs(self.verified_saving - self.injected_saving) <= self.uncertainty[confidence]


def _table(days: pd.DataFrame, energy: np.ndarray[tuple[int], np.dtype[np.float64]]) -> pa.Table:
    ts = pa.array(days.index.tz_convert("UTC").to_pydatetime(), pa.timestamp("us", tz="UTC"))
    return pa.table(
        {"ts": ts, "value": energy, "expected": days["expected"].to_numpy(dtype=np.float64)}
    )


def inject_case(
    daily: pd.DataFrame,
    start: pd.Timestamp,
    loss: float,
    *,
    reference_days: int,
    reporting_days: int,
) -> InjectedCase:
    """Inject ``loss`` (a fraction of output) over the ``reference_days`` before ``start``, a
    cleaning at ``start``, and verify the recovery over the ``reporting_days`` after it.

    The baseline is the core's regression of daily energy on the day's pvlib expected energy,
    fitted on the soiled reference window. Raises :class:`ModelError` when a window has too few
    days.
    """
    import pandas as pd

    day = pd.Timedelta(days=1)
    reference = daily[(daily.index >= start - reference_days * day) & (daily.index < start)]
    reporting = daily[(daily.index >= start) & (daily.index < start + reporting_days * day)]
    if len(reference) < reference_days // 2 or len(reporting) < reporting_days // 2:
        raise ModelError(f"too few measured days around {start:%Y-%m-%d}")
    soiled = reference["energy"].to_numpy(dtype=np.float64) * (1.0 - loss)
    baseline = RegressionBaseline(regressors=["expected"], timezone=TIMEZONE)
    baseline.fit(_table(reference, soiled))
    observed = reporting["energy"].to_numpy(dtype=np.float64)
    core = baseline.savings(_table(reporting, observed))
    statistics = baseline.statistics()
    return InjectedCase(
        start=f"{start:%Y-%m-%d}",
        injected_loss=loss,
        injected_saving=float(loss * observed.sum()),
        verified_saving=-core.saving,
        uncertainty=dict(core.uncertainty),
        cv_rmse=statistics.cv_rmse,
        passes_g14=statistics.passes,
    )


def injected_table(
    daily: pd.DataFrame,
    losses: Sequence[float],
    starts: Sequence[pd.Timestamp],
    *,
    reference_days: int = 60,
    reporting_days: int = 30,
) -> list[InjectedCase]:
    """Every injected loss at every start that has enough measured days around it."""
    cases = []
    for start in starts:
        for loss in losses:
            try:
                cases.append(
                    inject_case(
                        daily,
                        start,
                        loss,
                        reference_days=reference_days,
                        reporting_days=reporting_days,
                    )
                )
            except ModelError:
                continue
    return cases


def coverage(cases: Sequence[InjectedCase], confidence: float = 0.9) -> float:
    """The fraction of cases whose interval at ``confidence`` holds the injected saving."""
    if not cases:
        return float("nan")
    return float(np.mean([case.covered(confidence) for case in cases]))
