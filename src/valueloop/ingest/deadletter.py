"""The dead-letter table: every input the platform could not store, with its reason and time."""

from __future__ import annotations

import pyarrow as pa

from valueloop.schema import DEAD_LETTER_SCHEMA, dead_letters
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS dead_letters (
    source VARCHAR NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    raw VARCHAR,
    reason VARCHAR NOT NULL
)
"""


def rejected_points_as_dead_letters(source: str, rejected: pa.Table) -> pa.Table:
    """Dead-letter rows for rejected PointBatch rows, the row written out as JSON-like text."""
    raw = [
        f'{{"series_id": {row["series_id"]}, "ts": "{row["ts"]}", '
        f'"value": {row["value"]}, "quality": {row["quality"]}}}'
        for row in rejected.select(["series_id", "ts", "value", "quality"]).to_pylist()
    ]
    return dead_letters(
        source, pa.array(raw, pa.string()), rejected.column("reason").combine_chunks()
    )


class DeadLetterTable:
    """Append-only store of rejected input."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        store.execute(_DDL)

    def add(self, rows: pa.Table) -> int:
        """Append dead-letter rows; return how many."""
        self._store.append("dead_letters", rows.cast(DEAD_LETTER_SCHEMA))
        return int(rows.num_rows)

    def list(self, limit: int = 100) -> pa.Table:
        """The newest ``limit`` dead letters."""
        return self._store.query(
            "SELECT * FROM dead_letters ORDER BY received_at DESC LIMIT ?", [limit]
        ).cast(DEAD_LETTER_SCHEMA)

    def count(self) -> int:
        """How many inputs were dead-lettered."""
        return int(
            self._store.query("SELECT count(*) AS n FROM dead_letters").column("n")[0].as_py()
        )
