"""The asset model: the ISA-95 hierarchy (site, area, line, asset) and the signals of each asset.

A series is one signal of one asset, named by its path ``site/area/line/asset/signal``. Series ids
are given once by the :class:`SeriesRegistry` kept in the store, so they stay stable across runs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from valueloop.errors import ConfigError
from valueloop.store.duckdb import DuckDBStore

SERIES_SCHEMA = pa.schema(
    [
        pa.field("series_id", pa.int32(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("asset", pa.string(), nullable=False),
        pa.field("signal", pa.string(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
    ]
)

_SERIES_DDL = """
CREATE TABLE IF NOT EXISTS series (
    series_id INTEGER PRIMARY KEY,
    path VARCHAR NOT NULL UNIQUE,
    asset VARCHAR NOT NULL,
    signal VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    description VARCHAR NOT NULL
)
"""


@dataclass(frozen=True)
class SeriesSpec:
    """A series before it has an id: its place in the hierarchy and its unit."""

    path: str
    asset: str
    signal: str
    unit: str
    description: str


class SeriesRegistry:
    """Series ids by path, persisted in the store's ``series`` table.

    The catalogue is read once and kept until :meth:`ensure` registers a series (the only writer
    of the table), so that resolving paths and reading the catalogue do not query the store.
    """

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_SERIES_DDL)
        self._catalogue: pa.Table | None = None
        self._lock = threading.Lock()

    def ensure(self, specs: Sequence[SeriesSpec]) -> pa.Table:
        """Register the series not known yet; return the catalogue rows of ``specs``, in order."""
        with self._lock:
            known = self._store.query("SELECT path FROM series").column("path").to_pylist()
            seen = set(known)
            new = [spec for spec in specs if spec.path not in seen]
            if new:
                row = self._store.query("SELECT coalesce(max(series_id), 0) AS top FROM series")
                first = int(row.column("top")[0].as_py()) + 1
                rows = pa.table(
                    {
                        "series_id": pa.array(range(first, first + len(new)), pa.int32()),
                        "path": [spec.path for spec in new],
                        "asset": [spec.asset for spec in new],
                        "signal": [spec.signal for spec in new],
                        "unit": [spec.unit for spec in new],
                        "description": [spec.description for spec in new],
                    },
                    schema=SERIES_SCHEMA,
                )
                self._store.append("series", rows)
                self._catalogue = None
        return self.lookup([spec.path for spec in specs])

    def lookup(self, paths: Sequence[str]) -> pa.Table:
        """Catalogue rows of ``paths`` in the given order; an unknown path is an error."""
        rows = self._store.query(
            "SELECT s.* FROM series s JOIN (SELECT unnest(?::VARCHAR[]) AS path, "
            "generate_subscripts(?::VARCHAR[], 1) AS position) wanted USING (path) "
            "ORDER BY wanted.position",
            [list(paths), list(paths)],
        )
        if rows.num_rows != len(paths):
            found = set(rows.column("path").to_pylist())
            missing = [path for path in paths if path not in found][:5]
            raise ConfigError(f"unknown series paths: {', '.join(missing)}")
        return rows.cast(SERIES_SCHEMA)

    def resolve(self, paths: pa.Array) -> pa.Array:
        """The ``series_id`` (int32) of each path, null where the path is not registered."""
        known = self.catalogue()
        ids = known.column("series_id").combine_chunks()
        return pc.take(ids, pc.index_in(paths, value_set=known.column("path")))

    def catalogue(self, asset: str | None = None) -> pa.Table:
        """All registered series, or those of one asset, by id.

        The same table is returned until a series is registered.
        """
        with self._lock:
            if self._catalogue is None:
                rows = self._store.query("SELECT * FROM series ORDER BY series_id")
                self._catalogue = rows.cast(SERIES_SCHEMA).combine_chunks()
            known = self._catalogue
        if asset is None:
            return known
        return known.filter(pc.equal(known.column("asset"), asset))

    def known_ids(self) -> pa.Array:
        """The ids of every registered series."""
        return self.catalogue().column("series_id").combine_chunks()
