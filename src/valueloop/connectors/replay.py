"""File replay of a fleet's cycle-by-cycle records (C-MAPSS text format) as timestamped points.

Each asset's last recorded cycle lands at the fleet's ``observed_until`` instant and earlier cycles
are ``cycle_interval`` apart before it, so the replay shows the fleet as it stands now. Points are
emitted in time order, ``batch_cycles`` fleet time steps per delivery, paced by ``speedup`` (0: as
fast as the store takes them). Rows that cannot be read become dead letters naming line and column.

The same class is the replay's :class:`~valueloop.connectors.base.Sink`: an executed overhaul
restores an engine, which from then on reports the first ``restored_cycles`` cycles of a healthy
engine; :meth:`CmapssReplaySource.drain_restorations` hands those points to the ingest pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.config import ReplayConnectorSpec, SiteConfig
from valueloop.connectors.base import Delivery, SetpointWrite, WriteResult
from valueloop.datasets import data_dir
from valueloop.datasets.cmapss import COLUMNS, load_cmapss, parse_cmapss_text, read_text
from valueloop.errors import ConfigError
from valueloop.model.assets import asset_name
from valueloop.schema import POINT_SCHEMA, Quality, dead_letters, sort_points

OVERHAUL_SIGNAL = "overhaul"


class CmapssReplaySource:
    """Replay a C-MAPSS file for the site's fleet; ``series_ids[asset][signal]`` maps to ids."""

    spec_model: ClassVar[type[ReplayConnectorSpec]] = ReplayConnectorSpec

    def __init__(
        self,
        spec: ReplayConnectorSpec,
        site: SiteConfig,
        series_ids: dict[str, dict[str, int]],
        *,
        file: Path | None = None,
    ) -> None:
        self.name = spec.name
        self.spec = spec
        self.site = site
        self.series_ids = series_ids
        self.file = file if file is not None else data_dir() / spec.file
        self._restorations: list[Delivery] = []
        self._train: pa.Table | None = None

    @staticmethod
    def fleet_assets(site: SiteConfig, file: Path) -> list[str]:
        """Asset names of the units present in a replay file (readable rows only)."""
        units = parse_cmapss_text(read_text(file)).rows.column("unit")
        numbers = sorted(set(units.to_pylist()))
        return [asset_name(site.fleet.asset_prefix, int(number)) for number in numbers]

    def asset_names(self) -> list[str]:
        """Names of the fleet's assets, in unit order."""
        return sorted(self.series_ids)

    def _signal_columns(self) -> list[str]:
        missing = [s.name for s in self.site.signals if s.name not in COLUMNS]
        if missing:
            raise ConfigError(
                f"connector {self.name}: signals {', '.join(missing)} are not columns of the "
                "replay file"
            )
        return [signal.name for signal in self.site.signals]

    def _points(self, rows: pa.Table, end: datetime) -> pa.Table:
        """Long PointBatch of wide cycle rows, each asset's last cycle at ``end``."""
        signals = self._signal_columns()
        units = rows.column("unit").to_numpy()
        cycles = rows.column("cycle").to_numpy().astype(np.int64)
        last_cycle = np.zeros(units.max() + 1 if len(units) else 1, dtype=np.int64)
        np.maximum.at(last_cycle, units, cycles)
        interval_us = int(self.spec.cycle_interval.total_seconds() * 1_000_000)
        end_us = int(end.timestamp() * 1_000_000)
        ts = end_us - (last_cycle[units] - cycles) * interval_us
        id_matrix = np.zeros((last_cycle.shape[0], len(signals)), dtype=np.int32)
        for unit in np.unique(units):
            ids = self.series_ids.get(asset_name(self.site.fleet.asset_prefix, int(unit)))
            if ids is None:
                raise ConfigError(f"connector {self.name}: unit {unit} has no asset in the model")
            id_matrix[unit] = [ids[signal] for signal in signals]
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

    async def deliveries(self) -> AsyncIterator[Delivery]:
        """Yield the fleet's history in time order, then stop."""
        parsed = parse_cmapss_text(read_text(self.file))
        reasons = pc.binary_join_element_wise(
            pa.scalar(f"{self.file.name} line "),
            pc.cast(parsed.rejected.column("line"), pa.string()),
            pa.scalar(": "),
            parsed.rejected.column("reason"),
            "",
        )
        rejected = dead_letters(self.name, parsed.rejected.column("raw"), reasons)
        points = self._points(parsed.rows, self.site.fleet.observed_until)
        order = pc.sort_indices(points, sort_keys=[("ts", "ascending"), ("series_id", "ascending")])
        points = points.take(order)
        instants = np.unique(points.column("ts").cast(pa.int64()).to_numpy())
        step = self.spec.batch_cycles
        bounds = np.searchsorted(points.column("ts").cast(pa.int64()).to_numpy(), instants[::step])
        bounds = np.append(bounds, points.num_rows)
        interval = self.spec.cycle_interval.total_seconds()
        for index in range(len(bounds) - 1):
            chunk = points.slice(int(bounds[index]), int(bounds[index + 1] - bounds[index]))
            yield Delivery(
                points=sort_points(chunk),
                rejected=rejected if index == 0 else rejected.schema.empty_table(),
            )
            if self.spec.speedup > 0:
                await asyncio.sleep(step * interval / self.spec.speedup)
        if len(bounds) == 1 and rejected.num_rows:
            yield Delivery(points=POINT_SCHEMA.empty_table(), rejected=rejected)

    def restored_history(self, asset: str, at: datetime) -> pa.Table:
        """Points of a restored engine: the first cycles of a healthy engine, from ``at`` on.

        The healthy trajectory is the training engine with the same unit number (wrapping around).
        """
        train = self._healthy_fleet()
        units = sorted(set(train.column("unit").to_pylist()))
        number = int(asset.rsplit("-", 1)[-1])
        donor = units[(number - 1) % len(units)]
        rows = train.filter(
            pc.and_(
                pc.equal(train.column("unit"), donor),
                pc.less_equal(train.column("cycle"), self.spec.restored_cycles),
            )
        )
        rows = rows.set_column(0, "unit", pa.array([number] * rows.num_rows, pa.int32()))
        end = at + self.spec.cycle_interval * (rows.num_rows - 1)
        return sort_points(self._points(rows, end))

    def _healthy_fleet(self) -> pa.Table:
        if self._train is None:
            self._train = load_cmapss(self.site.fleet.subset, "train")
        return self._train

    async def write(self, writes: Sequence[SetpointWrite]) -> Sequence[WriteResult]:
        """Execute overhauls; each restored engine's points wait in :meth:`drain_restorations`."""
        results = []
        for write in writes:
            if write.signal != OVERHAUL_SIGNAL or write.asset not in self.series_ids:
                results.append(
                    WriteResult(
                        reference=write.reference,
                        ok=False,
                        detail=f"replay accepts only {OVERHAUL_SIGNAL!r} on a fleet asset",
                    )
                )
                continue
            points = self.restored_history(write.asset, write.at)
            self._restorations.append(Delivery(points=points))
            results.append(
                WriteResult(
                    reference=write.reference,
                    ok=True,
                    detail=f"engine restored; {points.num_rows} points of a healthy engine follow",
                )
            )
        return results

    def drain_restorations(self) -> list[Delivery]:
        """The points of engines restored since the last call."""
        drained, self._restorations = self._restorations, []
        return drained
