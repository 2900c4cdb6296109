"""The grid an analytics binding works on: its series resampled onto UTC-epoch-aligned cells.

Cell ``g`` (microseconds since the epoch, a multiple of the step) covers ``[g, g + step)`` and
takes the value of the last point of the series in it. A bad-quality point (2) is a NaN
observation: the value is known to be unknown. A cell without a point carries the last observation
forward while ``g - c <= max_gap``, ``c`` the cell of that observation; after that it is NaN.
Uncertain points (1) count as values.

The grid is built incrementally: :func:`resample` takes the :class:`Carry` (last observation of each
series) left by the previous cells and returns the one for the next, so gridding a period in one
call or in any split of calls gives the same cells. Gridding from ``start - max_gap`` with an empty
carry gives the same cells from ``start`` on, which is how a training window is re-read.

:class:`TrainingGate` decides, from the completeness of the cells as they come, when the first
training window is ready, keeping only runs of complete cells (a few integers) in the job state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.schema import Quality

Micros = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float64]
NEVER = np.iinfo(np.int64).min // 4
"""The cell of a series never observed: far enough in the past that no carry reaches now."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime | timedelta) -> int:
    """A UTC instant as microseconds since the epoch, or a duration in microseconds."""
    if isinstance(moment, timedelta):
        return (moment.days * 86_400 + moment.seconds) * 1_000_000 + moment.microseconds
    return micros(moment - EPOCH)


def instant(us: int) -> datetime:
    """Microseconds since the epoch as a UTC datetime."""
    return EPOCH + timedelta(microseconds=int(us))


def floor_to(us: int, step: int) -> int:
    """The start of the cell of width ``step`` holding ``us``."""
    return us - us % step


@dataclass
class Carry:
    """Per series, the cell of its last observation (microseconds) and its value (NaN if bad)."""

    cell: Micros
    value: npt.NDArray[np.float64]

    @classmethod
    def empty(cls, width: int) -> Carry:
        """The carry of series never observed."""
        return cls(np.full(width, NEVER, np.int64), np.full(width, np.nan))


@dataclass(frozen=True)
class Grid:
    """Consecutive cells (starts, microseconds) and one value per series and cell (NaN unknown)."""

    cells: Micros
    values: Matrix

    @property
    def stamps(self) -> npt.NDArray[np.datetime64]:
        """The cell starts as ``datetime64[us]`` (UTC)."""
        return self.cells.astype("datetime64[us]")

    def complete(self, columns: int | None = None) -> npt.NDArray[np.bool_]:
        """Whether each cell has a value for every series (or for the first ``columns``)."""
        values = self.values if columns is None else self.values[:, :columns]
        result: npt.NDArray[np.bool_] = np.logical_not(np.isnan(values).any(axis=1))
        return result

    def rows(self, start: int, stop: int) -> Grid:
        """The cells ``start <= cell < stop``."""
        first, last = np.searchsorted(self.cells, [start, stop])
        return self.part(int(first), int(last))

    def part(self, first: int, last: int) -> Grid:
        """The rows at positions ``first <= i < last``."""
        return Grid(self.cells[first:last], self.values[first:last])


def _observations(
    points: pa.Table, series: Sequence[int], start: int, count: int, step: int
) -> tuple[Matrix, npt.NDArray[np.bool_]]:
    """The last observation of each series in each cell, and where there is one."""
    width = len(series)
    values = np.full((count, width), np.nan)
    observed = np.zeros((count, width), dtype=np.bool_)
    if points.num_rows == 0:
        return values, observed
    ids = points["series_id"].to_numpy()
    stamps = points["ts"].cast(pa.int64()).to_numpy()
    reading = pc.fill_null(points["value"], np.nan).to_numpy()
    reading = np.where(points["quality"].to_numpy() == Quality.BAD, np.nan, reading)
    wanted = np.asarray(series, np.int64)
    order = np.argsort(wanted)
    slot = np.clip(np.searchsorted(wanted[order], ids), 0, width - 1)
    column = order[slot]
    row = (stamps - start) // step
    keep = (wanted[column] == ids) & (row >= 0) & (row < count)
    column, row, stamps, reading = column[keep], row[keep], stamps[keep], reading[keep]
    key = column * count + row
    by_key = np.lexsort((stamps, key))
    sorted_key = key[by_key]
    last = by_key[np.append(sorted_key[1:] != sorted_key[:-1], True)]
    values[row[last], column[last]] = reading[last]
    observed[row[last], column[last]] = True
    return values, observed


def resample(
    points: pa.Table,
    series: Sequence[int],
    start: int,
    stop: int,
    step: int,
    max_gap: int,
    carry: Carry,
) -> tuple[Grid, Carry]:
    """The cells ``[start, stop)`` (aligned to ``step``) of ``series``, from ``points`` and carry.

    ``points`` is a PointBatch of those series with ``start <= ts < stop``; columns of the grid
    follow the order of ``series``. Returns the grid and the carry for the cells after ``stop``.
    """
    count = (stop - start) // step
    cells = start + step * np.arange(count, dtype=np.int64)
    values, observed = _observations(points, series, start, count, step)
    if count == 0:
        return Grid(cells, values), carry
    latest = np.maximum.accumulate(np.where(observed, np.arange(count)[:, None], -1), axis=0)
    seen = latest >= 0
    at = np.clip(latest, 0, None)
    last_cell = np.where(seen, cells[at], carry.cell[None, :])
    last_value = np.where(seen, values[at, np.arange(len(series))[None, :]], carry.value[None, :])
    gridded = np.where(cells[:, None] - last_cell <= max_gap, last_value, np.nan)
    return Grid(cells, gridded), Carry(last_cell[-1].copy(), last_value[-1].copy())


@dataclass
class TrainingGate:
    """When the first training window is ready, from the completeness of cells as they come.

    The window is ready at the first cell end ``e`` with ``e >= first + window`` (``first`` the
    first complete cell) and ``e >= not_before``, such that ``[e - window, e)`` holds at least
    ``min_rows`` complete cells. Complete cells are kept as runs ``[start, stop)``; runs older than
    any window still to be counted are dropped.
    """

    window: int
    step: int
    min_rows: int
    first: int | None = None
    not_before: int | None = None
    starts: list[int] = field(default_factory=list)
    stops: list[int] = field(default_factory=list)

    def feed(self, cells: Micros, complete: npt.NDArray[np.bool_]) -> None:
        """Take the completeness of consecutive cells following those fed before."""
        if cells.size == 0:
            return
        horizon = int(cells[0]) + self.step - self.window
        kept = [i for i, stop in enumerate(self.stops) if stop > horizon]
        self.starts = [self.starts[i] for i in kept]
        self.stops = [self.stops[i] for i in kept]
        edges = np.diff(np.concatenate([[0], complete.astype(np.int8), [0]]))
        run_starts = cells[np.flatnonzero(edges == 1)].tolist()
        run_stops = (cells[np.flatnonzero(edges == -1) - 1] + self.step).tolist()
        if not run_starts:
            return
        if self.first is None:
            self.first = int(run_starts[0])
        if self.stops and self.stops[-1] == run_starts[0]:
            self.stops[-1] = run_stops.pop(0)
            run_starts.pop(0)
        self.starts.extend(int(s) for s in run_starts)
        self.stops.extend(int(s) for s in run_stops)

    def complete_before(self, moments: Micros) -> Micros:
        """How many kept complete cells start before each of ``moments``."""
        starts = np.asarray(self.starts, np.int64)
        lengths = (np.asarray(self.stops, np.int64) - starts) // self.step
        before = np.concatenate([[0], np.cumsum(lengths)])
        run = np.searchsorted(starts, moments, side="right") - 1
        at = np.clip(run, 0, None)
        if starts.size == 0:
            return np.zeros(moments.shape, np.int64)
        inside = np.clip(-((starts[at] - moments) // self.step), 0, lengths[at])
        result: Micros = np.where(run >= 0, before[at] + inside, 0)
        return result

    def count(self, start: int, stop: int) -> int:
        """Complete cells in ``[start, stop)`` (``start`` within the kept horizon)."""
        below, above = self.complete_before(np.array([start, stop], np.int64))
        return int(above - below)

    def ready(self, ends: Micros) -> int | None:
        """The first of the cell ends ``ends`` at which the training window is ready, or None."""
        if self.first is None or ends.size == 0:
            return None
        due = ends >= self.first + self.window
        if self.not_before is not None:
            due &= ends >= self.not_before
        counts = self.complete_before(ends) - self.complete_before(ends - self.window)
        hits = np.flatnonzero(due & (counts >= self.min_rows))
        return int(ends[hits[0]]) if hits.size else None
