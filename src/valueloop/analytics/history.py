"""Asset histories read back from the store as wide tables, one row per asset cycle.

The models take wide tables (``unit``, ``cycle`` and one column per signal); the store keeps narrow
points. :func:`fleet_history` reads the points of the given assets through the store contract and
pivots them: cycles are numbered from 1 at each asset's first point since ``since`` (an asset's last
overhaul, for example).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import DataError
from valueloop.model.assets import SeriesRegistry
from valueloop.store.base import TimeSeriesStore


def unit_number(asset: str) -> int:
    """The fleet unit number of an asset named ``<prefix>-<number>``."""
    try:
        return int(asset.rsplit("-", 1)[-1])
    except ValueError as err:
        raise DataError(f"asset {asset!r} is not named <prefix>-<number>") from err


def fleet_history(
    store: TimeSeriesStore,
    registry: SeriesRegistry,
    assets: Sequence[str],
    signals: Sequence[str],
    since: Mapping[str, datetime] | None = None,
) -> pa.Table:
    """Wide history of ``assets``: ``unit``, ``cycle``, ``ts`` and one float64 column per signal."""
    catalogue = registry.catalogue()
    wanted = catalogue.filter(
        pc.and_(
            pc.is_in(catalogue.column("asset"), pa.array(list(assets), pa.string())),
            pc.is_in(catalogue.column("signal"), pa.array(list(signals), pa.string())),
        )
    )
    points = store.read(wanted.column("series_id").to_pylist())
    starts = pa.table(
        {
            "asset": pa.array(list((since or {}).keys()), pa.string()),
            "since": pa.array(list((since or {}).values()), pa.timestamp("us", tz="UTC")),
        }
    )
    labelled = points.join(wanted.select(["series_id", "asset", "signal"]), "series_id")
    columns = ", ".join(f"first(value) FILTER (WHERE signal = '{s}') AS {s}" for s in signals)
    if not all(signal.isidentifier() for signal in signals):
        raise DataError("signal names must be identifiers")
    connection = duckdb.connect()
    try:
        connection.register("labelled", labelled)
        connection.register("starts", starts)
        wide = connection.sql(
            "SELECT asset, ts, row_number() OVER (PARTITION BY asset ORDER BY ts) AS cycle, * "
            f"EXCLUDE (asset, ts) FROM (SELECT l.asset, l.ts, {columns} FROM labelled l "
            "LEFT JOIN starts s ON s.asset = l.asset WHERE s.since IS NULL OR l.ts >= s.since "
            "GROUP BY l.asset, l.ts) ORDER BY asset, ts"
        ).to_arrow_table()
    finally:
        connection.close()
    units = pa.array([unit_number(a) for a in wide.column("asset").to_pylist()], pa.int32())
    return pa.table(
        {
            "unit": units,
            "cycle": pc.cast(wide.column("cycle"), pa.int32()),
            "ts": wide.column("ts"),
            **{s: pc.cast(wide.column(s), pa.float64()) for s in signals},
        }
    )
