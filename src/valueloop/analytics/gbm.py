"""A LightGBM point estimate with a prediction interval, as the generic models fit it.

:class:`IntervalBoosters` holds three boosters fitted on the same rows: the conditional mean (L2
loss) and the ``(1 - interval) / 2`` and ``(1 + interval) / 2`` quantiles (pinball loss), so that
``interval`` of the outcomes should fall between the two; a margin measured on rows the quantile
boosters did not see calibrates them. The three are fitted independently, so their predictions
may cross; :meth:`IntervalBoosters.predict` widens the interval to contain the point estimate
(lower <= value <= upper). Fitting is deterministic for a given ``seed`` and uses two threads at
most (see :func:`threads_for`). LightGBM is imported when a booster is fitted or read, not at
import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from valueloop.errors import ModelError

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]
THREADS = 2
_ROWS_PER_THREAD = 50_000
CALIBRATION = 0.2  # fraction of the rows, the last ones, that calibrates the interval
_ROLES = ("value", "lower", "upper")


def threads_for(rows: int) -> int:
    """LightGBM threads for ``rows`` rows: one below 50 000 rows, else :data:`THREADS` (two).

    On small data a second thread saves little and costs synchronisation; on a machine busy with
    other work, LightGBM's waiting threads spin and make a fit ten times slower than on one thread.
    """
    return min(THREADS, 1 + rows // _ROWS_PER_THREAD)


def check_interval(interval: float) -> tuple[float, float]:
    """The lower and upper quantile levels of a central ``interval`` (0 < interval < 1)."""
    if not 0.0 < interval < 1.0:
        raise ModelError(f"invalid hyper-parameter: interval must be in (0, 1), got {interval}")
    return (1.0 - interval) / 2.0, (1.0 + interval) / 2.0


@dataclass(frozen=True)
class BoostingSettings:
    """The LightGBM settings shared by the three boosters."""

    n_estimators: int
    learning_rate: float
    num_leaves: int
    seed: int

    def params(self, objective: str, alpha: float | None = None) -> dict[str, Any]:
        """LightGBM training parameters for ``objective`` (and quantile level ``alpha``)."""
        if self.n_estimators < 1 or self.num_leaves < 2 or self.learning_rate <= 0:
            raise ModelError(
                "invalid hyper-parameter: expected n_estimators >= 1, num_leaves >= 2 "
                "and learning_rate > 0"
            )
        params: dict[str, Any] = {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }
        if alpha is not None:
            params["alpha"] = alpha
        return params


@dataclass(frozen=True)
class IntervalBoosters:
    """The mean and two quantile boosters of one target; see the module docstring."""

    value: Any
    lower: Any
    upper: Any
    margin: float

    @classmethod
    def fit(
        cls, x: Matrix, y: Vector, *, interval: float, settings: BoostingSettings
    ) -> IntervalBoosters:
        """Fit the boosters on the finite rows ``x`` (features) and ``y`` (target), in time order.

        The point booster learns from every row. The quantile boosters learn from the first
        ``1 - CALIBRATION`` of the rows, and the rest calibrates them (split conformalised quantile
        regression, Romano et al. 2019): the interval is widened (or narrowed) by the margin that
        makes ``interval`` of those unseen rows fall inside, since quantile boosters are
        overconfident on rows they did not see.
        """
        import lightgbm as lgb

        low, high = check_interval(interval)
        if len(y) < 2:
            raise ModelError(f"waiting for data: {len(y)} complete rows, at least 2 needed")
        split = min(max(1, round(len(y) * (1.0 - CALIBRATION))), len(y) - 1)

        def train(params: dict[str, Any], rows: slice) -> Any:
            label = y[rows]
            data = lgb.Dataset(x[rows], label=label, params={"verbose": -1})
            params = {**params, "num_threads": threads_for(len(label))}
            return lgb.train(params, data, num_boost_round=settings.n_estimators)

        value = train(settings.params("regression"), slice(None))
        lower = train(settings.params("quantile", low), slice(None, split))
        upper = train(settings.params("quantile", high), slice(None, split))
        held_x, held_y = x[split:], y[split:]
        score = np.maximum(_predict(lower, held_x) - held_y, held_y - _predict(upper, held_x))
        level = min(1.0, interval * (1.0 + 1.0 / len(held_y)))
        return cls(value, lower, upper, float(np.quantile(score, level, method="higher")))

    def predict_value(self, x: Matrix) -> Vector:
        """The point estimate alone for each row of ``x`` (finite rows only)."""
        return _predict(self.value, x)

    def predict(self, x: Matrix) -> tuple[Vector, Vector, Vector]:
        """Point estimate, lower and upper bound for each row of ``x`` (finite rows only)."""
        if x.shape[0] == 0:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty.copy(), empty.copy()
        value = _predict(self.value, x)
        lower = _predict(self.lower, x) - self.margin
        upper = _predict(self.upper, x) + self.margin
        return value, np.minimum(lower, value), np.maximum(upper, value)

    def to_state(self) -> dict[str, Any]:
        """The boosters as LightGBM model strings and the calibration margin, for a JSON file."""
        state: dict[str, Any] = {role: getattr(self, role).model_to_string() for role in _ROLES}
        return {**state, "margin": self.margin}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], source: str | Path) -> IntervalBoosters:
        """The boosters of :meth:`to_state`; :class:`ModelError` naming ``source`` if broken."""
        import lightgbm as lgb

        try:
            value, lower, upper = (lgb.Booster(model_str=state[role]) for role in _ROLES)
            return cls(value, lower, upper, float(state["margin"]))
        except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as err:
            raise ModelError(f"cannot load model from {source}: {err}") from err


def _predict(booster: Any, x: Matrix) -> Vector:
    return np.asarray(booster.predict(x, num_threads=threads_for(len(x))), dtype=np.float64)
