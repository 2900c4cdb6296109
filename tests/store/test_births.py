"""The ``births`` table: kept per connector, replaced by later births, dropped with the session."""

from __future__ import annotations

from pathlib import Path

from valueloop.store.births import BirthCertificate, BirthCertificates
from valueloop.store.duckdb import DuckDBStore


def test_births_are_replaced_by_later_births_and_survive_reopening(tmp_path: Path) -> None:
    database = DuckDBStore(tmp_path / "site.duckdb")
    book = BirthCertificates(database)
    book.keep("host-a", "line1", "edge-1", "", b"nbirth 1")
    book.keep("host-a", "line1", "edge-1", "pump-1", b"dbirth 1")
    book.keep("host-a", "line1", "edge-1", "pump-1", b"dbirth 2")
    book.keep("host-a", "line1", "edge-2", "", b"other node")
    book.keep("host-b", "line1", "edge-1", "", b"another host's")
    database.close()

    database = DuckDBStore(tmp_path / "site.duckdb")
    book = BirthCertificates(database)
    assert book.births("host-a") == [
        BirthCertificate("line1", "edge-1", "", b"nbirth 1"),
        BirthCertificate("line1", "edge-1", "pump-1", b"dbirth 2"),
        BirthCertificate("line1", "edge-2", "", b"other node"),
    ]
    book.keep("host-a", "line1", "edge-1", "", b"nbirth 2")  # a new session: devices reborn
    assert [b.payload for b in book.births("host-a")] == [b"nbirth 2", b"other node"]
    book.forget("host-a", "line1", "edge-2")
    assert [b.payload for b in book.births("host-a")] == [b"nbirth 2"]
    assert [b.payload for b in book.births("host-b")] == [b"another host's"]
    database.close()
