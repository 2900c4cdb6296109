"""Windowed features: hand-computed statistics, sensor selection, no look-ahead."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valueloop.analytics.features import feature_names, informative_sensors, window_features
from valueloop.datasets.cmapss import SENSORS, load_cmapss
from valueloop.errors import ModelError

FD001_INFORMATIVE = tuple(f"sensor_{i}" for i in (2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21))


@pytest.fixture(scope="module")
def train() -> pa.Table:
    return load_cmapss("FD001", "train")


def _table(units: list[int], cycles: list[int], values: list[float]) -> pa.Table:
    return pa.table(
        {
            "unit": pa.array(units, pa.int32()),
            "cycle": pa.array(cycles, pa.int32()),
            "sensor_2": pa.array(values, pa.float64()),
        }
    )


def test_informative_sensors_drop_the_constant_fd001_sensors(train: pa.Table) -> None:
    assert informative_sensors(train, SENSORS) == FD001_INFORMATIVE


def test_informative_sensors_drop_constant_and_flickering_columns() -> None:
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "constant": np.full(1000, 5.0),
            "flicker": np.where(np.arange(1000) < 990, 21.61, 21.6),
            "noise": rng.normal(size=1000),
        }
    )
    assert informative_sensors(table, ["constant", "flicker", "noise"]) == ("noise",)
    with pytest.raises(ModelError, match="constant"):
        informative_sensors(table, ["constant"])


def test_window_statistics_match_hand_computation() -> None:
    values = [1.0, 3.0, 2.0, 6.0]
    features = window_features(_table([7] * 4, [1, 2, 3, 4], values), ["sensor_2"], window=3)
    last = features.to_pylist()[-1]
    window = np.array([3.0, 2.0, 6.0])
    weights = 0.5 ** (np.array([2.0, 1.0, 0.0]) / 5.0)
    assert last["unit"] == 7 and last["cycle"] == 4
    assert last["sensor_2_last"] == 6.0
    assert last["sensor_2_mean"] == pytest.approx(11 / 3)
    assert last["sensor_2_std"] == pytest.approx(np.std(window))
    assert last["sensor_2_slope"] == pytest.approx(1.5)  # least squares over cycles 2, 3, 4
    assert last["sensor_2_ewm"] == pytest.approx(np.sum(weights * window) / np.sum(weights))
    first = features.to_pylist()[0]
    assert (first["sensor_2_mean"], first["sensor_2_std"], first["sensor_2_slope"]) == (1, 0, 0)


def test_windows_stop_at_the_unit_boundary_and_output_is_sorted() -> None:
    table = _table([2, 1, 2, 1], [1, 2, 2, 1], [100.0, 2.0, 102.0, 1.0])
    features = window_features(table, ["sensor_2"], window=30)
    assert features["unit"].to_pylist() == [1, 1, 2, 2]
    assert features["cycle"].to_pylist() == [1, 2, 1, 2]
    assert features["sensor_2_mean"].to_pylist() == [1.0, 1.5, 100.0, 101.0]
    assert features["sensor_2_slope"].to_pylist() == [0.0, 1.0, 0.0, 2.0]
    assert features.column_names[2:] == list(feature_names(["sensor_2"]))


def test_features_of_a_cycle_do_not_change_when_later_cycles_arrive(train: pa.Table) -> None:
    engine = train.filter(pc.equal(train["unit"], 3))
    fleet = window_features(train, FD001_INFORMATIVE)
    early = window_features(engine.slice(0, 50), FD001_INFORMATIVE)
    later = window_features(engine, FD001_INFORMATIVE).slice(0, 50)
    assert early.equals(later)
    assert early.equals(fleet.filter(pc.equal(fleet["unit"], 3)).slice(0, 50))


def test_bad_input_raises_model_error_naming_the_problem(train: pa.Table) -> None:
    with pytest.raises(ModelError, match="sensor_9"):
        window_features(train.drop_columns(["sensor_9"]), FD001_INFORMATIVE)
    with pytest.raises(ModelError, match="no rows"):
        window_features(train.slice(0, 0), FD001_INFORMATIVE)
    with pytest.raises(ModelError, match="sensor_21"):
        informative_sensors(train.drop_columns(["sensor_21"]), SENSORS)
