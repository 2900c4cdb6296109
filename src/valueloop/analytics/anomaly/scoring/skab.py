"""SKAB's own metrics: outlier detection (F1, FAR, MAR) and its changepoint score.

Both follow ``core/metrics.py`` of waico/SKAB at commit
``b2c0d46c2971dcbfe71e26087b6d231998bb91c2`` (``chp_score``; the module is a copy of the ``tsad``
package's), with the arguments of SKAB's notebooks that produced its leaderboard
(``window_width="60s"``, ``anomaly_window_destination="righter"``, defaults otherwise).

Outlier detection is binary classification of every scored row of all files together:
``F1 = TP / (TP + (FN + FP) / 2)``, the false alarm rate ``FAR = FP / (FP + TN)`` and the missing
alarm rate ``MAR = FN / (FN + TP)``, both in percent.

Changepoints (``single_detecting_boundaries``, ``extract_cp_confusion_matrix``,
``single_evaluate_nab``, ``my_scale``), which differ from NAB's own scorer (:mod:`.nab`):

- each labelled changepoint at ``t`` opens the window ``[t, t + 60 s]``; where a window reaches
  the next one's start, the next one starts where it ends ("cut right window"); both limits are
  inclusive, so a detection on a shared limit falls in both windows;
- a window's first detection earns the tanh scale
  ``y(x) = (A_tp - A_fp) / 2 (1 - tanh(x) / tanh(pi / 2)) + A_fp`` read at
  ``x = linspace(-pi/2, pi/2, 1000)[min(int(1000 r), 999)]``, where ``r`` is the detection's
  relative position in the window (``A_tp`` at its start, ``A_fp`` at its end); later detections
  in the window count nothing;
- a window without a detection costs ``A_fn``; every detection outside all windows costs a flat
  ``A_fp``, however far it lies from a window; there is no threshold sweep and no probation;
- over all files, ``100 (S - S_null) / (S_perfect - S_null)`` with ``S_null = A_fn`` and
  ``S_perfect = A_tp`` per window, for three profiles (SKAB's ``table_of_coef``). SKAB rounds
  the result to two decimals; it is returned unrounded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from valueloop.analytics.anomaly.data import Stamps
from valueloop.errors import DataError

Flags = npt.NDArray[np.int8]
Window = tuple[np.datetime64, np.datetime64]
CHANGEPOINT_WINDOW = np.timedelta64(60, "s")
SCALE_STEPS = 1000


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
    """Rows where a 0/1 alarm series switches on or off; an alarm on at the first row counts.

    SKAB's notebooks: ``abs(prediction.diff())`` with the first row set to ``prediction[0]``.
    """
    flags = np.asarray(alarms).astype(np.int8)
    result: Flags = np.abs(np.diff(flags, prepend=np.int8(0))).astype(np.int8)
    return result


@dataclass(frozen=True)
class ChangepointProfile:
    """A row of SKAB's ``table_of_coef``: the reward ``A_tp`` and the costs (both positive)."""

    name: str
    tp_weight: float
    fp_cost: float
    fn_cost: float


SKAB_PROFILES = (
    ChangepointProfile("standard", 1.0, 0.11, 1.0),
    ChangepointProfile("low_fp", 1.0, 0.22, 1.0),
    ChangepointProfile("low_fn", 1.0, 0.11, 2.0),
)


def changepoint_windows(
    timestamps: Stamps, changepoint: npt.ArrayLike, window: np.timedelta64 = CHANGEPOINT_WINDOW
) -> list[Window]:
    """``[t, t + window]`` right of each labelled changepoint, overlaps cut from the later one."""
    starts = np.asarray(timestamps)[np.flatnonzero(np.asarray(changepoint))]
    windows: list[Window] = []
    for start in starts:
        end = start + window
        if windows and windows[-1][1] >= start:
            start = windows[-1][1]
        windows.append((start, end))
    return windows


@dataclass(frozen=True)
class FileChangepoints:
    """One file's detections against its windows.

    ``positions`` holds, per window, the relative position (0 at the start, 1 at the end) of its
    first detection, NaN when it has none; ``false_positives`` counts detections outside every
    window.
    """

    positions: npt.NDArray[np.float64]
    false_positives: int

    @property
    def missed(self) -> int:
        """Windows without a detection."""
        return int(np.isnan(self.positions).sum())


def file_changepoints(
    timestamps: Stamps, windows: Sequence[Window], detected: npt.ArrayLike
) -> FileChangepoints:
    """Place one file's detected changepoints (0/1 per row) in its labelled windows."""
    flags = np.asarray(detected)
    if flags.shape != np.shape(timestamps):
        raise DataError(f"{flags.size} changepoint flags for {np.size(timestamps)} timestamps")
    times = np.sort(np.asarray(timestamps)[flags == 1])
    inside = np.zeros(times.size, dtype=bool)
    positions = np.full(len(windows), np.nan)
    for number, (start, end) in enumerate(windows):
        hits = (times >= start) & (times <= end)
        inside |= hits
        if hits.any():
            span = (end - start) / np.timedelta64(1, "s")
            if span <= 0:
                raise DataError(f"changepoint window [{start}, {end}] is empty")
            positions[number] = ((times[hits][0] - start) / np.timedelta64(1, "s")) / span
    return FileChangepoints(positions, int((~inside).sum()))


def _scale(position: float, profile: ChangepointProfile) -> float:
    """SKAB's ``my_scale``: the reward of a window's first detection at a relative position."""
    step = min(int(position * SCALE_STEPS), SCALE_STEPS - 1)
    x = np.linspace(-np.pi / 2, np.pi / 2, SCALE_STEPS)[step]
    half = (profile.tp_weight + profile.fp_cost) / 2
    return float(half * -1 * np.tanh(x) / np.tanh(np.pi / 2) + half - profile.fp_cost)


@dataclass(frozen=True)
class ChangepointScores:
    """Normalised scores per profile name, with the counts of SKAB's leaderboard."""

    scores: dict[str, float]
    changepoints: int
    missed: int
    false_positives: int


def score_changepoints(
    files: Sequence[FileChangepoints], profiles: Sequence[ChangepointProfile] = SKAB_PROFILES
) -> ChangepointScores:
    """SKAB's normalised changepoint scores of detections already placed in their windows."""
    windows = sum(f.positions.size for f in files)
    if not windows:
        raise DataError("no labelled changepoint in the files: nothing to score")
    missed = sum(f.missed for f in files)
    false_positives = sum(f.false_positives for f in files)
    scores = {}
    for profile in profiles:
        raw = -profile.fp_cost * false_positives - profile.fn_cost * missed
        raw += sum(_scale(r, profile) for f in files for r in f.positions[~np.isnan(f.positions)])
        null, perfect = -profile.fn_cost * windows, profile.tp_weight * windows
        scores[profile.name] = 100.0 * (raw - null) / (perfect - null)
    return ChangepointScores(scores, windows, missed, false_positives)


def changepoint_scores(
    files: Sequence[tuple[Stamps, npt.ArrayLike, npt.ArrayLike]],
    profiles: Sequence[ChangepointProfile] = SKAB_PROFILES,
    window: np.timedelta64 = CHANGEPOINT_WINDOW,
) -> ChangepointScores:
    """SKAB's scores over files ``(timestamps, labels, detected)``, 0/1 changepoint flags."""
    placed = [
        file_changepoints(stamps, changepoint_windows(stamps, labels, window), detected)
        for stamps, labels, detected in files
    ]
    return score_changepoints(placed, profiles)
