"""Change-point baselines on temperature, daily and hourly, in the manner of CalTRACK's daily model.

CalTRACK 2.0's daily method (CalTRACK Methods, sections 3.2-3.4; as implemented by eemeter 2)
models a day's energy as a base load plus heating and cooling slopes above balance points:

    energy = intercept + β_h · max(bp_h - T, 0) + β_c · max(T - bp_c, 0)

with ``T`` the interval's mean outdoor temperature. Four forms compete: intercept only, heating
only, cooling only, heating and cooling (``bp_h <= bp_c``). Each balance point is searched on a
grid (30 to 90 °F in steps of 1 °F, CalTRACK 2.2.2.3 allows steps of 1, 2 or 3 °F); a candidate
qualifies when its slopes are positive and the reference period holds at least 10 days with
non-zero degree-days and at least 20 degree-days (°F) in total for each slope; among the
qualified candidates, the one with the highest adjusted R² is kept, and the intercept-only model
is always a candidate, so a meter that does not follow the weather falls back to its mean.

:class:`DailyChangePoint` is that model. :class:`HourlyChangePoint` applies it to hourly intervals
(degree-hours) with one intercept per hour of the week instead of one base load, since a
building's or a line's hourly load follows its schedule before the weather; the sufficiency rules
then count days' worth of hours. The search solves every candidate at once from the normal
equations after sweeping the intercepts out (Frisch-Waugh-Lovell), so an hourly year takes well
under a second; the chosen model is then refitted by least squares for its coefficients and
prediction standard errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from valueloop.errors import ModelError
from valueloop.value.baselines.base import Baseline
from valueloop.value.baselines.frame import CalendarVariable, Frame
from valueloop.value.baselines.statistics import resolution_of

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]
TemperatureUnit = Literal["degF", "degC"]
Form = Literal["intercept_only", "hdd_only", "cdd_only", "hdd_cdd"]

_ROWS_PER_DAY = {"daily": 1, "hourly": 24}


def fahrenheit_to(unit: TemperatureUnit, fahrenheit: Vector) -> Vector:
    """Temperatures in °F expressed in ``unit``."""
    if unit == "degF":
        return fahrenheit
    return np.asarray((fahrenheit - 32.0) * 5.0 / 9.0, dtype=np.float64)


@dataclass(frozen=True)
class Candidate:
    """The best model of one form: balance points (or None), SSE and parameters."""

    form: Form
    heating: float | None
    cooling: float | None
    sse: float
    parameters: int

    def adjusted_r_squared(self, rows: int, total: float) -> float:
        """``1 - (SSE / (n - p)) / (SST / (n - 1))``."""
        if rows - self.parameters < 1 or total <= 0:
            return -np.inf
        return 1.0 - (self.sse / (rows - self.parameters)) / (total / (rows - 1))


def _sweep(matrix: Matrix, groups: npt.NDArray[np.int64] | None) -> Matrix:
    """``matrix`` less its mean within each group (the whole column when ``groups`` is None)."""
    if groups is None:
        return np.asarray(matrix - matrix.mean(axis=0), dtype=np.float64)
    _, inverse = np.unique(groups, return_inverse=True)
    members = np.zeros((int(inverse.max()) + 1, len(inverse)))
    members[inverse, np.arange(len(inverse))] = 1.0
    means = (members @ matrix) / members.sum(axis=1)[:, None]
    return np.asarray(matrix - means[inverse], dtype=np.float64)


@dataclass(frozen=True)
class _Slopes:
    """Sums of one family of degree-day columns (one per balance point) after the sweep."""

    squares: Vector
    with_target: Vector
    sufficient: npt.NDArray[np.bool_]


class ChangePointSearch:
    """Every CalTRACK candidate of one reference period, solved from the normal equations."""

    def __init__(
        self,
        temperature: Vector,
        target: Vector,
        grid: Vector,
        groups: npt.NDArray[np.int64] | None,
        *,
        min_nonzero: int,
        min_total: float,
        rows_per_day: int,
    ) -> None:
        self.grid = grid
        self.rows = len(target)
        self.intercepts = 1 if groups is None else len(np.unique(groups))
        heating = np.maximum(grid[None, :] - temperature[:, None], 0.0)
        cooling = np.maximum(temperature[:, None] - grid[None, :], 0.0)
        y = _sweep(target[:, None], groups)[:, 0]
        self.within = float(y @ y)
        self.total = float(((target - target.mean()) ** 2).sum())
        swept_h, swept_c = _sweep(heating, groups), _sweep(cooling, groups)

        def slopes(raw: Matrix, swept: Matrix) -> _Slopes:
            enough = (raw > 0).sum(axis=0) >= min_nonzero * rows_per_day
            enough &= raw.sum(axis=0) / rows_per_day >= min_total
            return _Slopes((swept**2).sum(axis=0), swept.T @ y, enough)

        self.heating, self.cooling = slopes(heating, swept_h), slopes(cooling, swept_c)
        self.cross = swept_h.T @ swept_c

    def _single(self, form: Form, slopes: _Slopes) -> Candidate | None:
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = slopes.with_target / slopes.squares
            sse = self.within - slopes.with_target * beta
        valid = slopes.sufficient & (slopes.squares > 0) & (beta > 0)
        if not valid.any():
            return None
        best = int(np.argmin(np.where(valid, sse, np.inf)))
        point = float(self.grid[best])
        heating, cooling = (point, None) if form == "hdd_only" else (None, point)
        return Candidate(form, heating, cooling, float(sse[best]), self.intercepts + 1)

    def _both(self) -> Candidate | None:
        h, c, hc = self.heating, self.cooling, self.cross
        hh, cc = h.squares[:, None], c.squares[None, :]
        hy, cy = h.with_target[:, None], c.with_target[None, :]
        det = hh * cc - hc**2
        with np.errstate(divide="ignore", invalid="ignore"):
            beta_h = (cc * hy - hc * cy) / det
            beta_c = (hh * cy - hc * hy) / det
            sse = self.within - beta_h * hy - beta_c * cy
        valid = h.sufficient[:, None] & c.sufficient[None, :]
        valid &= self.grid[:, None] <= self.grid[None, :]
        valid &= (det > 1e-9 * hh * cc) & (beta_h > 0) & (beta_c > 0)
        if not valid.any():
            return None
        i, j = np.unravel_index(int(np.argmin(np.where(valid, sse, np.inf))), sse.shape)
        return Candidate(
            "hdd_cdd",
            float(self.grid[i]),
            float(self.grid[j]),
            float(sse[i, j]),
            self.intercepts + 2,
        )

    def candidates(self) -> list[Candidate]:
        """The best qualified candidate of each form, intercept only first."""
        found = [Candidate("intercept_only", None, None, self.within, self.intercepts)]
        for candidate in (
            self._single("hdd_only", self.heating),
            self._single("cdd_only", self.cooling),
            self._both(),
        ):
            if candidate is not None:
                found.append(candidate)
        return found

    def best(self) -> Candidate:
        """The candidate of highest adjusted R² (the simpler one on a tie)."""
        found = self.candidates()
        scores = [c.adjusted_r_squared(self.rows, self.total) for c in found]
        return found[int(np.argmax(scores))]


@dataclass(frozen=True)
class GroupedFit:
    """Least squares with one intercept per group and common slopes, solved group-wise.

    Sweeping the group means out of the slopes' columns and the target leaves a regression with
    as many unknowns as slopes (Frisch-Waugh-Lovell); each group's intercept is then its mean
    less the slopes times its mean degree-days. The prediction standard error of a row of group
    ``g`` is the exact one of the model with indicators,
    ``s · sqrt(1 + 1/n_g + (x - x̄_g)ᵀ (X̃ᵀX̃)⁻¹ (x - x̄_g))``, without building the indicators.
    """

    levels: npt.NDArray[np.int64]
    counts: Vector
    intercepts: Vector
    means: Matrix
    slopes: Vector
    inverse_gram: Matrix
    sigma: float

    @classmethod
    def fit(cls, x: Matrix, y: Vector, groups: npt.NDArray[np.int64] | None) -> GroupedFit:
        """Fit ``y ≈ intercept[group] + x · slopes``."""
        codes = np.zeros(len(y), dtype=np.int64) if groups is None else groups
        levels, inverse = np.unique(codes, return_inverse=True)
        counts = np.bincount(inverse).astype(np.float64)
        sums = [np.bincount(inverse, weights=column) for column in x.T]
        means = np.column_stack(sums) / counts[:, None] if sums else np.zeros((len(levels), 0))
        swept = x - means[inverse]
        gram = swept.T @ swept
        inverse_gram = np.asarray(np.linalg.inv(gram) if x.shape[1] else gram, dtype=np.float64)
        slopes = inverse_gram @ (swept.T @ y)
        intercepts = np.bincount(inverse, weights=y) / counts - means @ slopes
        residuals = y - intercepts[inverse] - x @ slopes
        parameters = len(levels) + x.shape[1]
        if len(y) <= parameters:
            raise ModelError(
                f"waiting for data: {len(y)} complete reference intervals for {parameters} "
                "parameters"
            )
        sigma = float(np.sqrt(residuals @ residuals / (len(y) - parameters)))
        return cls(levels, counts, intercepts, means, slopes, inverse_gram, sigma)

    @property
    def parameters(self) -> int:
        """``p``: the intercepts and the slopes."""
        return len(self.levels) + len(self.slopes)

    def predict(self, x: Matrix, groups: npt.NDArray[np.int64] | None) -> tuple[Vector, Vector]:
        """Values and prediction standard errors of rows ``x`` in ``groups`` (all seen in fit)."""
        codes = np.zeros(len(x), dtype=np.int64) if groups is None else groups
        index = np.searchsorted(self.levels, codes)
        offset = x - self.means[index]
        leverage = 1.0 / self.counts[index] + ((offset @ self.inverse_gram) * offset).sum(axis=1)
        value = self.intercepts[index] + x @ self.slopes
        return value, self.sigma * np.sqrt(1.0 + leverage)


class DailyChangePoint(Baseline):
    """CalTRACK-style heating and cooling change-point baseline; see the module docstring.

    Hyper-parameters: ``temperature`` (the column of mean outdoor temperature per interval),
    ``temperature_unit`` (``degF`` or ``degC``: the balance-point grid and the degree-day minimums,
    stated in °F as CalTRACK does, are converted to it), ``balance_point_range`` and
    ``balance_point_step`` (°F), ``min_nonzero_days`` and ``min_total_degree_days`` (°F·day, per
    slope), ``intercepts`` (a calendar variable with one intercept per level, or None for a single
    base load), ``timezone`` (where that calendar is read) and ``target``.
    """

    def __init__(
        self,
        *,
        temperature: str = "temperature",
        temperature_unit: TemperatureUnit = "degF",
        balance_point_range: Sequence[float] = (30.0, 90.0),
        balance_point_step: float = 1.0,
        min_nonzero_days: int = 10,
        min_total_degree_days: float = 20.0,
        intercepts: CalendarVariable | None = None,
        timezone: str = "UTC",
        target: str = "value",
    ) -> None:
        self.temperature = temperature
        self.temperature_unit = temperature_unit
        self.balance_point_range = tuple(balance_point_range)
        self.balance_point_step = balance_point_step
        self.min_nonzero_days = min_nonzero_days
        self.min_total_degree_days = min_total_degree_days
        self.intercepts = intercepts
        self.timezone = timezone
        self.target = target

    @property
    def inputs(self) -> tuple[str, ...]:
        """The temperature column."""
        return (self.temperature,)

    @property
    def calendar_variables(self) -> tuple[CalendarVariable, ...]:
        """The intercepts' calendar variable, if any."""
        return () if self.intercepts is None else (self.intercepts,)

    def _grid(self) -> Vector:
        low, high = (float(value) for value in self.balance_point_range)
        if not (self.balance_point_step > 0 and low <= high):
            raise ModelError(
                "invalid hyper-parameter: balance_point_range must be (low, high) with low <= "
                "high and balance_point_step > 0"
            )
        steps = int(np.floor((high - low) / self.balance_point_step + 1e-9))
        fahrenheit = low + self.balance_point_step * np.arange(steps + 1, dtype=np.float64)
        return fahrenheit_to(self.temperature_unit, fahrenheit)

    def _groups(self, frame: Frame) -> npt.NDArray[np.int64] | None:
        return None if self.intercepts is None else frame.calendar[self.intercepts]

    def _slopes(self, frame: Frame) -> Matrix:
        temperature = frame.column(self.temperature)
        columns = []
        if self._model.heating is not None:
            columns.append(np.maximum(self._model.heating - temperature, 0.0))
        if self._model.cooling is not None:
            columns.append(np.maximum(temperature - self._model.cooling, 0.0))
        return np.column_stack(columns) if columns else np.zeros((len(frame), 0))

    def _fit(self, frame: Frame) -> tuple[Vector, int]:
        resolution = resolution_of(frame.ts)
        if resolution not in _ROWS_PER_DAY:
            raise ModelError(
                f"a change-point baseline needs daily or hourly intervals, not {resolution} ones"
            )
        per_degree = 1.0 if self.temperature_unit == "degF" else 5.0 / 9.0
        search = ChangePointSearch(
            frame.column(self.temperature),
            frame.column(self.target),
            self._grid(),
            self._groups(frame),
            min_nonzero=self.min_nonzero_days,
            min_total=self.min_total_degree_days * per_degree,
            rows_per_day=_ROWS_PER_DAY[resolution],
        )
        self._model = search.best()
        self._adjusted_r_squared = self._model.adjusted_r_squared(search.rows, search.total)
        self._fitted = GroupedFit.fit(
            self._slopes(frame), frame.column(self.target), self._groups(frame)
        )
        return self._fitted.predict(self._slopes(frame), self._groups(frame))[0], (
            self._fitted.parameters
        )

    def _predict(self, frame: Frame) -> tuple[Vector, Vector]:
        groups = self._groups(frame)
        if groups is not None:
            unseen = np.setdiff1d(groups, self._fitted.levels)
            if unseen.size:
                raise ModelError(
                    f"{self.intercepts} {int(unseen[0])} does not occur in the reference period, "
                    "so the baseline has no base load for it; lengthen the reference period"
                )
        return self._fitted.predict(self._slopes(frame), groups)

    def _coefficients(self) -> dict[str, float]:
        fit = self._fitted
        if self.intercepts is None:
            named = {"intercept": float(fit.intercepts[0])}
        else:
            named = {
                f"intercept[{self.intercepts}={level}]": float(value)
                for level, value in zip(fit.levels, fit.intercepts, strict=True)
            }
        slopes = [
            name
            for name, point in (
                ("heating_slope", self._model.heating),
                ("cooling_slope", self._model.cooling),
            )
            if point is not None
        ]
        named.update({name: float(value) for name, value in zip(slopes, fit.slopes, strict=True)})
        return named

    def describe(self) -> dict[str, Any]:
        """Form, balance points (``temperature_unit``), coefficients and adjusted R²."""
        self.statistics()
        return {
            "form": self._model.form,
            "heating_balance_point": self._model.heating,
            "cooling_balance_point": self._model.cooling,
            "temperature_unit": self.temperature_unit,
            "coefficients": self._coefficients(),
            "adjusted_r_squared": self._adjusted_r_squared,
        }


class HourlyChangePoint(DailyChangePoint):
    """The change-point baseline on hourly intervals, one intercept per hour of the week.

    The hyper-parameters are those of :class:`DailyChangePoint`; ``intercepts`` defaults to
    ``hour_of_week``.
    """

    def __init__(
        self,
        *,
        temperature: str = "temperature",
        temperature_unit: TemperatureUnit = "degF",
        balance_point_range: Sequence[float] = (30.0, 90.0),
        balance_point_step: float = 1.0,
        min_nonzero_days: int = 10,
        min_total_degree_days: float = 20.0,
        intercepts: CalendarVariable | None = "hour_of_week",
        timezone: str = "UTC",
        target: str = "value",
    ) -> None:
        super().__init__(
            temperature=temperature,
            temperature_unit=temperature_unit,
            balance_point_range=balance_point_range,
            balance_point_step=balance_point_step,
            min_nonzero_days=min_nonzero_days,
            min_total_degree_days=min_total_degree_days,
            intercepts=intercepts,
            timezone=timezone,
            target=target,
        )
