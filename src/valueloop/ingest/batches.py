"""Exactly-once ingest of keyed batches, as the edge and HTTP clients send them.

A sender that retries after a lost answer sends the same batch again under the same idempotency
key. Keys belong to their sender (``source``): two senders may use the same key for different
batches. Each key is kept in ``ingest_keys`` with the SHA-256 of its batch's content:

- The key is claimed first, by inserting its row (a unique ``(source, batch_key)``) in one
  statement; only the request that inserted it stores the batch, then marks the row done with the
  counts. Of many concurrent requests with one new key, exactly one stores it.
- A request finding the key done with the same content is answered as a duplicate; one finding it
  claimed but not done waits for the claimant, and claims the key itself if the claimant failed.
- The same key with other content is refused (:class:`~valueloop.errors.ActionError`, HTTP 409):
  the sender reused a key for new readings, which would otherwise be dropped.

Should the process die between storing and marking the row done, the claim is dropped when the
store is opened again and the retried batch is stored again, which changes nothing: the store
upserts on ``(series_id, ts)``, so each point is held exactly once either way.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from valueloop.connectors.base import FieldDelivery
from valueloop.errors import ActionError, ConfigError, DataError
from valueloop.ingest.pipeline import IngestPipeline
from valueloop.model.assets import SeriesSpec
from valueloop.model.paths import split_path
from valueloop.store.duckdb import DuckDBStore

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS ingest_keys (
        source VARCHAR NOT NULL,
        batch_key VARCHAR NOT NULL,
        digest VARCHAR NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        done BOOLEAN NOT NULL,
        readings BIGINT NOT NULL,
        stored BIGINT NOT NULL,
        dead_letters BIGINT NOT NULL,
        PRIMARY KEY (source, batch_key)
    )
    """,
    # keys once held globally, without their content's digest; a batch resent under one of them
    # is stored again, which the store's upsert makes harmless
    "DROP TABLE IF EXISTS ingest_batches",
    # claims of a process that stopped mid-batch (only one process opens the store)
    "DELETE FROM ingest_keys WHERE NOT done",
)

MAX_KEY_LENGTH = 200
CLAIM_WAIT_S = 120.0
"""How long a request waits for a concurrent one storing the same batch, in seconds."""


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one batch: stored (counts) or recognised as a duplicate."""

    key: str | None
    duplicate: bool
    readings: int
    stored: int
    dead_letters: int


@dataclass(frozen=True)
class _Claim:
    """A key's row: the digest of its batch, and the outcome once the batch is stored."""

    digest: str
    done: bool
    outcome: BatchOutcome


def content_digest(rows: pa.Table) -> str:
    """The SHA-256 (hex) of ``rows`` in Arrow IPC form: the same for the same body read again."""
    digest = hashlib.sha256(rows.schema.serialize())
    for batch in rows.to_batches():
        digest.update(batch.serialize())
    return digest.hexdigest()


class KeyedIngest:
    """Ingest batches of readings once per sender and idempotency key."""

    def __init__(self, store: DuckDBStore, pipeline: IngestPipeline) -> None:
        self._store = store
        self._pipeline = pipeline
        self._changed = threading.Condition()
        for statement in _DDL:
            store.execute(statement)

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise DataError(f"an idempotency key has 1 to {MAX_KEY_LENGTH} characters")

    def ingest(self, readings: pa.Table, *, source: str, key: str | None = None) -> BatchOutcome:
        """Store ``readings`` unless ``source`` stored them already under ``key``.

        Raises :class:`~valueloop.errors.ActionError` if ``source`` used ``key`` for other
        readings.
        """

        def store() -> BatchOutcome:
            report = self._pipeline.ingest_readings(FieldDelivery(readings=readings), source)
            return BatchOutcome(
                key=key,
                duplicate=False,
                readings=readings.num_rows,
                stored=report.points_inserted + report.points_replaced,
                dead_letters=report.dead_letters,
            )

        return self._once(source, key, readings, store)

    def add_dead_letters(
        self, rows: pa.Table, *, source: str, key: str | None = None
    ) -> BatchOutcome:
        """Keep dead letters ``source`` forwards (an edge's); once per ``key``."""

        def store() -> BatchOutcome:
            return BatchOutcome(key, False, 0, 0, self._pipeline.dead_letters.add(rows))

        return self._once(source, key, rows, store)

    def _once(
        self, source: str, key: str | None, content: pa.Table, store: Callable[[], BatchOutcome]
    ) -> BatchOutcome:
        """Run ``store`` unless the key was claimed for ``content`` already (see the module)."""
        if key is None:
            return store()
        self._check_key(key)
        digest = content_digest(content)
        deadline = time.monotonic() + CLAIM_WAIT_S
        while not self._claim(source, key, digest):
            with self._changed:
                claim = self._recorded(source, key)
                if claim is None:
                    continue  # the claimant failed and let the key go: claim it
                if claim.digest != digest:
                    raise ActionError(
                        f"the idempotency key {key!r} was used for another batch; send new "
                        "readings under a new key"
                    )
                if claim.done:
                    return claim.outcome
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ActionError(
                        f"the batch with idempotency key {key!r} is still being stored; send it "
                        "again later"
                    )
                self._changed.wait(left)
        try:
            outcome = store()
        except BaseException:
            self._settle(
                "DELETE FROM ingest_keys WHERE source = ? AND batch_key = ?", [source, key]
            )
            raise
        self._settle(
            "UPDATE ingest_keys SET done = true, readings = ?, stored = ?, dead_letters = ? "
            "WHERE source = ? AND batch_key = ?",
            [outcome.readings, outcome.stored, outcome.dead_letters, source, key],
        )
        return outcome

    def _claim(self, source: str, key: str, digest: str) -> bool:
        """Insert the key's row, not done; True if this call inserted it."""
        inserted = self._store.execute(
            "INSERT INTO ingest_keys VALUES (?, ?, ?, ?, false, 0, 0, 0) ON CONFLICT DO NOTHING",
            [source, key, digest, datetime.now(UTC)],
        )
        return inserted == 1

    def _recorded(self, source: str, key: str) -> _Claim | None:
        rows = self._store.query(
            "SELECT digest, done, readings, stored, dead_letters FROM ingest_keys "
            "WHERE source = ? AND batch_key = ?",
            [source, key],
        ).to_pylist()
        if not rows:
            return None
        row = rows[0]
        outcome = BatchOutcome(key, True, row["readings"], row["stored"], row["dead_letters"])
        return _Claim(digest=row["digest"], done=row["done"], outcome=outcome)

    def _settle(self, sql: str, params: list[object]) -> None:
        """Mark a claim done or let it go, then wake the requests waiting on a claim."""
        self._store.execute(sql, params)
        with self._changed:
            self._changed.notify_all()

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
