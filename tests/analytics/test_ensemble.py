"""EnsembleRUL on a slice of FD002 (six operating conditions): contract, members, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from valueloop.analytics.base import Model, check_model
from valueloop.analytics.calibration import split_units
from valueloop.analytics.conditions import normalise_training
from valueloop.analytics.ensemble import EnsembleRUL
from valueloop.analytics.rul import GradientBoostingRUL
from valueloop.analytics.sequence import SequenceRUL
from valueloop.datasets.cmapss import OPERATING_SETTINGS, load_cmapss

SMALL = {
    "conditions": 6,
    "settings": OPERATING_SETTINGS,
    "calibration": 0.25,
    "gbm": {"n_estimators": 15, "folds": 2, "threads": 1},
    "sequence": {"window": 10, "channels": 4, "epochs": 1, "threads": 1},
}


def _units(table: pa.Table, last: int) -> pa.Table:
    return table.filter(pc.less_equal(table["unit"], last))


@pytest.fixture(scope="module")
def train() -> pa.Table:
    return _units(load_cmapss("FD002", "train"), 16)


@pytest.fixture(scope="module")
def test_set() -> pa.Table:
    return _units(load_cmapss("FD002", "test"), 8)


@pytest.fixture(scope="module")
def fitted(train: pa.Table) -> EnsembleRUL:
    return EnsembleRUL(**SMALL).fit(train)


def test_the_model_follows_the_contract(train: pa.Table, test_set: pa.Table) -> None:
    model = EnsembleRUL(**SMALL)
    assert isinstance(model, Model)
    check_model(model, train, test_set)


def test_the_point_is_the_weighted_mean_of_the_members(
    fitted: EnsembleRUL, test_set: pa.Table
) -> None:
    gbm, sequence = fitted.members
    assert isinstance(gbm, GradientBoostingRUL) and isinstance(sequence, SequenceRUL)
    assert gbm.conditions == sequence.conditions == 6
    weight = fitted.metadata.metrics["gbm_weight"]
    assert 0 <= weight <= 1
    expected = (
        weight * gbm.predict(test_set)["rul"].to_numpy()
        + (1 - weight) * sequence.predict(test_set)["rul"].to_numpy()
    )
    predicted = fitted.predict(test_set)
    assert predicted["rul"].to_numpy() == pytest.approx(expected)
    rul, lower, upper = (predicted[name].to_numpy() for name in ("rul", "lower", "upper"))
    assert np.all((lower >= 0) & (lower <= rul) & (rul <= upper))


def test_members_never_see_the_calibration_engines(fitted: EnsembleRUL, train: pa.Table) -> None:
    gbm, sequence = fitted.members
    held = split_units(train["unit"].to_numpy(), 0.25, fitted.seed)
    assert len(set(train["unit"].filter(pa.array(held)).to_pylist())) == 4
    rest = normalise_training(
        train.filter(pa.array(~held)), conditions=6, settings=OPERATING_SETTINGS
    )
    assert gbm.metadata.data_hash == rest.data_hash
    assert (
        sequence.metadata.data_hash
        == normalise_training(train, conditions=6, settings=OPERATING_SETTINGS).data_hash
    )
    metrics = fitted.metadata.metrics
    assert set(metrics) == {
        "held_out_rmse",
        "held_out_rmse_gbm",
        "held_out_rmse_sequence",
        "gbm_weight",
    }
    assert metrics["held_out_rmse"] <= min(
        metrics["held_out_rmse_gbm"], metrics["held_out_rmse_sequence"]
    )


def test_save_and_load_round_trip(fitted: EnsembleRUL, test_set: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "ensemble.json"
    fitted.save(path)
    loaded = EnsembleRUL.load(path)
    assert loaded.version == fitted.version and loaded.version.startswith("rul-ens-")
    assert loaded.get_params() == fitted.get_params()
    assert loaded.predict(test_set).equals(fitted.predict(test_set))
