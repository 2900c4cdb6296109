"""A multivariate regression baseline: production, operating hours, calendar, any named regressor.

The building tools model energy on weather alone; a plant's energy follows what it makes. A
:class:`RegressionBaseline` fits, by ordinary least squares on the reference period,

    energy = b0 + Σ b_k · regressor_k + Σ calendar effects

where the regressors are columns of the table (production volume in tonnes per interval, operating
hours, degree-days, ambient temperature) and the calendar effects are one indicator per level of a
calendar variable seen in the reference period (weekday, month, hour, hour of the week), less the
first level, which the intercept carries. Each counterfactual carries the OLS prediction standard
error ``s · sqrt(1 + x (XᵀX)⁻¹ xᵀ)``, in the target's unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from valueloop.errors import ModelError
from valueloop.value.baselines.base import RegressorBaseline
from valueloop.value.baselines.frame import CalendarVariable, Codes, Frame

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]
_RANK_TOLERANCE = 1e-10


@dataclass(frozen=True)
class LinearFit:
    """An ordinary least-squares fit: coefficients, ``(XᵀX)⁻¹`` and the residual spread ``s``."""

    names: tuple[str, ...]
    coefficients: Vector
    inverse_gram: Matrix
    sigma: float

    @classmethod
    def fit(cls, x: Matrix, y: Vector, names: Sequence[str]) -> LinearFit:
        """Fit ``y ≈ x b``; :class:`ModelError` if ``x`` has no full column rank or too few rows."""
        rows, columns = x.shape
        if rows <= columns:
            raise ModelError(
                f"waiting for data: {rows} complete reference intervals for {columns} parameters"
            )
        q, r = np.linalg.qr(x)
        diagonal = np.abs(np.diag(r))
        if diagonal.min() <= _RANK_TOLERANCE * diagonal.max():
            raise ModelError(
                "the reference period cannot separate the effects of "
                f"{', '.join(names)}: a regressor is constant or a mix of the others there"
            )
        r_inverse = np.linalg.inv(r)
        coefficients = r_inverse @ (q.T @ y)
        residuals = y - x @ coefficients
        sigma = float(np.sqrt(residuals @ residuals / (rows - columns)))
        return cls(tuple(names), coefficients, r_inverse @ r_inverse.T, sigma)

    @property
    def parameters(self) -> int:
        """``p``, the number of coefficients."""
        return len(self.coefficients)

    def predict(self, x: Matrix) -> tuple[Vector, Vector]:
        """Values and prediction standard errors ``s · sqrt(1 + x (XᵀX)⁻¹ xᵀ)`` of rows ``x``."""
        leverage = ((x @ self.inverse_gram) * x).sum(axis=1)
        return x @ self.coefficients, self.sigma * np.sqrt(1.0 + leverage)

    def as_dict(self) -> dict[str, float]:
        """Coefficients by name."""
        return {
            name: float(value) for name, value in zip(self.names, self.coefficients, strict=True)
        }


def levels_of(codes: Mapping[str, Codes]) -> dict[str, tuple[int, ...]]:
    """The levels of each calendar variable present in ``codes``, sorted."""
    return {
        name: tuple(int(level) for level in np.unique(values)) for name, values in codes.items()
    }


def indicators(
    codes: Mapping[str, Codes],
    levels: Mapping[str, tuple[int, ...]],
    *,
    rows: int,
    drop_first: bool,
) -> tuple[Matrix, tuple[str, ...]]:
    """One 0/1 column per level of each calendar variable (the first dropped if ``drop_first``).

    A level absent from ``levels`` (one the reference period never saw) raises
    :class:`ModelError`: the baseline cannot say what that hour, day or month would have used.
    """
    columns: list[Vector] = []
    names: list[str] = []
    for name, known in levels.items():
        values = codes[name]
        unseen = np.setdiff1d(values, np.asarray(known, dtype=np.int64))
        if unseen.size:
            raise ModelError(
                f"{name} {int(unseen[0])} does not occur in the reference period, so the baseline "
                f"has no effect for it; lengthen the reference period or drop {name}"
            )
        for level in known[1:] if drop_first else known:
            columns.append((values == level).astype(np.float64))
            names.append(f"{name}={level}")
    matrix = np.column_stack(columns) if columns else np.zeros((rows, 0))
    return matrix, tuple(names)


class RegressionBaseline(RegressorBaseline):
    """Ordinary least squares on named regressors and calendar indicators; see the module.

    Hyper-parameters: ``regressors`` (column names, each in its own unit per interval),
    ``calendar`` (calendar variables with one effect per level: ``hour``, ``weekday``, ``month``,
    ``hour_of_week``), ``timezone`` (where the calendar is read) and ``target`` (the metered
    column, ``value`` by default).
    """

    def __init__(
        self,
        *,
        regressors: Sequence[str],
        calendar: Sequence[CalendarVariable] = (),
        timezone: str = "UTC",
        target: str = "value",
    ) -> None:
        self.regressors = tuple(regressors)
        self.calendar = tuple(calendar)
        self.timezone = timezone
        self.target = target

    def _design(self, frame: Frame) -> tuple[Matrix, tuple[str, ...]]:
        dummies, names = indicators(frame.calendar, self._levels, rows=len(frame), drop_first=True)
        values = [frame.column(name) for name in self.regressors]
        x = np.column_stack([np.ones(len(frame)), *values, dummies])
        return x, ("intercept", *self.regressors, *names)

    def _fit(self, frame: Frame) -> tuple[Vector, int]:
        self._levels = levels_of(frame.calendar)
        x, names = self._design(frame)
        self._linear = LinearFit.fit(x, frame.column(self.target), names)
        return x @ self._linear.coefficients, self._linear.parameters

    def _predict(self, frame: Frame) -> tuple[Vector, Vector]:
        x, _ = self._design(frame)
        return self._linear.predict(x)

    def describe(self) -> dict[str, Any]:
        """Form, coefficients (target unit per regressor unit) and residual standard error."""
        self.statistics()
        return {
            "form": "ordinary least squares",
            "coefficients": self._linear.as_dict(),
            "residual_standard_error": self._linear.sigma,
        }
