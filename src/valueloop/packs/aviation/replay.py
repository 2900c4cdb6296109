"""File replay of a fleet's cycle-by-cycle records (C-MAPSS text format) as timestamped points.

Each engine's last recorded cycle lands at the connector's ``observed_until`` instant and earlier
cycles are ``cycle_interval`` apart before it, so the replay shows the fleet as it stands then. The
aviation pack's collect job reads the replay on the engine's clock (:meth:`CmapssReplaySource.
points` between two instants, ``batch_cycles`` fleet cycles per PointBatch); a stand-alone replay
(:meth:`CmapssReplaySource.deliveries`, for benchmarks) emits the whole history in time order,
paced by ``speedup`` (0: as fast as the store takes it). Rows that cannot be read become dead
letters naming line and column.

The same class is the pack's maintenance shop: a completed overhaul (:meth:`CmapssReplaySource.
restore`) restores an engine, which from then on reports the first ``restored_cycles`` cycles of
a healthy engine (a training engine of the subset); :meth:`CmapssReplaySource.drain_restorations`
hands those points to the ingest pipeline.

Built from its spec alone, as ``serve`` builds every field connector, the replay knows no series
ids and reads nothing: its engines are replayed by the pack's jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from valueloop.config.yamlio import duration_field
from valueloop.connectors.base import Delivery
from valueloop.connectors.spec import FieldConnectorSpec, PointMap
from valueloop.connectors.status import ConnectorStatus, StatusTracker
from valueloop.datasets import data_dir
from valueloop.datasets.cmapss import (
    COLUMNS,
    ParsedText,
    load_cmapss,
    parse_cmapss_text,
    read_text,
)
from valueloop.errors import ActionError, ConfigError, DataError
from valueloop.schema import POINT_SCHEMA, Quality, dead_letters, sort_points

OVERHAUL_SIGNAL = "overhaul"
"""The action of a work order that restores an engine (the review's plan proposes it)."""
OVERHAUL_ACTIONS = (OVERHAUL_SIGNAL, "maintenance")
"""Work-order actions the replay carries out as an overhaul (``maintenance``: a site planner's)."""

KIND = "cmapss_replay"


class CmapssReplaySpec(FieldConnectorSpec):
    """A C-MAPSS file replayed as the fleet under ``prefix`` (``site/area/line``)."""

    kind: Literal["cmapss_replay"]
    subset: Literal["FD001", "FD002", "FD003", "FD004"] = Field(
        description="the subset whose training engines give a restored engine's healthy cycles"
    )
    file: str = Field(description="replay file under the data folder: cmapss/test_FD001.txt.gz")
    cycle_interval: timedelta = Field(description="time between two cycles of an engine")
    observed_until: datetime = Field(description="the instant each engine's last cycle lands at")
    speedup: Annotated[float, Field(ge=0)] = Field(
        0.0, description="pace of a stand-alone replay: data seconds per second (0: no pause)"
    )
    batch_cycles: Annotated[int, Field(ge=1)] = Field(50, description="fleet cycles per PointBatch")
    restored_cycles: Annotated[int, Field(ge=1)] = Field(
        30, description="cycles an overhauled engine reports after its restoration"
    )

    @field_validator("cycle_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return duration_field(value)

    @field_validator("cycle_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the cycle interval must be positive")
        return value

    @field_validator("observed_until")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-06-01T00:00:00Z")
        return value.astimezone(UTC)


@dataclass(frozen=True)
class FleetSeries:
    """Where a replay writes: each unit's asset and the series id of each signal of that asset.

    ``signals`` are the replayed columns (the asset type's signals, all columns of the file);
    ``ids[asset]`` holds the series ids of ``signals``, in order.
    """

    signals: tuple[str, ...]
    assets: dict[int, str]
    ids: dict[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        missing = [signal for signal in self.signals if signal not in COLUMNS[2:]]
        if missing:
            raise ConfigError(
                f"signals {', '.join(missing)} are not columns of a C-MAPSS file "
                f"({', '.join(COLUMNS[2:5])}, ...)"
            )

    def unit_of(self, asset: str) -> int:
        """The unit number of a fleet asset."""
        for unit, name in self.assets.items():
            if name == asset:
                return unit
        raise DataError(f"asset {asset!r} is not in the replayed fleet")


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


class CmapssReplaySource:
    """Replay a C-MAPSS file as the fleet ``series`` describes (None: built from its spec alone)."""

    spec_model: ClassVar[type[CmapssReplaySpec]] = CmapssReplaySpec

    def __init__(
        self,
        spec: CmapssReplaySpec,
        series: FleetSeries | None = None,
        *,
        file: Path | None = None,
    ) -> None:
        self.name = spec.name
        self.spec = spec
        self.series = series
        self.file = file if file is not None else data_dir() / spec.file
        self._parsed: ParsedText | None = None
        self._points: pa.Table | None = None
        self._train: pa.Table | None = None
        self._restorations: list[Delivery] = []
        self._status = StatusTracker(spec.name, KIND)
        self._stopped = asyncio.Event()

    # Reading the file -----------------------------------------------------------------------

    def parsed(self) -> ParsedText:
        """The file's readable rows and the rows it could not read (read once)."""
        if self._parsed is None:
            self._parsed = parse_cmapss_text(read_text(self.file))
        return self._parsed

    def units(self) -> list[int]:
        """The unit numbers present in the file (readable rows only), in order."""
        return sorted(set(self.parsed().rows.column("unit").to_pylist()))

    def rejected(self) -> pa.Table:
        """Dead letters of the file's unreadable rows, each naming its line and reason."""
        parsed = self.parsed()
        reasons = pc.binary_join_element_wise(
            pa.scalar(f"{self.file.name} line "),
            pc.cast(parsed.rejected.column("line"), pa.string()),
            pa.scalar(": "),
            parsed.rejected.column("reason"),
            "",
        )
        return dead_letters(self.name, parsed.rejected.column("raw"), reasons)

    def _fleet(self) -> FleetSeries:
        if self.series is None:
            raise ConfigError(f"connector {self.name}: the replay was built without its fleet")
        return self.series

    def _wide_points(self, rows: pa.Table, end: datetime) -> pa.Table:
        """Long PointBatch of wide cycle rows, each unit's last cycle at ``end``."""
        fleet = self._fleet()
        signals = list(fleet.signals)
        units = rows.column("unit").to_numpy()
        cycles = rows.column("cycle").to_numpy().astype(np.int64)
        last_cycle = np.zeros(units.max() + 1 if len(units) else 1, dtype=np.int64)
        np.maximum.at(last_cycle, units, cycles)
        interval_us = self.spec.cycle_interval // timedelta(microseconds=1)
        ts = _micros(end) - (last_cycle[units] - cycles) * interval_us
        id_matrix = np.zeros((last_cycle.shape[0], len(signals)), dtype=np.int32)
        for unit in np.unique(units):
            asset = fleet.assets.get(int(unit))
            if asset is None:
                raise ConfigError(
                    f"connector {self.name}: unit {unit} of {self.file.name} has no asset "
                    f"under {self.spec.prefix}"
                )
            id_matrix[unit] = fleet.ids[asset]
        values = np.column_stack([rows.column(s).to_numpy() for s in signals])
        series = id_matrix[units]
        return pa.table(
            {
                "series_id": pa.array(series.ravel(), pa.int32()),
                "ts": pa.array(np.repeat(ts, len(signals)), pa.timestamp("us", tz="UTC")),
                "value": pa.array(values.ravel(), pa.float64()),
                "quality": pa.array(
                    np.full(series.size, int(Quality.GOOD), dtype=np.uint8), pa.uint8()
                ),
            },
            schema=POINT_SCHEMA,
        )

    def history(self) -> pa.Table:
        """Every replayed point, by time then series (computed once)."""
        if self._points is None:
            points = self._wide_points(self.parsed().rows, self.spec.observed_until)
            order = pc.sort_indices(
                points, sort_keys=[("ts", "ascending"), ("series_id", "ascending")]
            )
            self._points = points.take(order)
        return self._points

    def _stamps(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.history().column("ts").cast(pa.int64()).to_numpy(), np.int64)

    def first_instant(self) -> datetime | None:
        """When the earliest replayed cycle lands (None for an empty file)."""
        stamps = self._stamps()
        if stamps.size == 0:
            return None
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(stamps[0]))

    def batches(self, after: datetime | None, until: datetime) -> list[pa.Table]:
        """The points with ``after < ts <= until``, ``batch_cycles`` fleet cycles per batch."""
        stamps = self._stamps()
        low = 0 if after is None else int(np.searchsorted(stamps, _micros(after), side="right"))
        high = int(np.searchsorted(stamps, _micros(until), side="right"))
        if high <= low:
            return []
        instants = np.unique(stamps[low:high])
        starts = np.searchsorted(stamps, instants[:: self.spec.batch_cycles]).tolist()
        bounds = [*starts, high]
        points = self.history()
        return [sort_points(points.slice(start, end - start)) for start, end in pairwise(bounds)]

    # A stand-alone replay, as a Source ---------------------------------------------------------

    async def deliveries(self) -> AsyncIterator[Delivery]:
        """Yield the fleet's history in time order, then stop (built from a spec: nothing)."""
        if self.series is None:
            self._status.connected()
            await self._stopped.wait()
            return
        rejected = self.rejected()
        batches = self.batches(None, self.spec.observed_until)
        interval = self.spec.cycle_interval.total_seconds()
        for index, batch in enumerate(batches):
            self._status.received(batch.num_rows)
            yield Delivery(
                points=batch, rejected=rejected if index == 0 else rejected.schema.empty_table()
            )
            if self.spec.speedup > 0:
                await asyncio.sleep(self.spec.batch_cycles * interval / self.spec.speedup)
        if not batches and rejected.num_rows:
            yield Delivery(points=POINT_SCHEMA.empty_table(), rejected=rejected)

    def mappings(self) -> Sequence[tuple[str, PointMap]]:
        """No mapping: the replay's series are the site model's own."""
        return []

    def status(self) -> ConnectorStatus:
        """The replay's health now."""
        return self._status.snapshot()

    async def stop(self) -> None:
        """End :meth:`deliveries` of a replay built from its spec."""
        self._stopped.set()

    # Restorations, as a Sink -------------------------------------------------------------------

    def restored_history(self, asset: str, at: datetime) -> pa.Table:
        """Points of an engine restored at ``at``: the first cycles of a healthy engine after it.

        The first healthy cycle lands one cycle interval after ``at`` (so it never overwrites a
        recorded cycle); the healthy trajectory is the training engine with the same unit number
        (wrapping around).
        """
        train = self._healthy_fleet()
        units = sorted(set(train.column("unit").to_pylist()))
        number = self._fleet().unit_of(asset)
        donor = units[(number - 1) % len(units)]
        rows = train.filter(
            pc.and_(
                pc.equal(train.column("unit"), donor),
                pc.less_equal(train.column("cycle"), self.spec.restored_cycles),
            )
        )
        rows = rows.set_column(0, "unit", pa.array([number] * rows.num_rows, pa.int32()))
        end = at + self.spec.cycle_interval * rows.num_rows
        return sort_points(self._wide_points(rows, end))

    def _healthy_fleet(self) -> pa.Table:
        if self._train is None:
            self._train = load_cmapss(self.spec.subset, "train")
        return self._train

    def restore(self, asset: str, at: datetime) -> str:
        """Overhaul ``asset`` at ``at``: its restored points wait in :meth:`drain_restorations`.

        Returns what was done, in words; an asset outside the fleet is an :class:`ActionError`.
        """
        if asset not in set(self._fleet().assets.values()):
            raise ActionError(f"the replay overhauls only engines of its fleet, not {asset!r}")
        points = self.restored_history(asset, at)
        self._restorations.append(Delivery(points=points))
        return f"engine restored; {points.num_rows} points of a healthy engine follow"

    def drain_restorations(self) -> list[Delivery]:
        """The points of engines restored since the last call."""
        drained, self._restorations = self._restorations, []
        return drained
