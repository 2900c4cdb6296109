"""SKAB metrics on hand-made series: F1, FAR, MAR and changepoint scores worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from valueloop.analytics.anomaly.scoring.skab import (
    binary_scores,
    changepoint_scores,
    changepoint_windows,
    changepoints,
    file_changepoints,
)
from valueloop.errors import DataError


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


def test_changepoints_are_alarm_switches_and_an_alarm_at_the_first_row() -> None:
    assert changepoints([0, 0, 1, 1, 0, 1]).tolist() == [0, 0, 1, 0, 1, 1]
    assert changepoints([1, 1, 0]).tolist() == [1, 0, 1]


def stamps(rows: int) -> np.ndarray:
    return np.datetime64("2020-03-09T10:00:00") + np.arange(rows) * np.timedelta64(1, "s")


def test_windows_reach_60_seconds_right_and_a_later_window_is_cut() -> None:
    ts = stamps(300)
    labels = np.zeros(300, dtype=np.int8)
    labels[[100, 130, 250, 299]] = 1
    windows = changepoint_windows(ts, labels)
    second = np.timedelta64(1, "s")
    assert windows == [
        (ts[100], ts[160]),
        (ts[160], ts[190]),  # cut right window: starts where the first ends
        (ts[250], ts[250] + 60 * second),  # limits need not be rows of the file
        (ts[250] + 60 * second, ts[299] + 60 * second),
    ]


def test_a_detection_on_a_shared_limit_counts_in_both_windows() -> None:
    ts = stamps(300)
    labels = np.zeros(300, dtype=np.int8)
    labels[[100, 130]] = 1
    detected = np.zeros(300, dtype=np.int8)
    detected[[160, 20, 280]] = 1
    placed = file_changepoints(ts, changepoint_windows(ts, labels), detected)
    np.testing.assert_allclose(placed.positions, [1.0, 0.0])
    assert placed.false_positives == 2 and placed.missed == 0


def test_changepoint_scores_of_null_perfect_and_late_detectors() -> None:
    ts = stamps(400)
    labels = np.zeros(400, dtype=np.int8)
    labels[[100, 300]] = 1
    perfect = changepoint_scores([(ts, labels, labels)])
    assert perfect.scores == {"standard": 100.0, "low_fp": 100.0, "low_fn": 100.0}
    null = changepoint_scores([(ts, labels, np.zeros(400))])
    assert null.scores == {"standard": 0.0, "low_fp": 0.0, "low_fn": 0.0}
    assert (null.changepoints, null.missed, null.false_positives) == (2, 2, 0)
    late = np.zeros(400)
    late[[130, 330, 5]] = 1  # halfway into both 60 s windows, and one false positive
    result = changepoint_scores([(ts, labels, late)])
    # my_scale at x = linspace(-pi/2, pi/2, 1000)[500]: a little under the middle of A_tp, A_fp
    x = np.linspace(-np.pi / 2, np.pi / 2, 1000)[500]
    reward = 1.11 / 2 * (1 - np.tanh(x) / np.tanh(np.pi / 2)) - 0.11
    assert reward == pytest.approx(0.44405, abs=1e-5)
    expected = 100 * (2 * reward - 0.11 + 2) / 4
    assert result.scores["standard"] == pytest.approx(expected)
    assert result.false_positives == 1 and result.missed == 0


def test_a_false_positive_costs_the_same_however_far_from_a_window() -> None:
    ts = stamps(400)
    labels = np.zeros(400, dtype=np.int8)
    labels[100] = 1
    near, far = np.zeros(400), np.zeros(400)
    near[[100, 161]], far[[100, 399]] = 1, 1
    assert changepoint_scores([(ts, labels, near)]).scores == pytest.approx(
        changepoint_scores([(ts, labels, far)]).scores
    )


def test_files_without_labelled_changepoints_cannot_be_scored() -> None:
    ts = stamps(10)
    with pytest.raises(DataError, match="no labelled changepoint"):
        changepoint_scores([(ts, np.zeros(10), np.ones(10))])
