"""Readings built from decoded columns: units conversion, timestamp range, series paths, at once.

Message decoders (MQTT JSON, Sparkplug B) gather plain columns per batch; this module turns them
into a readings table in one vectorised pass, and reports which rows fell outside the time range
the store accepts (1970-2200) so that the decoder can dead-letter them with their raw input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.connectors.base import readings
from valueloop.connectors.check import EARLIEST, LATEST
from valueloop.schema import DEAD_LETTER_SCHEMA, dead_letters

EARLIEST_US = EARLIEST.timestamp() * 1e6
LATEST_US = LATEST.timestamp() * 1e6


@dataclass(frozen=True)
class Built:
    """A readings table and the indices of the input rows left out for their timestamp."""

    readings: pa.Table
    out_of_range: npt.NDArray[np.intp]


def in_range(ts_us: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Which timestamps (microseconds since 1970 UTC) the store accepts: 1970 to 2200."""
    return (ts_us >= EARLIEST_US) & (ts_us < LATEST_US)


def build_readings(
    prefix: str,
    series: Sequence[str],
    ts_us: npt.NDArray[np.float64],
    value: pa.Array,
    scale: npt.NDArray[np.float64],
    offset: npt.NDArray[np.float64],
    quality: Sequence[int] | None = None,
) -> Built:
    """Readings of ``series`` (``asset/signal`` under ``prefix``) valued ``value*scale+offset``.

    ``value`` is a float64 array (nulls allowed); ``ts_us`` is microseconds since 1970 UTC; rows
    outside 1970-2200 are left out and listed.
    """
    accepted = in_range(ts_us)
    keep = pa.array(accepted, pa.bool_())
    values = pc.add(pc.multiply(value, pa.array(scale)), pa.array(offset)).filter(keep)
    stamps = pa.array(np.round(ts_us[accepted]).astype(np.int64), pa.timestamp("us", tz="UTC"))
    paths = pc.binary_join_element_wise(
        pa.scalar(prefix), pa.array(series, pa.string()).filter(keep), "/"
    )
    qualities = None if quality is None else pa.array(quality, pa.uint8()).filter(keep)
    return Built(
        readings=readings(paths, stamps, values, qualities),
        out_of_range=np.flatnonzero(~accepted),
    )


def rejections(source: str, raw: Sequence[str], reason: Sequence[str]) -> pa.Table:
    """Dead-letter rows of ``source`` (an empty table when there are none)."""
    if not raw:
        return DEAD_LETTER_SCHEMA.empty_table()
    return dead_letters(source, pa.array(raw, pa.string()), pa.array(reason, pa.string()))
