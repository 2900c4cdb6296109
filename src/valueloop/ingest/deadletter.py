"""The dead-letter table: every input the platform could not store, with its reason and time."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from valueloop.schema import DEAD_LETTER_SCHEMA, dead_letters
from valueloop.store.duckdb import DuckDBStore

_DDL = (
    "CREATE SEQUENCE IF NOT EXISTS dead_letter_ids",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        letter_id BIGINT NOT NULL DEFAULT nextval('dead_letter_ids'),
        source VARCHAR NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        raw VARCHAR,
        reason VARCHAR NOT NULL,
        replayed_at TIMESTAMPTZ
    )""",
)

LETTER_COLUMNS = "letter_id, source, received_at, raw, reason, replayed_at"


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
    """Store of rejected input; a letter is never deleted, only marked replayed once stored."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        for statement in _DDL:
            store.execute(statement)

    def add(self, rows: pa.Table) -> int:
        """Append dead-letter rows; return how many."""
        self._store.append("dead_letters", rows.cast(DEAD_LETTER_SCHEMA))
        return int(rows.num_rows)

    def list(
        self, limit: int = 100, *, pending: bool = False, source: str | None = None
    ) -> pa.Table:
        """The newest ``limit`` dead letters (only those not replayed yet if ``pending``)."""
        return self._store.query(
            f"SELECT {LETTER_COLUMNS} FROM dead_letters "
            "WHERE (NOT ? OR replayed_at IS NULL) AND (? IS NULL OR source = ?) "
            "ORDER BY letter_id DESC LIMIT ?",
            [pending, source, source, limit],
        )

    def pending(self, source: str | None = None) -> pa.Table:
        """Every letter not replayed yet, oldest first."""
        return self._store.query(
            f"SELECT {LETTER_COLUMNS} FROM dead_letters "
            "WHERE replayed_at IS NULL AND (? IS NULL OR source = ?) ORDER BY letter_id",
            [source, source],
        )

    def mark_replayed(self, letter_ids: Sequence[int]) -> int:
        """Mark letters whose input is now stored; return how many."""
        if not letter_ids:
            return 0
        return self._store.execute(
            "UPDATE dead_letters SET replayed_at = now() "
            "WHERE replayed_at IS NULL AND list_contains(?::BIGINT[], letter_id)",
            [list(letter_ids)],
        )

    def count(self) -> int:
        """How many inputs were dead-lettered."""
        return int(
            self._store.query("SELECT count(*) AS n FROM dead_letters").column("n")[0].as_py()
        )

    def counts(self) -> pa.Table:
        """Letters per source and reason: in all, and still pending."""
        return self._store.query(
            "SELECT source, reason, count(*) AS letters, "
            "count(*) FILTER (WHERE replayed_at IS NULL) AS pending "
            "FROM dead_letters GROUP BY source, reason ORDER BY letters DESC"
        )
