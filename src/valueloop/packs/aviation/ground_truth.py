"""Ground truth for the value ledger: the true remaining life of each asset, where it is known.

In a replay of run-to-failure data (C-MAPSS) the true failure time of every engine is known, so a
policy can be played against what really happened instead of against a model's counterfactual.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from valueloop.errors import DataError
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS ground_truth (
    asset VARCHAR PRIMARY KEY,
    as_of TIMESTAMPTZ NOT NULL,
    true_rul DOUBLE NOT NULL
)
"""


class GroundTruth:
    """True remaining life (cycles) of each asset at an instant."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

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
