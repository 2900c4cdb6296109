"""A row-by-row reading of NAB's scoring rules, kept deliberately plain, to check the scorer.

It walks the rows in order as NAB's sweeper does (entering a window at its first timestamp,
leaving it after its last), then sweeps thresholds from the highest score down, keeping for each
window the best weight of its detected rows.
"""

from __future__ import annotations

import math

import numpy as np

from valueloop.analytics.anomaly.scoring.nab import Profile


def sigma(position: float) -> float:
    """NAB's scaled sigmoid of a relative position."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def row_weights(
    stamps: list[np.datetime64], windows: list[tuple[np.datetime64, np.datetime64]], p: Profile
) -> tuple[list[float], list[str | None]]:
    """Each row's weight and window name ('probation' for unscored rows, None outside)."""
    probation = min(math.floor(0.15 * len(stamps)), 0.15 * 5000)
    pending = list(windows)
    current, right, width = None, None, None
    previous_right, previous_width = None, None
    weights: list[float] = []
    names: list[str | None] = []
    for i, stamp in enumerate(stamps):
        if pending and stamp == pending[0][0]:
            current = pending.pop(0)
            right = stamps.index(current[1])
            width = right - i + 1
        if current is not None:
            assert right is not None and width is not None
            weights.append(sigma(-(right - i + 1) / width) * p.tp_weight / sigma(-1.0))
        elif previous_right is None:
            weights.append(sigma(3.0) * p.fp_weight)
        else:
            assert previous_width is not None
            weights.append(sigma(abs(previous_right - i) / (previous_width - 1)) * p.fp_weight)
        names.append(("probation" if i < probation else str(current[0])) if current else None)
        if i < probation:
            names[-1] = "probation"
        if current is not None and stamp == current[1]:
            previous_right, previous_width = i, width
            current = None
    return weights, names


def best_threshold(
    files: list[tuple[list[float], list[float], list[str | None]]], p: Profile
) -> tuple[float, float]:
    """(threshold, total) of the best threshold over files of (scores, weights, names)."""
    rows = []
    for number, (scores, weights, names) in enumerate(files):
        for score, weight, name in zip(scores, weights, names, strict=True):
            if name != "probation":
                rows.append((score, weight, None if name is None else f"{number}|{name}"))
    parts: dict[str, float] = {"fp": 0.0}
    for _, _, name in rows:
        if name is not None:
            parts[name] = -p.fn_weight
    rows.sort(key=lambda row: row[0], reverse=True)
    best = (1.1, sum(parts.values()))
    threshold = 1.1
    for score, weight, name in rows:
        if score != threshold:
            total = sum(parts.values())
            if total > best[1]:
                best = (threshold, total)
            threshold = score
        if name is None:
            parts["fp"] += weight
        else:
            parts[name] = max(parts[name], weight)
    total = sum(parts.values())
    if total > best[1]:
        best = (threshold, total)
    return best
