"""RUL metrics on hand-computed arrays."""

from __future__ import annotations

import math

import pytest

from valueloop.analytics.evaluate import interval_coverage, phm08_score, rmse
from valueloop.errors import DataError


def test_rmse_on_a_small_array() -> None:
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))


def test_phm08_score_penalises_late_predictions_more() -> None:
    # d = pred - true = [-3, 0, 10, -10]
    expected = (math.exp(3 / 13) - 1) + 0 + (math.exp(1) - 1) + (math.exp(10 / 13) - 1)
    assert phm08_score([10, 20, 30, 40], [13, 20, 20, 50]) == pytest.approx(expected)
    assert phm08_score([60], [50]) > phm08_score([40], [50])


def test_interval_coverage_counts_closed_bounds() -> None:
    assert interval_coverage([0, 0, 0], [1, 1, 1], [0.5, 1.0, 2.0]) == pytest.approx(2 / 3)


def test_metrics_reject_mismatched_or_empty_input() -> None:
    with pytest.raises(DataError, match="one length"):
        rmse([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="zero"):
        phm08_score([], [])
