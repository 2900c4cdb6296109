"""The outlook of each asset: how long it has left to run, as a distribution in hours from now.

A planner needs, for every asset it may send a crew to, a remaining-life distribution: a median and
an interval ``[lower, upper]`` of nominal coverage ``interval`` (the maintenance optimiser turns it
into a split normal; see :mod:`valueloop.optimize.maintenance`). An outlook comes from one of:

- **a prediction**: the newest row of a remaining-useful-life model in the site's ``predictions``
  table, made at or before ``now``. Its ``rul``, ``lower`` and ``upper`` are in the model's unit
  (cycles, for a pack that counts flights); ``rul_unit_hours`` converts them to hours. The
  prediction ages: the hours since its ``as_of`` are taken off all three.
- **an alarm-driven hazard**, for an asset no model predicts: a *stated assumption, not a learned
  model*. While an asset has an active alarm (raised at or before ``now``, not cleared by then, not
  suppressed by a shelf or an out-of-service flag) of a priority the assumption names, its remaining
  life has the median given for that priority (``critical: 1d`` says "an asset with an active
  critical alarm fails within a day, as often as not"), whatever the alarm's age (a constant hazard
  while the alarm stands), with the interval ``[median / spread, median * spread]`` at coverage
  ``interval`` (a factor of 2 either side at 80 %, by default). Of several active alarms, the one
  with the shortest median counts. An asset with no such alarm has no overhaul need, unless a
  ``default_life`` is given: then its outlook is that life, with the same spread.

The medians are what the site's engineers state, and the plans are only as good as they are:
calibrate them against the site's failure records, or give the site an RUL model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MIN_UPPER_HOURS = 1e-3
"""Upper end an outlook is raised to when its prediction has aged past it: the asset is due."""

AlarmRows = Callable[[datetime | None, datetime], pa.Table]
"""``(after, until) -> alarms raised in (after, until]`` (all by ``until`` when ``after`` is None),
with ``asset``, ``priority``, ``raised_at``, ``cleared_at`` and ``suppressed``: the alarm book's
:meth:`~valueloop.alarms.book.AlarmBook.raised_between`."""

PredictionRows = Callable[[datetime], pa.Table]
"""``as_of -> the newest prediction of every asset made at or before it`` (``asset``, ``as_of``,
``rul``, ``lower``, ``upper``, ``interval``, ``model_version``): the prediction book's
:meth:`~valueloop.analytics.records.PredictionBook.latest`."""


@dataclass(frozen=True)
class AssetOutlook:
    """The remaining life of one asset from ``now``, in hours.

    ``median`` is the point estimate; ``[lower, upper]`` holds the life with probability
    ``interval``; ``basis`` says where it comes from (a model version, or the hazard assumption and
    the alarm priority), kept as the model version of the work orders it leads to.
    """

    asset: str
    median: float
    lower: float
    upper: float
    interval: float
    basis: str


@dataclass(frozen=True)
class HazardAssumption:
    """The stated remaining life of an asset with an active alarm, by the alarm's priority.

    ``medians`` maps a priority (``critical``, ``high``, ``medium``, ``low``) to the median
    remaining life; a priority left out gives no overhaul need. ``spread`` (> 1) is the factor
    either side of the median that holds the life with probability ``interval``.
    ``default_life``, if given, is the median life of an asset without an alarm.
    """

    medians: Mapping[str, timedelta] = field(default_factory=dict)
    spread: float = 2.0
    interval: float = 0.8
    default_life: timedelta | None = None

    def outlook(self, asset: str, median: timedelta, basis: str) -> AssetOutlook:
        """The outlook of ``asset`` for a median life, with the assumed spread."""
        hours = median / timedelta(hours=1)
        return AssetOutlook(
            asset, hours, hours / self.spread, hours * self.spread, self.interval, basis
        )


def _hours_since(moments: pa.ChunkedArray | pa.Array, now: datetime) -> np.ndarray:
    stamps = pc.cast(moments, pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False)
    reference = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")
    return np.asarray((reference - stamps) / np.timedelta64(1, "h"), dtype=np.float64)


def prediction_outlooks(
    rows: pa.Table, now: datetime, *, unit_hours: float = 1.0
) -> list[AssetOutlook]:
    """Outlooks from prediction rows (one per asset), in hours from ``now``.

    Values are multiplied by ``unit_hours`` (hours per unit of the model's ``rul``), then the hours
    since each row's ``as_of`` are taken off. The interval is kept ordered around the median, and an
    upper end aged to zero or below is raised to :data:`MIN_UPPER_HOURS` (the asset is due now).
    """
    if rows.num_rows == 0:
        return []
    aged = _hours_since(rows.column("as_of"), now)
    rul, lower, upper = (
        rows.column(name).to_numpy(zero_copy_only=False) * unit_hours - aged
        for name in ("rul", "lower", "upper")
    )
    upper = np.maximum(np.maximum(upper, rul), MIN_UPPER_HOURS)
    lower = np.minimum(lower, rul)
    return [
        AssetOutlook(str(asset), float(m), float(lo), float(hi), float(c), str(version))
        for asset, m, lo, hi, c, version in zip(
            rows.column("asset").to_pylist(),
            rul,
            lower,
            upper,
            rows.column("interval").to_pylist(),
            rows.column("model_version").to_pylist(),
            strict=True,
        )
    ]


def active_at(alarms: pa.Table, now: datetime) -> pa.Table:
    """The alarms of ``alarms`` active at data time ``now`` and not suppressed.

    Active: raised at or before ``now`` and not cleared by then, so that a run over a past period
    sees the alarms as they stood, whatever the book holds since.
    """
    if alarms.num_rows == 0:
        return alarms
    moment = pa.scalar(now, alarms.schema.field("raised_at").type)
    cleared = alarms.column("cleared_at")
    keep = pc.and_(
        pc.and_(
            pc.less_equal(alarms.column("raised_at"), moment),
            pc.or_kleene(pc.is_null(cleared), pc.greater(cleared, moment)),
        ),
        pc.invert(pc.fill_null(alarms.column("suppressed"), False)),
    )
    return alarms.filter(keep)


def hazard_outlooks(
    assets: Sequence[str], alarms: pa.Table, hazard: HazardAssumption
) -> list[AssetOutlook]:
    """Outlooks of ``assets`` from their active ``alarms`` under the stated ``hazard``.

    ``alarms`` are the active ones (see :func:`active_at`); per asset the priority with the shortest
    median counts; an asset without one gets ``default_life``, or no outlook.
    """
    shortest: dict[str, tuple[timedelta, str]] = {}
    for asset, priority in zip(
        alarms.column("asset").to_pylist(), alarms.column("priority").to_pylist(), strict=True
    ):
        median = hazard.medians.get(priority)
        if median is not None and (asset not in shortest or median < shortest[asset][0]):
            shortest[asset] = (median, f"alarm-hazard:{priority}")
    outlooks = []
    for asset in assets:
        if asset in shortest:
            outlooks.append(hazard.outlook(asset, *shortest[asset]))
        elif hazard.default_life is not None:
            outlooks.append(hazard.outlook(asset, hazard.default_life, "default-life"))
    return outlooks


class SiteOutlooks:
    """Every asset's outlook at a data time: its newest prediction, else the alarm hazard.

    ``assets`` are the names planned for (the site's); ``predictions`` and ``alarms`` read the
    site's books; ``rul_unit_hours`` is the hours per unit of the predictions' ``rul``.
    """

    def __init__(
        self,
        assets: Sequence[str],
        hazard: HazardAssumption,
        *,
        predictions: PredictionRows,
        alarms: AlarmRows,
        rul_unit_hours: float = 1.0,
    ) -> None:
        self.assets = list(assets)
        self.hazard = hazard
        self.predictions = predictions
        self.alarms = alarms
        self.rul_unit_hours = rul_unit_hours

    def __call__(self, now: datetime) -> list[AssetOutlook]:
        """The outlooks at ``now``, by asset name."""
        known = set(self.assets)
        predicted = [
            outlook
            for outlook in prediction_outlooks(
                self.predictions(now), now, unit_hours=self.rul_unit_hours
            )
            if outlook.asset in known
        ]
        covered = {outlook.asset for outlook in predicted}
        others = [asset for asset in self.assets if asset not in covered]
        hazards = hazard_outlooks(others, active_at(self.alarms(None, now), now), self.hazard)
        return sorted([*predicted, *hazards], key=lambda outlook: outlook.asset)
