"""The edge's outbox: batches of readings kept on disk until the centre has them.

A SQLite database in WAL mode with ``synchronous=FULL``: a batch handed to :meth:`Outbox.put` is on
disk when the call returns, so a killed agent or a lost power supply loses nothing it accepted.
Each batch gets an idempotency key when it is put; the forwarder sends it under that key until the
centre confirms, and only then removes it, so a batch is stored once however often it is resent.
Batches the centre refuses as malformed move to ``refused`` with the reason instead of blocking
the queue; dead letters of the edge's connectors are kept in ``dead_letters`` and forwarded too.
The same file keeps the Sparkplug births of the edge's connectors (:mod:`valueloop.edge.births`).

A database file the outbox creates is private (mode 0600); SQLite gives its write-ahead log and
shared-memory files the same mode.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from valueloop.errors import ConnectorError
from valueloop.ingest.wire import readings_from_arrow, readings_to_arrow
from valueloop.schema import DEAD_LETTER_SCHEMA

_DDL = (
    """CREATE TABLE IF NOT EXISTS batches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_key TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        readings INTEGER NOT NULL,
        body BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS refused (
        batch_key TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        refused_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        body BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        received_at TEXT NOT NULL,
        raw TEXT,
        reason TEXT NOT NULL
    )""",
)
PRIVATE = 0o600
"""The mode of an outbox file the outbox creates."""


@dataclass(frozen=True)
class OutboxBatch:
    """One batch waiting to be forwarded."""

    seq: int
    key: str
    source: str
    readings: int
    body: bytes

    def table(self) -> pa.Table:
        """The batch's readings."""
        return readings_from_arrow(self.body)


@dataclass(frozen=True)
class OutboxState:
    """What waits in the outbox."""

    batches: int
    readings: int
    oldest: datetime | None
    refused: int
    dead_letters: int


class Outbox:
    """A durable queue of reading batches, one SQLite file."""

    def __init__(self, path: str | Path, *, edge: str) -> None:
        self.path = Path(path)
        self.edge = edge
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._added = threading.Condition(self._lock)
        try:
            with suppress(FileExistsError):  # an outbox created before keeps its mode
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE))
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            for statement in _DDL:
                self._db.execute(statement)
        except (sqlite3.Error, OSError) as err:
            raise ConnectorError(f"cannot open the outbox {self.path}: {err}") from err

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the outbox's database, durable once the block ends (rolled
        back if it raises); for the tables kept beside the batches."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._added.notify_all()

    def put(self, source: str, readings: pa.Table, rejected: pa.Table | None = None) -> str | None:
        """Keep a delivery durably; return its batch's idempotency key (None if no readings)."""
        key = f"{self.edge}-{uuid.uuid4().hex}" if readings.num_rows else None
        now = datetime.now(UTC).isoformat()
        with self.transaction() as db:
            if key is not None:
                db.execute(
                    "INSERT INTO batches (batch_key, source, created_at, readings, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (key, source, now, readings.num_rows, readings_to_arrow(readings)),
                )
            if rejected is not None and rejected.num_rows:
                db.executemany(
                    "INSERT INTO dead_letters (source, received_at, raw, reason) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (row["source"], row["received_at"].isoformat(), row["raw"], row["reason"])
                        for row in rejected.to_pylist()
                    ],
                )
        return key

    def oldest(self, limit: int) -> list[OutboxBatch]:
        """Up to ``limit`` batches, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, batch_key, source, readings, body FROM batches ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutboxBatch(*row) for row in rows]

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a batch to be put."""
        with self._added:
            self._added.wait(timeout)

    def remove(self, seqs: list[int]) -> None:
        """Forget batches the centre confirmed."""
        with self.transaction() as db:
            db.executemany("DELETE FROM batches WHERE seq = ?", [(seq,) for seq in seqs])

    def refuse(self, batch: OutboxBatch, reason: str) -> None:
        """Set aside a batch the centre refused as malformed, with the reason."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?, ?)",
                (batch.key, batch.source, datetime.now(UTC).isoformat(), reason, batch.body),
            )
            db.execute("DELETE FROM batches WHERE seq = ?", (batch.seq,))

    def dead_letters(self, limit: int) -> tuple[list[int], pa.Table]:
        """Up to ``limit`` dead letters waiting to be forwarded: their ids and rows."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, source, received_at, raw, reason FROM dead_letters ORDER BY seq "
                "LIMIT ?",
                (limit,),
            ).fetchall()
        table = pa.table(
            {
                "source": [row[1] for row in rows],
                "received_at": pa.array(
                    [datetime.fromisoformat(row[2]) for row in rows], pa.timestamp("us", tz="UTC")
                ),
                "raw": [row[3] for row in rows],
                "reason": [row[4] for row in rows],
            },
            schema=DEAD_LETTER_SCHEMA,
        )
        return [row[0] for row in rows], table

    def forget_dead_letters(self, seqs: list[int]) -> None:
        """Forget dead letters the centre confirmed."""
        with self.transaction() as db:
            db.executemany("DELETE FROM dead_letters WHERE seq = ?", [(seq,) for seq in seqs])

    def state(self) -> OutboxState:
        """Counts of what waits."""
        with self._lock:
            batches, readings, oldest = self._db.execute(
                "SELECT count(*), coalesce(sum(readings), 0), min(created_at) FROM batches"
            ).fetchone()
            refused = self._db.execute("SELECT count(*) FROM refused").fetchone()[0]
            dead = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        return OutboxState(
            batches=batches,
            readings=readings,
            oldest=None if oldest is None else datetime.fromisoformat(oldest),
            refused=refused,
            dead_letters=dead,
        )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
