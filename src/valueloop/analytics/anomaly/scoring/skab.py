"""SKAB's metrics: outlier detection (F1, FAR, MAR) and NAB-style changepoint scores.

Outlier detection is scored as binary classification of every row of the concatenated test files
(SKAB README leaderboard): ``F1 = 2 TP / (2 TP + FP + FN)``, the false alarm rate
``FAR = FP / (FP + TN)`` and the missing alarm rate ``MAR = FN / (FN + TP)``, both in percent.

Changepoints are scored with NAB's rules (:mod:`.nab`) as SKAB does for its changepoint
leaderboard: a window of ``window`` (60 s) to the right of each labelled changepoint, no
probationary period, the detector's changepoints taken as fixed detections (no threshold sweep),
raw scores summed over files and normalised between the null detector (0) and the perfect one
(100), for each of NAB's three profiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from valueloop.analytics.anomaly.data import Stamps
from valueloop.analytics.anomaly.scoring.nab import Profile, normalised, score_file, sweep_file
from valueloop.errors import DataError

Flags = npt.NDArray[np.int8]
CHANGEPOINT_WINDOW = np.timedelta64(60, "s")


@dataclass(frozen=True)
class BinaryScores:
    """F1 (0 to 1), FAR and MAR (percent), with the row counts they come from."""

    f1: float
    far: float
    mar: float
    tp: int
    fp: int
    fn: int
    tn: int


def binary_scores(true: npt.ArrayLike, predicted: npt.ArrayLike) -> BinaryScores:
    """F1, FAR and MAR of 0/1 predictions against 0/1 labels (rows of all files together)."""
    truth = np.asarray(true).astype(bool)
    alarm = np.asarray(predicted).astype(bool)
    if truth.shape != alarm.shape or truth.ndim != 1:
        raise DataError(f"labels {truth.shape} and predictions {alarm.shape} differ in shape")
    tp = int(np.sum(alarm & truth))
    fp = int(np.sum(alarm & ~truth))
    fn = int(np.sum(~alarm & truth))
    tn = int(np.sum(~alarm & ~truth))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    far = 100.0 * fp / (fp + tn) if fp + tn else 0.0
    mar = 100.0 * fn / (fn + tp) if fn + tp else 0.0
    return BinaryScores(f1, far, mar, tp, fp, fn, tn)


def changepoints(alarms: npt.ArrayLike) -> Flags:
    """Rows where a 0/1 alarm series switches on or off (SKAB: ``prediction.diff().abs()``)."""
    flags = np.asarray(alarms).astype(np.int8)
    result: Flags = np.abs(np.diff(flags, prepend=flags[:1])).astype(np.int8)
    return result


def changepoint_windows(
    timestamps: Stamps, changepoint: npt.ArrayLike, window: np.timedelta64 = CHANGEPOINT_WINDOW
) -> list[tuple[np.datetime64, np.datetime64]]:
    """``[t, last row within t + window]`` per labelled changepoint, overlapping ones merged."""
    rows = np.flatnonzero(np.asarray(changepoint))
    windows: list[tuple[np.datetime64, np.datetime64]] = []
    for row in rows:
        end = timestamps[np.searchsorted(timestamps, timestamps[row] + window, side="right") - 1]
        if windows and timestamps[row] <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((timestamps[row], end))
    return windows


def changepoint_score(
    files: Sequence[tuple[str, Stamps, npt.ArrayLike, npt.ArrayLike]],
    profile: Profile,
    window: np.timedelta64 = CHANGEPOINT_WINDOW,
) -> float:
    """Normalised NAB score of detected changepoints over files ``(name, ts, labels, detected)``.

    ``labels`` and ``detected`` are 0/1 changepoint flags per row.
    """
    raw, null, perfect = 0.0, 0.0, 0.0
    for name, timestamps, labels, detected in files:
        windows = changepoint_windows(timestamps, labels, window)
        flags = np.asarray(detected, dtype=np.float64)
        sweep = sweep_file(name, timestamps, flags, windows, profile, probation_percent=0.0)
        raw += score_file(sweep, 1.0, profile).score
        null -= profile.fn_weight * sweep.windows
        perfect += profile.tp_weight * len(windows)
    return normalised(raw, null, perfect)
