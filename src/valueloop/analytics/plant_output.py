"""Net electrical output of a combined-cycle plant at full load, from the ambient conditions.

:class:`PlantOutputModel` predicts the net output ``PE`` (MW) of the UCI Combined Cycle Power Plant
from ambient temperature ``AT`` (°C), exhaust vacuum ``V`` (cm Hg), ambient pressure ``AP`` (mbar)
and relative humidity ``RH`` (%). It is a LightGBM regression on the four inputs plus a few
physically motivated products (temperature times vacuum and humidity, the pressure's departure
from 1013 mbar), averaged over ``bags`` boosters fitted with different seeds on the same rows.
:func:`evaluate_ccpp` runs the data set's own protocol, 5x2-fold cross-validation: five seeded
shuffles, each split into two halves, each half predicted by a model fitted on the other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.evaluate import Progress
from valueloop.analytics.features import require_columns
from valueloop.analytics.saved import SavedModel
from valueloop.datasets.ccpp import CCPP_INPUTS, CCPP_TARGET, load_ccpp
from valueloop.errors import ModelError

Matrix = npt.NDArray[np.float64]
_STANDARD_PRESSURE = 1013.25  # mbar


def _inputs(data: pa.Table) -> Matrix:
    """The model's input matrix: the four ambient readings and their products."""
    require_columns(data, CCPP_INPUTS)
    at, v, ap, rh = (
        data[name].to_numpy(zero_copy_only=False).astype(float) for name in CCPP_INPUTS
    )
    x = np.column_stack([at, v, ap, rh, at * v, at * rh, v * rh, ap - _STANDARD_PRESSURE])
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ModelError(f"row {int(np.argmax(bad))} has a missing or non-finite ambient reading")
    return x


class PlantOutputModel(SavedModel):
    """Bagged LightGBM regression of full-load net output (MW); see the module docstring.

    Hyper-parameters: the LightGBM settings ``n_estimators``, ``learning_rate``, ``num_leaves``,
    ``min_child_samples``, ``bagging_fraction``, ``feature_fraction``, ``bags`` (boosters
    averaged), ``seed`` and ``threads``.

    Metadata metrics: ``train_rmse_mw`` (MW).
    """

    output_schema: ClassVar[pa.Schema] = pa.schema([(CCPP_TARGET, pa.float64())])
    file_format: ClassVar[str] = "valueloop.plant-output/1"
    version_prefix: ClassVar[str] = "plant-output"
    load_errors: ClassVar[tuple[type[Exception], ...]] = (
        KeyError,
        TypeError,
        lgb.basic.LightGBMError,
    )

    def __init__(
        self,
        *,
        n_estimators: int = 2000,
        learning_rate: float = 0.02,
        num_leaves: int = 31,
        min_child_samples: int = 5,
        bagging_fraction: float = 0.8,
        feature_fraction: float = 0.8,
        bags: int = 3,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.bagging_fraction = bagging_fraction
        self.feature_fraction = feature_fraction
        self.bags = bags
        self.seed = seed
        self.threads = threads
        self._boosters: list[lgb.Booster] | None = None

    def fit(self, data: pa.Table) -> Self:
        """Learn from rows with ``AT``, ``V``, ``AP``, ``RH`` and the measured ``PE`` (MW)."""
        if self.bags < 1 or self.n_estimators < 1:
            raise ModelError("invalid hyper-parameter: expected bags >= 1 and n_estimators >= 1")
        require_columns(data, (CCPP_TARGET,))
        x, y = _inputs(data), data[CCPP_TARGET].to_numpy(zero_copy_only=False).astype(float)
        if not np.isfinite(y).all():
            raise ModelError(f"column {CCPP_TARGET!r} has missing values: drop those rows")
        self._boosters = [self._booster(x, y, self.seed + bag) for bag in range(self.bags)]
        digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
        fitted = np.mean([booster.predict(x) for booster in self._boosters], axis=0)
        train_rmse = float(np.sqrt(np.mean((fitted - y) ** 2)))
        self._record_fit(digest, {"train_rmse_mw": train_rmse})
        return self

    def predict(self, data: pa.Table) -> pa.Table:
        """Predicted net output ``PE`` (MW), one row per row of ``data``."""
        boosters = self._require_fitted()
        x = _inputs(data)
        predicted = np.mean([booster.predict(x) for booster in boosters], axis=0)
        return pa.table({CCPP_TARGET: pa.array(predicted, pa.float64())})

    def _state(self) -> dict[str, Any]:
        return {"boosters": [booster.model_to_string() for booster in self._require_fitted()]}

    def _restore(self, state: dict[str, Any], source: str | Path) -> None:
        self._boosters = [lgb.Booster(model_str=text) for text in state["boosters"]]

    def _require_fitted(self) -> list[lgb.Booster]:
        if self._boosters is None:
            raise self._not_fitted()
        return self._boosters

    def _booster(self, x: Matrix, y: Matrix, seed: int) -> lgb.Booster:
        params = {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "feature_fraction": self.feature_fraction,
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.threads,
            "verbose": -1,
        }
        data = lgb.Dataset(x, label=y, params={"verbose": -1})
        return lgb.train(params, data, num_boost_round=self.n_estimators)


def evaluate_ccpp(
    model_factory: Callable[[], PlantOutputModel] = PlantOutputModel,
    *,
    repeats: int = 5,
    seed: int = 0,
    data: pa.Table | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """5x2-fold cross-validation on the CCPP data (or ``data``): RMSE and MAE in MW.

    Each of ``repeats`` shuffles (seeded by ``seed + repeat``) is split into two halves, and each
    half is predicted by a fresh model fitted on the other. Returns ``{"rmse", "mae"}`` (means
    over the folds), ``"folds"`` (each fold's ``rmse``, ``mae``, ``fit_seconds``) and ``"rows"``.
    ``progress(name, done, total)`` is called before each fold and at the end.
    """
    table = load_ccpp() if data is None else data
    require_columns(table, (*CCPP_INPUTS, CCPP_TARGET))
    total = 2 * repeats
    folds: list[dict[str, float]] = []
    for repeat in range(repeats):
        order = np.random.default_rng(seed + repeat).permutation(table.num_rows)
        halves = (order[: table.num_rows // 2], order[table.num_rows // 2 :])
        for fit_rows, test_rows in (halves, halves[::-1]):
            if progress is not None:
                progress(f"repeat {repeat + 1}", len(folds), total)
            started = time.perf_counter()
            model = model_factory().fit(table.take(pa.array(fit_rows)))
            fit_seconds = time.perf_counter() - started
            test = table.take(pa.array(test_rows))
            error = model.predict(test)[CCPP_TARGET].to_numpy() - test[CCPP_TARGET].to_numpy()
            folds.append(
                {
                    "rmse": float(np.sqrt(np.mean(error**2))),
                    "mae": float(np.mean(np.abs(error))),
                    "fit_seconds": fit_seconds,
                }
            )
    if progress is not None:
        progress("", total, total)
    return {
        "rmse": float(np.mean([fold["rmse"] for fold in folds])),
        "mae": float(np.mean([fold["mae"] for fold in folds])),
        "folds": folds,
        "rows": table.num_rows,
    }
