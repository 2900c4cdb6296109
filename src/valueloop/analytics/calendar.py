"""Calendar features of timestamps, in UTC: the hour of the day and the day of the week.

Timestamps are integer microseconds since the Unix epoch (an Arrow ``timestamp[us, UTC]`` column
cast to int64), so the features are pure arithmetic and vectorised. A site whose rhythm follows
local time sees its pattern shifted by a constant offset, which a model learns as well.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MICROS_PER_HOUR = 3_600_000_000
MICROS_PER_DAY = 24 * MICROS_PER_HOUR
_THURSDAY = 3  # 1970-01-01, day 0 of the epoch, with Monday = 0

Micros = npt.NDArray[np.int64]
Vector = npt.NDArray[np.float64]


def hour_of_day(micros: Micros) -> Vector:
    """Hours since midnight UTC, with the fraction (0.0 to 24.0, 13.5 for 13:30)."""
    return np.asarray(np.mod(micros, MICROS_PER_DAY) / MICROS_PER_HOUR, dtype=np.float64)


def day_of_week(micros: Micros) -> Vector:
    """Day of the week in UTC, Monday = 0 to Sunday = 6, as floats."""
    days = np.floor_divide(micros, MICROS_PER_DAY)
    return np.asarray(np.mod(days + _THURSDAY, 7), dtype=np.float64)
