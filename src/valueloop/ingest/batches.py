"""Exactly-once ingest of keyed batches, as the edge and HTTP clients send them.

A sender that retries after a lost answer sends the same batch again under the same idempotency
key. The key is recorded in ``ingest_batches`` after the points are stored; a batch whose key is
already there is answered as a duplicate without touching the store. Should the process die between
storing and recording, the retried batch is stored again, which changes nothing: the store upserts
on ``(series_id, ts)``, so each point is held exactly once either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from valueloop.connectors.base import FieldDelivery
from valueloop.errors import ConfigError, DataError
from valueloop.ingest.pipeline import IngestPipeline
from valueloop.model.assets import SeriesSpec
from valueloop.model.paths import split_path
from valueloop.store.duckdb import DuckDBStore

_DDL = """
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_key VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    readings BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    dead_letters BIGINT NOT NULL
)
"""

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one batch: stored (counts) or recognised as a duplicate."""

    key: str | None
    duplicate: bool
    readings: int
    stored: int
    dead_letters: int


class KeyedIngest:
    """Ingest batches of readings once per idempotency key."""

    def __init__(self, store: DuckDBStore, pipeline: IngestPipeline) -> None:
        self._store = store
        self._pipeline = pipeline
        store.execute(_DDL)

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise DataError(f"an idempotency key has 1 to {MAX_KEY_LENGTH} characters")

    def seen(self, key: str) -> BatchOutcome | None:
        """The outcome recorded for ``key``, if a batch with it was stored."""
        self._check_key(key)
        rows = self._store.query(
            "SELECT readings, stored, dead_letters FROM ingest_batches WHERE batch_key = ?", [key]
        ).to_pylist()
        if not rows:
            return None
        row = rows[0]
        return BatchOutcome(key, True, row["readings"], row["stored"], row["dead_letters"])

    def ingest(self, readings: pa.Table, *, source: str, key: str | None = None) -> BatchOutcome:
        """Store ``readings`` unless a batch with ``key`` was stored already."""
        if key is not None:
            previous = self.seen(key)
            if previous is not None:
                return previous
        report = self._pipeline.ingest_readings(FieldDelivery(readings=readings), source)
        outcome = BatchOutcome(
            key=key,
            duplicate=False,
            readings=readings.num_rows,
            stored=report.points_inserted + report.points_replaced,
            dead_letters=report.dead_letters,
        )
        if key is not None:
            self._record(key, source, outcome)
        return outcome

    def add_dead_letters(self, rows: pa.Table, *, key: str | None = None) -> BatchOutcome:
        """Keep dead letters a sender forwards (the edge's); once per ``key``."""
        if key is not None:
            previous = self.seen(key)
            if previous is not None:
                return previous
        added = self._pipeline.dead_letters.add(rows)
        outcome = BatchOutcome(key, False, 0, 0, added)
        if key is not None:
            self._record(key, "dead letters", outcome)
        return outcome

    def _record(self, key: str, source: str, outcome: BatchOutcome) -> None:
        self._store.execute(
            "INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                key,
                source,
                datetime.now(UTC),
                outcome.readings,
                outcome.stored,
                outcome.dead_letters,
            ],
        )

    def register(self, series: list[tuple[str, str, str]]) -> int:
        """Register ``(path, unit, description)`` series not known yet (a sender's birth).

        Returns how many series were declared; known ones are left as they are.
        """
        specs = []
        for path, unit, description in series:
            try:
                asset, signal = split_path(path)
            except ConfigError as err:
                raise DataError(str(err)) from err
            specs.append(SeriesSpec(path, asset, signal, unit, description))
        self._pipeline.registry.ensure(specs)
        return len(specs)
