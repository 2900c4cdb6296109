"""The binding's grid: last value per cell, bounded carry-forward, bad points as NaN, and the
training gate, each the same whatever the split of the cells into calls."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.resample import Carry, Grid, TrainingGate, resample
from valueloop.schema import POINT_SCHEMA

SECOND = 1_000_000
START = 1_700_000_000 * SECOND  # a multiple of every step used here


def points(rows: list[tuple[int, float, float, int]]) -> pa.Table:
    """A PointBatch of ``(series_id, seconds after START, value, quality)``."""
    return pa.table(
        {
            "series_id": pa.array([row[0] for row in rows], pa.int32()),
            "ts": pa.array([START + int(row[1] * SECOND) for row in rows], pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "value": pa.array([row[2] for row in rows], pa.float64()),
            "quality": pa.array([row[3] for row in rows], pa.uint8()),
        },
        schema=POINT_SCHEMA,
    ).sort_by([("series_id", "ascending"), ("ts", "ascending")])


def test_a_cell_takes_its_last_point_and_carries_it_up_to_max_gap() -> None:
    batch = points([(7, 0.2, 1.0, 0), (7, 0.7, 2.0, 0), (7, 3.5, 5.0, 1), (7, 6.1, 9.0, 2)])
    grid, carry = resample(
        batch, [7, 8], START, START + 10 * SECOND, SECOND, 2 * SECOND, Carry.empty(2)
    )
    nan = np.nan
    expected = [2.0, 2.0, 2.0, 5.0, 5.0, 5.0, nan, nan, nan, nan]
    np.testing.assert_array_equal(grid.values[:, 0], expected)
    assert np.isnan(grid.values[:, 1]).all()  # a series without points
    assert not grid.complete().any()
    assert carry.cell[0] == START + 6 * SECOND and np.isnan(carry.value[0])
    assert carry.cell[1] < START - 10**12 and np.isnan(carry.value[1])


def _random_points(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = []
    for series in (3, 1, 2):
        stamps = np.sort(rng.choice(np.arange(0, 600, 0.25), size=400, replace=False))
        for stamp in stamps:
            rows.append((series, float(stamp), float(rng.normal()), int(rng.random() < 0.05) * 2))
    return points(rows)


def _grid_in_pieces(
    batch: pa.Table, cuts: npt.NDArray[np.int64], step: int, gap: int
) -> npt.NDArray[np.float64]:
    carry = Carry.empty(3)
    parts = []
    stamps = batch["ts"].cast(pa.int64()).to_numpy()
    for start, stop in pairwise(cuts):
        inside = batch.filter(pa.array((stamps >= start) & (stamps < stop)))
        grid, carry = resample(inside, [1, 2, 3], int(start), int(stop), step, gap, carry)
        parts.append(grid.values)
    return np.vstack(parts)


def test_gridding_in_pieces_gives_the_same_cells_as_at_once() -> None:
    batch = _random_points(0)
    step, gap = 2 * SECOND, 5 * SECOND
    stop = START + 600 * SECOND
    whole = _grid_in_pieces(batch, np.array([START, stop]), step, gap)
    rng = np.random.default_rng(1)
    for _ in range(3):
        inner = np.sort(rng.choice(np.arange(START + step, stop, step), 20, replace=False))
        cuts = np.concatenate([[START], inner, [stop]])
        np.testing.assert_array_equal(_grid_in_pieces(batch, cuts, step, gap), whole)
    assert 0 < np.isnan(whole).mean() < 0.5


def test_regridding_from_max_gap_earlier_gives_the_same_cells() -> None:
    batch = _random_points(2)
    step, gap = SECOND, 3 * SECOND
    whole, _ = resample(batch, [1, 2, 3], START, START + 600 * SECOND, step, gap, Carry.empty(3))
    window = (START + 200 * SECOND, START + 400 * SECOND)
    again, _ = resample(batch, [1, 2, 3], window[0] - gap, window[1], step, gap, Carry.empty(3))
    np.testing.assert_array_equal(again.rows(*window).values, whole.rows(*window).values)
    np.testing.assert_array_equal(again.rows(*window).cells, whole.rows(*window).cells)


def _brute_force_ready(grid: Grid, window: int, step: int, min_rows: int) -> int | None:
    complete = grid.complete()
    if not complete.any():
        return None
    first = grid.cells[np.argmax(complete)]
    for end in grid.cells + step:
        inside = (grid.cells >= end - window) & (grid.cells < end)
        if end >= first + window and complete[inside].sum() >= min_rows:
            return int(end)
    return None


def test_the_training_gate_slides_until_its_window_holds_enough_rows() -> None:
    rng = np.random.default_rng(3)
    step, window, min_rows = SECOND, 40 * SECOND, 26
    for trial in range(5):
        cells = START + step * np.arange(400, dtype=np.int64)
        values = np.where(rng.random((400, 1)) < 0.6 + 0.05 * trial, 1.0, np.nan)
        values[:17] = np.nan  # the first complete cell comes late
        grid = Grid(cells, values)
        expected = _brute_force_ready(grid, window, step, min_rows)
        gate = TrainingGate(window, step, min_rows)
        found = None
        cuts = np.sort(rng.choice(np.arange(1, 400), 25, replace=False))
        for first, last in zip([0, *cuts], [*cuts, 400], strict=True):
            part = grid.part(int(first), int(last))
            gate.feed(part.cells, part.complete())
            found = gate.ready(part.cells + step)
            if found is not None:
                break
        assert found == expected and expected is not None
        assert gate.first == cells[np.argmax(grid.complete())]
