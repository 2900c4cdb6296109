"""Predictions as a table of the store: every remaining-life estimate with its model version."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from valueloop.store.duckdb import DuckDBStore

PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("as_of", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("asset", pa.string(), nullable=False),
        pa.field("cycle", pa.int32(), nullable=False),
        pa.field("rul", pa.float64(), nullable=False),
        pa.field("lower", pa.float64(), nullable=False),
        pa.field("upper", pa.float64(), nullable=False),
        pa.field("interval", pa.float64(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
    ]
)

_DDL = """
CREATE TABLE IF NOT EXISTS predictions (
    run_id VARCHAR NOT NULL,
    as_of TIMESTAMPTZ NOT NULL,
    asset VARCHAR NOT NULL,
    cycle INTEGER NOT NULL,
    rul DOUBLE NOT NULL,
    lower DOUBLE NOT NULL,
    upper DOUBLE NOT NULL,
    interval DOUBLE NOT NULL,
    model_version VARCHAR NOT NULL
)
"""


class PredictionBook:
    """Remaining-useful-life predictions (cycles) per asset and run."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def add(self, rows: pa.Table) -> None:
        """Append prediction rows of :data:`PREDICTION_SCHEMA`."""
        self._store.append("predictions", rows.cast(PREDICTION_SCHEMA))

    def latest(self, as_of: datetime | None = None) -> pa.Table:
        """The newest prediction of every asset (made at or before ``as_of`` if given)."""
        condition, params = ("WHERE as_of <= ?", [as_of]) if as_of is not None else ("", [])
        return self._store.query(
            f"SELECT * FROM predictions {condition} "
            "QUALIFY row_number() OVER (PARTITION BY asset ORDER BY as_of DESC, run_id DESC) = 1 "
            "ORDER BY asset",
            params,
        ).cast(PREDICTION_SCHEMA)

    def history(self, asset: str) -> pa.Table:
        """Every prediction made for one asset, oldest first."""
        return self._store.query(
            "SELECT * FROM predictions WHERE asset = ? ORDER BY as_of", [asset]
        ).cast(PREDICTION_SCHEMA)
