"""Training targets, held-out engines and split-conformal intervals for the RUL models.

The target of a training row is its cycles to failure (the unit's last cycle minus the row's
cycle); models learn it capped at ``cap`` (the piecewise-linear target) and intervals are meant to
hold it uncapped. :func:`split_units` holds out whole engines, never single rows, as rows of one
engine are strongly correlated. :class:`BandConformal` turns the errors of a point prediction on
held-out engines into an interval: within each band of predicted RUL (errors grow with RUL), the
lower and upper distances are split-conformal quantiles of the under- and over-predictions, each at
level ``(1 + interval) / 2``, so that the interval holds the true RUL with probability at least
``interval`` on engines like the held-out ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from valueloop.errors import ModelError

Vector = npt.NDArray[np.float64]


def cycles_to_failure(units: npt.NDArray[Any], cycles: npt.NDArray[Any]) -> Vector:
    """For rows sorted by unit: the unit's last cycle minus the row's cycle."""
    starts = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
    last = np.maximum.reduceat(cycles, starts)
    return np.asarray(np.repeat(last, np.diff(np.r_[starts, units.size])) - cycles, np.float64)


def conformal_shift(scores: Vector, level: float) -> float:
    """Split-conformal quantile of ``scores`` at ``level`` with the finite-sample correction."""
    rank = min(1.0, math.ceil((scores.size + 1) * level) / scores.size)
    return float(np.quantile(scores, rank, method="higher"))


def split_units(units: npt.NDArray[Any], fraction: float, seed: int) -> npt.NDArray[np.bool_]:
    """Mask of the rows whose unit is held out: ``fraction`` of the distinct units, at random.

    At least one unit is held out and one kept; the draw depends only on the distinct units and
    ``seed``, so two models given the same training data and seed hold out the same engines.
    """
    distinct = np.unique(units)
    if distinct.size < 2 or not 0 < fraction < 1:
        raise ModelError(f"holding out engines needs 2 units and 0 < fraction < 1, got {fraction}")
    count = min(distinct.size - 1, max(1, round(fraction * distinct.size)))
    held = np.random.default_rng(seed).permutation(distinct)[:count]
    return np.isin(units, held)


@dataclass(frozen=True)
class BandConformal:
    """Per-band distances below and above a point prediction of RUL, in cycles."""

    edges: tuple[float, ...]
    below: tuple[float, ...]
    above: tuple[float, ...]

    @classmethod
    def fit(
        cls, point: Vector, life: Vector, *, cap: float, bands: int, interval: float
    ) -> BandConformal:
        """Calibrate on held-out predictions ``point`` and true cycles to failure ``life``."""
        if point.size == 0:
            raise ModelError("no held-out rows to calibrate the interval on")
        edges = tuple(cap * band / bands for band in range(1, bands))
        band = np.digitize(point, edges)
        level = (1 + interval) / 2
        below, above = [], []
        for b in range(bands):
            rows = band == b if np.any(band == b) else np.ones_like(band, dtype=bool)
            below.append(max(0.0, conformal_shift(point[rows] - life[rows], level)))
            above.append(max(0.0, conformal_shift(life[rows] - point[rows], level)))
        return cls(edges=edges, below=tuple(below), above=tuple(above))

    def bounds(self, point: Vector) -> tuple[Vector, Vector]:
        """Lower (at least 0) and upper bounds around ``point``, in cycles."""
        band = np.digitize(point, self.edges)
        lower = np.clip(point - np.asarray(self.below)[band], 0, None)
        return np.minimum(lower, point), point + np.asarray(self.above)[band]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, read back by :meth:`from_dict`."""
        return {"edges": self.edges, "below": self.below, "above": self.above}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> BandConformal:
        """The calibration written by :meth:`to_dict`."""
        return cls(
            edges=tuple(document["edges"]),
            below=tuple(document["below"]),
            above=tuple(document["above"]),
        )
