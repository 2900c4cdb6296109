"""The two anomaly benchmarks, each by its own protocol: SKAB and the whole NAB corpus.

SKAB (:func:`evaluate_skab`), the protocol of SKAB's leaderboards and of its notebooks (Conv-AE,
MSCRED, T-squared+Q, isolation forest, ...): the test set is the 34 labelled files (``valve1/``,
``valve2/``, ``other/``; ``anomaly-free/`` is not scored). For each file a fresh detector is
fitted on the file's first 400 rows (the notebooks' ``train_test_split(train_size=400,
shuffle=False)``), then scores every row in one causal streaming pass; the rows from 400 on, the
notebooks' test set, are scored. A row is an outlier when its score exceeds 0.5 for 5 rows in a
row (5 s; :class:`~.alarms.Persistence`). F1, FAR and MAR are computed over the test rows of all
34 files together (``anomaly`` column as truth). Changepoints, the test rows where the alarm
switches on or off (and the first one if the alarm is on), are scored against the
``changepoint`` column with SKAB's own scorer (:mod:`.scoring.skab`).

NAB (:func:`evaluate_nab`): all 58 files, one detector per file from its first row (its warm-up
is NAB's probationary period of the file, whose rows NAB does not score), then NAB's scorer with
the threshold optimised per profile over the corpus and the scores normalised between the null
and perfect detectors (:mod:`.scoring.nab`). With ``results_dir`` it writes NAB's results files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from valueloop.analytics.anomaly.alarms import Persistence
from valueloop.analytics.anomaly.base import StreamingDetector
from valueloop.analytics.anomaly.contextual import ContextualDetector
from valueloop.analytics.anomaly.data import (
    load_nab_series,
    load_skab_file,
    nab_names,
    nab_root,
    nab_windows_json,
    skab_names,
)
from valueloop.analytics.anomaly.multivariate import PcaT2Q
from valueloop.analytics.anomaly.scoring.nab import (
    load_profiles,
    parse_windows,
    probationary_length,
    score_corpus,
)
from valueloop.analytics.anomaly.scoring.nab_files import write_results
from valueloop.analytics.anomaly.scoring.skab import (
    binary_scores,
    changepoint_scores,
    changepoints,
)

SKAB_TRAIN_ROWS = 400
SKAB_ALARM = 0.5
SKAB_PERSISTENCE = 5
SKAB_SLOW_SIGNALS = (4, 5)
NAB_DETECTOR = "valueloop"


def skab_detector() -> StreamingDetector:
    """The SKAB detector: PCA T-squared + Q with the two temperatures read as slopes."""
    return PcaT2Q(signals=8, slow=SKAB_SLOW_SIGNALS)


def nab_detector(rows: int) -> StreamingDetector:
    """The NAB detector for an ``rows``-row file: warm-up = NAB's probationary period."""
    warmup = int(probationary_length(rows))
    return ContextualDetector(warmup=warmup, rest=max(warmup // 5, 1))


def _task(progress: Progress | None, label: str, total: int) -> Callable[[], None]:
    if progress is None:
        return lambda: None
    task = progress.add_task(label, total=total)
    return lambda: progress.advance(task)


def evaluate_skab(
    progress: Progress | None = None,
    *,
    detector: Callable[[], StreamingDetector] = skab_detector,
    names: list[str] | None = None,
) -> dict[str, Any]:
    """SKAB's outlier scores ``f1`` (0-1), ``far``, ``mar`` (%) and changepoint scores.

    Only each file's test rows (from row 400) are scored, as on SKAB's leaderboard.
    """
    files = names or skab_names()
    advance = _task(progress, "SKAB", len(files))
    truth, alarms, cp_files = [], [], []
    started = time.perf_counter()
    for name in files:
        data = load_skab_file(name)
        model = detector().fit(data.timestamps[:SKAB_TRAIN_ROWS], data.values[:SKAB_TRAIN_ROWS])
        raw = model.update_many(data.timestamps, data.values) > SKAB_ALARM
        alarm = Persistence(rows=SKAB_PERSISTENCE).update(raw).astype(np.int8)[SKAB_TRAIN_ROWS:]
        truth.append(data.anomaly[SKAB_TRAIN_ROWS:])
        alarms.append(alarm)
        test = data.timestamps[SKAB_TRAIN_ROWS:]
        cp_files.append((test, data.changepoint[SKAB_TRAIN_ROWS:], changepoints(alarm)))
        advance()
    seconds = time.perf_counter() - started
    scores = binary_scores(np.concatenate(truth), np.concatenate(alarms))
    cps = changepoint_scores(cp_files)
    return {
        "f1": scores.f1,
        "far": scores.far,
        "mar": scores.mar,
        "counts": {"tp": scores.tp, "fp": scores.fp, "fn": scores.fn, "tn": scores.tn},
        "changepoint": cps.scores
        | {
            "changepoints": cps.changepoints,
            "missed": cps.missed,
            "false_positives": cps.false_positives,
        },
        "files": len(files),
        "rows": int(sum(t.size for t in truth)),
        "seconds": seconds,
    }


def evaluate_nab(
    progress: Progress | None = None,
    results_dir: Path | None = None,
    *,
    detector: Callable[[int], StreamingDetector] = nab_detector,
    detector_name: str = NAB_DETECTOR,
    names: list[str] | None = None,
) -> dict[str, Any]:
    """NAB scores ``standard``, ``reward_low_FP_rate``, ``reward_low_FN_rate`` and details.

    Also returns each profile's threshold, raw score and per-category normalised scores. With
    ``results_dir``, writes ``<results_dir>/<detector_name>/<category>/<detector_name>_<file>``.
    """
    corpus = names or nab_names()
    labels = nab_windows_json()
    windows = {name: parse_windows(labels[name]) for name in corpus}
    advance = _task(progress, "NAB", len(corpus))
    scores, stamps = {}, {}
    started = time.perf_counter()
    rows = 0
    for name in corpus:
        series = load_nab_series(name)
        scores[name] = detector(series.values.size).update_many(series.timestamps, series.values)
        stamps[name] = series.timestamps
        rows += series.values.size
        if results_dir is not None:
            write_results(results_dir, detector_name, series, scores[name], windows[name])
        advance()
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"files": len(corpus), "rows": rows, "seconds": seconds}
    details: dict[str, Any] = {}
    for profile in load_profiles(nab_root() / "config" / "profiles.json.gz"):
        scored = score_corpus(scores, stamps, windows, profile)
        result[profile.name] = scored.score
        details[profile.name] = {
            "threshold": scored.threshold,
            "raw": scored.raw,
            "categories": scored.by_category(),
        }
    result["details"] = details
    return result
