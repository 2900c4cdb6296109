"""A gradient-boosting baseline for sites with many regressors (LightGBM).

Where energy depends on many things at once (several product lines, shifts, weather, the state of
other machines), and not linearly, a regression's form is hard to choose; a
:class:`GradientBoostingBaseline` learns it. The regressors are the named columns plus calendar
variables as numbers (hour, weekday, month, hour of the week, in local time).

A booster's fit on its own training rows says nothing about its error, so the Guideline 14
statistics are computed from out-of-sample values: the reference period is cut into ``folds``
contiguous blocks, and each block is predicted by a booster fitted on the others (blocked
cross-validation, which keeps neighbouring, correlated intervals together). ``p`` is then 0, and
the standard error of every counterfactual is the root mean square of those out-of-sample
residuals. The booster that predicts is fitted on the whole reference period. Fitting is
deterministic for a given ``seed``; LightGBM is imported when a baseline is fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from valueloop.analytics.gbm import BoostingSettings, threads_for
from valueloop.errors import ModelError
from valueloop.value.baselines.base import RegressorBaseline
from valueloop.value.baselines.frame import CalendarVariable, Frame

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]


class GradientBoostingBaseline(RegressorBaseline):
    """LightGBM on named regressors and calendar variables; see the module docstring.

    Hyper-parameters: ``regressors`` (column names), ``calendar`` (calendar variables used as
    numeric features), ``timezone``, ``target``, the LightGBM settings ``n_estimators``,
    ``learning_rate``, ``num_leaves`` and ``min_data_in_leaf``, ``folds`` (blocks of the
    cross-validation, at least 2) and ``seed``.
    """

    def __init__(
        self,
        *,
        regressors: Sequence[str],
        calendar: Sequence[CalendarVariable] = (),
        timezone: str = "UTC",
        target: str = "value",
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_data_in_leaf: int = 20,
        folds: int = 5,
        seed: int = 0,
    ) -> None:
        self.regressors = tuple(regressors)
        self.calendar = tuple(calendar)
        self.timezone = timezone
        self.target = target
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.folds = folds
        self.seed = seed

    def _features(self, frame: Frame) -> Matrix:
        columns = [frame.column(name) for name in self.regressors]
        columns += [frame.calendar[name].astype(np.float64) for name in self.calendar]
        if not columns:
            raise ModelError("a gradient-boosting baseline needs regressors or calendar variables")
        return np.column_stack(columns)

    def _train(self, x: Matrix, y: Vector) -> Any:
        import lightgbm as lgb

        settings = BoostingSettings(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            seed=self.seed,
        )
        params = {
            **settings.params("regression"),
            "min_data_in_leaf": self.min_data_in_leaf,
            "num_threads": threads_for(len(y)),
        }
        data = lgb.Dataset(x, label=y, params={"verbose": -1})
        return lgb.train(params, data, num_boost_round=self.n_estimators)

    def _fit(self, frame: Frame) -> tuple[Vector, int]:
        if self.folds < 2:
            raise ModelError(f"invalid hyper-parameter: folds must be at least 2, got {self.folds}")
        x, y = self._features(frame), frame.column(self.target)
        if len(y) < 2 * self.folds:
            raise ModelError(
                f"waiting for data: {len(y)} complete reference intervals for {self.folds} folds"
            )
        held_out = np.empty_like(y)
        for block in np.array_split(np.arange(len(y)), self.folds):
            train = np.ones(len(y), dtype=np.bool_)
            train[block] = False
            held_out[block] = self._train(x[train], y[train]).predict(x[block])
        self._booster = self._train(x, y)
        residuals = y - held_out
        self._error = float(np.sqrt(residuals @ residuals / len(y)))
        return held_out, 0

    def _predict(self, frame: Frame) -> tuple[Vector, Vector]:
        value = np.asarray(self._booster.predict(self._features(frame)), dtype=np.float64)
        return value, np.full(len(value), self._error)

    def describe(self) -> dict[str, Any]:
        """Form, features, trees and the out-of-sample root mean square error."""
        self.statistics()
        return {
            "form": "gradient boosting (LightGBM)",
            "features": [*self.regressors, *self.calendar],
            "trees": int(self._booster.num_trees()),
            "out_of_sample_rmse": self._error,
        }
