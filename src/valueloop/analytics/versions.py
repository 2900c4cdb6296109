"""The book of fitted model versions: which model scored an asset's signals from when, on what.

Every fit of an analytics binding (the first one and each refit) adds a row to ``model_versions``:
the binding, asset and kind, the model's version, its training window ``[train_start,
train_end)`` and the rows it held, the hyper-parameters and the fit's metrics (for a forecaster its
backtest errors beside the persistence and seasonal-naive forecasts), as JSON. Times are data
times: ``fitted_at`` is when the model took over, which is the end of its training window. A fit
repeated after a restart adds nothing (unique on binding, asset and ``train_end``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS model_versions (
    binding VARCHAR NOT NULL,
    asset VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    fitted_at TIMESTAMPTZ NOT NULL,
    train_start TIMESTAMPTZ NOT NULL,
    train_end TIMESTAMPTZ NOT NULL,
    rows INTEGER NOT NULL,
    params JSON NOT NULL,
    metrics JSON NOT NULL,
    UNIQUE (binding, asset, train_end)
)
"""
_COLUMNS = (
    "binding, asset, kind, version, fitted_at, train_start, train_end, rows, "
    "CAST(params AS VARCHAR) AS params, CAST(metrics AS VARCHAR) AS metrics"
)


@dataclass(frozen=True)
class ModelVersion:
    """One fit of a binding on an asset (times are data times, UTC)."""

    binding: str
    asset: str
    kind: str
    version: str
    fitted_at: datetime
    train_start: datetime
    train_end: datetime
    rows: int
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


class ModelVersions:
    """The ``model_versions`` table of the site's books."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def record(self, fit: ModelVersion) -> bool:
        """Add ``fit`` unless its binding, asset and ``train_end`` are known; True if added."""
        added = self._store.execute(
            "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [
                fit.binding,
                fit.asset,
                fit.kind,
                fit.version,
                fit.fitted_at,
                fit.train_start,
                fit.train_end,
                fit.rows,
                json.dumps(dict(fit.params), sort_keys=True, default=str),
                json.dumps(dict(fit.metrics), sort_keys=True),
            ],
        )
        return added > 0

    def latest(self, binding: str | None = None, asset: str | None = None) -> pa.Table:
        """The newest version (by ``train_end``) of each binding and asset, optionally filtered."""
        return self._store.query(
            f"SELECT {_COLUMNS} FROM model_versions "
            "WHERE (? IS NULL OR binding = ?) AND (? IS NULL OR asset = ?) "
            "QUALIFY row_number() OVER (PARTITION BY binding, asset ORDER BY train_end DESC) = 1 "
            "ORDER BY binding, asset",
            [binding, binding, asset, asset],
        )

    def history(self, binding: str, asset: str) -> pa.Table:
        """Every version of ``binding`` on ``asset``, oldest first."""
        return self._store.query(
            f"SELECT {_COLUMNS} FROM model_versions WHERE binding = ? AND asset = ? "
            "ORDER BY train_end",
            [binding, asset],
        )
