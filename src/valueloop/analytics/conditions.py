"""Operating-condition normalisation: sensor readings made comparable across operating regimes.

A machine run at a few distinct operating conditions (an engine flown at several altitudes, Mach
numbers and throttle angles; a pump at several speeds) sees each condition move its sensors far
more than wear does. The ``settings`` columns (the operating settings, which are not sensors) tell
the conditions apart. :class:`ConditionNormaliser` clusters the settings into ``conditions``
groups (settings scaled by their spread; farthest-point seeding, then k-means steps;
deterministic) and replaces each sensor reading by its z-score within its condition (training mean
and standard deviation of that sensor in that condition; a sensor constant within a condition
reads 0 there). With one condition it is a plain standardisation and needs no settings.
:func:`detect_conditions` finds the number of conditions in training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.features import informative_sensors
from valueloop.analytics.inputs import prepare_history, signal_columns
from valueloop.analytics.metadata import table_hash
from valueloop.errors import ModelError

Matrix = npt.NDArray[np.float64]
_ROUNDING = 1e-9  # a standard deviation this small relative to the mean is rounding error
_TIGHT = 0.05  # largest distance to a condition's centre, as a share of the settings' spread
_STEPS = 20  # k-means steps after seeding


def _settings(data: pa.Table, names: Sequence[str]) -> Matrix:
    if not names:
        raise ModelError("more than one operating condition needs the settings columns")
    missing = [name for name in names if name not in data.column_names]
    if missing:
        raise ModelError(f"column {missing[0]!r} is needed to tell the operating conditions apart")
    return np.column_stack([data[name].to_numpy() for name in names]).astype(float)


def _spread(settings: Matrix) -> Matrix:
    scale = settings.std(axis=0)
    return np.where(scale > 0, scale, 1.0)


def _farthest_points(scaled: Matrix, k: int) -> tuple[Matrix, Matrix]:
    """``k`` rows picked one by one as the farthest from those already picked (the first row
    first), and each row's squared distance to the nearest of them."""
    picked = [0]
    distance = ((scaled - scaled[0]) ** 2).sum(axis=1)
    for _ in range(k - 1):
        picked.append(int(distance.argmax()))
        distance = np.minimum(distance, ((scaled - scaled[picked[-1]]) ** 2).sum(axis=1))
    return scaled[picked], distance


def _nearest(scaled: Matrix, centres: Matrix) -> npt.NDArray[np.int64]:
    distance = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(distance.argmin(axis=1), dtype=np.int64)


def _cluster(scaled: Matrix, k: int) -> tuple[Matrix, npt.NDArray[np.int64]]:
    """Centres (sorted by settings) and labels of ``k`` clusters of the rows of ``scaled``."""
    centres, _ = _farthest_points(scaled, k)
    for _ in range(_STEPS):
        labels = _nearest(scaled, centres)
        if np.bincount(labels, minlength=k).min() == 0:
            raise ModelError(f"fewer than {k} operating conditions in the training data")
        centres = np.stack([scaled[labels == c].mean(axis=0) for c in range(k)])
    centres = centres[np.lexsort(centres.T[::-1])]
    return centres, _nearest(scaled, centres)


def detect_conditions(train: pa.Table, settings_columns: Sequence[str], *, most: int = 8) -> int:
    """The number of distinct operating conditions in ``train`` (1 when settings barely vary).

    The smallest ``k`` in ``2..most`` for which every row's ``settings_columns`` lie within 5 % of
    the settings' overall spread from one of ``k`` centres; 1 if there is none (noise around one
    regime).
    """
    settings = _settings(train, settings_columns)
    scaled = settings / _spread(settings)
    spread = float(np.sqrt(((scaled - scaled.mean(axis=0)) ** 2).sum(axis=1).mean()))
    for k in range(2, most + 1):
        _, distance = _farthest_points(scaled, k)
        if spread > 0 and np.sqrt(distance.max()) < _TIGHT * spread:
            return k
    return 1


@dataclass(frozen=True)
class ConditionNormaliser:
    """Per-condition sensor statistics learnt from training data; see the module docstring.

    ``settings`` name the operating-setting columns (empty with one condition); ``centres`` are
    the conditions' settings divided by ``scale`` (one row per condition); ``means`` and ``stds``
    hold, per condition (rows) and sensor (columns), the training mean and standard deviation in
    the sensor's own unit.
    """

    sensors: tuple[str, ...]
    settings: tuple[str, ...]
    scale: tuple[float, ...]
    centres: tuple[tuple[float, ...], ...]
    means: tuple[tuple[float, ...], ...]
    stds: tuple[tuple[float, ...], ...]

    @classmethod
    def fit(
        cls,
        train: pa.Table,
        sensors: Sequence[str],
        *,
        conditions: int = 1,
        settings: Sequence[str] = (),
    ) -> ConditionNormaliser:
        """Learn ``conditions`` operating conditions and each sensor's statistics within them.

        ``train`` must have no missing values (see :mod:`valueloop.analytics.inputs`); the
        ``settings`` columns are read only when ``conditions > 1``.
        """
        if conditions < 1:
            raise ModelError(f"conditions must be >= 1, got {conditions}")
        values = np.column_stack([train[name].to_numpy() for name in sensors]).astype(float)
        if conditions == 1:
            scale: Matrix = np.ones(len(settings))
            centres = np.zeros((1, len(settings)))
            labels = np.zeros(train.num_rows, dtype=np.int64)
        else:
            setting_values = _settings(train, settings)
            scale = _spread(setting_values)
            centres, labels = _cluster(setting_values / scale, conditions)
        means = np.stack([values[labels == c].mean(axis=0) for c in range(conditions)])
        stds = np.stack([values[labels == c].std(axis=0) for c in range(conditions)])
        stds[stds <= _ROUNDING * np.maximum(np.abs(means), 1.0)] = 0.0
        return cls(
            sensors=tuple(sensors),
            settings=tuple(settings),
            scale=tuple(map(float, scale)),
            centres=tuple(tuple(map(float, row)) for row in centres),
            means=tuple(tuple(map(float, row)) for row in means),
            stds=tuple(tuple(map(float, row)) for row in stds),
        )

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns :meth:`transform` reads: the sensors, and the settings if conditions > 1."""
        return (*self.settings, *self.sensors) if self.conditions > 1 else self.sensors

    @property
    def conditions(self) -> int:
        """Number of operating conditions."""
        return len(self.centres)

    def assign(self, data: pa.Table) -> npt.NDArray[np.int64]:
        """The operating condition (0-based, ordered by settings) of every row of ``data``."""
        if self.conditions == 1:
            return np.zeros(data.num_rows, dtype=np.int64)
        settings = _settings(data, self.settings)
        return _nearest(settings / np.asarray(self.scale), np.asarray(self.centres))

    def transform(self, data: pa.Table) -> pa.Table:
        """``data`` with each sensor replaced by its z-score within the row's condition."""
        labels = self.assign(data)
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        for index, name in enumerate(self.sensors):
            values = data[name].to_numpy().astype(float)
            spread = stds[labels, index]
            z = np.divide(
                values - means[labels, index], spread, out=np.zeros_like(values), where=spread > 0
            )
            column = pa.array(z, pa.float64())
            data = data.set_column(data.column_names.index(name), name, column)
        return data

    def restrict(self, sensors: Sequence[str]) -> ConditionNormaliser:
        """The same normaliser for a subset of its sensors (the ones a model kept)."""
        index = [self.sensors.index(name) for name in sensors]
        return ConditionNormaliser(
            sensors=tuple(sensors),
            settings=self.settings,
            scale=self.scale,
            centres=self.centres,
            means=tuple(tuple(row[i] for i in index) for row in self.means),
            stds=tuple(tuple(row[i] for i in index) for row in self.stds),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, read back by :meth:`from_dict`."""
        return {
            "sensors": self.sensors,
            "settings": self.settings,
            "scale": self.scale,
            "centres": self.centres,
            "means": self.means,
            "stds": self.stds,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ConditionNormaliser:
        """The normaliser written by :meth:`to_dict`."""
        return cls(
            sensors=tuple(document["sensors"]),
            settings=tuple(document["settings"]),
            scale=tuple(document["scale"]),
            centres=tuple(tuple(row) for row in document["centres"]),
            means=tuple(tuple(row) for row in document["means"]),
            stds=tuple(tuple(row) for row in document["stds"]),
        )


@dataclass(frozen=True)
class TrainingInput:
    """Training data made ready for a model: normalised, with what the model must remember."""

    table: pa.Table  # unit, cycle and the informative sensors, normalised, sorted
    normaliser: ConditionNormaliser  # restricted to the informative sensors
    signals: tuple[str, ...]  # every signal column of the raw training table
    data_hash: str


def normalise_training(
    train: pa.Table, *, conditions: int, settings: Sequence[str] = ()
) -> TrainingInput:
    """Clean ``train`` (see :mod:`.inputs`), normalise it, keep the informative sensors.

    Every signal column but the ``settings`` is a candidate sensor. Sensors constant within every
    condition are dropped here: after normalisation they read 0.
    """
    signals = signal_columns(train)
    unknown = [name for name in settings if name not in signals]
    if unknown:
        raise ModelError(f"settings column {unknown[0]!r} is missing from the training table")
    candidates = tuple(name for name in signals if name not in settings)
    needed = (*settings, *candidates) if conditions > 1 else candidates
    clean = prepare_history(train, needed, known=signals)
    normaliser = ConditionNormaliser.fit(
        clean, candidates, conditions=conditions, settings=settings
    )
    normalised = normaliser.transform(clean)
    sensors = informative_sensors(normalised, candidates)
    return TrainingInput(
        table=normalised.select(["unit", "cycle", *sensors]),
        normaliser=normaliser.restrict(sensors),
        signals=signals,
        data_hash=table_hash(clean, ("unit", "cycle", *needed)),
    )


def normalise_history(
    history: pa.Table, normaliser: ConditionNormaliser, signals: Sequence[str]
) -> pa.Table:
    """``unit``, ``cycle`` and the normaliser's sensors of ``history``, cleaned and normalised.

    ``signals`` are the training signals: any other signal column is an error.
    """
    clean = prepare_history(history, normaliser.inputs, known=signals)
    return normaliser.transform(clean).select(["unit", "cycle", *normaliser.sensors])
