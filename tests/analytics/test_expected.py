"""Expected-value model on CCPP: net output (MW) from the ambient conditions, with an interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from valueloop.analytics.base import clone
from valueloop.analytics.expected import ExpectedValueModel
from valueloop.datasets.ccpp import CCPP_INPUTS, CCPP_TARGET, load_ccpp
from valueloop.errors import ModelError

FAST: dict[str, Any] = {"n_estimators": 60, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def split() -> tuple[pa.Table, pa.Table]:
    """A seeded 80 % / 20 % split of the 9568 CCPP rows."""
    table = load_ccpp()
    order = np.random.default_rng(0).permutation(table.num_rows)
    cut = int(0.8 * table.num_rows)
    return table.take(pa.array(order[:cut])), table.take(pa.array(order[cut:]))


def _model(**options: Any) -> ExpectedValueModel:
    return ExpectedValueModel(inputs=CCPP_INPUTS, target=CCPP_TARGET, **options)


def test_holdout_error_and_interval_coverage(split: tuple[pa.Table, pa.Table]) -> None:
    train, test = split
    model = _model().fit(train)
    predicted = model.predict(test)
    assert predicted.schema.equals(ExpectedValueModel.output_schema)
    measured = test[CCPP_TARGET].to_numpy()
    expected, lower, upper = (predicted[name].to_numpy() for name in ("expected", "lower", "upper"))
    rmse = float(np.sqrt(np.mean((measured - expected) ** 2)))
    # measured 2.99 MW against a standard deviation of 17.0 MW; Tüfekci (2014) reports 3.3-4 MW
    assert rmse < 4.5 and rmse < 0.2 * measured.std()
    coverage = float(np.mean((lower <= measured) & (measured <= upper)))
    assert 0.7 <= coverage <= 0.9  # measured 0.810 for the nominal 0.8
    assert (lower <= expected).all() and (expected <= upper).all()
    residuals = model.residuals(test).to_numpy()
    assert np.allclose(residuals, measured - expected)
    assert model.metadata.metrics["rows"] == train.num_rows


def test_follows_the_model_contract(split: tuple[pa.Table, pa.Table], tmp_path: Path) -> None:
    """What check_model checks, for a model that answers one row per input row, not per asset.

    (check_model expects one prediction per ``unit``, as the remaining-useful-life models give.)
    """
    train, test = split[0].slice(0, 1500), split[1].slice(0, 200)
    model = _model(**FAST)
    with pytest.raises(ModelError, match="not fitted"):
        model.predict(test)
    assert model.fit(train) is model
    predicted = model.predict(test)
    assert predicted.num_rows == test.num_rows
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(ModelError, match="not fitted"):
        copy.predict(test)
    assert copy.fit(train).predict(test).equals(predicted)  # same seed, same numbers
    assert copy.version == model.version and model.version.startswith("expected-value-")
    path = tmp_path / "expected.json"
    model.save(path)
    loaded = ExpectedValueModel.load(path)
    assert loaded.predict(test).equals(predicted)
    assert loaded.get_params() == model.get_params() and loaded.version == model.version
    assert loaded.metadata == model.metadata and "lightgbm" in loaded.metadata.libraries
    assert _model(**FAST).fit(split[0].slice(1500, 1500)).version != model.version
    path.write_text('{"format": "something else"}')
    with pytest.raises(ModelError, match=r"not a valueloop\.expected-value/1 model file"):
        ExpectedValueModel.load(path)


def test_rows_with_gaps_are_skipped_in_fit_and_nan_in_predict(
    split: tuple[pa.Table, pa.Table],
) -> None:
    train, test = split[0].slice(0, 1000), split[1].slice(0, 5)
    at = train["AT"].to_numpy().copy()
    at[::10] = np.nan
    pe = pa.array([*train["PE"].to_pylist()[:-1], None], pa.float64())
    gappy = train.set_column(0, "AT", pa.array(at)).set_column(4, "PE", pe)
    model = _model(**FAST).fit(gappy)
    assert model.metadata.metrics["rows"] == 1000 - 100 - 1
    holed = test.set_column(1, "V", pa.array([40.0, None, 50.0, np.nan, 60.0]))
    predicted = model.predict(holed)
    assert predicted.num_rows == 5
    for name in ("expected", "lower", "upper"):
        assert np.isnan(predicted[name].to_numpy()).tolist() == [False, True, False, True, False]
    whole = model.predict(holed.take(pa.array([0, 2, 4])))
    assert predicted.take(pa.array([0, 2, 4])).equals(whole)  # row order kept, others unaffected
    assert np.isnan(model.residuals(holed).to_numpy()[[1, 3]]).all()


def test_too_few_rows_is_waiting_for_data(split: tuple[pa.Table, pa.Table]) -> None:
    with pytest.raises(ModelError, match=r"^waiting for data: 49 complete rows"):
        _model().fit(split[0].slice(0, 49))
    at = split[0]["AT"].to_numpy()[:60].copy()
    at[:20] = np.nan
    with pytest.raises(ModelError, match=r"^waiting for data: 40 complete rows"):
        _model().fit(split[0].slice(0, 60).set_column(0, "AT", pa.array(at)))


def test_unknown_or_bad_columns_and_parameters_are_named(split: tuple[pa.Table, pa.Table]) -> None:
    train = split[0].slice(0, 200)
    with pytest.raises(ModelError, match="'wind_speed'"):
        ExpectedValueModel(inputs=["AT", "wind_speed"], target="PE").fit(train)
    with pytest.raises(ModelError, match="'power'"):
        ExpectedValueModel(inputs=["AT"], target="power").fit(train)
    text = train.set_column(3, "RH", pa.array(["humid"] * train.num_rows))
    with pytest.raises(ModelError, match="column 'RH' is not numeric"):
        _model().fit(text)
    model = _model(**FAST).fit(train)
    with pytest.raises(ModelError, match="'AP'"):
        model.predict(train.drop_columns(["AP"]))
    with pytest.raises(ModelError, match="interval must be in"):
        _model(interval=1.2).fit(train)
    with pytest.raises(ModelError, match="target 'PE' is also an input"):
        ExpectedValueModel(inputs=["AT", "PE"], target="PE").fit(train)
