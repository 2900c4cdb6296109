"""Expected AC power of a PV inverter from irradiance and air temperature, with pvlib's models.

The satellite weather gives global horizontal irradiance and air temperature only, so the chain
is: sun position (SPA) -> Erbs decomposition of GHI into beam and diffuse -> isotropic
transposition onto the array plane (POA) -> Faiman cell temperature (POA, air temperature, wind
taken as 1 m/s) -> PVWatts DC power with a temperature coefficient -> AC power = the array's
effective nameplate times that, capped at the inverter's rating.

The array's tilt, azimuth and effective nameplate are not published with the data: :meth:`fit`
estimates them on a reference window assumed clean (a grid of orientations, the nameplate by a
median ratio on bright intervals), as pvanalytics' orientation inference does. pvlib's physical
chain is preferred over the generic expected-value model kind here because it extrapolates to
seasons and sun angles the reference window did not see, and its parameters mean something on
site (kWp, degrees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from valueloop.errors import ModelError
from valueloop.packs.energy.plant import ALTITUDE_M, LATITUDE, LONGITUDE

if TYPE_CHECKING:
    import pandas as pd

GAMMA_PDC = -0.0037
"""PVWatts temperature coefficient of DC power, 1/°C (crystalline silicon)."""
TILTS = (10.0, 20.0, 30.0, 40.0, 50.0)
AZIMUTHS = (120.0, 150.0, 180.0, 210.0, 240.0)
BRIGHT_POA = 300.0
"""W/m²: intervals at least this bright set the nameplate (low light is noisy and non-linear)."""


@dataclass
class ExpectedPower:
    """PVWatts expected AC power of one inverter (kW); see the module docstring.

    ``tilt`` and ``azimuth`` (degrees) and ``pdc0`` (kW at 1000 W/m² and 25 °C) are learnt by
    :meth:`fit` unless given; ``ac_limit`` (kW) is the inverter's rating, the highest power seen.
    """

    latitude: float = LATITUDE
    longitude: float = LONGITUDE
    altitude: float = ALTITUDE_M
    tilt: float | None = None
    azimuth: float | None = None
    pdc0: float | None = None
    ac_limit: float | None = None
    _solar: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def _unit_power(
        self, weather: pd.DataFrame, tilt: float, azimuth: float
    ) -> tuple[pd.Series, pd.Series]:
        """PVWatts DC power per kW of nameplate, and the plane-of-array irradiance (W/m²)."""
        import pvlib

        times = weather.index
        solar = pvlib.solarposition.get_solarposition(
            times, self.latitude, self.longitude, altitude=self.altitude
        )
        split = pvlib.irradiance.erbs(weather["ghi"], solar["zenith"], times)
        poa = pvlib.irradiance.get_total_irradiance(
            tilt,
            azimuth,
            solar["apparent_zenith"],
            solar["azimuth"],
            split["dni"],
            weather["ghi"],
            split["dhi"],
            model="isotropic",
        )["poa_global"].clip(lower=0.0)
        cell = pvlib.temperature.faiman(poa, weather["temp_air"], wind_speed=1.0)
        return pvlib.pvsystem.pvwatts_dc(poa, cell, 1.0, GAMMA_PDC).fillna(0.0), poa

    def fit(self, weather: pd.DataFrame, ac_power: pd.Series) -> ExpectedPower:
        """Learn orientation, nameplate and rating from a clean window (both indexed by UTC)."""
        measured = on_weather_grid(ac_power, weather.index)
        usable = measured.notna() & weather.notna().all(axis=1)
        if usable.sum() < 200:
            raise ModelError(
                f"waiting for data: {int(usable.sum())} weather intervals with power, 200 needed"
            )
        weather, measured = weather[usable], measured[usable]
        self.ac_limit = self.ac_limit or float(measured.quantile(0.999))
        best: tuple[float, float, float, float] | None = None
        tilts = TILTS if self.tilt is None else (self.tilt,)
        azimuths = AZIMUTHS if self.azimuth is None else (self.azimuth,)
        for tilt in tilts:
            for azimuth in azimuths:
                unit, poa = self._unit_power(weather, tilt, azimuth)
                bright = (poa > BRIGHT_POA) & (unit > 0) & (measured > 0)
                if bright.sum() < 50:
                    continue
                pdc0 = self.pdc0 or float(np.median(measured[bright] / unit[bright]))
                expected = np.minimum(pdc0 * unit, self.ac_limit)
                error = float(np.mean((expected - measured) ** 2))
                if best is None or error < best[0]:
                    best = (error, tilt, azimuth, pdc0)
        if best is None:
            raise ModelError("waiting for data: no bright interval to learn the nameplate from")
        _, self.tilt, self.azimuth, self.pdc0 = best
        return self

    def predict(self, weather: pd.DataFrame) -> pd.Series:
        """Expected AC power (kW) at each row of ``weather`` (NaN where the weather is missing)."""
        if self.tilt is None or self.azimuth is None or self.pdc0 is None:
            raise ModelError("the expected-power model is not fitted")
        unit, _ = self._unit_power(weather, self.tilt, self.azimuth)
        expected = np.minimum(self.pdc0 * unit, self.ac_limit or np.inf)
        return expected.where(weather.notna().all(axis=1))


def on_weather_grid(ac_power: pd.Series, times: pd.DatetimeIndex) -> pd.Series:
    """Mean AC power over the half hour centred on each weather time (PSM3 is instantaneous)."""
    import pandas as pd

    shifted = ac_power.copy()
    shifted.index = shifted.index + pd.Timedelta(minutes=7, seconds=30)
    return shifted.resample("30min").mean().reindex(times)
