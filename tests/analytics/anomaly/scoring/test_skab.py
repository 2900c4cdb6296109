"""SKAB metrics on hand-made series whose F1, FAR, MAR and NAB scores are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from valueloop.analytics.anomaly.scoring.nab import Profile
from valueloop.analytics.anomaly.scoring.skab import (
    binary_scores,
    changepoint_score,
    changepoint_windows,
    changepoints,
)
from valueloop.errors import DataError

STANDARD = Profile("standard", 1.0, 0.11, 1.0)


def test_binary_scores_by_hand() -> None:
    true = [0, 0, 1, 1, 1, 0, 0, 0]
    pred = [0, 1, 1, 1, 0, 0, 0, 1]
    # TP = 2 (rows 2, 3), FP = 2 (rows 1, 7), FN = 1 (row 4), TN = 3 (rows 0, 5, 6)
    scores = binary_scores(true, pred)
    assert (scores.tp, scores.fp, scores.fn, scores.tn) == (2, 2, 1, 3)
    assert scores.f1 == pytest.approx(4 / 7)
    assert scores.far == pytest.approx(40.0)
    assert scores.mar == pytest.approx(100 / 3)


def test_null_and_perfect_outlier_detectors() -> None:
    true = np.array([0, 1, 1, 0, 1])
    null = binary_scores(true, np.zeros(5))
    assert (null.f1, null.far, null.mar) == (0.0, 0.0, 100.0)
    perfect = binary_scores(true, true)
    assert (perfect.f1, perfect.far, perfect.mar) == (1.0, 0.0, 0.0)


def test_shapes_must_agree() -> None:
    with pytest.raises(DataError):
        binary_scores([0, 1], [0, 1, 1])


def test_changepoints_are_alarm_switches() -> None:
    assert changepoints([0, 0, 1, 1, 0, 1]).tolist() == [0, 0, 1, 0, 1, 1]


def stamps(rows: int) -> np.ndarray:
    return np.datetime64("2020-03-09T10:00:00") + np.arange(rows) * np.timedelta64(1, "s")


def test_windows_reach_60_seconds_right_of_each_changepoint() -> None:
    ts = stamps(300)
    labels = np.zeros(300, dtype=np.int8)
    labels[[100, 130, 250]] = 1
    windows = changepoint_windows(ts, labels)
    assert windows == [(ts[100], ts[190]), (ts[250], ts[299])]


def test_changepoint_scores_of_null_perfect_and_late_detectors() -> None:
    ts = stamps(400)
    labels = np.zeros(400, dtype=np.int8)
    labels[[100, 300]] = 1
    files = [("f", ts, labels, labels)]
    assert changepoint_score(files, STANDARD) == pytest.approx(100.0)
    assert changepoint_score([("f", ts, labels, np.zeros(400))], STANDARD) == pytest.approx(0.0)
    late = np.zeros(400)
    late[[130, 330]] = 1  # halfway into both 61-row windows: relative position -31/61
    weight = (2 / (1 + np.exp(5 * -31 / 61)) - 1) / (2 / (1 + np.exp(-5.0)) - 1)
    expected = 100 * (2 * weight + 2) / 4
    assert changepoint_score([("f", ts, labels, late)], STANDARD) == pytest.approx(expected)
