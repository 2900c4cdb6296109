"""GradientBoostingRUL: the model contract, predictions per engine and per cycle, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valueloop.analytics.base import Model, check_model, clone
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.datasets.cmapss import load_cmapss
from valueloop.errors import ModelError


@pytest.fixture(scope="module")
def test_set() -> pa.Table:
    return load_cmapss("FD001", "test")


@pytest.fixture(scope="module")
def fitted() -> GradientBoostingRUL:
    return GradientBoostingRUL().fit(load_cmapss("FD001", "train"))


def _units(table: pa.Table, last: int) -> pa.Table:
    return table.filter(pc.less_equal(table["unit"], last))


def test_the_model_follows_the_contract(test_set: pa.Table) -> None:
    small = GradientBoostingRUL(n_estimators=20, folds=2, seed=7)
    assert isinstance(small, Model)
    check_model(small, _units(load_cmapss("FD001", "train"), 20), _units(test_set, 10))


def test_predict_before_fit_and_bad_hyper_parameters_raise(test_set: pa.Table) -> None:
    with pytest.raises(ModelError, match="not fitted"):
        GradientBoostingRUL().predict(test_set)
    with pytest.raises(ModelError, match="not fitted"):
        _ = GradientBoostingRUL().version
    with pytest.raises(ModelError, match="interval"):
        GradientBoostingRUL(interval=1.5).fit(test_set)


def test_missing_sensor_is_named(fitted: GradientBoostingRUL, test_set: pa.Table) -> None:
    with pytest.raises(ModelError, match="sensor_11"):
        fitted.predict(test_set.drop_columns(["sensor_11"]))


def test_a_signal_unseen_in_training_is_refused_and_gaps_are_filled(
    fitted: GradientBoostingRUL, test_set: pa.Table
) -> None:
    with pytest.raises(ModelError, match="'vibration' was not in the training data"):
        fitted.predict(test_set.append_column("vibration", pa.array(np.zeros(test_set.num_rows))))
    index = test_set.column_names.index("sensor_4")
    values = test_set["sensor_4"].to_numpy().copy()
    values[-1] = np.nan  # the last cycle of engine 100 is lost: its previous reading stands in
    gap = fitted.predict(test_set.set_column(index, "sensor_4", pa.array(values)))
    values[-1] = values[-2]
    filled = fitted.predict(test_set.set_column(index, "sensor_4", pa.array(values)))
    assert gap.equals(filled)


def test_one_prediction_per_engine_at_its_last_cycle(
    fitted: GradientBoostingRUL, test_set: pa.Table
) -> None:
    predicted = fitted.predict(test_set)
    assert predicted.schema.equals(GradientBoostingRUL.output_schema)
    assert predicted["unit"].to_pylist() == list(range(1, 101))
    last_cycles = test_set.group_by("unit").aggregate([("cycle", "max")]).sort_by("unit")
    assert predicted["cycle"].to_pylist() == last_cycles["cycle_max"].to_pylist()
    rul, lower, upper = (predicted[name].to_numpy() for name in ("rul", "lower", "upper"))
    assert np.all(rul >= 0) and np.all(rul <= fitted.cap)
    assert np.all((lower >= 0) & (lower <= rul) & (rul <= upper))
    assert 10 < np.mean(upper - lower) < 150


def test_a_single_engine_gets_the_same_prediction_as_in_the_fleet(
    fitted: GradientBoostingRUL, test_set: pa.Table
) -> None:
    fleet = fitted.predict(test_set)
    engine = fitted.predict(test_set.filter(pc.equal(test_set["unit"], 42)))
    assert engine.num_rows == 1
    assert engine.equals(fleet.slice(41, 1))


def test_predict_all_gives_a_trajectory_ending_at_predict(
    fitted: GradientBoostingRUL, test_set: pa.Table
) -> None:
    engine = test_set.filter(pc.equal(test_set["unit"], 5))
    trajectory = fitted.predict_all(engine)
    assert trajectory.num_rows == engine.num_rows
    assert trajectory["cycle"].to_pylist() == engine["cycle"].to_pylist()
    assert trajectory.slice(trajectory.num_rows - 1).equals(fitted.predict(engine))


def test_version_names_parameters_and_training_data(fitted: GradientBoostingRUL) -> None:
    assert fitted.version.startswith("rul-gbm-")
    small_train = _units(load_cmapss("FD001", "train"), 12)
    a = GradientBoostingRUL(n_estimators=10, folds=2).fit(small_train)
    b = GradientBoostingRUL(n_estimators=10, folds=2).fit(small_train)
    c = GradientBoostingRUL(n_estimators=10, folds=2, seed=1).fit(small_train)
    d = GradientBoostingRUL(n_estimators=10, folds=2).fit(_units(small_train, 11))
    assert a.version == b.version
    assert len({a.version, c.version, d.version, fitted.version}) == 4


def test_save_and_load_round_trip(
    fitted: GradientBoostingRUL, test_set: pa.Table, tmp_path: Path
) -> None:
    path = tmp_path / "rul.json"
    fitted.save(path)
    loaded = GradientBoostingRUL.load(path)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.version == fitted.version
    assert loaded.predict(test_set).equals(fitted.predict(test_set))
    assert clone(loaded).get_params() == fitted.get_params()
    (tmp_path / "bad.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(ModelError, match=r"bad\.json"):
        GradientBoostingRUL.load(tmp_path / "bad.json")
