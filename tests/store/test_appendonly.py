"""The hash-chained append-only log finds any edited or deleted row."""

from __future__ import annotations

from valueloop.store.appendonly import AppendOnlyLog
from valueloop.store.duckdb import DuckDBStore


def test_chain_is_intact_then_broken_by_an_edit_or_a_deletion() -> None:
    store = DuckDBStore(":memory:")
    log = AppendOnlyLog(store, "journal", [("actor", "VARCHAR"), ("amount", "DOUBLE")])
    assert log.append([{"actor": "ana", "amount": 1.25}, {"actor": "ben", "amount": 2.0}]) == [1, 2]
    assert log.append([{"actor": "cy", "amount": 3.0}]) == [3]
    assert log.verify() == []
    store.execute("UPDATE journal SET amount = 99 WHERE seq = 2")
    assert log.verify() == [2]
    store.execute("UPDATE journal SET amount = 2.0 WHERE seq = 2")
    assert log.verify() == []
    store.execute("DELETE FROM journal WHERE seq = 2")
    assert log.verify() == [3]
