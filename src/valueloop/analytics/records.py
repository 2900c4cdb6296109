"""Remaining life in the store: every estimate with its model version, and the truth where known.

:class:`PredictionBook` keeps the predictions; :class:`GroundTruth` the true remaining life of each
asset at an instant, known in a replay of run-to-failure data, so that a policy can be played
against what really happened and a report can set each prediction beside the truth.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from valueloop.errors import DataError
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

_GROUND_TRUTH_DDL = """
CREATE TABLE IF NOT EXISTS ground_truth (
    asset VARCHAR PRIMARY KEY,
    as_of TIMESTAMPTZ NOT NULL,
    true_rul DOUBLE NOT NULL
)
"""

_PREDICTIONS_DDL = """
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
    """Remaining-useful-life predictions (cycles) per asset and run.

    A site has one book, the only writer of its predictions: the newest prediction of every
    asset is read once and kept until rows are added.
    """

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_PREDICTIONS_DDL)
        self._latest: pa.Table | None = None
        self._lock = threading.Lock()

    def add(self, rows: pa.Table) -> None:
        """Append prediction rows of :data:`PREDICTION_SCHEMA`."""
        with self._lock:
            self._store.append("predictions", rows.cast(PREDICTION_SCHEMA))
            self._latest = None

    def latest(self, as_of: datetime | None = None) -> pa.Table:
        """The newest prediction of every asset (made at or before ``as_of`` if given).

        Without ``as_of``, the same table is returned until rows are added.
        """
        if as_of is not None:
            return self._newest("WHERE as_of <= ?", [as_of])
        with self._lock:
            if self._latest is None:
                self._latest = self._newest("", [])
            return self._latest

    def _newest(self, condition: str, params: list[datetime]) -> pa.Table:
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


class GroundTruth:
    """True remaining life (cycles) of each asset at an instant."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_GROUND_TRUTH_DDL)

    def replace(self, assets: Sequence[str], as_of: datetime, true_rul: Sequence[float]) -> None:
        """Set the true remaining life of ``assets`` at ``as_of``."""
        rows = pa.table(
            {
                "asset": pa.array(list(assets), pa.string()),
                "as_of": pa.array([as_of] * len(assets), pa.timestamp("us", tz="UTC")),
                "true_rul": pa.array([float(v) for v in true_rul], pa.float64()),
            }
        )
        self._store.execute(
            "DELETE FROM ground_truth WHERE asset IN (SELECT unnest(?::VARCHAR[]))",
            [list(assets)],
        )
        self._store.append("ground_truth", rows)

    def for_assets(self, assets: Sequence[str]) -> list[float]:
        """True remaining life of each of ``assets``, in order."""
        rows = self._store.query(
            "SELECT asset, true_rul FROM ground_truth WHERE asset IN (SELECT unnest(?::VARCHAR[]))",
            [list(assets)],
        ).to_pylist()
        known = {row["asset"]: float(row["true_rul"]) for row in rows}
        missing = [asset for asset in assets if asset not in known]
        if missing:
            raise DataError(f"no ground truth for {', '.join(missing[:5])}")
        return [known[asset] for asset in assets]
