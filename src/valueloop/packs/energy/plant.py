"""The PV plant's measured data: NREL PVDAQ system 50, inverter 2, with NSRDB satellite weather.

``data/pv_system50/`` holds the inverter's AC power every 15 minutes (W) and the NSRDB PSM3
global horizontal irradiance (W/m²) and air temperature (°C) every 30 minutes, 2011-04-15 to
2013-12-31, at NREL in Golden, Colorado (``data/pv_system50/SOURCE.md``). Nothing here is
injected: injected losses live in :mod:`.injection` and are labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from valueloop.datasets import data_dir
from valueloop.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

LATITUDE = 39.7406
LONGITUDE = -105.1775
ALTITUDE_M = 1790.0
FOLDER = "pv_system50"


@dataclass(frozen=True)
class PlantData:
    """The measured series, each indexed by UTC time.

    ``ac_power`` (kW, every 15 min, NaN where the logger has no reading) and ``weather``
    (columns ``ghi`` W/m² and ``temp_air`` °C, every 30 min).
    """

    ac_power: pd.Series
    weather: pd.DataFrame


def load_plant() -> PlantData:
    """Read the vendored plant data (pandas is imported here, not at module top)."""
    import pandas as pd

    folder = data_dir() / FOLDER
    paths = {name: folder / f"{name}.csv.gz" for name in ("ac_power", "weather")}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise DataError(f"PV plant data not found: {', '.join(missing)}")
    power = pd.read_csv(paths["ac_power"], index_col=0)
    power.index = pd.to_datetime(power.index, utc=True)
    weather = pd.read_csv(paths["weather"], index_col=0)
    weather.index = pd.to_datetime(weather.index, utc=True)
    return PlantData(ac_power=power["ac_power_2"].astype(float) / 1000.0, weather=weather)
