"""Engine histories read back from the store as wide tables, one row per engine cycle.

The RUL models take wide tables (``unit``, ``cycle`` and one column per signal); the store keeps
narrow points. :func:`fleet_history` reads the points of the given engines through the store
contract and pivots them: each engine's cycles are numbered from 1 at its first point at or after
``since`` (its last overhaul, for example), up to ``until`` (excluded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import DataError
from valueloop.packs.aviation.replay import FleetSeries
from valueloop.store.base import TimeSeriesStore


def fleet_history(
    store: TimeSeriesStore,
    fleet: FleetSeries,
    assets: Sequence[str],
    *,
    since: Mapping[str, datetime] | None = None,
    until: datetime | None = None,
) -> pa.Table:
    """Wide history of ``assets``: ``unit``, ``cycle``, ``ts`` and one float64 column per signal."""
    signals = list(fleet.signals)
    if not all(signal.isidentifier() for signal in signals):
        raise DataError("signal names must be identifiers")
    units = {asset: unit for unit, asset in fleet.assets.items()}
    labels = pa.table(
        {
            "series_id": pa.array([i for a in assets for i in fleet.ids[a]], pa.int32()),
            "unit": pa.array([units[a] for a in assets for _ in signals], pa.int32()),
            "signal": pa.array(signals * len(assets), pa.string()),
        }
    )
    points = store.read(labels.column("series_id").to_pylist(), None, until)
    starts = pa.table(
        {
            "unit": pa.array([units[a] for a in (since or {})], pa.int32()),
            "since": pa.array(list((since or {}).values()), pa.timestamp("us", tz="UTC")),
        }
    )
    labelled = points.join(labels, "series_id")
    columns = ", ".join(f"first(value) FILTER (WHERE signal = '{s}') AS {s}" for s in signals)
    connection = duckdb.connect()
    try:
        connection.register("labelled", labelled)
        connection.register("starts", starts)
        wide = connection.sql(
            "SELECT unit, ts, row_number() OVER (PARTITION BY unit ORDER BY ts) AS cycle, * "
            f"EXCLUDE (unit, ts) FROM (SELECT l.unit, l.ts, {columns} FROM labelled l "
            "LEFT JOIN starts s ON s.unit = l.unit WHERE s.since IS NULL OR l.ts >= s.since "
            "GROUP BY l.unit, l.ts) ORDER BY unit, ts"
        ).to_arrow_table()
    finally:
        connection.close()
    return pa.table(
        {
            "unit": pc.cast(wide.column("unit"), pa.int32()),
            "cycle": pc.cast(wide.column("cycle"), pa.int32()),
            "ts": wide.column("ts"),
            **{s: pc.cast(wide.column(s), pa.float64()) for s in signals},
        }
    )
