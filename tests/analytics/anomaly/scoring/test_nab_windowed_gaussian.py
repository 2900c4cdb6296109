"""NAB's own published scores of its windowed Gaussian detector, reproduced with our scorer.

NAB's ``results/final_results.json`` (``data/nab/final_results.json.gz``) gives the detector
39.65 standard, 20.87 low FP and 47.41 low FN, each at the threshold 1.0 that NAB's sweep chose
(``config/thresholds.json``). NAB scored the results files its detectors wrote, whose anomaly
scores carry 12 significant digits (``str(float)`` of the Python 2 it ran on: its published
``results/windowedGaussian/*.csv`` read ``0.992048087924``); the scores are rounded so here too.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.analytics.anomaly.scoring.nab_windowed_gaussian import _mean_std, windowed_gaussian

from valueloop.analytics.anomaly.data import (
    load_nab_series,
    nab_names,
    nab_root,
    nab_windows_json,
    read_json,
)
from valueloop.analytics.anomaly.scoring.nab import load_profiles, parse_windows, score_corpus


def test_window_statistics_are_numpys_to_the_last_bit() -> None:
    values = load_nab_series("realKnownCause/nyc_taxi.csv").values
    for start, rows in ((0, 1), (0, 2), (0, 777), (3, 6400), (100, 6400), (4000, 129)):
        window = values[start : start + rows]
        assert _mean_std(window) == (float(np.mean(window)), float(np.std(window)))


def test_the_first_row_scores_zero_and_a_jump_scores_near_one() -> None:
    values = np.array([10.0, 10.0, 10.0, 11.0, 10.0, 1000.0])
    scores = windowed_gaussian(values)
    assert scores[0] == 0.0
    assert scores[1] == scores[2] == 0.5  # at the mean: a tail probability of 1/2
    assert scores[3] == 1.0  # a deviation of 1 against a deviation of 1e-6
    assert 0.0 < scores[4] < scores[5] <= 1.0


def test_nab_final_results_of_the_windowed_gaussian_are_reproduced() -> None:
    labels = nab_windows_json()
    scores, stamps, windows = {}, {}, {}
    for name in nab_names():
        series = load_nab_series(name)
        scores[name] = np.array([float(f"{s:.12g}") for s in windowed_gaussian(series.values)])
        stamps[name] = series.timestamps
        windows[name] = parse_windows(labels[name])
    published = read_json(nab_root() / "final_results.json.gz")["windowedGaussian"]
    for profile in load_profiles(nab_root() / "config" / "profiles.json.gz"):
        result = score_corpus(scores, stamps, windows, profile)
        assert result.threshold == 1.0
        assert round(result.score, 2) == round(published[profile.name], 2)
        assert result.score == pytest.approx(published[profile.name], abs=1e-4)
