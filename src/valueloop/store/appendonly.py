"""Append-only, sealed tables: the audit trail and the value ledger.

Every row carries the HMAC-SHA256, under the site's audit key (:mod:`valueloop.store.seal`), of
the previous row's hash and of its own content, and every append writes the log's new head to the
site's anchor file. So an edited row, a row deleted anywhere (the last ones included), a chain
recomputed without the key or a forged anchor is found by :meth:`AppendOnlyLog.verify`, which says
where and why in a :class:`ChainReport`. The class offers no update or delete.

A log opened on a store is sealed by the seal bound to that store (:func:`bind_seal`; a site binds
the seal of its data directory), else by the seal of the folder holding the store's file, or by a
seal in memory for a store in memory.

Logs written before the seal (unkeyed SHA-256) do not verify: a store from then must be created
anew; verification names such rows as unkeyed.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from valueloop.errors import StoreError
from valueloop.store.anchorcheck import AnchorCheck, Problem, first_problem
from valueloop.store.duckdb import DuckDBStore
from valueloop.store.seal import Anchor, Seal, canonical

GENESIS = "0" * 64
CHAIN_COLUMNS = ("seq", "recorded_at", "prev_hash", "hash")
"""The columns every log has besides its payload."""

UNKEYED = (
    "hash is an unkeyed SHA-256, not sealed by the site key (a store from before the audit "
    "seal, or rows rewritten without the key)"
)

_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_SEALS: weakref.WeakKeyDictionary[DuckDBStore, Seal] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def _lock(store: DuckDBStore, table: str) -> threading.Lock:
    """One lock per log table of a store, shared by every writer of it in the process."""
    with _GUARD:
        return _LOCKS.setdefault((id(store), table), threading.Lock())


def bind_seal(store: DuckDBStore, seal: Seal) -> None:
    """Seal every append-only log of ``store`` with ``seal``; call it before opening any log."""
    with _GUARD:
        bound = _SEALS.setdefault(store, seal)
    if bound is not seal:
        raise StoreError(f"the logs of {store.path} are sealed already by {bound!r}")


def seal_of(store: DuckDBStore) -> Seal:
    """The seal bound to ``store``, else that of its file's folder (in memory: a new one)."""
    with _GUARD:
        bound = _SEALS.get(store)
        if bound is None:
            memory = store.path == ":memory:"
            bound = Seal.in_memory() if memory else Seal.open(Path(store.path).parent)
            _SEALS[store] = bound
        return bound


@dataclass(frozen=True)
class ChainReport:
    """What verifying one log found.

    ``checked`` counts the rows whose hash was recomputed; ``head_seq`` is the log's last sequence
    number (0 when empty). When ``ok`` is False, ``first_broken`` is the first sequence number
    that cannot be trusted (for rows deleted from the end, the first missing one) and ``reason``
    says why.
    """

    log: str
    ok: bool
    checked: int
    head_seq: int
    first_broken: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class _Checkpoint:
    """Where the last verification that passed stopped: the head and the anchor lines read."""

    seq: int
    hash: str
    offset: int
    lines: int


def _unkeyed_hash(previous: str, content: str) -> str:
    return hashlib.sha256((previous + content).encode()).hexdigest()


class AppendOnlyLog:
    """A sealed, hash-chained table with a sequence number, a time and typed payload columns.

    ``seal`` defaults to the seal of ``store`` (:func:`seal_of`).
    """

    def __init__(
        self,
        store: DuckDBStore,
        table: str,
        columns: Sequence[tuple[str, str]],
        *,
        seal: Seal | None = None,
    ) -> None:
        if not table.isidentifier() or not all(name.isidentifier() for name, _ in columns):
            raise StoreError(f"invalid table or column names for {table!r}")
        self._store = store
        self._seal = seal if seal is not None else seal_of(store)
        self.table = table
        self.columns = [name for name, _ in columns]
        self._lock = _lock(store, table)
        self._checkpoint: _Checkpoint | None = None
        ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        with self._lock:
            if not _exists(store, table):
                store.execute(
                    f"CREATE TABLE {table} (seq BIGINT PRIMARY KEY, "
                    f"recorded_at TIMESTAMPTZ NOT NULL, {ddl}, prev_hash VARCHAR NOT NULL, "
                    "hash VARCHAR NOT NULL)"
                )
                self._seal.anchor(table, 0, GENESIS, datetime.now(UTC))

    def append(self, records: Sequence[Mapping[str, Any]]) -> list[int]:
        """Append records (mappings of the payload columns); return their sequence numbers.

        Writers of the same log in one process take turns, so their sequence numbers never clash.
        The new head is anchored once the rows are stored.
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
            digest = self._seal.chain_hash(previous, canonical(content))
            for name, value in content.items():
                rows[name].append(now if name == "recorded_at" else value)
            rows["prev_hash"].append(previous)
            rows["hash"].append(digest)
            previous = digest
            sequences.append(seq)
        self._store.append(self.table, pa.table(rows))
        self._seal.anchor(self.table, seq, previous, now)
        return sequences

    def rows(self, where: str = "", params: Sequence[Any] = ()) -> pa.Table:
        """All rows in sequence order; ``where`` is a parameterised SQL condition."""
        condition = f" WHERE {where}" if where else ""
        return self._store.query(f"SELECT * FROM {self.table}{condition} ORDER BY seq", params)

    def verify(self, *, full: bool = True) -> ChainReport:
        """Check the chain of every row and the anchors of this log.

        ``full=False`` recomputes only the rows appended since this object's last verification
        that passed (and checks that the head it found is still there, that no row is missing and
        the anchors written since): cheap enough before every field write. A full verification
        recomputes every row from the first; it runs whenever the cheap one finds anything wrong,
        so a report that is not ok always comes from a full verification.
        """
        with self._lock:
            if not full and self._checkpoint is not None:
                report = self._verify_since(self._checkpoint)
                if report is not None:
                    return report
            return self._verify_full()

    def _verify_full(self) -> ChainReport:
        rows = self.rows().to_pylist()
        head = int(rows[-1]["seq"]) if rows else 0
        read = self._seal.read_anchors()
        anchors = read.anchors if read is not None else []
        hashes = {0: GENESIS, **{int(row["seq"]): str(row["hash"]) for row in rows}}
        if anchors and not any(anchor.sealed for anchor in anchors):
            problem: Problem | None = Problem(
                1,
                f"no line of {self._seal.anchor_name} is sealed by this audit key: the key is not "
                "the site's (VALUELOOP_AUDIT_KEY or audit.key), or the anchor file was replaced",
            )
        else:
            chain, _ = self._walk(rows, 0, GENESIS)
            check = AnchorCheck(self.table, head, hashes, self._seal.anchor_name)
            anchored = check.run(anchors) or check.finish(has_file=read is not None)
            problem = first_problem(chain, anchored)
        if problem is not None or read is None:
            self._checkpoint = None
        else:
            self._checkpoint = _Checkpoint(head, hashes[head], read.offset, read.lines)
        return self._report(len(rows), head, problem)

    def _verify_since(self, checkpoint: _Checkpoint) -> ChainReport | None:
        """The report of a cheap verification that passes, or None to verify in full."""
        (extent,) = self._store.query(
            f"SELECT count(*) AS rows, coalesce(max(seq), 0) AS head FROM {self.table}"
        ).to_pylist()
        head = int(extent["head"])
        if extent["rows"] != head or head < checkpoint.seq:
            return None
        if checkpoint.seq:
            known = self.rows("seq = ?", [checkpoint.seq]).column("hash").to_pylist()
            if known != [checkpoint.hash]:
                return None
        rows = self.rows("seq > ?", [checkpoint.seq]).to_pylist()
        chain, last = self._walk(rows, checkpoint.seq, checkpoint.hash)
        read = self._seal.read_anchors(checkpoint.offset, checkpoint.lines)
        if chain is not None or read is None:
            return None
        hashes = {checkpoint.seq: checkpoint.hash, **{int(r["seq"]): str(r["hash"]) for r in rows}}
        check = AnchorCheck(
            self.table, head, hashes, self._seal.anchor_name, anchored=checkpoint.seq
        )
        if check.run(read.anchors) or check.finish(has_file=True):
            return None
        self._checkpoint = _Checkpoint(head, last, read.offset, read.lines)
        return self._report(len(rows), head, None)

    def _walk(
        self, rows: Sequence[Mapping[str, Any]], seq: int, previous: str
    ) -> tuple[Problem | None, str]:
        """The first row that does not follow ``seq`` and hash ``previous``, and the last hash."""
        for row in rows:
            seq += 1
            if row["seq"] != seq:
                if row["seq"] > seq:
                    return Problem(seq, f"sequence gap: entry {seq} is missing"), previous
                return Problem(seq, f"sequence gap: entry {row['seq']} appears twice"), previous
            if row["prev_hash"] != previous:
                return Problem(
                    seq, "chain broken: prev_hash is not the previous entry's hash"
                ), previous
            content = self._content(row)
            stored = str(row["hash"]).encode()
            if not hmac.compare_digest(self._seal.chain_hash(previous, content).encode(), stored):
                unkeyed = hmac.compare_digest(_unkeyed_hash(previous, content).encode(), stored)
                reason = UNKEYED if unkeyed else "hash does not match its content"
                return Problem(seq, reason), previous
            previous = str(row["hash"])
        return None, previous

    def sealed(self, row: Mapping[str, Any]) -> bool:
        """Whether one row (as :meth:`rows` gives it) carries the HMAC of its own content.

        A row edited by someone without the key fails this, wherever it is in the chain; a cheap
        check of the rows a decision rests on, beside :meth:`verify` ``(full=False)``.
        """
        expected = self._seal.chain_hash(str(row["prev_hash"]), self._content(row))
        return hmac.compare_digest(expected, str(row["hash"]))

    def _content(self, row: Mapping[str, Any]) -> str:
        content = {name: row[name] for name in ["seq", *self.columns]}
        at = row["recorded_at"]
        content["recorded_at"] = at.astimezone(UTC).isoformat() if at is not None else None
        return canonical(content)

    def _report(self, checked: int, head: int, problem: Problem | None) -> ChainReport:
        if problem is None:
            return ChainReport(self.table, ok=True, checked=checked, head_seq=head)
        return ChainReport(
            self.table,
            ok=False,
            checked=checked,
            head_seq=head,
            first_broken=problem.seq,
            reason=problem.reason,
        )


def _exists(store: DuckDBStore, table: str) -> bool:
    rows = store.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [table]
    )
    return bool(rows.column("n")[0].as_py())


def _chained_tables(store: DuckDBStore) -> dict[str, list[tuple[str, str]]]:
    """The tables of ``store`` with a log's columns, with their payload columns and types."""
    rows = store.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_name, ordinal_position"
    ).to_pylist()
    columns: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], []).append((row["column_name"], row["data_type"]))
    return {
        table: [column for column in found if column[0] not in CHAIN_COLUMNS]
        for table, found in columns.items()
        if set(CHAIN_COLUMNS) <= {name for name, _ in found}
    }


def verify_logs(store: DuckDBStore) -> list[ChainReport]:
    """A full verification of every sealed log of ``store``, by table name.

    The logs are the tables with a log's columns and every table an anchor line names, so that a
    log dropped from the database is reported missing.
    """
    seal = seal_of(store)
    tables = _chained_tables(store)
    read = seal.read_anchors()
    anchors = read.anchors if read is not None else []
    named = {anchor.table for anchor in anchors if anchor.table is not None}
    return [
        AppendOnlyLog(store, table, tables[table], seal=seal).verify()
        if table in tables
        else _missing(table, anchors, seal.anchor_name)
        for table in sorted(set(tables) | named)
    ]


def _missing(table: str, anchors: Sequence[Anchor], file_name: str) -> ChainReport:
    """The report of a log that anchor lines name but the database does not hold."""
    first = next(anchor for anchor in anchors if anchor.table == table)
    reason = f"the log is missing from the database, but {file_name} names it"
    if not first.sealed:
        reason = f"anchor forged: line {first.line} of {file_name} is not sealed by the site key"
    return ChainReport(table, ok=False, checked=0, head_seq=0, first_broken=1, reason=reason)
