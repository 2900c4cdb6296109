"""How a thermal unit's available capacity falls as the air warms, fitted from plant data.

A gas turbine breathes air: on a hot day the air is thinner and the unit cannot reach its rated
output. :class:`AmbientDerating` states this as a straight line, the available capacity being
``max_mw * (1 + per_degc * (temperature - reference_c))``. :func:`fit_ambient_derating` fits the
line by least squares on full-load output measured at various temperatures, and
:func:`ccpp_derating` does so on the UCI Combined Cycle Power Plant data (9568 hourly full-load
outputs of a combined-cycle plant, ``data/ccpp/``), whose output falls by about 0.47 % per °C.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from valueloop.datasets.ccpp import load_ccpp
from valueloop.errors import DataError

ISO_AMBIENT_C = 15.0
"""ISO 3977 reference ambient temperature at which gas-turbine ratings are quoted, in °C."""


class AmbientDerating(BaseModel):
    """Linear change of a unit's available capacity with ambient temperature.

    Attributes:
        reference_c: temperature at which the unit delivers its rated ``max_mw``, in °C.
        per_degc: relative change of the available capacity per °C above ``reference_c``
            (negative for a gas turbine: -0.0047 is -0.47 % per °C), in 1/°C.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    reference_c: float = Field(default=ISO_AMBIENT_C, ge=-60, le=60)
    per_degc: float = Field(ge=-0.1, le=0.1)

    def capacity_factor(self, temperature_c: ArrayLike) -> np.ndarray:
        """Available capacity over rated capacity at each temperature, never below 0."""
        factor = 1.0 + self.per_degc * (np.asarray(temperature_c, np.float64) - self.reference_c)
        return np.maximum(factor, 0.0)


def fit_ambient_derating(
    temperature_c: ArrayLike, output_mw: ArrayLike, *, reference_c: float = ISO_AMBIENT_C
) -> AmbientDerating:
    """Fit ``output = a + b * temperature`` by least squares; return it relative to ``reference_c``.

    ``temperature_c`` and ``output_mw`` are paired full-load observations (°C, MW). The slope is
    divided by the fitted output at ``reference_c``, so that the derating applies to a unit of any
    size.
    """
    x = np.asarray(temperature_c, np.float64)
    y = np.asarray(output_mw, np.float64)
    if x.shape != y.shape or x.size < 2 or np.ptp(x) == 0:
        raise DataError(
            "fitting a derating needs at least two observations at different temperatures, "
            f"got {x.size} temperatures and {y.size} outputs"
        )
    slope, intercept = np.polyfit(x, y, 1)
    rated = intercept + slope * reference_c
    if rated <= 0:
        raise DataError(f"the fitted output at {reference_c} °C is {rated:.1f} MW, not positive")
    return AmbientDerating(reference_c=reference_c, per_degc=float(slope / rated))


@functools.cache
def ccpp_derating(reference_c: float = ISO_AMBIENT_C) -> AmbientDerating:
    """The derating of the CCPP plant: net output PE fitted on ambient temperature AT."""
    table = load_ccpp()
    return fit_ambient_derating(
        table["AT"].to_numpy(), table["PE"].to_numpy(), reference_c=reference_c
    )
