"""Append-only, hash-chained tables: the audit trail and the value ledger.

Every row carries the SHA-256 of its content and of the previous row's hash, so any later edit or
deletion breaks the chain and :meth:`AppendOnlyLog.verify` finds it. The class offers no update or
delete.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from valueloop.errors import StoreError
from valueloop.store.duckdb import DuckDBStore

GENESIS = "0" * 64

_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(store: DuckDBStore, table: str) -> threading.Lock:
    """One lock per log table of a store, shared by every writer of it in the process."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((id(store), table), threading.Lock())


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))


def chain_hash(previous: str, record: Mapping[str, Any]) -> str:
    """Hash of a record chained to the previous row's hash."""
    return hashlib.sha256((previous + _canonical(record)).encode()).hexdigest()


class AppendOnlyLog:
    """A hash-chained table with a sequence number, a time and typed payload columns."""

    def __init__(self, store: DuckDBStore, table: str, columns: Sequence[tuple[str, str]]) -> None:
        if not table.isidentifier() or not all(name.isidentifier() for name, _ in columns):
            raise StoreError(f"invalid table or column names for {table!r}")
        self._store = store
        self.table = table
        self.columns = [name for name, _ in columns]
        self._lock = _lock(store, table)
        ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        store.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (seq BIGINT PRIMARY KEY, "
            f"recorded_at TIMESTAMPTZ NOT NULL, {ddl}, prev_hash VARCHAR NOT NULL, "
            "hash VARCHAR NOT NULL)"
        )

    def append(self, records: Sequence[Mapping[str, Any]]) -> list[int]:
        """Append records (mappings of the payload columns); return their sequence numbers.

        Writers of the same log in one process take turns, so their sequence numbers never clash.
        """
        if not records:
            return []
        with self._lock:
            return self._append(records)

    def _append(self, records: Sequence[Mapping[str, Any]]) -> list[int]:
        last = self._store.query(
            f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1"
        ).to_pylist()
        seq, previous = (last[0]["seq"], last[0]["hash"]) if last else (0, GENESIS)
        now = datetime.now(UTC)
        rows: dict[str, list[Any]] = {name: [] for name in ["seq", "recorded_at", *self.columns]}
        rows["prev_hash"], rows["hash"] = [], []
        sequences = []
        for record in records:
            unknown = set(record) - set(self.columns)
            if unknown:
                raise StoreError(f"{self.table}: unknown columns {sorted(unknown)}")
            seq += 1
            payload = {name: record.get(name) for name in self.columns}
            content = {"seq": seq, "recorded_at": now.isoformat(), **payload}
            digest = chain_hash(previous, content)
            for name, value in content.items():
                rows[name].append(now if name == "recorded_at" else value)
            rows["prev_hash"].append(previous)
            rows["hash"].append(digest)
            previous = digest
            sequences.append(seq)
        self._store.append(self.table, pa.table(rows))
        return sequences

    def rows(self, where: str = "", params: Sequence[Any] = ()) -> pa.Table:
        """All rows in sequence order; ``where`` is a parameterised SQL condition."""
        condition = f" WHERE {where}" if where else ""
        return self._store.query(f"SELECT * FROM {self.table}{condition} ORDER BY seq", params)

    def verify(self) -> list[int]:
        """Sequence numbers whose hash does not chain; empty when the log is intact."""
        broken = []
        previous = GENESIS
        for row in self.rows().to_pylist():
            content = {name: row[name] for name in ["seq", *self.columns]}
            content["recorded_at"] = row["recorded_at"].astimezone(UTC).isoformat()
            if row["prev_hash"] != previous or chain_hash(previous, content) != row["hash"]:
                broken.append(int(row["seq"]))
            previous = row["hash"]
        return broken
