"""The sealed append-only log finds any edited or deleted row, in full or since it last passed."""

from __future__ import annotations

import hashlib
from datetime import UTC
from pathlib import Path

import pytest

from valueloop.errors import StoreError
from valueloop.store.appendonly import (
    GENESIS,
    UNKEYED,
    AppendOnlyLog,
    ChainReport,
    bind_seal,
    seal_of,
    verify_logs,
)
from valueloop.store.duckdb import DuckDBStore
from valueloop.store.seal import Seal, canonical

COLUMNS = [("actor", "VARCHAR"), ("amount", "DOUBLE")]


def _journal(store: DuckDBStore) -> AppendOnlyLog:
    log = AppendOnlyLog(store, "journal", COLUMNS)
    assert log.append([{"actor": "ana", "amount": 1.25}, {"actor": "ben", "amount": 2.0}]) == [1, 2]
    assert log.append([{"actor": "cy", "amount": 3.0}]) == [3]
    return log


def test_chain_is_intact_then_broken_by_an_edit_or_a_deletion() -> None:
    store = DuckDBStore(":memory:")
    log = _journal(store)
    assert log.verify() == ChainReport("journal", ok=True, checked=3, head_seq=3)
    store.execute("UPDATE journal SET amount = 99 WHERE seq = 2")
    assert log.verify() == ChainReport(
        "journal", False, 3, 3, first_broken=2, reason="hash does not match its content"
    )
    store.execute("UPDATE journal SET amount = 2.0 WHERE seq = 2")
    assert log.verify().ok
    store.execute("DELETE FROM journal WHERE seq = 2")
    report = log.verify()
    assert (report.first_broken, report.reason) == (2, "sequence gap: entry 2 is missing")


def test_a_cheap_verification_hashes_only_the_new_rows() -> None:
    store = DuckDBStore(":memory:")
    log = _journal(store)
    assert log.verify(full=False).checked == 3  # nothing passed yet: a full verification
    assert log.verify(full=False).checked == 0
    log.append([{"actor": "dee", "amount": 4.0}])
    assert log.verify(full=False) == ChainReport("journal", ok=True, checked=1, head_seq=4)
    # an old row edited is the full verification's to find; the cheap one checks only the head
    store.execute("UPDATE journal SET amount = 0 WHERE seq = 1")
    assert log.verify(full=False).ok
    assert log.verify().first_broken == 1


@pytest.mark.parametrize(
    ("tamper", "first_broken"),
    [
        ("DELETE FROM journal WHERE seq = 4", 4),  # the head the last check passed
        ("DELETE FROM journal WHERE seq = 2", 2),  # a row in the middle
        ("UPDATE journal SET hash = prev_hash WHERE seq = 4", 4),
        ("UPDATE journal SET actor = 'mallory' WHERE seq = 5", 5),  # a row appended since
    ],
)
def test_whatever_the_cheap_verification_misses_a_full_one_reports(
    tamper: str, first_broken: int
) -> None:
    store = DuckDBStore(":memory:")
    log = _journal(store)
    log.append([{"actor": "dee", "amount": 4.0}])
    assert log.verify(full=False).ok
    log.append([{"actor": "eve", "amount": 5.0}])
    store.execute(tamper)
    report = log.verify(full=False)
    assert not report.ok and report.first_broken == first_broken
    assert report.checked >= 3  # it came from a full verification


def test_two_writers_of_one_log_share_its_chain_and_anchors(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    orders = AppendOnlyLog(store, "audit", COLUMNS)
    alarms = AppendOnlyLog(store, "audit", COLUMNS)
    assert orders.append([{"actor": "ana", "amount": 1.0}]) == [1]
    assert orders.verify(full=False).ok
    assert alarms.append([{"actor": "ben", "amount": 2.0}]) == [2]
    assert orders.verify(full=False) == ChainReport("audit", ok=True, checked=1, head_seq=2)
    assert alarms.verify().ok


def test_a_store_from_before_the_seal_does_not_pass() -> None:
    """A log chained with unkeyed SHA-256, as before the seal, fails at its first entry."""
    store = DuckDBStore(":memory:")
    store.execute(
        "CREATE TABLE journal (seq BIGINT PRIMARY KEY, recorded_at TIMESTAMPTZ NOT NULL, "
        "actor VARCHAR, amount DOUBLE, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)"
    )
    at = "2026-03-01T00:00:00+00:00"
    content = canonical({"seq": 1, "recorded_at": at, "actor": "ana", "amount": 1.0})
    digest = hashlib.sha256((GENESIS + content).encode()).hexdigest()
    store.execute(
        "INSERT INTO journal VALUES (1, ?, 'ana', 1.0, ?, ?)",
        [at.replace("+00:00", "Z"), GENESIS, digest],
    )
    log = AppendOnlyLog(store, "journal", COLUMNS)
    assert log.verify() == ChainReport("journal", False, 1, 1, first_broken=1, reason=UNKEYED)


def test_a_log_dropped_and_created_again_is_found(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    _journal(store)
    store.execute("DROP TABLE journal")
    assert verify_logs(store) == [
        ChainReport(
            "journal",
            False,
            0,
            0,
            first_broken=1,
            reason="the log is missing from the database, but audit.anchor names it",
        )
    ]
    again = AppendOnlyLog(store, "journal", COLUMNS)
    report = again.verify()
    assert (report.first_broken, report.reason) == (
        1,
        "anchors go back from seq 3 to seq 0: the log was cut and started again",
    )


def test_every_log_of_a_store_is_verified(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    _journal(store)
    AppendOnlyLog(store, "ledger", [("value", "DOUBLE")]).append([{"value": 1.5}])
    assert [(r.log, r.ok, r.checked) for r in verify_logs(store)] == [
        ("journal", True, 3),
        ("ledger", True, 1),
    ]


def test_a_store_is_sealed_by_its_folder_unless_bound(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "site.duckdb")
    assert seal_of(store).anchor_file == tmp_path / "audit.anchor"
    assert seal_of(store) is seal_of(store)
    elsewhere = DuckDBStore(tmp_path / "other.duckdb")
    (tmp_path / "data").mkdir()
    seal = Seal.open(tmp_path / "data")
    bind_seal(elsewhere, seal)
    bind_seal(elsewhere, seal)
    with pytest.raises(StoreError, match="sealed already"):
        bind_seal(elsewhere, Seal.in_memory())
    AppendOnlyLog(elsewhere, "journal", COLUMNS).append([{"actor": "ana", "amount": 1.0}])
    assert (tmp_path / "data" / "audit.anchor").read_text(encoding="utf-8").count("\n") == 2


def test_times_round_trip_through_the_store(tmp_path: Path) -> None:
    """The time hashed is the one stored (microseconds, UTC), across a reopening."""
    path = tmp_path / "site.duckdb"
    store = DuckDBStore(path)
    _journal(store)
    recorded = store.query("SELECT recorded_at FROM journal").column(0)[0].as_py()
    assert recorded.tzinfo is not None and recorded.utcoffset() == UTC.utcoffset(None)
    store.close()
    assert AppendOnlyLog(DuckDBStore(path), "journal", COLUMNS).verify().ok
