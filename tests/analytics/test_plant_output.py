"""Plant output on CCPP: 5x2-fold protocol on a slice, against a least-squares baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from valueloop.analytics.base import clone
from valueloop.analytics.plant_output import PlantOutputModel, evaluate_ccpp
from valueloop.datasets.ccpp import CCPP_INPUTS, load_ccpp
from valueloop.errors import ModelError

FAST = {"n_estimators": 300, "learning_rate": 0.05, "bags": 1, "threads": 1}


@pytest.fixture(scope="module")
def ccpp() -> pa.Table:
    return load_ccpp()


def _linear_rmse(fit: pa.Table, test: pa.Table) -> float:
    """RMSE (MW) of ordinary least squares on the four inputs, the paper's simplest baseline."""

    def design(table: pa.Table) -> np.ndarray:
        columns = [table[name].to_numpy() for name in CCPP_INPUTS]
        return np.column_stack([np.ones(table.num_rows), *columns])

    coef, *_ = np.linalg.lstsq(design(fit), fit["PE"].to_numpy(), rcond=None)
    return float(np.sqrt(np.mean((design(test) @ coef - test["PE"].to_numpy()) ** 2)))


def test_the_data_is_the_published_set(ccpp: pa.Table) -> None:
    assert ccpp.num_rows == 9568
    assert ccpp["PE"].to_numpy().mean() == pytest.approx(454.37, abs=0.01)


def test_two_fold_beats_least_squares_on_a_slice(ccpp: pa.Table) -> None:
    data = ccpp.slice(0, 3000)
    result = evaluate_ccpp(lambda: PlantOutputModel(**FAST), repeats=1, data=data)
    assert len(result["folds"]) == 2 and result["rows"] == 3000
    linear = np.mean([_linear_rmse(data.slice(0, 1500), data.slice(1500)),
                      _linear_rmse(data.slice(1500), data.slice(0, 1500))])  # fmt: skip
    assert 4.0 < linear < 5.0  # Tüfekci (2014) reports 4.56 MW for linear regression
    assert result["rmse"] < 0.9 * linear
    assert result["mae"] < result["rmse"]


def test_predict_one_row_per_row_and_refuse_gaps(ccpp: pa.Table) -> None:
    model = PlantOutputModel(**FAST)
    with pytest.raises(ModelError, match="not fitted"):
        model.predict(ccpp)
    model.fit(ccpp.slice(0, 2000))
    predicted = model.predict(ccpp.slice(2000, 10))
    assert predicted.schema.equals(PlantOutputModel.output_schema) and predicted.num_rows == 10
    assert clone(model).get_params() == model.get_params()
    gap = ccpp.slice(0, 5).set_column(0, "AT", pa.array([1.0, None, 3.0, 4.0, 5.0]))
    with pytest.raises(ModelError, match="row 1"):
        model.predict(gap)
    with pytest.raises(ModelError, match="'RH'"):
        model.predict(ccpp.drop_columns(["RH"]))


def test_save_and_load_keep_predictions_and_provenance(ccpp: pa.Table, tmp_path: Path) -> None:
    model = PlantOutputModel(**FAST).fit(ccpp.slice(0, 2000))
    path = tmp_path / "plant.json"
    model.save(path)
    loaded = PlantOutputModel.load(path)
    assert loaded.predict(ccpp.slice(2000, 50)).equals(model.predict(ccpp.slice(2000, 50)))
    assert loaded.version == model.version and loaded.version.startswith("plant-output-")
    assert loaded.metadata.params == model.get_params()
    assert 0 < loaded.metadata.metrics["train_rmse_mw"] < 5
    assert "lightgbm" in loaded.metadata.libraries
    other = PlantOutputModel(**FAST).fit(ccpp.slice(2000, 2000))
    assert other.version != model.version  # other training data, other version
    path.write_text('{"format": "something else"}')
    with pytest.raises(ModelError, match=r"not a valueloop\.plant-output/1 model file"):
        PlantOutputModel.load(path)
