"""A regularly sampled series: values on a grid of fixed step, NaN where a step has no value.

Forecasting models count time in steps: a lag of 1 is the previous step, a season of 48 is one day
of half-hours. :meth:`RegularSeries.of` places Arrow timestamps and values on such a grid. The
step is the median difference between consecutive timestamps (or the one given); each point goes
to the nearest grid step, and a step without a point holds NaN, so gaps stay visible as gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.errors import ModelError

Micros = npt.NDArray[np.int64]
Vector = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]
TIMESTAMP = pa.timestamp("us", tz="UTC")
MAX_STEPS = 10_000_000  # a longer grid means a wrong step or a stray timestamp


def _micros(ts: pa.Array | pa.ChunkedArray) -> Micros:
    if not pa.types.is_timestamp(ts.type):
        raise ModelError(f"timestamps must be an Arrow timestamp array, got {ts.type}")
    if ts.null_count:
        raise ModelError(f"{ts.null_count} timestamps are missing")
    cast = ts.cast(TIMESTAMP).cast(pa.int64())
    return np.asarray(cast.to_numpy(zero_copy_only=False), dtype=np.int64)


def _floats(values: pa.Array | pa.ChunkedArray) -> Vector:
    try:
        cast = values.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise ModelError(f"values must be numeric, got {values.type}") from err
    return np.asarray(cast.to_numpy(zero_copy_only=False), dtype=np.float64)


def median_step(ts: pa.Array | pa.ChunkedArray) -> int:
    """The median difference of consecutive timestamps ``ts`` (at least two), in microseconds."""
    micros = _micros(ts)
    if len(micros) < 2:
        raise ModelError("waiting for data: one point does not tell the series' step")
    return round(float(np.median(np.diff(micros))))


@dataclass(frozen=True)
class RegularSeries:
    """Values at ``start + i * step`` (microseconds since the epoch, UTC), NaN where missing."""

    start: int
    step: int
    values: Vector

    @classmethod
    def of(
        cls,
        ts: pa.Array | pa.ChunkedArray,
        values: pa.Array | pa.ChunkedArray,
        *,
        step: int | None = None,
    ) -> RegularSeries:
        """The series of points ``ts`` (strictly increasing) and ``values`` (nulls read as NaN).

        ``step`` (microseconds) is inferred as the median difference of ``ts`` when not given.
        Raises :class:`ModelError` for no points, unequal lengths, unordered timestamps, or two
        points falling on the same step (resample the series to its step first).
        """
        micros, floats = _micros(ts), _floats(values)
        if len(micros) != len(floats):
            raise ModelError(f"{len(micros)} timestamps but {len(floats)} values")
        if len(micros) == 0:
            raise ModelError("waiting for data: the series has no points")
        gaps = np.diff(micros)
        if (gaps <= 0).any():
            row = int(np.argmax(gaps <= 0)) + 1
            raise ModelError(f"timestamps must be strictly increasing: row {row} is not")
        if step is None:
            step = median_step(ts)
        index = np.rint((micros - micros[0]) / step).astype(np.int64)
        if (np.diff(index) == 0).any():
            row = int(np.argmax(np.diff(index) == 0)) + 1
            raise ModelError(
                f"rows {row - 1} and {row} fall on the same {step / 1e6:g} s step: "
                "resample the series to a fixed step first"
            )
        if index[-1] >= MAX_STEPS:
            raise ModelError(
                f"the series spans {index[-1] + 1} steps of {step / 1e6:g} s, more than "
                f"{MAX_STEPS}: resample it to a coarser step"
            )
        grid = np.full(int(index[-1]) + 1, np.nan)
        grid[index] = floats
        return cls(int(micros[0]), step, grid)

    def __len__(self) -> int:
        return len(self.values)

    def micros(self, index: Index) -> Micros:
        """Timestamps (microseconds since the epoch, UTC) of grid steps ``index``."""
        return self.start + index * self.step

    def at(self, index: Index) -> Vector:
        """Values at grid steps ``index``; NaN for steps outside the series."""
        inside = (index >= 0) & (index < len(self.values))
        out = np.full(index.shape, np.nan)
        out[inside] = self.values[index[inside]]
        return out

    def head(self, steps: int) -> RegularSeries:
        """The first ``steps`` steps of the series."""
        return RegularSeries(self.start, self.step, self.values[:steps])
