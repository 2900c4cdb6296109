"""NAB scorer: invariants on the whole corpus, hand-computed weights, a plain reference reading."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest
from tests.analytics.anomaly.scoring.nab_reference import best_threshold, row_weights

from valueloop.analytics.anomaly.data import (
    load_nab_series,
    nab_names,
    nab_root,
    nab_windows_json,
)
from valueloop.analytics.anomaly.scoring.nab import (
    Profile,
    load_profiles,
    parse_windows,
    score_corpus,
    sweep_file,
    sweep_thresholds,
)
from valueloop.analytics.anomaly.scoring.nab_files import results_path, write_results
from valueloop.errors import DataError

STANDARD = Profile("standard", 1.0, 0.11, 1.0)
START = np.datetime64("2024-01-01T00:00:00")


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, np.ndarray], dict[str, list[tuple[np.datetime64, np.datetime64]]]]:
    names = nab_names()
    labels = nab_windows_json()
    stamps = {name: load_nab_series(name).timestamps for name in names}
    return stamps, {name: parse_windows(labels[name]) for name in names}


def test_profiles_file_has_the_three_published_profiles() -> None:
    profiles = {p.name: p for p in load_profiles(nab_root() / "config" / "profiles.json.gz")}
    assert profiles["standard"] == STANDARD
    assert profiles["reward_low_FP_rate"].fp_weight == 0.22
    assert profiles["reward_low_FN_rate"].fn_weight == 2.0


def test_corpus_has_58_files_and_the_published_row_count(corpus) -> None:
    stamps, windows = corpus
    assert len(stamps) == 58
    assert stamps["realKnownCause/nyc_taxi.csv"].size == 10320
    assert sum(len(w) for w in windows.values()) > 100


def test_null_scores_0_and_window_starts_score_100(corpus) -> None:
    stamps, windows = corpus
    for profile in load_profiles(nab_root() / "config" / "profiles.json.gz"):
        null = {name: np.full(s.size, 0.5) for name, s in stamps.items()}
        assert score_corpus(null, stamps, windows, profile).score == pytest.approx(0.0)
        starts = {}
        for name, s in stamps.items():
            flags = np.zeros(s.size)
            flags[np.searchsorted(s, [w[0] for w in windows[name]])] = 1.0
            starts[name] = flags
        assert score_corpus(starts, stamps, windows, profile).score == pytest.approx(100.0)


def test_firing_late_in_windows_scores_less_than_early(corpus) -> None:
    stamps, windows = corpus
    scores = {}
    for name, s in stamps.items():
        flags = np.zeros(s.size)
        ends = np.searchsorted(s, [w[1] for w in windows[name]])
        flags[ends] = 1.0
        scores[name] = flags
    late = score_corpus(scores, stamps, windows, STANDARD).score
    # The last row of a window is worth about 0 instead of -1 for a miss: halfway to perfect.
    assert 50.0 < late < 52.0


def synthetic(rows: int = 100) -> tuple[np.ndarray, list[tuple[np.datetime64, np.datetime64]]]:
    stamps = START + np.arange(rows) * np.timedelta64(300, "s")
    return stamps, [(stamps[40], stamps[59])]


def test_a_detection_halfway_into_a_window_earns_the_published_weight() -> None:
    stamps, windows = synthetic()
    scores = np.zeros(100)
    scores[50] = 1.0
    result = score_corpus({"a/b.csv": scores}, {"a/b.csv": stamps}, {"a/b.csv": windows}, STANDARD)
    # NAB's sweeper docstring: relative position -0.5 has S = 0.84828, the window start 0.98661.
    assert result.raw == pytest.approx(0.84828 / 0.98661, abs=1e-4)
    assert result.score == pytest.approx(100 * (0.84828 / 0.98661 + 1) / 2, abs=1e-2)


def test_threshold_sweep_keeps_the_true_positive_and_drops_a_stronger_false_one() -> None:
    stamps, windows = synthetic()
    scores = np.zeros(100)
    scores[50], scores[20], scores[5] = 0.9, 0.95, 1.0  # row 5 is in the probationary period
    sweep = sweep_file("a/b.csv", stamps, scores, windows, STANDARD)
    threshold, total = sweep_thresholds([sweep], STANDARD).best()
    assert threshold == 0.9
    assert total == pytest.approx(0.84828 / 0.98661 - 0.11, abs=1e-4)
    heavy = Profile("heavy", 1.0, 2.0, 1.0)
    threshold, total = sweep_thresholds(
        [sweep_file("a", stamps, scores, windows, heavy)], heavy
    ).best()
    assert threshold == 1.1 and total == -1.0


def test_false_positive_after_a_window_costs_by_its_distance() -> None:
    stamps, windows = synthetic()
    sweep = sweep_file("a/b.csv", stamps, np.zeros(100), windows, STANDARD)
    position = (79 - 59) / (20 - 1)
    assert sweep.weight[79] == pytest.approx(0.11 * (2 / (1 + math.exp(5 * position)) - 1))
    assert sweep.weight[99] == pytest.approx(0.11 * (2 / (1 + math.exp(5 * 40 / 19)) - 1))
    assert sweep.weight[99] < sweep.weight[79] < 0.0


@pytest.mark.parametrize(
    "name",
    [
        "realKnownCause/nyc_taxi.csv",
        "realTweets/Twitter_volume_GOOG.csv",
        "realAdExchange/exchange-2_cpc_results.csv",
    ],
)
def test_vectorised_scorer_matches_the_plain_reading(corpus, name: str) -> None:
    stamps, windows = corpus
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(stamps[name].size) ** 8, 3)
    for profile in load_profiles(nab_root() / "config" / "profiles.json.gz"):
        sweep = sweep_file(name, stamps[name], scores, windows[name], profile)
        weights, names = row_weights(list(stamps[name]), windows[name], profile)
        np.testing.assert_allclose(sweep.weight, weights, atol=1e-12)
        threshold, total = sweep_thresholds([sweep], profile).best()
        expected = best_threshold([(list(scores), weights, names)], profile)
        assert threshold == expected[0]
        assert total == pytest.approx(expected[1], abs=1e-9)


def test_window_limits_must_be_timestamps_of_the_file() -> None:
    stamps, _ = synthetic()
    bad = [(stamps[10] + np.timedelta64(1, "s"), stamps[20])]
    with pytest.raises(DataError, match="not a timestamp"):
        sweep_file("a/b.csv", stamps, np.zeros(100), bad, STANDARD)


def test_results_files_follow_nab_layout(tmp_path: Path, corpus) -> None:
    name = "realKnownCause/nyc_taxi.csv"
    series = load_nab_series(name)
    _, windows = corpus
    scores = np.linspace(0, 1, series.values.size)
    path = write_results(tmp_path, "mine", series, scores, windows[name])
    assert path == tmp_path / "mine" / "realKnownCause" / "mine_nyc_taxi.csv"
    assert path == results_path(tmp_path, "mine", name)
    assert path.read_text().splitlines()[0] == "timestamp,value,anomaly_score,label"
    table = pacsv.read_csv(path)
    assert table.num_rows == series.values.size
    assert str(table["timestamp"][0]).startswith("2014-07-01 00:00:00")
    labelled = sum(
        int(np.sum((series.timestamps >= s) & (series.timestamps <= e))) for s, e in windows[name]
    )
    assert sum(table["label"].to_pylist()) == labelled
    np.testing.assert_allclose(table["anomaly_score"].to_numpy(), scores)
