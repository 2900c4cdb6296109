"""Windowed condition features per cycle of a unit, computed from past and current cycles only.

From a wide table of run histories (``unit``, ``cycle``, one column per sensor)
:func:`window_features` derives, for each row and each informative sensor, statistics over the
last ``window`` rows of the same unit (fewer at the start of a trajectory): the last value, the
mean, the standard deviation, the least-squares slope (sensor units per cycle) and an
exponentially weighted mean. A row's
features never depend on later rows, so the same function serves a fleet's training history and a
single machine's live history. :func:`informative_sensors` picks the sensors worth using from
training data by dropping near-constant ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import ModelError

STATISTICS = ("last", "mean", "std", "slope", "ewm")
_FREQUENCY_RATIO = 95 / 5  # most common to second most common value, as in caret's nearZeroVar
_UNIQUE_FRACTION = 0.10


def require_columns(data: pa.Table, columns: Sequence[str]) -> None:
    """Raise :class:`ModelError` naming the first of ``columns`` missing from ``data``."""
    for name in columns:
        if name not in data.column_names:
            raise ModelError(f"column {name!r} is missing from the input table")


def informative_sensors(train: pa.Table, candidates: Sequence[str]) -> tuple[str, ...]:
    """The candidate columns of ``train`` that are not near-constant.

    A column is near-constant when it holds a single value, or when its most frequent value is more
    than 19 times as frequent as the second one while fewer than 10 % of its values are distinct
    (a sensor flickering between two readings).
    """
    require_columns(train, candidates)
    kept = []
    for name in candidates:
        values = train[name].to_numpy()
        _, counts = np.unique(values, return_counts=True)
        if counts.size < 2:
            continue
        top, second = np.sort(counts)[::-1][:2]
        if top / second > _FREQUENCY_RATIO and counts.size / values.size < _UNIQUE_FRACTION:
            continue
        kept.append(name)
    if not kept:
        raise ModelError("every candidate sensor is constant on the training data")
    return tuple(kept)


def feature_names(sensors: Sequence[str]) -> tuple[str, ...]:
    """Column names produced by :func:`window_features`, after ``unit`` and ``cycle``."""
    return tuple(f"{sensor}_{stat}" for sensor in sensors for stat in STATISTICS)


def _window_rows(units: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of each row's window (oldest first) and which of them belong to its unit."""
    rows = np.arange(units.size)
    first = np.ones(units.size, dtype=bool)
    first[1:] = units[1:] != units[:-1]
    unit_start = np.maximum.accumulate(np.where(first, rows, 0))
    index = rows[:, None] - np.arange(window - 1, -1, -1)[None, :]
    valid = index >= unit_start[:, None]
    return np.where(valid, index, rows[:, None]), valid


def window_features(
    data: pa.Table, sensors: Sequence[str], *, window: int = 30, halflife: float = 5.0
) -> pa.Table:
    """Features of every row of ``data``, sorted by ``unit`` then ``cycle``.

    Returns ``unit`` (int32), ``cycle`` (int32) and, per sensor, float64 columns ``<sensor>_last``,
    ``_mean``, ``_std`` (population), ``_slope`` (per cycle, 0 for a single row) and ``_ewm``
    (weights halve every ``halflife`` rows), each over the last ``window`` rows of the unit.
    """
    if window < 1 or halflife <= 0:
        raise ModelError(f"window must be >= 1 and halflife > 0, got {window} and {halflife}")
    require_columns(data, ("unit", "cycle", *sensors))
    if data.num_rows == 0:
        raise ModelError("no rows to compute features from")
    data = data.take(pc.sort_indices(data, [("unit", "ascending"), ("cycle", "ascending")]))
    units = data["unit"].to_numpy()
    cycles = data["cycle"].to_numpy().astype(np.float64)
    index, valid = _window_rows(units, window)
    count = valid.sum(axis=1)
    times = np.where(valid, cycles[index], 0.0)
    time_dev = np.where(valid, times - (times.sum(axis=1) / count)[:, None], 0.0)
    time_var = (time_dev**2).sum(axis=1)
    decay = np.where(valid, 0.5 ** (np.arange(window - 1, -1, -1) / halflife), 0.0)
    decay /= decay.sum(axis=1, keepdims=True)
    columns: dict[str, pa.Array] = {
        "unit": pc.cast(data["unit"], pa.int32()).combine_chunks(),
        "cycle": pc.cast(data["cycle"], pa.int32()).combine_chunks(),
    }
    for sensor in sensors:
        values = data[sensor].to_numpy().astype(np.float64)
        windowed = np.where(valid, values[index], 0.0)
        mean = windowed.sum(axis=1) / count
        dev = np.where(valid, windowed - mean[:, None], 0.0)
        covariance = (time_dev * dev).sum(axis=1)
        slope = np.divide(covariance, time_var, out=np.zeros_like(mean), where=time_var > 0)
        stats = (
            values,
            mean,
            np.sqrt((dev**2).sum(axis=1) / count),
            slope,
            (decay * windowed).sum(axis=1),
        )
        for stat, column in zip(STATISTICS, stats, strict=True):
            columns[f"{sensor}_{stat}"] = pa.array(column, pa.float64())
    return pa.table(columns)
