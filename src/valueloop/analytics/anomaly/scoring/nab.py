"""The Numenta Anomaly Benchmark scorer (NAB v1.x ``sweeper.py`` rules), vectorised.

Rules reproduced exactly:

- Each labelled window ``[start, end]`` (timestamps of rows, both inclusive) has width
  ``w = right - left + 1`` rows. A row ``i`` inside it has the relative position
  ``p = -(right - i + 1) / w`` and the weight ``A_tp * sigma(p) / sigma(-1)``, where
  ``sigma(p) = 2 / (1 + exp(5 p)) - 1`` (the scaled sigmoid), so that the first row of a window is
  worth exactly ``A_tp`` and the last about 0.
- A row outside every window is a false positive worth ``A_fp * sigma(p)``, with
  ``p = |i - right_prev| / (w_prev - 1)`` measured from the last window that ended before it, or
  ``p = 3`` (weight ``-A_fp``) when no window came before; ``sigma(p) = -1`` for ``p >= 3``.
- The probationary period, the first ``min(floor(0.15 n), 0.15 * 5000)`` rows of an ``n``-row
  file, is not scored (its rows still advance the window positions).
- At a threshold ``t`` a row is a detection if its anomaly score is ``>= t``. Each window counts
  ``-A_fn`` if none of its scored rows is detected, else the largest weight of its detected rows
  (the earliest); each detected row outside windows adds its (negative) weight.
- The threshold is swept over every distinct score (and 1.1, nothing detected), summed over all
  files of the corpus; the detector's threshold is the one of the largest total (the highest such
  threshold on ties), for each profile separately.
- The final score is ``100 (S - S_null) / (S_perfect - S_null)``: ``S_null`` is the null detector's
  total (every window missed), ``S_perfect = A_tp x (number of windows in the labels file)``.

Profiles come from NAB's ``config/profiles.json`` (``tpWeight``, ``fpWeight``, ``fnWeight``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from valueloop.analytics.anomaly.data import Stamps, Vector, read_json
from valueloop.errors import DataError

PROBATION_PERCENT = 0.15
NO_WINDOW = -1
THRESHOLD_NONE = 1.1


@dataclass(frozen=True)
class Profile:
    """An application profile: rewards and costs of NAB's confusion matrix (unitless weights)."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


def load_profiles(path: Path) -> list[Profile]:
    """The profiles of a NAB ``profiles.json`` (``{name: {"CostMatrix": {...}}}``)."""
    document: dict[str, Any] = read_json(path)
    try:
        return [
            Profile(
                name,
                float(body["CostMatrix"]["tpWeight"]),
                float(body["CostMatrix"]["fpWeight"]),
                float(body["CostMatrix"]["fnWeight"]),
            )
            for name, body in document.items()
        ]
    except (KeyError, TypeError) as err:
        raise DataError(f"{path}: a profile lacks CostMatrix tp/fp/fnWeight ({err})") from err


def parse_windows(raw: Sequence[Sequence[str]]) -> list[tuple[np.datetime64, np.datetime64]]:
    """Window ``[start, end]`` strings of a NAB labels file as ``datetime64[s]`` pairs."""
    return [(np.datetime64(start, "s"), np.datetime64(end, "s")) for start, end in raw]


def scaled_sigmoid(position: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """NAB's scaled sigmoid: ``2 / (1 + exp(5 p)) - 1``, and exactly -1 for ``p >= 3``."""
    with np.errstate(over="ignore"):
        value = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position >= 3.0, -1.0, value)


def probationary_length(rows: int, percent: float = PROBATION_PERCENT) -> float:
    """Rows at the head of a file that are not scored: ``min(floor(p n), p * 5000)``."""
    return min(math.floor(percent * rows), percent * 5000)


@dataclass(frozen=True)
class FileSweep:
    """The per-row scoring weights of one file for one profile.

    ``window`` holds the row's window number in the file (``NO_WINDOW`` outside), ``weight`` the
    row's NAB weight if detected, ``scored`` is false in the probationary period.
    """

    name: str
    scores: Vector
    weight: Vector
    window: npt.NDArray[np.int64]
    scored: npt.NDArray[np.bool_]
    windows: int


def _window_rows(timestamps: Stamps, window: tuple[np.datetime64, np.datetime64], name: str) -> Any:
    rows = np.searchsorted(timestamps, np.array(window, dtype="datetime64[s]"))
    for row, stamp in zip(rows, window, strict=True):
        if row >= timestamps.size or timestamps[row] != stamp:
            raise DataError(f"{name}: window limit {stamp} is not a timestamp of the file")
    return rows


def sweep_file(
    name: str,
    timestamps: Stamps,
    scores: npt.ArrayLike,
    windows: Sequence[tuple[np.datetime64, np.datetime64]],
    profile: Profile,
    probation_percent: float = PROBATION_PERCENT,
) -> FileSweep:
    """Per-row weights of one file (NAB ``Sweeper.calcSweepScore``), for ``profile``."""
    values = np.asarray(scores, dtype=np.float64)
    rows = timestamps.size
    if values.shape != (rows,):
        raise DataError(f"{name}: {values.size} anomaly scores for {rows} timestamps")
    if np.isnan(values).any():
        raise DataError(f"{name}: anomaly scores contain NaN; score every row in [0, 1]")
    index = np.arange(rows, dtype=np.float64)
    limits = np.array([_window_rows(timestamps, w, name) for w in windows], dtype=np.int64)
    limits = limits.reshape(-1, 2)
    window = np.full(rows, NO_WINDOW, dtype=np.int64)
    for number, (left, right) in enumerate(limits):
        window[left : right + 1] = number
    widths = (limits[:, 1] - limits[:, 0] + 1).astype(np.float64)
    inside = window != NO_WINDOW
    weight = np.empty(rows, dtype=np.float64)
    if inside.any():
        right = limits[window[inside], 1]
        position = -(right - index[inside] + 1) / widths[window[inside]]
        max_tp = scaled_sigmoid(np.array(-1.0))
        weight[inside] = scaled_sigmoid(position) * profile.tp_weight / max_tp
    previous = np.searchsorted(limits[:, 1], index[~inside], side="left") - 1
    after = previous >= 0
    position = np.full(previous.size, 3.0)
    spans = np.maximum(widths[previous[after]] - 1.0, 0.0)
    with np.errstate(divide="ignore"):
        position[after] = np.abs(index[~inside][after] - limits[previous[after], 1]) / spans
    weight[~inside] = scaled_sigmoid(position) * profile.fp_weight
    scored = index >= probationary_length(rows, probation_percent)
    scorable_windows = np.unique(window[scored & inside]).size
    return FileSweep(name, values, weight, window, scored, scorable_windows)


@dataclass(frozen=True)
class ThresholdSweep:
    """Corpus totals at every candidate threshold, highest threshold first."""

    thresholds: Vector
    totals: Vector

    def best(self) -> tuple[float, float]:
        """The threshold of the largest total (the highest such on ties), and that total."""
        position = int(np.argmax(self.totals))
        return float(self.thresholds[position]), float(self.totals[position])


def sweep_thresholds(files: Sequence[FileSweep], profile: Profile) -> ThresholdSweep:
    """Totals of the corpus at every distinct score (NAB ``calcScoreByThreshold`` + optimiser)."""
    scores, deltas, base = [], [], 0.0
    for sweep in files:
        rows = np.flatnonzero(sweep.scored)
        order = rows[np.argsort(-sweep.scores[rows], kind="stable")]
        delta = np.where(sweep.window[order] == NO_WINDOW, sweep.weight[order], 0.0)
        for number in np.unique(sweep.window[order]):
            if number == NO_WINDOW:
                continue
            members = np.flatnonzero(sweep.window[order] == number)
            best = np.maximum.accumulate(sweep.weight[order][members])
            delta[members] = np.diff(best, prepend=-profile.fn_weight)
        base -= profile.fn_weight * sweep.windows
        scores.append(sweep.scores[order])
        deltas.append(delta)
    all_scores = np.concatenate(scores) if scores else np.empty(0)
    order = np.argsort(-all_scores, kind="stable")
    ordered = all_scores[order]
    running = base + np.cumsum(np.concatenate(deltas)[order] if deltas else np.empty(0))
    ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True)).astype(np.int64)
    thresholds = np.concatenate([[THRESHOLD_NONE], ordered[ends]])
    totals = np.concatenate([[base], running[ends]])
    return ThresholdSweep(thresholds, totals)


@dataclass(frozen=True)
class FileScore:
    """One file's raw NAB score at a threshold, with its row counts."""

    name: str
    score: float
    tp: int
    fp: int
    fn: int
    tn: int
    windows: int
    labelled: int


def score_file(sweep: FileSweep, threshold: float, profile: Profile) -> FileScore:
    """Raw score of one file when rows with score ``>= threshold`` are detections."""
    detected = (sweep.scores >= threshold) & sweep.scored
    inside = sweep.window != NO_WINDOW
    total = float(sweep.weight[detected & ~inside].sum())
    for number in np.unique(sweep.window[sweep.scored & inside]):
        hits = detected & (sweep.window == number)
        total += float(sweep.weight[hits].max()) if hits.any() else -profile.fn_weight
    scored = sweep.scored
    return FileScore(
        sweep.name,
        total,
        tp=int((detected & inside).sum()),
        fp=int((detected & ~inside).sum()),
        fn=int((~detected & inside & scored).sum()),
        tn=int((~detected & ~inside & scored).sum()),
        windows=sweep.windows,
        labelled=int(np.unique(sweep.window[inside]).size),
    )


def normalised(raw: float, null: float, perfect: float) -> float:
    """NAB's final score: ``100 (raw - null) / (perfect - null)``."""
    if perfect == null:
        raise DataError("perfect and null scores are equal: the corpus has no scorable window")
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class ProfileResult:
    """A detector's result for one profile: threshold, raw and normalised scores, per file."""

    profile: Profile
    threshold: float
    raw: float
    null: float
    perfect: float
    score: float
    files: list[FileScore] = field(default_factory=list)

    def by_category(self) -> dict[str, float]:
        """Normalised score of each category (files ``category/...``) that has windows."""
        result: dict[str, float] = {}
        for category in sorted({f.name.split("/", 1)[0] for f in self.files}):
            members = [f for f in self.files if f.name.startswith(f"{category}/")]
            labelled = sum(f.labelled for f in members)
            if labelled:
                null = -self.profile.fn_weight * sum(f.windows for f in members)
                perfect = self.profile.tp_weight * labelled
                result[category] = normalised(sum(f.score for f in members), null, perfect)
        return result


def score_corpus(
    scores: Mapping[str, npt.ArrayLike],
    timestamps: Mapping[str, Stamps],
    windows: Mapping[str, Sequence[tuple[np.datetime64, np.datetime64]]],
    profile: Profile,
    probation_percent: float = PROBATION_PERCENT,
) -> ProfileResult:
    """Score a detector's anomaly scores over a corpus for one profile, as NAB's runner does.

    ``scores`` and ``timestamps`` are keyed by corpus path; every key of ``scores`` must have
    windows. The perfect score counts every window of those files, as NAB counts every window of
    its labels file.
    """
    sweeps = [
        sweep_file(name, timestamps[name], scores[name], windows[name], profile, probation_percent)
        for name in sorted(scores)
    ]
    threshold, raw = sweep_thresholds(sweeps, profile).best()
    null = -profile.fn_weight * sum(s.windows for s in sweeps)
    perfect = profile.tp_weight * sum(len(windows[name]) for name in scores)
    files = [score_file(s, threshold, profile) for s in sweeps]
    return ProfileResult(
        profile, threshold, raw, null, perfect, normalised(raw, null, perfect), files
    )
