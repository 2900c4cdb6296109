"""The contract every baseline follows: fit on a reference period, predict the counterfactual.

A baseline is the model of what a meter would have read had nothing been done (IPMVP's adjusted
baseline). It is configured only through the keyword arguments of ``__init__`` (its
hyper-parameters, stored and nothing more; :meth:`Baseline.get_params` returns them, so
:func:`~valueloop.analytics.base.clone` builds an unfitted copy). :meth:`Baseline.fit` learns from
a reference period and returns the baseline; :meth:`Baseline.predict` returns, for each interval of
a reporting period, the counterfactual and its standard error; :meth:`Baseline.statistics` says how
well the baseline fits its reference period in ASHRAE Guideline 14's terms, with pass or fail;
:meth:`Baseline.savings` measures a reporting period against it, with the fractional savings
uncertainty. Tables are described in :mod:`.frame`; every value is in the target's unit per
interval (kWh per day for a daily electricity meter).

Bad input, documented behaviour: reference rows missing the target or a regressor are left out of
the fit; a reporting row missing a regressor gets no counterfactual (NaN, with a NaN standard
error) and is counted as missing by :meth:`Baseline.savings`, never filled in silently; calling
``predict``, ``statistics`` or ``savings`` before ``fit`` raises
:class:`~valueloop.errors.ModelError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.base import Estimator
from valueloop.errors import ModelError
from valueloop.value.baselines.frame import TIME, TIME_TYPE, CalendarVariable, Frame, read_frame
from valueloop.value.baselines.statistics import (
    BaselineStatistics,
    Savings,
    g14_statistics,
    resolution_of,
    savings,
)

Vector = npt.NDArray[np.float64]

COUNTERFACTUAL_SCHEMA = pa.schema(
    [(TIME, TIME_TYPE), ("counterfactual", pa.float64()), ("standard_error", pa.float64())]
)
"""What :meth:`Baseline.predict` returns: per interval, the counterfactual and its standard error
(both in the target's unit), in time order."""


class Baseline(Estimator, ABC):
    """Base of every baseline kind; see the module docstring.

    Subclasses set ``target`` and ``timezone`` in ``__init__``, name the columns they read
    (:attr:`inputs`) and calendar variables (:attr:`calendar_variables`), and implement
    :meth:`_fit`, :meth:`_predict` and :meth:`describe`.
    """

    output_schema: ClassVar[pa.Schema] = COUNTERFACTUAL_SCHEMA
    target: str
    timezone: str
    _statistics: BaselineStatistics | None = None

    @property
    @abstractmethod
    def inputs(self) -> tuple[str, ...]:
        """The columns, besides ``ts`` and the target, that the baseline reads."""

    @property
    def calendar_variables(self) -> tuple[CalendarVariable, ...]:
        """The calendar variables the baseline reads (in local time); none by default."""
        return ()

    def _frame(self, table: pa.Table, *, with_target: bool) -> Frame:
        columns: Sequence[str] = (self.target, *self.inputs) if with_target else self.inputs
        return read_frame(
            table,
            columns,
            calendar=self.calendar_variables,
            timezone=self.timezone,
            required=self.inputs,
        )

    def fit(self, reference: pa.Table) -> Self:
        """Learn from the reference period ``reference`` and return ``self``."""
        frame = self._frame(reference, with_target=True)
        complete = frame.complete & np.isfinite(frame.column(self.target))
        rows = frame.rows(complete)
        if len(rows) < 2:
            raise ModelError(
                f"waiting for data: {len(rows)} complete reference intervals, at least 2 needed"
            )
        self._statistics = None
        fitted, parameters = self._fit(rows)
        self._statistics = g14_statistics(
            rows.column(self.target),
            fitted,
            parameters=parameters,
            resolution=resolution_of(rows.ts),
        )
        return self

    def statistics(self) -> BaselineStatistics:
        """The Guideline 14 statistics of the fit on its reference period."""
        if self._statistics is None:
            raise ModelError(f"{type(self).__name__} is not fitted: call fit first")
        return self._statistics

    def _counterfactual(self, frame: Frame) -> tuple[Vector, Vector]:
        self.statistics()
        value = np.full(len(frame), np.nan)
        error = np.full(len(frame), np.nan)
        if frame.complete.any():
            rows = frame.rows(frame.complete)
            value[frame.complete], error[frame.complete] = self._predict(rows)
        return value, error

    def predict(self, reporting: pa.Table) -> pa.Table:
        """Per interval of ``reporting``, in time order: the counterfactual and its standard error.

        The target column is not needed. Intervals missing a regressor get NaN in both columns.
        """
        frame = self._frame(reporting, with_target=False)
        value, error = self._counterfactual(frame)
        return pa.table(
            [pa.array(frame.ts, TIME_TYPE), pa.array(value), pa.array(error)],
            schema=COUNTERFACTUAL_SCHEMA,
        )

    def savings(self, reporting: pa.Table) -> Savings:
        """The saving of ``reporting`` (which holds the target), with its G14 uncertainty."""
        frame = self._frame(reporting, with_target=True)
        value, _ = self._counterfactual(frame)
        return savings(self.statistics(), value, frame.column(self.target))

    @abstractmethod
    def _fit(self, frame: Frame) -> tuple[Vector, int]:
        """Fit on complete reference rows; return the fitted values and the parameters fitted.

        The fitted values are those the Guideline 14 statistics are computed from: in-sample for
        a regression (``p`` its coefficients), out-of-sample for a learner whose in-sample fit
        says nothing about its error (``p`` = 0).
        """

    @abstractmethod
    def _predict(self, frame: Frame) -> tuple[Vector, Vector]:
        """Counterfactual and standard error of rows with every input present."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """The fitted model in plain values (its form and coefficients), for a statement."""


class RegressorBaseline(Baseline):
    """A baseline that reads named ``regressors`` and ``calendar`` variables (its inputs)."""

    regressors: tuple[str, ...]
    calendar: tuple[CalendarVariable, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        """The regressor columns."""
        return self.regressors

    @property
    def calendar_variables(self) -> tuple[CalendarVariable, ...]:
        """The calendar variables the baseline reads."""
        return self.calendar
