"""The shared contract check every baseline kind passes, third-party kinds included."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.analytics.base import clone
from valueloop.errors import ModelError
from valueloop.value.baselines.base import COUNTERFACTUAL_SCHEMA, Baseline
from valueloop.value.baselines.frame import TIME, TIME_TYPE


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _expect_unfitted(call: Callable[[], Any], message: str) -> None:
    try:
        call()
    except ModelError:
        return
    raise AssertionError(message)


def _check_prediction(baseline: Baseline, reporting: pa.Table, predicted: pa.Table) -> None:
    _expect(
        predicted.schema.equals(COUNTERFACTUAL_SCHEMA),
        f"predict returned schema {predicted.schema}, expected {COUNTERFACTUAL_SCHEMA}",
    )
    expected_times = pc.sort_indices(reporting, [(TIME, "ascending")])
    times = reporting[TIME].cast(TIME_TYPE).take(expected_times)
    _expect(predicted[TIME].equals(times), "predict did not return one row per interval, in order")
    value = predicted["counterfactual"].to_numpy()
    error = predicted["standard_error"].to_numpy()
    made = np.isfinite(value)
    _expect(bool(made.any()), "predict made no counterfactual for the reporting period")
    _expect(
        bool(np.all(np.isfinite(error[made]) & (error[made] > 0))),
        "a counterfactual has a standard error that is not a positive number",
    )
    _expect(bool(np.all(np.isnan(error[~made]))), "a missing counterfactual has a standard error")


def _check_statistics(baseline: Baseline) -> None:
    stats = baseline.statistics()
    _expect(stats.rows > stats.parameters >= 0, f"{stats.rows} rows for {stats.parameters} params")
    for name in ("cv_rmse", "nmbe", "r_squared", "autocorrelation", "effective_rows"):
        _expect(math.isfinite(getattr(stats, name)), f"statistic {name} is not finite")
    _expect(stats.cv_rmse > 0, "CV(RMSE) is not positive")
    _expect(stats.r_squared <= 1.0, "R² exceeds 1")
    _expect(0 < stats.effective_rows <= stats.rows, "n' is not within (0, n]")
    json.dumps(stats.as_dict())


def _check_savings(baseline: Baseline, reporting: pa.Table, predicted: pa.Table) -> None:
    result = baseline.savings(reporting)
    _expect(result.rows + result.missing == reporting.num_rows, "savings lost track of intervals")
    low, high = result.uncertainty[0.68], result.uncertainty[0.90]
    _expect(0 < low < high < math.inf, f"savings uncertainty 68 % {low}, 90 % {high}")
    observed = reporting.sort_by(TIME)[baseline.target].to_numpy(zero_copy_only=False)
    value = predicted["counterfactual"].to_numpy()
    both = np.isfinite(value) & np.isfinite(np.asarray(observed, dtype=np.float64))
    _expect(
        math.isclose(result.counterfactual, float(value[both].sum()), rel_tol=1e-9, abs_tol=1e-9),
        "the savings' counterfactual total is not the sum of the predictions",
    )


def _check_params(baseline: Baseline) -> None:
    params = baseline.get_params()
    stored = json.loads(json.dumps(params))
    factory: Any = type(baseline)
    _expect(factory(**stored).get_params() == params, "hyper-parameters do not survive JSON")


def check_baseline(baseline: Baseline, reference: pa.Table, reporting: pa.Table) -> None:
    """Raise :class:`AssertionError` if ``baseline`` breaks the contract on real periods.

    On unfitted clones of ``baseline`` (which is left untouched): ``predict``, ``statistics``,
    ``savings`` and ``describe`` before ``fit`` raise :class:`ModelError`; ``fit`` returns the
    baseline; ``predict`` returns :data:`COUNTERFACTUAL_SCHEMA` with one row per reporting
    interval, in time order, with a positive standard error for every counterfactual made; the
    Guideline 14 statistics are finite and consistent (``0 < n' <= n``, ``p < n``); the savings
    count every interval, total the predictions and have a positive uncertainty, wider at 90 %
    than at 68 %; ``describe`` is plain JSON; the hyper-parameters survive a JSON round trip; a
    clone of a fitted baseline is unfitted with equal hyper-parameters; and a second fit with the
    same hyper-parameters gives identical predictions and statistics.
    """
    fresh = clone(baseline)
    _expect_unfitted(lambda: fresh.predict(reporting), "predict before fit did not raise")
    _expect_unfitted(fresh.statistics, "statistics before fit did not raise ModelError")
    _expect_unfitted(lambda: fresh.savings(reporting), "savings before fit did not raise")
    _expect_unfitted(fresh.describe, "describe before fit did not raise ModelError")
    _expect(fresh.fit(reference) is fresh, "fit did not return the baseline itself")
    predicted = fresh.predict(reporting)
    _check_prediction(fresh, reporting, predicted)
    _check_statistics(fresh)
    _check_savings(fresh, reporting, predicted)
    json.dumps(fresh.describe())
    _check_params(fresh)
    copy = clone(fresh)
    _expect(copy.get_params() == baseline.get_params(), "clone changed the hyper-parameters")
    _expect_unfitted(copy.statistics, "a clone of a fitted baseline is already fitted")
    again = copy.fit(reference)
    _expect(again.predict(reporting).equals(predicted), "a second fit gave other predictions")
    _expect(again.statistics() == fresh.statistics(), "a second fit gave other statistics")
