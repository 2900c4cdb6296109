"""SequenceRUL on a slice of FD001: the model contract, persistence and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valueloop.analytics.base import Model, check_model
from valueloop.analytics.metadata import library_versions
from valueloop.analytics.sequence import SequenceRUL, sensor_windows
from valueloop.datasets.cmapss import load_cmapss
from valueloop.errors import ModelError

SMALL = {"window": 10, "channels": 4, "epochs": 2, "batch_size": 128, "seed": 3, "threads": 1}


def _units(table: pa.Table, last: int) -> pa.Table:
    return table.filter(pc.less_equal(table["unit"], last))


@pytest.fixture(scope="module")
def train() -> pa.Table:
    return _units(load_cmapss("FD001", "train"), 20)


@pytest.fixture(scope="module")
def test_set() -> pa.Table:
    return _units(load_cmapss("FD001", "test"), 10)


@pytest.fixture(scope="module")
def fitted(train: pa.Table) -> SequenceRUL:
    return SequenceRUL(**SMALL).fit(train)


def test_the_model_follows_the_contract(train: pa.Table, test_set: pa.Table) -> None:
    model = SequenceRUL(**SMALL)
    assert isinstance(model, Model)
    check_model(model, train, test_set)


def test_windows_are_padded_with_the_first_cycle_and_stop_at_the_unit() -> None:
    table = pa.table(
        {
            "unit": pa.array([1, 1, 1, 2], pa.int32()),
            "cycle": pa.array([1, 2, 3, 1], pa.int32()),
            "sensor_2": [10.0, 11.0, 12.0, 20.0],
        }
    )
    windows = sensor_windows(table, ("sensor_2",), 3)
    assert windows.shape == (4, 3, 2)
    assert windows[:, :, 0].tolist() == [[10] * 3, [10, 10, 11], [10, 11, 12], [20] * 3]
    assert windows[2, :, 1].tolist() == pytest.approx([0.01, 0.02, 0.03])


def test_intervals_contain_the_point_and_metadata_names_the_fit(
    fitted: SequenceRUL, test_set: pa.Table
) -> None:
    predicted = fitted.predict(test_set)
    rul, lower, upper = (predicted[name].to_numpy() for name in ("rul", "lower", "upper"))
    assert np.all((lower >= 0) & (lower <= rul) & (rul <= upper) & (rul <= fitted.cap))
    meta = fitted.metadata
    assert meta.version == fitted.version and fitted.version.startswith("rul-cnn-")
    assert meta.params == fitted.get_params()
    assert meta.metrics["held_out_rmse"] > 0
    assert meta.libraries == library_versions() and "torch" in meta.libraries


def test_save_and_load_round_trip(fitted: SequenceRUL, test_set: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "cnn.json"
    fitted.save(path)
    loaded = SequenceRUL.load(path)
    assert loaded.metadata == fitted.metadata
    assert loaded.predict_all(test_set).equals(fitted.predict_all(test_set))
    (tmp_path / "other.json").write_text('{"format": "valueloop.rul-gbm/2"}', encoding="utf-8")
    with pytest.raises(ModelError, match=r"other\.json is not a valueloop\.rul-sequence"):
        SequenceRUL.load(tmp_path / "other.json")


def test_a_series_shorter_than_the_window_is_padded(
    fitted: SequenceRUL, test_set: pa.Table
) -> None:
    engine = test_set.filter(pc.equal(test_set["unit"], 4))
    young = fitted.predict(engine.slice(0, 3))
    assert young["cycle"].to_pylist() == [3]
    in_full_history = fitted.predict_all(engine).slice(2, 1)
    for name in ("rul", "lower", "upper"):  # float32 sums differ in the last digits by batch
        assert young[name].to_numpy() == pytest.approx(in_full_history[name].to_numpy(), rel=1e-6)


def test_missing_values_are_carried_forward(fitted: SequenceRUL, test_set: pa.Table) -> None:
    column = test_set["sensor_11"].to_numpy().copy()
    gaps = column.copy()
    gaps[5:8] = np.nan
    column[5:8] = column[4]
    index = test_set.column_names.index("sensor_11")
    with_gaps = fitted.predict(test_set.set_column(index, "sensor_11", pa.array(gaps)))
    filled = fitted.predict(test_set.set_column(index, "sensor_11", pa.array(column)))
    assert with_gaps.equals(filled)
    assert np.isfinite(with_gaps["rul"].to_numpy()).all()


def test_constant_signals_are_dropped_and_new_signals_refused(
    train: pa.Table, test_set: pa.Table
) -> None:
    index = train.column_names.index("sensor_7")
    flat = train.set_column(index, "sensor_7", pa.array(np.full(train.num_rows, 554.0)))
    model = SequenceRUL(**SMALL).fit(flat)
    assert "sensor_7" not in model._require_fitted().normaliser.sensors
    assert model.predict(test_set.drop_columns(["sensor_7"])).num_rows == 10
    with pytest.raises(ModelError, match="'vibration' was not in the training data"):
        model.predict(test_set.append_column("vibration", pa.array(np.zeros(test_set.num_rows))))
    with pytest.raises(ModelError, match="calibration"):
        SequenceRUL(calibration=1.0).fit(train)
