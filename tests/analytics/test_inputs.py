"""Bad input to the RUL models: gaps, a unit with no value, a signal the model never saw."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from valueloop.analytics.inputs import prepare_history
from valueloop.errors import ModelError

NAN = math.nan


def _table(units: list[int], cycles: list[int], values: list[float | None]) -> pa.Table:
    return pa.table(
        {
            "unit": pa.array(units, pa.int32()),
            "cycle": pa.array(cycles, pa.int32()),
            "sensor_2": pa.array(values, pa.float64()),
        }
    )


def test_gaps_are_filled_from_the_same_unit_only() -> None:
    table = _table(
        [2, 1, 1, 2, 1, 2, 2],
        [2, 1, 2, 1, 3, 3, 4],
        [NAN, 1.0, None, 5.0, 3.0, math.inf, 7.0],
    )
    prepared = prepare_history(table, ["sensor_2"])
    assert prepared["unit"].to_pylist() == [1, 1, 1, 2, 2, 2, 2]
    assert prepared["cycle"].to_pylist() == [1, 2, 3, 1, 2, 3, 4]
    assert prepared["sensor_2"].to_pylist() == [1.0, 1.0, 3.0, 5.0, 5.0, 5.0, 7.0]


def test_leading_gaps_take_the_first_valid_value() -> None:
    prepared = prepare_history(_table([4, 4, 4], [1, 2, 3], [None, NAN, 2.5]), ["sensor_2"])
    assert prepared["sensor_2"].to_pylist() == [2.5, 2.5, 2.5]


def test_a_unit_without_any_value_is_named() -> None:
    table = _table([1, 1, 9, 9], [1, 2, 1, 2], [1.0, 2.0, None, NAN])
    with pytest.raises(ModelError, match=r"'sensor_2' has no valid value for unit 9"):
        prepare_history(table, ["sensor_2"])


def test_unknown_and_missing_signals_are_named() -> None:
    table = _table([1], [1], [1.0]).append_column("sensor_99", pa.array([0.0]))
    with pytest.raises(ModelError, match="'sensor_99' was not in the training data"):
        prepare_history(table, ["sensor_2"])
    assert prepare_history(table, ["sensor_2"], known=["sensor_2", "sensor_99"]).num_rows == 1
    with pytest.raises(ModelError, match="sensor_3"):
        prepare_history(table, ["sensor_3"], known=["sensor_2", "sensor_3", "sensor_99"])
    with pytest.raises(ModelError, match="no rows"):
        prepare_history(table.slice(0, 0), ["sensor_2"], known=["sensor_2", "sensor_99"])
