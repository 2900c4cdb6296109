"""An ensemble of streaming detectors over the same signals: the weighted mean of their scores.

Members keep their own state; the ensemble fits, resets and updates them together. With members
whose alarm level is 0.5 (the prefix detectors), the mean keeps that meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from valueloop.analytics.anomaly.base import Matrix, StreamingDetector
from valueloop.analytics.anomaly.data import Stamps, Vector
from valueloop.analytics.base import clone
from valueloop.errors import ModelError


class Ensemble(StreamingDetector):
    """Weighted mean of member scores; ``weights`` default to equal (they are normalised)."""

    def __init__(
        self, *, members: Sequence[StreamingDetector], weights: Sequence[float] | None = None
    ) -> None:
        if not members:
            raise ModelError("an ensemble needs at least one member detector")
        counts = {member.signals for member in members}
        if len(counts) != 1:
            raise ModelError(f"ensemble members read different numbers of signals: {counts}")
        if weights is not None and len(weights) != len(members):
            raise ModelError(f"{len(weights)} weights for {len(members)} ensemble members")
        self.members = tuple(members)
        self.weights = None if weights is None else tuple(weights)
        self.signals = counts.pop()

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, with unfitted copies of the members (so clones share nothing)."""
        return {"members": tuple(clone(m) for m in self.members), "weights": self.weights}

    def fit(self, timestamps: Stamps, values: npt.ArrayLike) -> Self:
        """Fit every member on the same training rows."""
        for member in self.members:
            member.fit(timestamps, values)
        return self

    def reset(self) -> None:
        """Reset every member."""
        for member in self.members:
            member.reset()

    def _score(self, timestamps: Stamps, values: Matrix) -> Vector:
        weights = np.ones(len(self.members)) if self.weights is None else np.array(self.weights)
        scores = np.column_stack([m.update_many(timestamps, values) for m in self.members])
        result: Vector = scores @ (weights / weights.sum())
        return result
