"""Every detector keeps the streaming contract on real data and handles bad input as documented."""

from __future__ import annotations

import numpy as np
import pytest

from valueloop.analytics.anomaly import (
    AutoencoderDetector,
    ContextualDetector,
    Cusum,
    Ensemble,
    EwmaZScore,
    IsolationForestDetector,
    PcaT2Q,
    StreamingDetector,
    check_detector,
    clone,
)
from valueloop.analytics.anomaly.data import SkabFile, load_nab_series, load_skab_file
from valueloop.errors import ModelError


@pytest.fixture(scope="module")
def skab() -> SkabFile:
    return load_skab_file("valve1/1.csv")


def fitted(detector: StreamingDetector, data: SkabFile) -> StreamingDetector:
    return detector.fit(data.timestamps[:400], data.values[:400])


def multivariate() -> list[StreamingDetector]:
    return [
        PcaT2Q(signals=8, slow=(4, 5)),
        IsolationForestDetector(signals=8, trees=20),
        AutoencoderDetector(signals=8, epochs=40),
        EwmaZScore(signals=8),
        Cusum(signals=8),
        Ensemble(members=[PcaT2Q(signals=8), Cusum(signals=8)]),
    ]


@pytest.mark.parametrize("detector", multivariate(), ids=lambda d: type(d).__name__)
def test_multivariate_detectors_are_causal_and_resumable(skab: SkabFile, detector) -> None:
    stamps, rows = skab.timestamps[400:], skab.values[400:]
    scores = fitted(clone(detector), skab).update_many(stamps, rows)
    assert np.all((scores >= 0) & (scores <= 1))
    head = fitted(clone(detector), skab).update_many(stamps[:300], rows[:300])
    np.testing.assert_allclose(head, scores[:300], atol=1e-12)
    model = fitted(clone(detector), skab)
    split = [
        model.update_many(stamps[a : a + 97], rows[a : a + 97]) for a in range(0, len(rows), 97)
    ]
    np.testing.assert_allclose(np.concatenate(split), scores, atol=1e-9)


def test_online_detectors_pass_check_detector(skab: SkabFile) -> None:
    nab = load_nab_series("realKnownCause/nyc_taxi.csv")
    check_detector(
        ContextualDetector(warmup=500, rest=100), nab.timestamps[:3000], nab.values[:3000], 1234
    )
    check_detector(EwmaZScore(signals=8), skab.timestamps, skab.values, 555)


def test_pca_flags_the_labelled_anomaly_more_than_normal_rows(skab: SkabFile) -> None:
    scores = fitted(PcaT2Q(signals=8, slow=(4, 5)), skab).update_many(skab.timestamps, skab.values)
    alarm = scores > 0.5
    labelled = skab.anomaly == 1
    assert alarm[labelled].mean() > 0.5 > alarm[~labelled].mean()


def test_missing_values_hold_the_state_and_score_zero(skab: SkabFile) -> None:
    clean = fitted(PcaT2Q(signals=8), skab).update_many(skab.timestamps, skab.values)
    holes = skab.values.copy()
    holes[[600, 601, 800], 2] = np.nan
    detector = fitted(PcaT2Q(signals=8), skab)
    keep = np.ones(len(holes), dtype=bool)
    keep[[600, 601, 800]] = False
    with_holes = detector.update_many(skab.timestamps, holes)
    assert detector.missing.sum() == 3 and not np.isnan(with_holes).any()
    assert (with_holes[~keep] == 0.0).all()
    without = fitted(PcaT2Q(signals=8), skab).update_many(skab.timestamps[keep], skab.values[keep])
    np.testing.assert_allclose(with_holes[keep], without, atol=1e-12)
    assert not np.allclose(clean[keep], without)  # the held rows were really skipped


def test_constant_signals_give_finite_scores(skab: SkabFile) -> None:
    flat = skab.values.copy()
    flat[:, 6] = 230.0
    for detector in (PcaT2Q(signals=8), Cusum(signals=8), EwmaZScore(signals=8)):
        scores = fitted(
            detector, SkabFile(skab.name, skab.timestamps, flat, skab.anomaly, skab.changepoint)
        ).update_many(skab.timestamps, flat)
        assert np.isfinite(scores).all()
    constant = np.full(2000, 5.0)
    stamps = np.datetime64("2024-01-01") + np.arange(2000) * np.timedelta64(60, "s")
    assert (ContextualDetector(warmup=300).update_many(stamps, constant) == 0).all()


def test_wrong_number_of_signals_is_refused(skab: SkabFile) -> None:
    detector = fitted(PcaT2Q(signals=8), skab)
    with pytest.raises(ModelError, match="9 signals"):
        detector.update_many(skab.timestamps[:5], np.ones((5, 9)))


def test_training_prefix_shorter_than_the_window_is_refused(skab: SkabFile) -> None:
    with pytest.raises(ModelError, match="at least 30"):
        PcaT2Q(signals=8, lag=30).fit(skab.timestamps[:10], skab.values[:10])
    with pytest.raises(ModelError, match="not fitted"):
        PcaT2Q(signals=8).update_many(skab.timestamps[:5], skab.values[:5])


def test_series_shorter_than_the_warmup_scores_zero_until_it_is_long_enough() -> None:
    nab = load_nab_series("realKnownCause/nyc_taxi.csv")
    detector = ContextualDetector(warmup=500, rest=100)
    assert (detector.update_many(nab.timestamps[:100], nab.values[:100]) == 0).all()
    later = detector.update_many(nab.timestamps[100:3000], nab.values[100:3000])
    assert (later[:400] == 0).all() and later[400:].max() > 0
