"""Shared set-up of the binding tests: a DuckDB store with registered series, and a stepped job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from valueloop.analytics.binding import AnalyticsJob
from valueloop.engine.job import JobResult
from valueloop.model.assets import SeriesRegistry, SeriesSpec
from valueloop.schema import POINT_SCHEMA
from valueloop.store.duckdb import DuckDBStore


@dataclass
class Plant:
    """A points store that is also the books, with series registered by name for one asset."""

    store: DuckDBStore
    registry: SeriesRegistry
    asset: str = "pump-1"

    @classmethod
    def open(cls, folder: Path) -> Plant:
        store = DuckDBStore(folder / "site.duckdb")
        return cls(store, SeriesRegistry(store))

    def ids(self, signals: Sequence[str]) -> list[int]:
        """Series ids of ``signals`` of the asset, registered on first use."""
        specs = [
            SeriesSpec(f"plant/area/line/{self.asset}/{name}", self.asset, name, "", "")
            for name in signals
        ]
        ids: list[int] = self.registry.ensure(specs).column("series_id").to_pylist()
        return ids

    def write(
        self,
        ids: Sequence[int],
        stamps: npt.NDArray[np.datetime64],
        values: npt.NDArray[np.float64],
        quality: npt.NDArray[np.uint8] | None = None,
    ) -> None:
        """Store ``values`` (rows x series, NaN rows skipped) at ``stamps`` (naive = UTC)."""
        rows, width = values.shape
        flat = values.T.ravel()
        keep = ~np.isnan(flat)
        marks = np.zeros(rows * width, np.uint8) if quality is None else quality.T.ravel()
        batch = pa.table(
            {
                "series_id": pa.array(np.repeat(np.asarray(ids, np.int32), rows)[keep]),
                "ts": pa.array(
                    np.tile(stamps.astype("datetime64[us]"), width)[keep],
                    pa.timestamp("us", tz="UTC"),
                ),
                "value": pa.array(flat[keep]),
                "quality": pa.array(marks[keep]),
            },
            schema=POINT_SCHEMA,
        )
        self.store.write(batch)

    def series(self, series_id: int) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        """Timestamps (naive UTC, seconds) and values of one stored series."""
        points = self.store.read([series_id])
        stamps = points["ts"].cast(pa.timestamp("us")).to_numpy().astype("datetime64[s]")
        return stamps, points["value"].to_numpy()


def utc(stamp: np.datetime64) -> datetime:
    """A naive numpy timestamp read as UTC."""
    return datetime.fromisoformat(str(stamp.astype("datetime64[s]"))).replace(tzinfo=UTC)


def run(
    job: AnalyticsJob,
    start: datetime,
    until: datetime,
    every: timedelta,
    watermark: datetime | None = None,
    state: bytes | None = None,
) -> list[JobResult]:
    """Step ``job`` at ``start + every``, ``start + 2 every``, ... up to ``until`` (included)."""
    results = []
    now = start
    while now < until:
        now = min(now + every, until)
        result = job.step(now, watermark, state)
        watermark, state = result.watermark, result.state
        results.append(result)
    return results
