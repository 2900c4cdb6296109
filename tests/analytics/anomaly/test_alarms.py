"""Alarm persistence on a hand-worked example, and independence from how rows are split."""

from __future__ import annotations

import numpy as np
import pytest

from valueloop.analytics.anomaly.alarms import Persistence
from valueloop.errors import ModelError


def test_three_row_persistence_by_hand() -> None:
    raw = [1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0]
    # on at the third 1 in a row (row 5), off at the third 0 in a row (row 11)
    expected = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0]
    assert Persistence(rows=3).update(raw).astype(int).tolist() == expected


def test_one_row_persistence_passes_alarms_through() -> None:
    raw = np.array([0, 1, 1, 0, 1], dtype=bool)
    assert (Persistence(rows=1).update(raw) == raw).all()


def test_any_split_of_the_rows_gives_the_same_states() -> None:
    raw = np.random.default_rng(3).random(500) < 0.4
    whole = Persistence(rows=4).update(raw)
    split = Persistence(rows=4)
    parts = [split.update(raw[a : a + 3]) for a in range(0, 500, 3)]
    assert (np.concatenate(parts) == whole).all()


def test_persistence_must_be_positive() -> None:
    with pytest.raises(ModelError):
        Persistence(rows=0)
