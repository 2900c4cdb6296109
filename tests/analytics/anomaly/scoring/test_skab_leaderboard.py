"""SKAB's leaderboard rows reproduced from its detectors' published outputs with our scorers.

The outputs are the ``results/*.pkl`` predictions of SKAB's notebooks, kept as alarm runs by row
of the data files (``skab_published/SOURCE.md``). The figures are SKAB README's leaderboards at
commit b2c0d46; the changepoint counts are those the notebooks print.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from valueloop.analytics.anomaly.data import SkabFile, load_skab_file, skab_names
from valueloop.analytics.anomaly.scoring.skab import (
    binary_scores,
    changepoint_windows,
    changepoints,
    file_changepoints,
    score_changepoints,
)

PUBLISHED = Path(__file__).parent / "skab_published"

# Changepoint leaderboard: NAB (standard), NAB (LowFP), NAB (LowFN); missed changepoints, FPs.
CHANGEPOINTS = {
    "MSCRED": (32.42, 16.53, 40.28, 55, 342),
    "Isolation forest": (26.16, 19.5, 30.82, 76, 135),
    "T-squared+Q (PCA-based)": (25.35, 14.51, 31.33, 72, 232),
    "Conv-AE": (23.61, 21.54, 27.55, 82, 23),
    "LSTM-AE": (23.51, 20.11, 25.91, 88, 69),
    "T-squared": (19.54, 10.2, 24.31, 84, 203),  # the leaderboard's counts: 70, 106
    "MSET": (13.84, 10.22, 17.37, 96, 66),
    "Vanilla AE": (11.41, 6.53, 13.91, 103, 106),
    "Vanilla LSTM": (11.31, -3.8, 17.25, 90, 342),
    "ArimaFD": (-0.09, -0.17, -0.06, 127, 2),
}
# Outlier leaderboard: F1, FAR %, MAR %, over the rows both labelled and predicted.
OUTLIERS = {
    "Conv-AE": (0.78, 13.55, 28.02),
    "MSET": (0.78, 39.73, 14.13),
    "T-squared+Q (PCA-based)": (0.76, 26.62, 24.92),
    "LSTM-AE": (0.74, 29.96, 25.92),
    "T-squared": (0.66, 19.21, 42.6),
    "Vanilla LSTM": (0.54, 12.54, 59.53),
    "MSCRED": (0.36, 49.94, 69.88),
    "Vanilla AE": (0.39, 2.59, 75.15),
    "Isolation forest": (0.29, 2.56, 82.89),
}


def _rows(name: str) -> list[dict[str, str]]:
    with gzip.open(PUBLISHED / name, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def published() -> dict[str, list[tuple[SkabFile, slice, slice, np.ndarray]]]:
    """Per detector: (file, predicted rows, label rows, 0/1 outlier alarm over predicted rows)."""
    data = {name: load_skab_file(name) for name in skab_names()}
    runs: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for run in _rows("alarms.csv.gz"):
        runs[run["detector"], run["file"]].append((int(run["first_row"]), int(run["last_row"])))
    result: dict[str, list[tuple[SkabFile, slice, slice, np.ndarray]]] = defaultdict(list)
    for row in _rows("rows.csv.gz"):
        skab = data[row["file"]]
        predicted = slice(int(row["predicted_from"]), int(row["predicted_to"]) + 1)
        labels = slice(int(row["labels_from"]), int(row["labels_to"]) + 1)
        alarm = np.zeros(skab.timestamps.size, dtype=np.int8)
        for first, last in runs[row["detector"], row["file"]]:
            alarm[first : last + 1] = 1
        result[row["detector"]].append((skab, predicted, labels, alarm[predicted]))
    return result


def detected_changepoints(detector: str, alarm: np.ndarray) -> np.ndarray:
    """The notebook's changepoints: alarm switches; Isolation forest's after a 30-row maximum."""
    if detector != "Isolation forest":
        return changepoints(alarm)
    held = np.zeros(alarm.size, dtype=np.int8)
    held[29:] = np.lib.stride_tricks.sliding_window_view(alarm, 30).max(axis=1)
    flags = changepoints(held)
    flags[0] = alarm[0]
    return flags


def test_all_34_files_of_every_detector_are_published(published) -> None:
    assert set(published) == set(CHANGEPOINTS)
    assert all(len(files) == 34 for files in published.values())


@pytest.mark.parametrize("detector", list(CHANGEPOINTS))
def test_changepoint_leaderboard_row_is_reproduced(published, detector: str) -> None:
    placed = []
    for skab, predicted, labels, alarm in published[detector]:
        windows = changepoint_windows(skab.timestamps[labels], skab.changepoint[labels])
        cps = detected_changepoints(detector, alarm)
        placed.append(file_changepoints(skab.timestamps[predicted], windows, cps))
    result = score_changepoints(placed)
    standard, low_fp, low_fn, missed, false_positives = CHANGEPOINTS[detector]
    ours = [round(result.scores[p], 2) for p in ("standard", "low_fp", "low_fn")]
    assert ours == [standard, low_fp, low_fn]
    assert (result.missed, result.false_positives) == (missed, false_positives)
    assert result.changepoints == (125 if detector == "MSCRED" else 127)


@pytest.mark.parametrize("detector", list(OUTLIERS))
def test_outlier_leaderboard_row_is_reproduced(published, detector: str) -> None:
    truth, alarms = [], []
    for skab, predicted, labels, alarm in published[detector]:
        first, last = max(predicted.start, labels.start), min(predicted.stop, labels.stop)
        truth.append(skab.anomaly[first:last])
        alarms.append(alarm[first - predicted.start : last - predicted.start])
    result = binary_scores(np.concatenate(truth), np.concatenate(alarms))
    assert (round(result.f1, 2), round(result.far, 2), round(result.mar, 2)) == OUTLIERS[detector]
