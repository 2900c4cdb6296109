"""Measurement-and-verification baselines: fit on a reference period, predict the counterfactual.

Kinds (entry point group ``valueloop.baselines``): ``changepoint_daily`` and
``changepoint_hourly`` (heating and cooling change-point models on temperature, in the manner of
CalTRACK's daily model), ``regression`` (least squares on production, operating hours, calendar
and any named regressor) and ``gradient_boosting`` (LightGBM, for many regressors). Each reports
ASHRAE Guideline 14 statistics with pass or fail, and measures a reporting period's saving with
its fractional savings uncertainty; :func:`check_baseline` is the contract every kind passes.
"""

from valueloop.value.baselines.base import COUNTERFACTUAL_SCHEMA, Baseline
from valueloop.value.baselines.check import check_baseline
from valueloop.value.baselines.kinds import baseline_class, baseline_kinds, installed_baselines
from valueloop.value.baselines.statistics import (
    THRESHOLDS,
    BaselineStatistics,
    G14Thresholds,
    Savings,
    g14_statistics,
    savings,
)

__all__ = [
    "COUNTERFACTUAL_SCHEMA",
    "THRESHOLDS",
    "Baseline",
    "BaselineStatistics",
    "G14Thresholds",
    "Savings",
    "baseline_class",
    "baseline_kinds",
    "check_baseline",
    "g14_statistics",
    "installed_baselines",
    "savings",
]
